"""Activity analysis: which variables carry derivatives.

Contract: :func:`analyze` takes a normalized, typed function and the set of active parameters
and returns the set of active names. A name is active when it has a float type (scalar or
array) and some assignment to it depends on an active value; arrays that receive active
values through stores (or through calls that may write them) become active, and aliases of
an array share its activity. Integers and booleans are never active. A ``Const`` array that
would receive active values is refused: its derivative would be silently lost.
"""

from __future__ import annotations

from numba.core import types

from adtriad.ad_core import derivatives, ir
from adtriad.ad_core.errors import ADError
from adtriad.ad_core.typeinfer import TypeInfo, differentiable, is_array


def analyze(nf, ti: TypeInfo, active_params: set[str], notes: list | None = None) -> set[str]:
    active = set(active_params)
    aliases = _alias_groups(nf, ti)
    changed = True
    while changed:
        changed = False

        def mark(name: str):
            nonlocal changed
            for member in aliases.get(name, {name}):
                if member not in active and differentiable(ti.of(member)):
                    active.add(member)
                    changed = True

        for s in ir.walk(nf.body):
            if isinstance(s, ir.Assign):
                if _reads_active(s.value, active, ti):
                    mark(s.target)
                if isinstance(s.value, ir.Call) and s.value.fn.key in ("user", "rule"):
                    _mark_written_args(s.value, active, ti, mark)
            elif isinstance(s, ir.Store):
                if isinstance(s.value, ir.Name) and s.value.id in active:
                    mark(s.target)
            elif isinstance(s, ir.ExprStmt) and s.value.fn.key in ("user", "rule"):
                _mark_written_args(s.value, active, ti, mark)
    _check_unclassified(nf, ti, active)
    if notes is not None:
        notes += dropped_derivatives(nf, ti, active)
    for p in nf.params:
        if p in active and p not in active_params:
            where = _first_store(nf, p, aliases)
            raise ADError(
                f"argument {p!r} of {nf.name} is Const, but {nf.name} writes values that depend "
                f"on active arguments into it{where}; annotate it Duplicated (with a shadow "
                "array) so its derivative is not lost")
    return active


def _check_unclassified(nf, ti: TypeInfo, active: set) -> None:
    """A value that depends on active values must carry the derivative (float scalar or float
    array) or be one that legitimately has none (integers, booleans). Anything else (a tuple of
    floats, a complex number) would drop the derivative silently: refuse it."""
    for s in ir.walk(nf.body):
        if not isinstance(s, ir.Assign) or s.target in active:
            continue
        t = types.unliteral(ti.of(s.target)) if ti.of(s.target) is not None else None
        if t is None or not _holds_reals(t):
            continue
        if isinstance(s.value, ir.Attr) and s.value.attr in ("shape", "size", "ndim", "dtype"):
            continue
        if _reads_active(s.value, active, ti):
            raise ADError(f"{s.loc}: {s.target!r} holds a {t} built from active values; the "
                          "engine follows derivatives through float scalars and float arrays "
                          "only: unpack tuples into separate variables")


class ADTypeWarning(UserWarning):
    """An active value is converted to an integer: its derivative is dropped there."""


def dropped_derivatives(nf, ti: TypeInfo, active: set) -> list[str]:
    """Where an active value is converted to an integer (the derivative is dropped there)."""
    notes = []
    for s in ir.walk(nf.body):
        if not isinstance(s, ir.Assign) or isinstance(s.value, ir.Attr):
            continue
        t = ti.of(s.target)
        if t is None or not isinstance(types.unliteral(t), (types.Integer, types.Boolean)):
            continue
        sources = [n for n in ir.expr_names(s.value) if n in active]
        if sources and isinstance(s.value, ir.Call):  # int(x), math.floor(x), round(x), ...
            notes.append(f"{s.loc}: `{ir.expr_src(s.value)}` turns the active value "
                         f"{sources[0]!r} into a {types.unliteral(t)}; its derivative is "
                         "dropped there (the result is piecewise constant)")
    return notes


def _holds_reals(t) -> bool:
    """Could a value of this type carry a derivative (floats or complexes, also inside
    tuples)?"""
    if isinstance(t, types.BaseTuple):
        return any(_holds_reals(types.unliteral(m)) for m in t.types)
    if isinstance(t, types.Array):
        return isinstance(t.dtype, (types.Float, types.Complex))
    return isinstance(t, (types.Float, types.Complex))


def _reads_active(e, active: set, ti: TypeInfo) -> bool:
    if isinstance(e, ir.Index):
        return e.value.id in active
    if isinstance(e, ir.Attr):  # .T is a view; .shape/.size are ints (never active)
        return e.value.id in active
    return any(n in active for n in ir.expr_names(e))


def _mark_written_args(call: ir.Call, active: set, ti: TypeInfo, mark) -> None:
    """A callee given any active argument may write active values into its array arguments."""
    names = [a.id for a in call.args if isinstance(a, ir.Name)]
    if any(n in active for n in names):
        for n in names:
            if is_array(ti.of(n)):
                mark(n)


def _alias_groups(nf, ti: TypeInfo) -> dict[str, set[str]]:
    """Array names bound to the same memory (``b = a``, ``b = a.T``, ``b = a[1:]``)."""
    parent: dict[str, str] = {}

    def find(x):
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for s in ir.walk(nf.body):
        if isinstance(s, ir.Assign) and is_array(ti.of(s.target)):
            src = None
            v = s.value
            if isinstance(v, ir.Name):
                src = v.id
            elif isinstance(v, ir.Attr) and v.attr == "T":
                src = v.value.id
            elif isinstance(v, ir.Index) and is_array(ti.of(v.value.id)):
                src = v.value.id
            elif isinstance(v, ir.Method) and v.method in ("reshape", "transpose"):
                src = v.obj.id
            elif isinstance(v, ir.Call) and v.fn.key in derivatives.VIEWS and \
                    isinstance(v.args[0], ir.Name):
                src = v.args[0].id
            if src is not None:
                parent[find(s.target)] = find(src)
    groups: dict[str, set[str]] = {}
    for name in list(parent):
        groups.setdefault(find(name), set()).add(name)
    out: dict[str, set[str]] = {}
    for root, members in groups.items():
        members = members | {root}
        for m in members:
            out[m] = members
    return out


def _first_store(nf, name: str, aliases) -> str:
    group = aliases.get(name, {name})
    for s in ir.walk(nf.body):
        if isinstance(s, ir.Store) and s.target in group:
            return f" at {s.loc}"
    return ""
