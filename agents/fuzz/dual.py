"""Dual numbers: the fuzzer's exact oracle for directional derivatives, independent of ad_core.

A :class:`Dual` carries a float64 value and a tangent. Arithmetic, ``**``, ``abs`` and the
functions of :data:`MATH` propagate the tangent by their derivative rules, written here once
and sharing no code with the engine's rule tables; comparisons, ``min``/``max`` and
``math.isfinite`` look at the value only, so a program's branches follow the primal. Running a
program's plain-Python source over Duals (see :func:`dual_namespace`) gives its value and its
exact directional derivative along the tangents of the inputs, to rounding, with no step size.

Arrays are NumPy object arrays whose elements are Duals or plain numbers (a plain number is a
constant: tangent 0). NumPy runs element-wise ufuncs over them through the elements' methods
(``x.sin()``) and operators, so ``np.sin(a)``, ``a * b``, ``np.sum``, ``np.dot`` and ``@`` work;
the :class:`DualNumpy` namespace makes new float arrays object arrays. Nothing converts a Dual
to a float: ``float(d)`` raises ``TypeError``, so a NumPy call the oracle does not know cannot
drop a tangent silently; the round is reported as one the oracle cannot evaluate.
"""

from __future__ import annotations

import math
import operator
import types
from typing import Any, Callable

import numpy as np

__all__ = ["Dual", "MATH", "DualMath", "DualNumpy", "value_of", "tangent_of", "duals", "dual_namespace"]


def value_of(x: Any) -> Any:
    """The primal part of a Dual, a number or an array of them (a float64 array)."""
    if isinstance(x, np.ndarray) and x.dtype == object:
        return np.array([value_of(e) for e in x.ravel()], dtype=np.float64).reshape(x.shape)
    return x.value if isinstance(x, Dual) else x


def tangent_of(x: Any) -> Any:
    """The tangent part (0.0 for a plain number; a float64 array for an array)."""
    if isinstance(x, np.ndarray):
        if x.dtype != object:
            return np.zeros(x.shape)
        return np.array([tangent_of(e) for e in x.ravel()], dtype=np.float64).reshape(x.shape)
    return x.tangent if isinstance(x, Dual) else 0.0


def duals(value: Any, tangent: Any) -> Any:
    """A Dual, or an object array of Duals, from values and tangents of the same shape."""
    if isinstance(value, np.ndarray):
        out = np.empty(value.shape, dtype=object)
        for idx in np.ndindex(value.shape):
            out[idx] = Dual(float(value[idx]), float(tangent[idx]))
        return out
    return Dual(float(value), float(tangent))


def _lift(x: Any) -> "Dual":
    return x if isinstance(x, Dual) else Dual(x, 0.0)


# One row per function: (value, derivative at the value). The tangent of f(u) is f'(u)·u'.
MATH: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = {
    "sin": (math.sin, math.cos),
    "cos": (math.cos, lambda u: -math.sin(u)),
    "tan": (math.tan, lambda u: 1.0 / math.cos(u) ** 2),
    "tanh": (math.tanh, lambda u: 1.0 - math.tanh(u) ** 2),
    "sinh": (math.sinh, math.cosh),
    "cosh": (math.cosh, math.sinh),
    "exp": (math.exp, math.exp),
    "expm1": (math.expm1, math.exp),
    "log": (math.log, lambda u: 1.0 / u),
    "log1p": (math.log1p, lambda u: 1.0 / (1.0 + u)),
    "log2": (math.log2, lambda u: 1.0 / (u * math.log(2.0))),
    "log10": (math.log10, lambda u: 1.0 / (u * math.log(10.0))),
    "sqrt": (math.sqrt, lambda u: 0.5 / math.sqrt(u)),
    "asin": (math.asin, lambda u: 1.0 / math.sqrt(1.0 - u * u)),
    "acos": (math.acos, lambda u: -1.0 / math.sqrt(1.0 - u * u)),
    "atan": (math.atan, lambda u: 1.0 / (1.0 + u * u)),
    "asinh": (math.asinh, lambda u: 1.0 / math.sqrt(u * u + 1.0)),
    "acosh": (math.acosh, lambda u: 1.0 / math.sqrt(u * u - 1.0)),
    "atanh": (math.atanh, lambda u: 1.0 / (1.0 - u * u)),
    "erf": (math.erf, lambda u: 2.0 / math.sqrt(math.pi) * math.exp(-u * u)),
    "erfc": (math.erfc, lambda u: -2.0 / math.sqrt(math.pi) * math.exp(-u * u)),
    "fabs": (math.fabs, lambda u: math.copysign(1.0, u)),
}

