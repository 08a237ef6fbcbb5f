"""Resolve the names a user function reads to what they are: a math/NumPy/builtin function
(keyed for the derivative rule table), a user function (differentiated recursively), a module,
a number (inlined) or another global object (bound by reference, never active).
"""

from __future__ import annotations

import builtins
import math
import types

import numpy as np

from adtriad.ad_core import array_primitives
from adtriad.ad_core.ir import Fn

_BUILTINS = {id(getattr(builtins, n)): n for n in
             ("abs", "min", "max", "float", "int", "len", "range", "bool", "round", "sum")}

_NUMPY_NAMES: dict[int, str] = {}
_MATH_NAMES: dict[int, str] = {id(getattr(math, n)): n for n in dir(math)
                               if callable(getattr(math, n))}


def _numpy_names() -> dict[int, str]:
    if not _NUMPY_NAMES:
        for name in sorted(dir(np), key=lambda n: (n.startswith("_"), len(n), n)):
            obj = getattr(np, name, None)
            if callable(obj) and id(obj) not in _NUMPY_NAMES:
                _NUMPY_NAMES[id(obj)] = name
        for preferred in ("abs", "float32", "float64", "int32", "int64", "power"):
            _NUMPY_NAMES[id(getattr(np, preferred))] = preferred
    return _NUMPY_NAMES


def function_key(obj) -> Fn | None:
    """A known library function as an :class:`Fn`, or None."""
    if id(obj) in _MATH_NAMES and getattr(math, _MATH_NAMES[id(obj)]) is obj:
        name = _MATH_NAMES[id(obj)]
        return Fn(f"math.{name}", f"math.{name}", obj)
    names = _numpy_names()
    if id(obj) in names and getattr(np, names[id(obj)], None) is obj:
        name = names[id(obj)]
        return Fn(f"np.{name}", f"np.{name}", obj)
    if id(obj) in _BUILTINS and getattr(builtins, _BUILTINS[id(obj)]) is obj:
        name = _BUILTINS[id(obj)]
        return Fn(name, name, obj)
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__name__", "")
    if module == array_primitives.__name__ and name in array_primitives.KEYED and \
            getattr(array_primitives, name) is obj:
        return Fn(f"_prim.{name}", f"_prim.{name}", obj)
    if module.split(".")[0] == "numpy" and callable(obj):  # np.linalg.inv and the like
        path = f"np.{module.split('.', 1)[1]}.{obj.__name__}" if "." in module \
            else f"np.{obj.__name__}"
        path = path.replace("np.linalg._linalg.", "np.linalg.")
        return Fn(path, path, obj)
    return None


def is_user_function(obj) -> bool:
    """A Python function or a Numba dispatcher whose Python source we can transform."""
    if isinstance(obj, types.FunctionType):
        return True
    return isinstance(getattr(obj, "py_func", None), types.FunctionType)


def lookup(namespace: dict, name: str):
    """The object ``name`` denotes in the function's namespace (globals, closure, builtins)."""
    if name in namespace:
        return namespace[name]
    if hasattr(builtins, name):
        return getattr(builtins, name)
    raise KeyError(name)


VECTORIZED = "vectorized"  # the Fn key of a call to a @numba.vectorize function


def is_vectorized(obj) -> bool:
    """A function made with ``@numba.vectorize`` (lowered to Python by ad_core.vectorized)."""
    from numba.np.ufunc.dufunc import DUFunc
    return isinstance(obj, DUFunc)


GUVECTORIZED = "guvectorized"  # the Fn key of a call to a @numba.guvectorize function


def is_guvectorized(obj) -> bool:
    """A function made with ``@numba.guvectorize`` (lowered to Python by ad_core.decorated)."""
    from numba.np.ufunc.gufunc import GUFunc
    return isinstance(obj, GUFunc)


NESTED = "nested"  # the Fn key of autodiff_deferred/autodiff called in differentiated code


def is_autodiff(obj) -> bool:
    """adtriad's own ``autodiff_deferred`` or ``autodiff``."""
    return getattr(obj, "__module__", "") in ("adtriad.ad_core.deferred", "adtriad.ad_core.api") \
        and getattr(obj, "__name__", "") in ("autodiff_deferred", "autodiff")


STENCIL = "stencil"  # the Fn key of a call to a @numba.stencil function


def is_stencil(obj) -> bool:
    """A function made with ``@numba.stencil`` (lowered to Python by ad_core.decorated)."""
    from numba.stencils.stencil import StencilFunc
    return isinstance(obj, StencilFunc)
