"""Pieces shared by the forward and reverse code generators: an indented line emitter that
stamps each line with its origin, typed zeros, and the partial derivatives of one statement.
"""

from __future__ import annotations

from contextlib import contextmanager

import numba
from numba.core import types

from adtriad.ad_core import derivatives, ir
from adtriad.ad_core.errors import ADError, at
from adtriad.ad_core.typeinfer import TypeInfo, is_array


class Emitter:
    """Collects generated lines; ``loc`` stamps a line with the user's ``file:line``."""

    def __init__(self, depth: int = 1):
        self.lines: list[str] = []
        self.depth = depth

    def __call__(self, text: str, loc: ir.Loc | None = None) -> None:
        stamp = f"  # {loc.filename}:{loc.line}" if loc is not None else ""
        self.lines.append("    " * self.depth + text + stamp)

    @contextmanager
    def indent(self):
        self.depth += 1
        start = len(self.lines)
        yield
        if len(self.lines) == start:
            self("pass")
        self.depth -= 1


def zero_of(t) -> str:
    """Source for a zero of the (float) type ``t``; arrays are handled by callers."""
    t = types.unliteral(t)
    if isinstance(t, types.Float):
        return f"np.{t.name}(0.0)"
    if isinstance(t, types.Integer):
        return "0"
    if isinstance(t, types.Boolean):
        return "False"
    return "0.0"


def atom_type(a, ti: TypeInfo):
    if isinstance(a, ir.Name):
        return ti.of(a.id)
    if isinstance(a, ir.Const):
        return numba.typeof(a.value)
    return None


def const_value(a):
    return a.value if isinstance(a, ir.Const) else None


def partials(e, rule, target: str, ti: TypeInfo, active: set, loc, factor) -> list[tuple]:
    """``(operand, factor(operand) * partial)`` for each active operand of an element-wise
    statement (``factor`` gives a tangent in forward mode, the cotangent in reverse).

    A partial of a rule :func:`~adtriad.ad_core.derivatives.singular` says so may be infinite
    where the value is finite (``sqrt`` at 0); there an exactly zero factor gives zero, so a
    value masked out downstream keeps a zero derivative instead of ``0 * inf = nan``."""
    ops = ir.operands(e)
    if isinstance(e, ir.Call) and e.kwargs:
        raise no_rule(e, loc)
    array = any(is_array(atom_type(a, ti)) for a in ops) or is_array(ti.of(target))
    srcs = [ir.atom_src(a) for a in ops]
    consts = [const_value(a) for a in ops]
    parts = derivatives.format_partials(rule, srcs, target, array, consts)
    if parts is None:
        raise no_rule(e, loc)
    out = []
    for a, p in zip(ops, parts):
        if isinstance(a, ir.Name) and a.id in active:
            if p is None:
                raise no_rule(e, loc)
            if p == "0":
                continue
            f = factor(a.id)
            product = scale(f, p)
            if derivatives.singular(rule.key, consts):
                product = (f"np.where({f} == 0.0, 0.0, {product})" if array
                           else f"(0.0 if {f} == 0.0 else {product})")
            out.append((a.id, product))
    return out


def applied_to(e, first: str) -> str:
    """``e`` with its first operand replaced by ``first`` (a linear map or a view applied to
    a tangent: ``np.sum(t)``, ``t.reshape(3, 2)``, ``t.T``)."""
    if isinstance(e, ir.Method):
        return f"{first}.{e.method}({', '.join(ir.atom_src(a) for a in e.args)})"
    if isinstance(e, ir.Attr):
        return f"{first}.{e.attr}"
    args = [first] + [ir.atom_src(a) for a in e.args[1:]]
    args += [f"{k}={ir.atom_src(v)}" for k, v in e.kwargs.items()]
    return f"{e.fn.text}({', '.join(args)})"


def no_rule(e, loc) -> ADError:
    return at(loc, f"no derivative rule for {_described(e)} with an active argument",
              "register one with adtriad.ad_core.rules, or rewrite it with supported "
              "operations (see derivatives.py for the table)")


def _described(e) -> str:
    """The construct of a normalized expression, in the user's terms (no engine names)."""
    if isinstance(e, ir.Call):
        args = ", ".join(["..."] * len(e.args) + [f"{k}=..." for k in e.kwargs])
        return f"`{e.fn.text}({args})`"
    if isinstance(e, ir.Method):
        return f"the method `.{e.method}()`"
    if isinstance(e, ir.Attr):
        return f"the attribute `.{e.attr}`"
    if isinstance(e, ir.BinOp):
        return f"the operator `{e.op}` on these types"
    if isinstance(e, ir.UnaryOp):
        return f"the unary operator `{e.op.strip()}`"
    if isinstance(e, ir.Index):
        return "this indexing"
    return "this expression"


def scale(g: str, p: str) -> str:
    """``g * p`` with the trivial partials 1 and -1 folded."""
    if p == "1":
        return g
    if p == "-1":
        return f"-{g}"
    return f"{g} * ({p})"