# NumPy's names for the same functions (NumPy calls ``element.<name>()`` on object arrays).
_NUMPY_NAMES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
                "arccosh": "acosh", "arctanh": "atanh"}


class Dual:
    """A value and its tangent; see the module docstring."""

    __slots__ = ("value", "tangent")

    def __init__(self, value: float, tangent: float = 0.0):
        if isinstance(value, Dual):
            raise TypeError("a Dual of a Dual: nested tangents are not supported")
        self.value = float(value)
        self.tangent = float(tangent)

    def __repr__(self) -> str:
        return f"Dual({self.value!r}, {self.tangent!r})"

    def __float__(self):
        raise TypeError("float() of a Dual would drop its tangent")

    def __int__(self):
        raise TypeError("int() of a Dual would drop its tangent")

    __index__ = __int__

    def __bool__(self) -> bool:
        return self.value != 0.0

    def __hash__(self):
        return hash((self.value, self.tangent))

    # -- arithmetic --
    def __add__(self, other):
        if not _number(other):
            return NotImplemented
        o = _lift(other)
        return Dual(self.value + o.value, self.tangent + o.tangent)

    __radd__ = __add__

    def __sub__(self, other):
        if not _number(other):
            return NotImplemented
        o = _lift(other)
        return Dual(self.value - o.value, self.tangent - o.tangent)

    def __rsub__(self, other):
        if not _number(other):
            return NotImplemented
        return _lift(other) - self

    def __mul__(self, other):
        if not _number(other):
            return NotImplemented
        o = _lift(other)
        return Dual(self.value * o.value, self.tangent * o.value + self.value * o.tangent)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if not _number(other):
            return NotImplemented
        o = _lift(other)
        q = self.value / o.value
        return Dual(q, (self.tangent - q * o.tangent) / o.value)

    def __rtruediv__(self, other):
        if not _number(other):
            return NotImplemented
        return _lift(other) / self

    def __neg__(self):
        return Dual(-self.value, -self.tangent)

    def __pos__(self):
        return self

    def __abs__(self):
        return Dual(abs(self.value), math.copysign(1.0, self.value) * self.tangent)

    def __pow__(self, other):
        if not _number(other):
            return NotImplemented
        if not isinstance(other, Dual):  # a constant exponent: n·u^(n-1)·u', defined at u = 0 for n >= 1
            p = float(other)
            if p == 0.0:
                return Dual(1.0, 0.0)
            return Dual(self.value ** p, p * self.value ** (p - 1.0) * self.tangent)
        return _exp(other * _log(self))

    def __rpow__(self, other):
        if not _number(other):
            return NotImplemented
        base = float(other)
        v = base ** self.value
        return Dual(v, v * math.log(base) * self.tangent)

    # -- comparisons follow the value --
    def _cmp(op):  # noqa: N805 - builds the comparison methods below
        def compare(self, other):
            if not _number(other):
                return NotImplemented
            return op(self.value, other.value if isinstance(other, Dual) else other)
        return compare

    __lt__, __le__, __gt__, __ge__ = (_cmp(operator.lt), _cmp(operator.le), _cmp(operator.gt),
                                      _cmp(operator.ge))
    __eq__, __ne__ = _cmp(operator.eq), _cmp(operator.ne)
    del _cmp

    # -- NumPy: a Dual among NumPy scalars or in a ufunc call --
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs or any(isinstance(x, np.ndarray) for x in inputs):
            # An array among the inputs: run NumPy's object loop over its elements.
            if method == "__call__" and not kwargs:
                arrays = [np.asarray(x, dtype=object) if not isinstance(x, np.ndarray) else
                          x.astype(object) for x in inputs]
                return ufunc(*arrays)
            return NotImplemented
        fn = _UFUNCS.get(ufunc.__name__)
        if fn is None:
            raise TypeError(f"the dual-number oracle has no rule for numpy.{ufunc.__name__}")
        return fn(*inputs)


def _number(x: Any) -> bool:
    return isinstance(x, (Dual, int, float, np.integer, np.floating, bool, np.bool_))


