"""Functions made with Numba's ``@vectorize`` and ``@stencil`` called from differentiated
code, as Python functions the engine differentiates (their Python source is there).

Contract: :func:`lowered` (after typing) replaces each such call by a call of a generated
Python function:

* a vectorized function on scalars: its own Python source; with one array argument, a loop
  over that array's elements calling it (the other arguments scalars). Several array
  arguments (NumPy broadcasting) are refused at the user's line.
* a ``@guvectorize`` function (``(n),()->(n)`` called as ``f(a, w)``): a function that puts
  each scalar core input in a one-element array, makes the output from the core (and loop)
  dimensions and calls the kernel's Python source, on each slice of the one argument that
  may have leading loop dimensions. (Typing goes through a stand-in, :func:`gufunc_stand_in`:
  Numba itself cannot type such calls.) Loop dimensions on several arguments, several
  outputs and ``out`` arguments are refused.
* a stencil ``k(a, ...)``: a loop over the interior points (where every relative index the
  kernel reads is inside the arrays) calling the kernel with its relative indices shifted to
  the point, into a new zero array (``out=`` writes the interior of the given array instead),
  as Numba does. Kernels whose relative indices are not integer literals are refused.
"""

from __future__ import annotations

import ast
import copy
import linecache

import numba
import numpy as np
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload

from adtriad.ad_core import ir, naming
from adtriad.ad_core.errors import at
from adtriad.ad_core.resolve import GUVECTORIZED, STENCIL, VECTORIZED, is_stencil, is_vectorized
from adtriad.ad_core.source import get_source_function, register
from adtriad.ad_core.typeinfer import is_array


KEYS = (VECTORIZED, STENCIL, GUVECTORIZED)


def function_from_source(text: str, filename: str, name: str, namespace: dict):
    """The function ``name`` defined by generated source ``text``, its lines kept under
    ``filename`` so that its source can be read (and differentiated) like a file's.
    ``namespace["__name__"]`` must name a module that can be imported: Numba records it for
    the function's compiled code, and a cached caller loaded in another process imports it
    (an unimportable name made that load fail with ModuleNotFoundError)."""
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    exec(compile(text, filename, "exec"), namespace)
    return namespace[name]


def typed_stand_in(nargs: int, choose):
    """A function of ``nargs`` arguments that only compiled code calls: Numba types a call
    of it as the Python function ``choose(*argument types)`` returns (or its TypingError)."""
    params = ", ".join(f"x{k}" for k in range(nargs))
    namespace: dict = {"choose": choose}
    exec(f"def stand_in({params}):\n    raise TypeError('compiled code only')\n"
         f"def typer({params}):\n    return choose({params})\n", namespace)
    overload(namespace["stand_in"])(namespace["typer"])
    return namespace["stand_in"]


def lowered(nf, ti):
    calls = [s for s in ir.walk(nf.body) if isinstance(s, (ir.Assign, ir.ExprStmt))
             and isinstance(s.value, ir.Call) and s.value.fn.key in KEYS]
    if not calls:
        return nf
    out = copy.copy(nf)
    out.user_callees = dict(nf.user_callees)

    def lower(s):
        if not (isinstance(s, (ir.Assign, ir.ExprStmt)) and isinstance(s.value, ir.Call)
                and s.value.fn.key in KEYS):
            return [s]
        call = s.value
        if call.fn.key == STENCIL:
            py, args = _stencil_call(call, ti, s.loc)
        elif call.fn.key == GUVECTORIZED:
            ranks = [ti.of(a.id).ndim if isinstance(a, ir.Name) and is_array(ti.of(a.id))
                     else 0 for a in call.args]
            py = gufunc_wrapper(call.fn.obj, *gufunc_layout(call.fn.obj, ranks))
            args = list(call.args)
        else:
            py, args = _vectorized_call(call, ti, s.loc)
        sf = get_source_function(py)
        text = f"{naming.PREFIX}_user_{sf.name}_{sf.digest[:8]}"
        out.user_callees[text] = sf
        new = copy.copy(s)
        new.value = ir.Call(ir.Fn("user", text, py, sf), args, {})
        return [new]

    out.body = ir.rewrite(nf.body, lower)
    return out


