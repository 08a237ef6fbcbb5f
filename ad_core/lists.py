"""Lists of numbers, as Numba users build them (``L = []`` then ``L.append(v)`` in a loop, or a
list comprehension), made growable arrays after typing, so that both generators
differentiate them as arrays.

Contract: :func:`buffered_lists` returns an equivalent NormalFunction in which every list of
numbers ``L`` made in the function becomes a buffer ``L`` (an array whose capacity doubles
when it is full) and a count ``n``:

    L = [e0, e1]          L = np.empty(16 + 2); L[0] = e0; L[1] = e1; n = 2
    L.append(v)           if n == L.shape[0]: grown = np.empty(2 * n); grown[:n] = L; L = grown
                          L[n] = v; n = n + 1
    len(L)                n
    L[i]  /  L[i] = v     L[_prim.list_index(i, n)]  (negative i counts from the end; an index
                          out of range raises IndexError, as for the list)
    np.array(L)           L[:n].copy()      (also np.asarray)
    sum(L)                np.sum(L[:n])     (also np.sum)

``seq = L``, as a loop over the list reads it (``for v in L``, ``enumerate``, ``zip``), is
read as ``L`` itself when nothing appends to L or rebinds it while ``seq`` is read. Every
other use of such a list (passing it to a function, returning it, a list of arrays, appending
to a list while looping over it) is refused at the user's line.
"""

from __future__ import annotations

import copy
import itertools

import numpy as np
from numba.core import types

from adtriad.ad_core import array_primitives, ir, naming
from adtriad.ad_core.errors import at

_EMPTY = ir.Fn("np.empty", "np.empty", np.empty)
_COPY = ir.Fn("np.copy", "np.copy", np.copy)
_SUM = ir.Fn("np.sum", "np.sum", np.sum)
_INDEX = ir.Fn("_prim.list_index", "_prim.list_index", array_primitives.list_index)
_CAPACITY = 16
_INSTEAD = ("use a list only through append, len, indexing, loops over it, sum(...) and "
            "np.array(...), or fill a NumPy array instead")


def buffered_lists(nf, ti):
    made = {s.target for s in ir.walk(nf.body) if isinstance(s, ir.Assign)
            and isinstance(s.value, ir.ListExpr) and isinstance(ti.of(s.target), types.List)}
    appended = [s for s in ir.walk(nf.body) if _is_append(s)]
    for s in appended:
        if s.value.obj.id not in made:
            raise at(s.loc, f"cannot differentiate appending to {s.value.obj.id!r}, a list not "
                            "made in this function", _INSTEAD)
    if not made:
        return nf
    body = _read_aliases_as_lists(nf.body, made, ti)
    for name in sorted(made):
        element = ti.of(name).dtype
        if not isinstance(element, (types.Float, types.Integer, types.Boolean)):
            first = next(s for s in ir.walk(body) if name in _mentions(s))
            raise at(first.loc, f"cannot differentiate the list {name!r} of {element}",
                     "lists of numbers only: stack arrays into a NumPy array of one more "
                     "dimension")
    for s in ir.walk(body):
        for name in _mentions(s) & made:
            if _use(s, name) is None:
                raise at(s.loc, f"cannot differentiate this use of the list {name!r}", _INSTEAD)
    counts = {name: naming.flag(f"n_{name}_", k) for k, name in enumerate(sorted(made), 1)}
    numbers = itertools.count(1)
    out = copy.copy(nf)
    out.body = ir.rewrite(body, lambda s: _lowered(s, made, counts, ti, numbers))
    return out


def _is_append(s) -> bool:
    return isinstance(s, ir.ExprStmt) and isinstance(s.value, ir.Method) and \
        s.value.method == "append"


def _mentions(s) -> set:
    names = set(ir.reads(s))
    if isinstance(s, ir.Assign):
        names.add(s.target)
    return names


def _use(s, name: str) -> str | None:
    """How statement ``s`` uses the list ``name``, or None for a use that is refused."""
    e = s.value if isinstance(s, (ir.Assign, ir.ExprStmt)) else None
    if isinstance(s, ir.Assign) and s.target == name:
        return "make" if isinstance(e, ir.ListExpr) and name not in ir.expr_names(e) else None
    if _is_append(s) and s.value.obj.id == name and name not in ir.expr_names(
            ir.TupleExpr(s.value.args)):
        return "append"
    if isinstance(s, ir.Store) and s.target == name and len(s.index) == 1 and \
            not isinstance(s.index[0], ir.Slice) and name not in ir.expr_names(s.value):
        return "store"
    if isinstance(e, ir.Index) and e.value.id == name and len(e.index) == 1 and \
            not isinstance(e.index[0], ir.Slice):
        return "load"
    if isinstance(e, ir.Call) and e.args == [ir.Name(name)] and not e.kwargs:
        return {"len": "len", "np.array": "array", "np.asarray": "array", "sum": "sum",
                "np.sum": "sum"}.get(e.fn.key)
    return None


