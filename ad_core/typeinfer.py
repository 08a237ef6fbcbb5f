"""Numba's own type inference, run on the normalized primal, gives every variable a type.

Contract: :func:`infer` returns a :class:`TypeInfo` with the Numba type of each name (SSA
versions merged) and the return type, or raises :class:`ADError` carrying Numba's message and
the user's ``file:line`` when Numba cannot compile the function. No machine code is generated.
"""

from __future__ import annotations

import linecache
import math
import re
import types as types_
from dataclasses import dataclass

import numba
import numpy as np
from numba.core import compiler, errors as nb_errors, rewrites, typed_passes, types
from numba.core.registry import cpu_target

from adtriad.ad_core import array_primitives, ir
from adtriad.ad_core.errors import ADError, numba_failure
from adtriad.ad_core.normalize import NormalFunction

_JITTED: dict = {}


def jitted(func):
    """The Numba CPU dispatcher for a user function (its own when it already is one). Plain
    Python functions it calls through globals are jitted too, so that a rule body may call
    the function it differentiates, as in the seed's examples."""
    if isinstance(func, numba.core.registry.CPUDispatcher):
        return func
    py = getattr(func, "py_func", func)
    if py in _JITTED:
        return _JITTED[py]
    if not isinstance(py, types_.FunctionType):
        return numba.njit(py)
    namespace = dict(py.__globals__)
    copy = types_.FunctionType(py.__code__, namespace, py.__name__, py.__defaults__,
                               py.__closure__)
    copy.__qualname__, copy.__module__ = py.__qualname__, py.__module__
    _JITTED[py] = dispatcher = numba.njit(copy)
    for name in py.__code__.co_names:
        value = namespace.get(name)
        if isinstance(value, types_.FunctionType) and \
                not (value.__module__ or "").startswith(("numpy", "math", "numba")):
            namespace[name] = jitted(value)
    return dispatcher


@dataclass
class TypeInfo:
    types: dict
    restype: object

    def of(self, name: str):
        return self.types.get(name)


def is_float(t) -> bool:
    return isinstance(types.unliteral(t), types.Float)


def is_float_array(t) -> bool:
    return isinstance(t, types.Array) and isinstance(t.dtype, types.Float)


def is_array(t) -> bool:
    return isinstance(t, types.Array)


def differentiable(t) -> bool:
    """Can a value of this type carry a derivative?"""
    return is_float(t) or is_float_array(t)


def primal_source(nf: NormalFunction) -> tuple[str, dict]:
    """Python source of the normalized primal and the namespace it needs."""
    lines = [f"def {nf.name}({', '.join(nf.params)}):"] + ir.to_source(nf.body, stamp=True)
    namespace = {"np": np, "math": math, "_prim": array_primitives, **nf.bindings}
    for text, callee in nf.user_callees.items():
        inner = nf.hidden_callees.get(text)
        namespace[text] = jitted(callee.func) if inner is None else _typing_primal(inner)
    for text, func in nf.ruled.items():
        namespace[text] = jitted(func)
    return "\n".join(lines) + "\n", namespace


_TYPING_PRIMALS: dict = {}


def _typing_primal(nf: NormalFunction):
    """A callee taking hidden parameters, as a dispatcher the caller's typing can call (the
    generated code calls its generated twin instead)."""
    if id(nf) not in _TYPING_PRIMALS:
        src, namespace = primal_source(nf)
        exec(compile(src, f"<adtriad-primal {nf.name}>", "exec"), namespace)
        _TYPING_PRIMALS[id(nf)] = (nf, numba.njit(namespace[nf.name]))
    return _TYPING_PRIMALS[id(nf)][1]


def infer(nf: NormalFunction, argtypes: tuple) -> TypeInfo:
    src, namespace = primal_source(nf)
    filename = f"<adtriad-primal {nf.name}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)  # for errors
    exec(compile(src, filename, "exec"), namespace)
    func = namespace[nf.name]
    tc, tg = cpu_target.typing_context, cpu_target.target_context
    tc.refresh()
    tg.refresh()
    try:
        func_ir = compiler.run_frontend(func)
        _rewrite_before_inference(func_ir, tc, tg, argtypes)
        result = typed_passes.type_inference_stage(tc, tg, func_ir, argtypes, None)
    except nb_errors.NumbaError as exc:
        raise ADError(_explain(exc, nf)) from None
    merged: dict = {}
    for name, t in result.typemap.items():
        if name.startswith("$"):
            continue
        base = re.sub(r"\.\d+$", "", name.removeprefix("arg."))
        t = types.unliteral(t)
        if base in merged and merged[base] != t:
            unified = tc.unify_pairs(merged[base], t)
            merged[base] = unified if unified is not None else merged[base]
        else:
            merged[base] = t
    return TypeInfo(merged, types.unliteral(result.return_type))


def _rewrite_before_inference(func_ir, tc, tg, argtypes) -> None:
    """Numba's own rewrites before typing (constant slices become static getitems, so
    ``a.shape[:2]`` types as a tuple), as its pipeline runs them."""
    state = compiler.StateDict(func_ir=func_ir, typingctx=tc, targetctx=tg, args=argtypes,
                               locals={}, flags=compiler.Flags(), typemap=None, calltypes=None)
    rewrites.rewrite_registry.apply("before-inference", state)


def _explain(exc, nf: NormalFunction) -> str:
    """Numba's error, summarised, pointing at the user's line."""
    first, stamp = numba_failure(exc, r"<adtriad-primal [^>]*>")
    return (f"{stamp or nf.source.filename}: Numba cannot compile {nf.name}: {first}. "
            "Rewrite that line in the nopython subset Numba supports.")
