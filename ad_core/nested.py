"""Differentiation called inside code being differentiated (forward over forward, reverse
over forward, forward or reverse over a gradient): ``autodiff_deferred(mode, f, ret,
*annotations)`` or ``autodiff(...)`` in a function the engine differentiates.

Contract: the normalizer turns such a call into a ``nested`` call of the flat values (each
annotation's value, then its shadow) described by a :class:`Nested`; typing goes through a
stand-in overload per description (:func:`stand_in`) that generates ``f``'s forward
derivative for the argument types; :func:`lowered` (after typing) replaces the call by a call
of a generated Python function, which the outer pass differentiates like user code (its
source and that of ``f``'s derivative are files):

* Forward: ``(d,) = autodiff_deferred(Forward, f, Duplicated, Duplicated(x, t), Const(z))``
  becomes ``d = nested(x, t, z)``, f's tangent along t (a float result).
* Reverse: ``autodiff_deferred(Reverse, f, Active, Duplicated(x, dx), ...)`` as a statement
  adds the gradient of f in each Duplicated array to its shadow, computed by one forward
  sweep per element (the same derivative; the code differentiated again needs no tape).

Active scalar arguments, a result used otherwise, and the other modes are refused at the
user's line.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from numba.core import types
from numba.core.errors import TypingError

from adtriad.ad_core import array_primitives, ir, naming
from adtriad.ad_core.decorated import function_from_source, typed_stand_in
from adtriad.ad_core.errors import ADError, at
from adtriad.ad_core.resolve import NESTED
from adtriad.ad_core.source import get_source_function


@dataclass(frozen=True)
class Nested:
    """One nested call as written: the mode's name, the function, and per annotation
    ``"dup"`` (a value and its shadow) or ``"const"`` (a value)."""

    mode: str
    func: object
    kinds: tuple

    def positions(self) -> list[tuple[int, int | None]]:
        """(flat index of the value, flat index of the shadow or None) per annotation."""
        out, k = [], 0
        for kind in self.kinds:
            out.append((k, k + 1 if kind == "dup" else None))
            k += 2 if kind == "dup" else 1
        return out


_STAND_INS: dict = {}
_WRAPPERS: dict = {}


def stand_in(nested: Nested):
    """What the call is typed through: a function Numba compiles as the nested derivative
    (returning ``(d,)`` in forward mode, as autodiff_deferred does)."""
    if nested not in _STAND_INS:
        _STAND_INS[nested] = typed_stand_in(
            len(_flat(nested)), lambda *argtypes: wrapper(nested, argtypes, True))
    return _STAND_INS[nested]


def _flat(nested: Nested) -> list:
    return [p for value, shadow in nested.positions() for p in (value, shadow)
            if p is not None]


def wrapper(nested: Nested, argtypes: tuple, as_tuple: bool = False):
    """The generated Python function computing the nested derivative for these flat
    argument types (a TypingError says why it cannot)."""
    key = (nested, argtypes, as_tuple)
    if key in _WRAPPERS:
        return _WRAPPERS[key]
    positions = nested.positions()
    values = [argtypes[v] for v, _ in positions]
    shadowed = [k for k, (_, s) in enumerate(positions) if s is not None]
    name = getattr(nested.func, "__name__", "f")
    if nested.mode == "Reverse" and any(
            not (isinstance(values[k], types.Array) and isinstance(values[k].dtype, types.Float))
            for k in shadowed):
        raise TypingError(f"a nested Reverse call of {name} differentiates in float arrays "
                          "given as Duplicated(x, dx) only: pass scalars inside an array")
    from adtriad.ad_core import build  # (build imports this module: it lowers the calls)
    try:
        module = build.derivative_module(get_source_function(nested.func), "tangent",
                                         tuple(values), tuple(k in shadowed for k in
                                                              range(len(values))),
                                         hidden=False)
    except ADError as exc:
        raise TypingError(str(exc)) from None
    if module.RESULT_KIND != "float":
        raise TypingError(f"a nested call of {name} needs a float result")
    params = [f"x{k}" for k in range(len(argtypes))]
    vals = [params[v] for v, _ in positions]
    function = f"nested_{nested.mode.lower()}_{name}"
    lines = [f"def {function}({', '.join(params)}):"]
    if nested.mode == "Forward":
        dots = [params[s] for _, s in positions if s is not None]
        lines += [f"    d = tangent({', '.join(vals + dots)})[1]",
                  "    return (d,)" if as_tuple else "    return d"]
    else:
        seeds = [f"seed{k}" for k in shadowed]
        lines += [f"    {seed} = np.zeros_like({vals[k]})" for seed, k in zip(seeds, shadowed)]
        for seed, k in zip(seeds, shadowed):
            shadow = params[positions[k][1]]
            lines += [f"    for i in range({vals[k]}.size):",
                      f"        at = _prim.unravel(i, {vals[k]}.shape)",
                      f"        {seed}[at] = 1.0",
                      f"        {shadow}[at] += tangent({', '.join(vals + seeds)})[1]",
                      f"        {seed}[at] = 0.0"]
        lines.append("    return None")
    text = "\n".join(lines) + "\n"
    filename = f"<adtriad-nested {nested.mode} {name} {abs(hash(key))}>"
    namespace = {"np": np, "_prim": array_primitives, "tangent": module.tangent,
                 "__name__": "adtriad.ad_core.nested"}
    _WRAPPERS[key] = function_from_source(text, filename, function, namespace)
    return _WRAPPERS[key]


def lowered(nf, ti):
    calls = [s for s in ir.walk(nf.body) if isinstance(s, (ir.Assign, ir.ExprStmt))
             and isinstance(s.value, ir.Call) and s.value.fn.key == NESTED]
    if not calls:
        return nf
    reads = {}
    for s in ir.walk(nf.body):
        for name in ir.reads(s):
            reads.setdefault(name, []).append(s)
    results = {}  # the tuple a forward call returns -> the scalar that replaces it
    for s in calls:
        nested = s.value.fn.obj
        used = reads.get(s.target, []) if isinstance(s, ir.Assign) else []
        if nested.mode == "Forward" and not all(
                isinstance(u, ir.Assign) and isinstance(u.value, ir.Index)
                and u.value.index == (ir.Const(0),) for u in used):
            raise at(s.loc, "cannot differentiate this use of a nested Forward call's result",
                     "unpack it: `(d,) = autodiff_deferred(Forward, f, ...)`")
        if nested.mode == "Reverse" and used:
            raise at(s.loc, "cannot differentiate a use of a nested Reverse call's result",
                     "call it as a statement and read the gradients from the shadows")
        if isinstance(s, ir.Assign):
            results[s.target] = naming.flag("nested", len(results) + 1)
    from adtriad.ad_core.normalize import normalized  # (the normalizer makes the calls)
    out = copy.copy(nf)
    out.user_callees = dict(nf.user_callees)
    out.hidden_callees = dict(nf.hidden_callees)

    def lower(s):
        if isinstance(s, ir.Assign) and isinstance(s.value, ir.Index) and \
                s.value.value.id in results:
            return [ir.Assign(s.target, ir.Name(results[s.value.value.id]), s.loc)]
        if not (isinstance(s, (ir.Assign, ir.ExprStmt)) and isinstance(s.value, ir.Call)
                and s.value.fn.key == NESTED):
            return [s]
        call = s.value
        argtypes = tuple(ti.of(a.id) if isinstance(a, ir.Name) else types.typeof(a.value)
                         for a in call.args)
        py = wrapper(call.fn.obj, argtypes)
        sf = get_source_function(py)
        text = f"{naming.PREFIX}_user_{sf.name}_{sf.digest[:8]}"
        out.user_callees[text] = sf
        # always called as generated code: a module loaded from the cache cannot re-create
        # the wrapper without typing (build.derivative_module regenerates such modules)
        out.hidden_callees[text] = normalized(sf, False)
        value = ir.Call(ir.Fn("user", text, py, sf), list(call.args), {})
        if isinstance(s, ir.Assign):
            return [ir.Assign(results[s.target], value, s.loc)]
        return [ir.ExprStmt(value, s.loc)]

    out.body = ir.rewrite(nf.body, lower)
    return out


def is_stand_in(obj) -> bool:
    return any(obj is f for f in _STAND_INS.values())