def _vectorized_call(call, ti, loc):
    arrays = [k for k, a in enumerate(call.args)
              if isinstance(a, ir.Name) and is_array(ti.of(a.id))]
    name = call.fn.obj.__name__
    if len(arrays) > 1 or call.kwargs:
        raise at(loc, f"cannot differentiate the vectorized {name} with more than one array "
                      "argument (or keywords)", "loop over the elements and call it on scalars")
    ndim = ti.of(call.args[arrays[0]].id).ndim if arrays else 0
    if ndim > MAX_NDIM:
        raise at(loc, f"cannot differentiate the vectorized {name} on an array of {ndim} "
                      "dimensions", "reshape it first")
    return _wrapper(call.fn.obj, len(call.args), arrays[0] if arrays else None, ndim), \
        list(call.args)


_WRAPPERS: dict = {}
MAX_NDIM = 4


def every_lowering(obj) -> list:
    """Every function a call of ``obj`` (a binding of normalized code) may be lowered to after
    typing: none for anything else. A module loaded from the cache needs their bindings
    without typing the call again."""
    if is_vectorized(obj):
        return every_wrapper(obj)
    if is_stencil(obj):
        return every_stencil_wrapper(obj)
    return every_gufunc_wrapper(_STAND_INS[obj]) if obj in _STAND_INS else []


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
        namespace = {"np": np, "point": numba.njit(point), "__name__": "adtriad.ad_core.decorated"}
        _WRAPPERS[key] = function_from_source(text, filename, name, namespace)
    return _WRAPPERS[key]


# ---- stencils ------------------------------------------------------------------------------
def _stencil_call(call, ti, loc):
    sfunc = call.fn.obj
    kernel = sfunc.kernel_ir.func_id.func
    extra = set(call.kwargs) - {"out"}
    if extra or set(sfunc.options) - {"neighborhood"}:
        raise at(loc, f"cannot differentiate the stencil {kernel.__name__} with options "
                      f"{sorted(extra | set(sfunc.options))}", "write the loop over the points")
    arrays = [k for k, a in enumerate(call.args)
              if isinstance(a, ir.Name) and is_array(ti.of(a.id))]
    if not arrays:
        raise at(loc, f"the stencil {kernel.__name__} is called without an array", "pass one")
    ndim = ti.of(call.args[arrays[0]].id).ndim
    into = "out" in call.kwargs
    py = _stencil_wrapper(sfunc, kernel, len(call.args), arrays[0], ndim, into, loc)
    return py, list(call.args) + ([call.kwargs["out"]] if into else [])


_STENCILS: dict = {}


def every_stencil_wrapper(sfunc) -> list:
    """Every wrapper :func:`lowered` can make for ``sfunc`` (see :func:`every_wrapper`)."""
    kernel = sfunc.kernel_ir.func_id.func
    nargs = kernel.__code__.co_argcount
    out = []
    for array in range(nargs):
        for ndim in range(1, MAX_NDIM + 1):
            for into in (False, True):
                try:
                    out.append(_stencil_wrapper(sfunc, kernel, nargs, array, ndim, into, None))
                except ValueError:  # not a stencil of that rank
                    pass
    return out


def _stencil_wrapper(sfunc, kernel, nargs, array, ndim, into, loc):
    key = (id(sfunc), nargs, array, ndim, into)
    if key not in _STENCILS:
        point, lo, hi = _point_function(sfunc, kernel, ndim, loc)
        params = list(kernel.__code__.co_varnames[:nargs])
        a = params[array]
        idx = ", ".join(f"i{d}" for d in range(ndim))
        name = f"stencil_{kernel.__name__}_{ndim}d" + ("_into" if into else "")
        lines = [f"def {name}({', '.join(params + (['out'] if into else []))}):"]
        if not into:
            lines.append(f"    out = np.zeros({a}.shape)")
        for d in range(ndim):
            lines.append("    " * (d + 1) +
                         f"for i{d} in range({-lo[d]}, {a}.shape[{d}] - {hi[d]}):")
        lines.append("    " * (ndim + 1) + f"out[{idx}] = point({idx}, {', '.join(params)})")
        lines.append("    return out" if not into else "    return")
        text = "\n".join(lines) + "\n"
        filename = f"<adtriad-stencil {kernel.__module__}.{kernel.__qualname__} {key[1:]}>"
        namespace = {"np": np, "point": numba.njit(point), "__name__": "adtriad.ad_core.decorated"}
        _STENCILS[key] = function_from_source(text, filename, name, namespace)
    return _STENCILS[key]