def _read_aliases_as_lists(body: list, made: set, ti) -> list:
    """``seq = L`` followed, in its block, by reads of ``seq`` during which nothing appends
    to ``L`` or rebinds it: the reads read ``L`` (the alias statement goes)."""
    aliases = {}

    def block(stmts):
        for k, s in enumerate(stmts):
            for child in ir.blocks(s):
                block(child)
            if not (isinstance(s, ir.Assign) and isinstance(s.value, ir.Name)
                    and (s.value.id in made or s.value.id in aliases)
                    and isinstance(ti.of(s.target), types.List)):
                continue
            source, later = aliases.get(s.value.id, s.value.id), stmts[k + 1:]
            uses = [j for j, x in enumerate(later) if s.target in ir.reads_within(x)]
            total = sum(1 for x in ir.walk(body) if s.target in _mentions(x))
            window = later[:uses[-1] + 1] if uses else []
            nested = sum(1 for x in ir.walk(window) if s.target in _mentions(x))
            changed = any(_is_append(x) and aliases.get(x.value.obj.id, x.value.obj.id) ==
                          source or isinstance(x, ir.Assign) and x.target == source
                          for x in ir.walk(window))
            if total != nested + 1 or changed:
                raise at(s.loc, f"cannot differentiate a second name for the list {source!r}, "
                                "or a loop over it that appends to it", _INSTEAD)
            aliases[s.target] = source
    block(body)
    if not aliases:
        return body
    kept = ir.rewrite(body, lambda s: [] if isinstance(s, ir.Assign) and s.target in aliases
                      else [s])
    return ir.renamed(kept, aliases)


def _lowered(s, made: set, counts: dict, ti, numbers) -> list:
    names = _mentions(s) & made
    if not names:
        return [s]
    name = names.pop()
    n, loc, kind = counts[name], s.loc, _use(s, name)
    element = ti.of(name).dtype
    dtype = ir.Ref("np.bool_" if isinstance(element, types.Boolean) else f"np.{element}")
    out: list = []

    def temp(value) -> ir.Name:
        tmp = naming.flag("buf", next(numbers))
        out.append(ir.Assign(tmp, value, loc))
        return ir.Name(tmp)
    if kind == "make":
        elts = s.value.elts
        out.append(ir.Assign(name, ir.Call(_EMPTY, [ir.Const(_CAPACITY + len(elts)), dtype]),
                             loc))
        out += [ir.Store(name, (ir.Const(k),), e, loc) for k, e in enumerate(elts)]
        out.append(ir.Assign(n, ir.Const(len(elts)), loc))
    elif kind == "append":
        capacity = temp(ir.Attr(ir.Name(name), "shape"))
        capacity = temp(ir.Index(capacity, (ir.Const(0),)))
        full = temp(ir.Compare("==", ir.Name(n), capacity))
        grown, doubled = naming.flag("grown", next(numbers)), naming.flag("buf", next(numbers))
        out.append(ir.If(full, [
            ir.Assign(doubled, ir.BinOp("*", ir.Const(2), ir.Name(n)), loc),
            ir.Assign(grown, ir.Call(_EMPTY, [ir.Name(doubled), dtype]), loc),
            ir.Store(grown, (ir.Slice(None, ir.Name(n), None),), ir.Name(name), loc),
            ir.Assign(name, ir.Name(grown), loc)], [], loc))
        out.append(ir.Store(name, (ir.Name(n),), s.value.args[0], loc))
        out.append(ir.Assign(n, ir.BinOp("+", ir.Name(n), ir.Const(1)), loc))
    elif kind in ("load", "store"):
        index = s.value.index[0] if kind == "load" else s.index[0]
        at_index = temp(ir.Call(_INDEX, [index, ir.Name(n)]))
        if kind == "load":
            out.append(ir.Assign(s.target, ir.Index(ir.Name(name), (at_index,)), loc))
        else:
            out.append(ir.Store(name, (at_index,), s.value, loc))
    elif kind == "len":
        out.append(ir.Assign(s.target, ir.Name(n), loc))
    else:  # array, sum: of the elements so far
        view = temp(ir.Index(ir.Name(name), (ir.Slice(None, ir.Name(n), None),)))
        out.append(ir.Assign(s.target, ir.Call(_COPY if kind == "array" else _SUM, [view]),
                             loc))
    return out
