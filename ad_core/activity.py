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
from adtriad.ad_core.errors import ADError, at, spoken, user_line
from adtriad.ad_core.normalize import normalized
from adtriad.ad_core.typeinfer import TypeInfo, differentiable, is_array


def analyze(nf, ti: TypeInfo, active_params: set[str], notes: list | None = None) -> set[str]:
    active = set(active_params)
    aliases = _alias_groups(nf, ti)
    changed = True
    while changed:
        changed = False

        def mark(name: str, members=None):
            """``name`` holds active values; when they were written into its memory (not
            bound to the name), so do the names sharing that memory."""
            nonlocal changed
            for member in aliases.get(name, {name}) if members is None else members:
                if member not in active and differentiable(ti.of(member)):
                    active.add(member)
                    changed = True

        for s in ir.walk(nf.body):
            if isinstance(s, ir.Assign):
                if _reads_active(s.value, active, ti):
                    mark(s.target, {s.target})  # a binding writes no memory
                if isinstance(s.value, ir.Call) and s.value.fn.key in ("user", "rule"):
                    _mark_written_args(s.value, active, ti, mark)
            elif isinstance(s, ir.Store):
                if isinstance(s.value, ir.Name) and s.value.id in active:
                    mark(s.target)
            elif isinstance(s, ir.ExprStmt) and s.value.fn.key in ("user", "rule"):
                _mark_written_args(s.value, active, ti, mark)
    _check_whitelist(nf, ti, active)
    if notes is not None:
        notes += dropped_derivatives(nf, ti, active)
    for p in nf.params:  # a scalar parameter rebound to an active value is just a local
        if p in active and p not in active_params and is_array(ti.of(p)) and p in nf.hidden:
            raise ADError(
                f"{nf.name} writes values that depend on active arguments into a global "
                f"array{_first_store(nf, p, aliases)}; its derivative would be lost: pass the "
                "array as an argument annotated Duplicated (with a shadow array)")
        if p in active and p not in active_params and is_array(ti.of(p)):
            where = _first_store(nf, p, aliases)
            raise ADError(
                f"argument {p!r} of {nf.name} is Const, but {nf.name} writes values that depend "
                f"on active arguments into it{where}; annotate it Duplicated (with a shadow "
                "array) so its derivative is not lost")
    return active


def _check_whitelist(nf, ti: TypeInfo, active: set) -> None:
    """Activity is a whitelist. An active value may flow only into a float scalar or a float
    array (which then carries its derivative), or into an integer or boolean (whose derivative
    is zero: comparisons, ``int(x)``, stores into integer arrays). Anything else it reaches —
    a list, a tuple, a complex number, an object, a library call made for its effect — would
    drop the derivative silently, so it is refused at the user's line."""
    for s in ir.walk(nf.body):
        if isinstance(s, ir.Assign):
            if s.target in active or not _reads_active(s.value, active, ti):
                continue
            if isinstance(s.value, ir.Attr) and s.value.attr in ("shape", "size", "ndim", "dtype"):
                continue
            t = ti.of(s.target)
            t = types.unliteral(t) if t is not None else None
            if _integral(t):
                continue  # piecewise constant: zero derivative (reported by type_warning)
            if t == types.none and isinstance(s.value, ir.Call) and \
                    s.value.fn.key in ("user", "rule"):
                continue  # a call for its effects: differentiated as a call
            value = s.value
            if isinstance(value, ir.Call) and value.fn.key == "user":
                raise at(s.loc, f"{value.fn.user.name} returns {_kind_of(t)} of values that "
                                "depend on active arguments",
                         "make it return one float (or write results into an array argument)")
            if isinstance(value, ir.Call) and value.fn.key != "rule":
                raise at(s.loc, f"no derivative rule for `{value.fn.text}(...)` returning "
                                f"{_kind_of(t)}",
                         "register a rule with adtriad.ad_core.rules or compute it from "
                         "supported operations")
            source = next(n for n in ir.expr_names(value) if n in active)
            raise at(s.loc, f"{spoken(source, 'active value')} flows into {_kind_of(t)}, "
                            "which cannot carry a derivative",
                     _instead(t))
        elif isinstance(s, ir.Store):
            if s.target in active or not (isinstance(s.value, ir.Name) and s.value.id in active):
                continue
            t = ti.of(s.target)
            if is_array(t) and isinstance(t.dtype, (types.Integer, types.Boolean)):
                continue  # truncated to an integer: zero derivative
            raise at(s.loc, f"{spoken(s.value.id, 'active value')} is stored into "
                            f"{_kind_of(t)}, which cannot carry a derivative", _instead(t))
        elif isinstance(s, ir.ExprStmt) and s.value.fn.key not in ("user", "rule"):
            call = s.value
            touched = [a.id for a in list(call.args) + list(call.kwargs.values())
                       if isinstance(a, ir.Name) and (a.id in active or is_array(ti.of(a.id)))]
            if touched:
                raise at(s.loc, f"`{call.fn.text}` is called for its effect on "
                                f"{spoken(touched[0])}, which the engine cannot follow",
                         "assign its result instead (`b = f(a)`), or write the change as "
                         "element or slice stores")


def _integral(t) -> bool:
    """Integers, booleans, and tuples and arrays of them: values whose derivative is zero."""
    if isinstance(t, types.BaseTuple):
        return all(_integral(types.unliteral(m)) for m in t.types)
    if isinstance(t, types.Array):
        return _integral(t.dtype)
    return isinstance(t, (types.Integer, types.Boolean))


def _kind_of(t) -> str:
    if t is None:
        return "a value of unknown type"
    if isinstance(t, (types.List, types.ListType)):
        return "a list"
    if isinstance(t, types.BaseTuple):
        return "a tuple"
    if isinstance(t, types.Array):
        return f"an array of {t.dtype}"
    if isinstance(t, types.Complex):
        return "a complex number"
    return f"a value of type {t}"


def _instead(t) -> str:
    if isinstance(t, (types.List, types.ListType)):
        return ("keep the values in separate variables or in a NumPy array "
                "(`x = np.empty(n)` then `x[i] = v`)")
    if isinstance(t, types.BaseTuple):
        return "unpack the tuple into separate variables where it is made and read them"
    if isinstance(t, types.Array):
        return "use a float array for values that depend on active arguments"
    return "keep active values in float scalars and float arrays"


class ADTypeWarning(UserWarning):
    """An active value is converted to an integer: its derivative is dropped there."""


_SHAPE_ONLY = {"len", "np.shape", "np.size", "np.ndim"}  # read no values


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
        if sources and isinstance(s.value, ir.Call) and s.value.fn.key not in _SHAPE_ONLY:
            # int(x), math.floor(x), round(x), ...
            notes.append(f"{s.loc}: `{user_line(s.loc)}` turns "
                         f"{spoken(sources[0], 'active value')} into a "
                         f"{types.unliteral(t)}; its derivative is dropped there (the result "
                         "is piecewise constant)")
    return notes


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
            elif isinstance(v, ir.Index) and is_array(ti.of(v.value.id)):
                src = v.value.id
            elif derivatives.view_source(v) is not None:
                src = derivatives.view_source(v)
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