def _point_function(sfunc, kernel, ndim, loc):
    """The kernel as a function of the point (``i0, i1, ...`` first), its relative indices
    shifted to it, and the lowest and highest relative index per axis."""

    sf = get_source_function(kernel)
    tree = copy.deepcopy(sf.tree)
    params = {a.arg for a in tree.args.args}
    lo, hi = [0] * ndim, [0] * ndim
    shift = [f"i{d}" for d in range(ndim)]
    fixed = sfunc.options.get("neighborhood")

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and \
                node.value.id in params:
            elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if len(elts) != ndim:
                raise ValueError("rank")
            for d, e in enumerate(elts):
                offset = _constant_int(e)
                if offset is None:
                    if fixed is None and loc is None:
                        raise ValueError("index")  # every_stencil_wrapper skips this one
                    if fixed is None:
                        raise at(loc, "cannot differentiate a stencil whose relative indices "
                                 "are not integers", "give the neighborhood option or write "
                                 "the loop")
                    continue
                lo[d], hi[d] = min(lo[d], offset), max(hi[d], offset)
            shifted = [ast.BinOp(ast.Name(i, ast.Load()), ast.Add(), e)
                       for i, e in zip(shift, elts)]
            node.slice = shifted[0] if ndim == 1 else ast.Tuple(shifted, ast.Load())
    if fixed is not None:
        lo, hi = [int(n[0]) for n in fixed], [int(n[1]) for n in fixed]
    tree.args.args = [ast.arg(i) for i in shift] + tree.args.args
    tree.name = f"point_{kernel.__name__}_{ndim}d"
    for node in ast.walk(tree):
        for field in ("lineno", "col_offset"):
            if not hasattr(node, field) and field in node._attributes:
                setattr(node, field, getattr(sf.tree, field))
    ast.fix_missing_locations(tree)
    namespace = dict(kernel.__globals__)
    exec(compile(ast.Module([tree], []), sf.filename, "exec"), namespace)
    py = namespace[tree.name]
    register(py, tree, sf.filename, sf.namespace, ast.unparse(tree))
    return py, lo, hi


def _constant_int(node):
    """The value of an integer expression of constants (``-2 + 1``), or None."""
    allowed = (ast.Constant, ast.UnaryOp, ast.BinOp, ast.USub, ast.UAdd, ast.Add, ast.Sub,
               ast.Mult, ast.FloorDiv, ast.Mod)
    if not all(isinstance(n, allowed) for n in ast.walk(node)) or not all(
            type(n.value) is int for n in ast.walk(node) if isinstance(n, ast.Constant)):
        return None
    try:
        return eval(compile(ast.Expression(node), "<stencil index>", "eval"), {})
    except ArithmeticError:
        return None


_GUFUNCS: dict = {}
MAX_LOOP_NDIM = 3


