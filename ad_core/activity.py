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
    for p in nf.params:  # a scalar parameter rebound to an active value is just a local
        if p in active and p not in active_params and is_array(ti.of(p)):
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
    """A callee given any active argument may write active values into the array arguments
    it writes (found from its source; functions with custom rules must not write theirs)."""
    names = [a.id if isinstance(a, ir.Name) else None for a in call.args]
    if not any(n in active for n in names if n):
        return
    written = written_params(call.fn.user) if call.fn.key == "user" else set()
    for k, n in enumerate(names):
        if n and k in written and is_array(ti.of(n)):
            mark(n)


_WRITTEN: dict = {}


def written_params(sf, seen: frozenset = frozenset()) -> set[int]:
    """Positions of the parameters a user function may write (stores into them or their
    views, directly or through the functions it calls)."""
    if sf in _WRITTEN:
        return _WRITTEN[sf]
    if sf in seen:
        return set()
    from adtriad.ad_core.build import normalized
    nf = normalized(sf)
    base = {p: p for p in nf.params}  # name -> parameter it may view
    for s in ir.walk(nf.body):
        if isinstance(s, ir.Assign):
            v = s.value
            src = v.id if isinstance(v, ir.Name) else v.value.id if isinstance(
                v, (ir.Index, ir.Attr)) else v.obj.id if isinstance(v, ir.Method) else None
            if src in base:
                base[s.target] = base[src]
    written = set()
    for s in ir.walk(nf.body):
        if isinstance(s, ir.Store) and s.target in base:
            written.add(base[s.target])
        calls = [s.value] if isinstance(s, (ir.Assign, ir.ExprStmt)) and \
            isinstance(s.value, ir.Call) and s.value.fn.key == "user" else []
        for call in calls:
            inner = written_params(call.fn.user, seen | {sf})
            for k, a in enumerate(call.args):
                if k in inner and isinstance(a, ir.Name) and a.id in base:
                    written.add(base[a.id])
    result = {k for k, p in enumerate(nf.params) if p in written}
    if not seen:
        _WRITTEN[sf] = result
    return result


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