def _unary(name: str) -> Callable[[Any], Any]:
    def apply(u):
        if isinstance(u, np.ndarray):
            return np.vectorize(apply, otypes=[object])(u) if u.dtype == object else getattr(np, _np_name(name))(u)
        f, df = MATH[name]  # looked up per call: the table is the one place a rule lives
        if isinstance(u, Dual):
            return Dual(f(u.value), df(u.value) * u.tangent)
        return f(u)

    apply.__name__ = name
    return apply


def _np_name(name: str) -> str:
    return {v: k for k, v in _NUMPY_NAMES.items()}.get(name, name)


_exp, _log = _unary("exp"), _unary("log")

for _name in MATH:  # NumPy's object loops call these methods: np.sin(a) -> a[i].sin()
    setattr(Dual, _name, lambda self, _f=_unary(_name): _f(self))
for _np, _name in _NUMPY_NAMES.items():
    setattr(Dual, _np, lambda self, _f=_unary(_name): _f(self))
Dual.absolute = Dual.__abs__


def _atan2(y, x):
    y, x = _lift(y), _lift(x)
    r2 = x.value * x.value + y.value * y.value
    return Dual(math.atan2(y.value, x.value), (x.value * y.tangent - y.value * x.tangent) / r2)


def _hypot(x, y):
    x, y = _lift(x), _lift(y)
    h = math.hypot(x.value, y.value)
    return Dual(h, (x.value * x.tangent + y.value * y.tangent) / h)


def _pow(x, y):
    if isinstance(x, Dual) or isinstance(y, Dual):
        return _lift(x) ** y if isinstance(y, Dual) else x ** y
    return math.pow(x, y)


def _copysign(x, y):
    xv = x.value if isinstance(x, Dual) else x
    yv = y.value if isinstance(y, Dual) else y
    s = 1.0 if math.copysign(1.0, xv) == math.copysign(1.0, yv) else -1.0
    return x * s if isinstance(x, Dual) else math.copysign(x, yv)


def _isfinite(x):
    return math.isfinite(x.value if isinstance(x, Dual) else x)


def _binary(fn_dual, fn_plain):
    def apply(a, b):
        if isinstance(a, Dual) or isinstance(b, Dual):
            return fn_dual(a, b)
        return fn_plain(a, b)
    return apply


_UFUNCS: dict[str, Callable] = {
    **{name: _unary(name) for name in MATH if hasattr(np, name)},
    **{np_name: _unary(name) for np_name, name in _NUMPY_NAMES.items()},
    # NumPy scalars meet a Dual here: lift them first (np.float64.__mul__ would call back)
    "absolute": abs, "negative": operator.neg, "positive": operator.pos,
    "add": lambda a, b: _lift(a) + b, "subtract": lambda a, b: _lift(a) - b,
    "multiply": lambda a, b: _lift(a) * b, "true_divide": lambda a, b: _lift(a) / b,
    "divide": lambda a, b: _lift(a) / b, "power": lambda a, b: _lift(a) ** b,
    "square": lambda u: u * u,
    "arctan2": _binary(_atan2, math.atan2), "hypot": _binary(_hypot, math.hypot),
    "maximum": lambda a, b: b if _lift(b) > a else a, "minimum": lambda a, b: b if _lift(b) < a else a,
    "less": lambda a, b: _lift(a) < b, "less_equal": lambda a, b: _lift(a) <= b,
    "greater": lambda a, b: _lift(a) > b, "greater_equal": lambda a, b: _lift(a) >= b,
    "equal": lambda a, b: _lift(a) == b, "not_equal": lambda a, b: _lift(a) != b,
    "isfinite": _isfinite,
}


class DualMath(types.SimpleNamespace):
    """``math`` over Duals: the functions of :data:`MATH` and the two-argument ones."""

    def __init__(self):
        super().__init__(**{name: _unary(name) for name in MATH})
        self.atan2 = _binary(_atan2, math.atan2)
        self.hypot = _binary(_hypot, math.hypot)
        self.pow = _pow
        self.copysign = _copysign
        self.isfinite = _isfinite
        self.isnan = lambda x: math.isnan(x.value if isinstance(x, Dual) else x)
        self.isinf = lambda x: math.isinf(x.value if isinstance(x, Dual) else x)
        for const in ("pi", "e", "tau", "inf", "nan"):
            setattr(self, const, getattr(math, const))


def _float_dtype(dtype: Any) -> bool:
    return dtype is None or dtype is float or np.issubdtype(np.dtype(dtype), np.floating)