def gufunc_wrapper(gufunc, loops: int = 0, looped: int | None = None):
    """The Python function a call of ``gufunc`` is lowered to: every argument of its core
    rank, except argument ``looped`` with ``loops`` leading dimensions more (the kernel runs
    on each of its slices; the others are the same for all). A ValueError says why a
    signature is not supported."""
    key = (id(gufunc), loops, looped)
    if key in _GUFUNCS:
        return _GUFUNCS[key][0]
    builder = gufunc.gufunc_builder
    kernel, ins, outs = builder.py_func, builder.sin, builder.sout
    if len(outs) != 1:
        raise ValueError("more than one output")
    argtypes = builder._sigs[0].args if builder._sigs else None
    if argtypes is None or len(argtypes) != len(ins) + 1:
        raise ValueError("no compiled signature")
    params = [f"x{k}" for k in range(len(ins))]
    dims: dict = {}
    for k, core in enumerate(ins):
        skip = loops if k == looped else 0
        for d, symbol in enumerate(core):
            dims.setdefault(symbol, f"{params[k]}.shape[{skip + d}]")
    if any(symbol not in dims for symbol in outs[0]):
        raise ValueError("an output dimension no input has")
    idx = [f"i{d}" for d in range(loops)]
    name = f"guvectorized_{kernel.__name__}" + (f"_{loops}_{looped}" if loops else "")
    lines = [f"def {name}({', '.join(params)}):"]
    passed = []
    for k, core in enumerate(ins):
        if core:
            passed.append(f"{params[k]}[{', '.join(idx)}]" if k == looped else params[k])
            continue
        if not isinstance(argtypes[k], types.Array):  # declared a scalar: the kernel gets it as is
            passed.append(params[k])
            continue
        cell = f"cell{k}"  # a scalar core input declared an array reaches the kernel in one element
        lines += [f"    {cell} = np.empty(1, np.{argtypes[k].dtype})",
                  f"    {cell}[0] = {params[k]}"]
        passed.append(cell)
    loop_shape = "".join(f"{params[looped]}.shape[{d}], " for d in range(loops))
    core_shape = "".join(f"{dims[symbol]}, " for symbol in outs[0])
    dtype = f"np.{argtypes[-1].dtype}"
    if outs[0] or not loops:
        lines.append(f"    out = np.empty(({loop_shape}{core_shape or '1, '}), {dtype})")
    else:  # a scalar core output of each slice, through a one-element array
        lines += [f"    out = np.empty(({loop_shape}), {dtype})",
                  f"    result = np.empty(1, {dtype})"]
    for d in range(loops):
        lines.append("    " * (d + 1) + f"for i{d} in range({params[looped]}.shape[{d}]):")
    pad = "    " * (loops + 1)
    if loops and not outs[0]:
        lines += [f"{pad}kernel({', '.join(passed + ['result'])})",
                  f"{pad}out[{', '.join(idx)}] = result[0]"]
    else:
        target = f"out[{', '.join(idx)}]" if loops else "out"
        lines.append(f"{pad}kernel({', '.join(passed + [target])})")
    lines.append("    return out" if outs[0] or loops else "    return out[0]")
    text = "\n".join(lines) + "\n"
    filename = (f"<adtriad-guvectorized {kernel.__module__}.{kernel.__qualname__} {loops} "
                f"{looped}>")
    namespace = {"np": np, "kernel": numba.njit(kernel),
                 "__name__": "adtriad.ad_core.decorated"}
    _GUFUNCS[key] = (function_from_source(text, filename, name, namespace),
                     gufunc)  # kept alive: ids stay unique
    return _GUFUNCS[key][0]


def gufunc_layout(gufunc, ranks: list) -> tuple:
    """(loops, looped) of a call with arguments of these ranks (see gufunc_wrapper); a
    message saying what is refused otherwise."""
    ins = gufunc.gufunc_builder.sin
    name = gufunc.gufunc_builder.py_func.__name__
    extra = [(k, ndim - len(core)) for k, (core, ndim) in enumerate(zip(ins, ranks))
             if ndim != len(core)]
    if not extra:
        return 0, None
    (k, loops), *others = extra
    if others or loops < 0 or not ins[k] or loops > MAX_LOOP_NDIM:
        raise TypingError(
            f"the @guvectorize function {name} is differentiated when at most one argument "
            f"has leading loop dimensions (over its core rank) and the scalar cores are "
            f"scalars; here the ranks are {ranks} for cores "
            f"{['(' + ','.join(c) + ')' for c in ins]}: loop over the leading axes and call "
            "it on each slice")
    return loops, k


_STAND_INS: dict = {}  # stand-in -> the GUFunc it types


def gufunc_stand_in(gufunc):
    """What a call of ``gufunc`` is typed through: a function Numba compiles as the wrapper
    for the arguments' ranks (gufunc_layout), refusing other ranks with the reason."""
    for stand_in, typed in _STAND_INS.items():
        if typed is gufunc:
            return stand_in
    gufunc_wrapper(gufunc)  # the signature is supported

    def choose(*argtypes):
        return gufunc_wrapper(gufunc, *gufunc_layout(gufunc, [getattr(t, "ndim", 0)
                                                            for t in argtypes]))
    stand_in = typed_stand_in(len(gufunc.gufunc_builder.sin), choose)
    _STAND_INS[stand_in] = gufunc
    return stand_in


def every_gufunc_wrapper(gufunc) -> list:
    """Every wrapper a call of ``gufunc`` may be lowered to (see every_wrapper)."""
    out = [gufunc_wrapper(gufunc)]
    for k, core in enumerate(gufunc.gufunc_builder.sin):
        if core:
            out += [gufunc_wrapper(gufunc, loops, k) for loops in range(1, MAX_LOOP_NDIM + 1)]
    return out
