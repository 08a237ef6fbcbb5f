"""Functions made with ``@numba.vectorize`` called from differentiated code, as Python
functions the engine differentiates (their Python source is there).

Contract: :func:`lowered` (after typing) replaces each call of a vectorized function by a call
of a generated Python function: on scalars, the function's own Python source; with one array
argument, a loop over that array's elements calling it (the other arguments are scalars).
Calls with several array arguments (NumPy broadcasting) are refused at the user's line.
"""

from __future__ import annotations

import copy
import linecache

import numpy as np

from adtriad.ad_core import ir, naming
from adtriad.ad_core.errors import at
from adtriad.ad_core.resolve import VECTORIZED as KEY
from adtriad.ad_core.source import get_source_function
from adtriad.ad_core.typeinfer import is_array


def lowered(nf, ti):
    calls = [s for s in ir.walk(nf.body) if isinstance(s, (ir.Assign, ir.ExprStmt))
             and isinstance(s.value, ir.Call) and s.value.fn.key == KEY]
    if not calls:
        return nf
    out = copy.copy(nf)
    out.user_callees = dict(nf.user_callees)

    def lower(s):
        if not (isinstance(s, (ir.Assign, ir.ExprStmt)) and isinstance(s.value, ir.Call)
                and s.value.fn.key == KEY):
            return [s]
        call = s.value
        arrays = [k for k, a in enumerate(call.args)
                  if isinstance(a, ir.Name) and is_array(ti.of(a.id))]
        if len(arrays) > 1 or call.kwargs:
            raise at(s.loc, f"cannot differentiate the vectorized {call.fn.obj.__name__} "
                            "with more than one array argument (or keywords)",
                     "loop over the elements and call it on scalars")
        ndim = ti.of(call.args[arrays[0]].id).ndim if arrays else 0
        if ndim > MAX_NDIM:
            raise at(s.loc, f"cannot differentiate the vectorized {call.fn.obj.__name__} on "
                            f"an array of {ndim} dimensions", "reshape it first")
        py = _wrapper(call.fn.obj, len(call.args), arrays[0] if arrays else None, ndim)
        sf = get_source_function(py)
        text = f"{naming.PREFIX}_user_{sf.name}_{sf.digest[:8]}"
        out.user_callees[text] = sf
        new = copy.copy(s)
        new.value = ir.Call(ir.Fn("user", text, py, sf), list(call.args), {})
        return [new]

    out.body = ir.rewrite(nf.body, lower)
    return out


_WRAPPERS: dict = {}
MAX_NDIM = 4


def every_wrapper(dufunc) -> list:
    """Every wrapper :func:`lowered` can make for ``dufunc`` (a module loaded from the cache
    needs their bindings without typing the call again)."""
    nargs = dufunc._dispatcher.py_func.__code__.co_argcount
    out = [_wrapper(dufunc, nargs, None, 0)]
    for array in range(nargs):
        out += [_wrapper(dufunc, nargs, array, ndim) for ndim in range(1, MAX_NDIM + 1)]
    return out


def _wrapper(dufunc, nargs: int, array: int | None, ndim: int):
    key = (id(dufunc), nargs, array, ndim)
    if key not in _WRAPPERS:
        point = dufunc._dispatcher.py_func
        params = [f"x{k}" for k in range(nargs)]
        name = f"vectorized_{point.__name__}_{ndim}d" + ("" if array is None else f"_{array}")
        if array is None:
            lines = [f"def {name}({', '.join(params)}):",
                     f"    return point({', '.join(params)})"]
        else:
            a = params[array]
            idx = ", ".join(f"i{d}" for d in range(ndim))
            lines = [f"def {name}({', '.join(params)}):",
                     f"    out = np.empty({a}.shape)"]
            for d in range(ndim):
                lines.append("    " * (d + 1) + f"for i{d} in range({a}.shape[{d}]):")
            elements = [f"{p}[{idx}]" if k == array else p for k, p in enumerate(params)]
            lines.append("    " * (ndim + 1) + f"out[{idx}] = point({', '.join(elements)})")
            lines.append("    return out")
        text = "\n".join(lines) + "\n"
        filename = (f"<adtriad-vectorized {point.__module__}.{point.__qualname__} "
                    f"{nargs} {array} {ndim}>")
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        namespace = {"np": np, "point": point, "__name__": "adtriad.ad_core.vectorized"}
        exec(compile(text, filename, "exec"), namespace)
        _WRAPPERS[key] = namespace[name]
    return _WRAPPERS[key]