def _filled(shape: Any, fill: float) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    out.fill(fill)
    return out


class DualNumpy:
    """``numpy`` as a program sees it under the oracle: new float arrays are object arrays (so
    they can hold Duals), element-wise functions and reductions work element by element, and any
    other attribute is NumPy's own (``np.float64(d)`` then raises: it would drop the tangent)."""

    def __init__(self):
        for name in MATH:
            if hasattr(np, name):
                setattr(self, name, _unary(name))
        for np_name, name in _NUMPY_NAMES.items():
            setattr(self, np_name, _unary(name))
        self.abs = self.absolute = lambda a: np.abs(np.asarray(a, dtype=object)) if isinstance(a, np.ndarray) else abs(a)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    # -- new arrays --
    @staticmethod
    def zeros(shape, dtype=None):
        return _filled(shape, 0.0) if _float_dtype(dtype) else np.zeros(shape, dtype)

    @staticmethod
    def ones(shape, dtype=None):
        return _filled(shape, 1.0) if _float_dtype(dtype) else np.ones(shape, dtype)

    @staticmethod
    def full(shape, fill_value, dtype=None):
        if dtype is not None and not _float_dtype(dtype):
            return np.full(shape, fill_value, dtype)
        return _filled(shape, fill_value)

    empty = zeros

    @staticmethod
    def zeros_like(a, dtype=None):
        return DualNumpy.zeros(np.shape(a), dtype if dtype is not None else _like_dtype(a))

    @staticmethod
    def ones_like(a, dtype=None):
        return DualNumpy.ones(np.shape(a), dtype if dtype is not None else _like_dtype(a))

    empty_like = zeros_like

    @staticmethod
    def full_like(a, fill_value, dtype=None):
        return DualNumpy.full(np.shape(a), fill_value, dtype if dtype is not None else _like_dtype(a))

    @staticmethod
    def copy(a):
        return np.array(a, dtype=object, copy=True) if _has_duals(a) else np.copy(a)

    @staticmethod
    def array(obj, dtype=None):
        if dtype is not None and not _float_dtype(dtype):
            return np.array(obj, dtype=dtype)
        out = np.array(obj, dtype=object)
        return out if _has_duals(out) or dtype is not None or _floats(out) else np.array(obj)

    asarray = array

    # -- reductions over object arrays (NumPy's own reduce the elements with + and >) --
    @staticmethod
    def sum(a, axis=None):
        return np.sum(np.asarray(a, dtype=object), axis=axis) if _has_duals(a) else np.sum(a, axis=axis)

    @staticmethod
    def mean(a, axis=None):
        if not _has_duals(a):
            return np.mean(a, axis=axis)
        a = np.asarray(a, dtype=object)
        count = a.size if axis is None else a.shape[axis]
        return np.sum(a, axis=axis) / count

    @staticmethod
    def dot(a, b):
        if not (_has_duals(a) or _has_duals(b)):
            return np.dot(a, b)
        return np.dot(np.asarray(a, dtype=object), np.asarray(b, dtype=object))

    @staticmethod
    def max(a):
        return max(np.asarray(a, dtype=object).ravel()) if _has_duals(a) else np.max(a)

    @staticmethod
    def min(a):
        return min(np.asarray(a, dtype=object).ravel()) if _has_duals(a) else np.min(a)

    amax, amin = max, min


def _like_dtype(a: Any) -> Any:
    return None if _has_duals(a) or np.asarray(a).dtype == object else np.asarray(a).dtype


def _has_duals(a: Any) -> bool:
    if isinstance(a, Dual):
        return True
    arr = np.asarray(a, dtype=object) if not isinstance(a, np.ndarray) else a
    return arr.dtype == object and any(isinstance(e, Dual) for e in arr.ravel())


def _floats(a: np.ndarray) -> bool:
    return any(isinstance(e, (float, np.floating)) for e in a.ravel())


def dual_namespace() -> dict[str, Any]:
    """The module globals a program runs under: ``math``, ``numpy`` and ``numba`` replaced (``njit``
    and ``jit`` leave the function as written, ``prange`` is ``range``)."""
    identity = lambda *a, **k: (a[0] if a and callable(a[0]) and not k else (lambda f: f))  # noqa: E731
    fake_numba = types.SimpleNamespace(njit=identity, jit=identity, prange=range)
    return {"math": DualMath(), "np": DualNumpy(), "numpy": DualNumpy(), "numba": fake_numba}

