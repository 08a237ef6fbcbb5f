"""MixedDuplicated arguments: a tuple or namedtuple parameter whose leaves are float scalars
and arrays is split into one parameter per leaf before typing, so the rest of the engine sees
plain scalars and arrays.

Contract: :func:`flatten_params` rewrites ``p[k]`` and ``p.field`` into the leaf parameter
``p_ad_leaf{k}``; any other use of ``p`` (passing it on whole, iterating it) is refused with an
ADError naming the line, since its leaves' derivatives could not be followed.
"""

from __future__ import annotations

import copy

from numba.core import types

from adtriad.ad_core import ir
from adtriad.ad_core.errors import ADError


def leaf_name(param: str, k: int) -> str:
    return f"{param}_ad_leaf{k}"


def is_tuple_type(t) -> bool:
    return isinstance(t, types.BaseTuple)


def flatten_params(nf, argtypes: tuple, mask: tuple):
    """Return (normalized function, leaf argument types, leaf mask) with every active tuple
    parameter replaced by its leaves."""
    split = {p: t for p, t, m in zip(nf.params, argtypes, mask) if m and is_tuple_type(t)}
    if not split:
        return nf, argtypes, mask
    params, leaf_types, leaf_mask = [], [], []
    for p, t, m in zip(nf.params, argtypes, mask):
        if p in split:
            for k, lt in enumerate(t.types):
                params.append(leaf_name(p, k))
                leaf_types.append(lt)
                leaf_mask.append(True)
        else:
            params.append(p)
            leaf_types.append(t)
            leaf_mask.append(m)
    out = copy.copy(nf)
    out.params = params
    out.body = _propagate_leaves([_rewrite(s, split) for s in ir.rewrite(nf.body)],
                                 set(params) - set(nf.params))
    return out, tuple(leaf_types), tuple(leaf_mask)


def _propagate_leaves(body: list, leaves: set) -> list:
    """``t = leaf`` (from ``p.w``) with t assigned once: read the leaf wherever t is read, so
    that an array field read inside a loop does not look like an array created there."""
    assigned: dict = {}
    for s in ir.walk(body):
        if isinstance(s, ir.Assign):
            assigned.setdefault(s.target, []).append(s)
    copies = {t: defs[0].value.id for t, defs in assigned.items()
              if len(defs) == 1 and isinstance(defs[0].value, ir.Name)
              and defs[0].value.id in leaves and defs[0].value.id not in assigned}
    if not copies:
        return body
    return _substitute(body, copies)


def _sub_atom(a, copies):
    if isinstance(a, ir.Name) and a.id in copies:
        return ir.Name(copies[a.id])
    return a


def _substitute(stmts: list, copies: dict) -> list:
    def sub(s):
        if isinstance(s, ir.Assign) and s.target in copies:
            return []  # the copy itself is no longer needed
        if isinstance(s, ir.Assign):
            s.value = _sub_expr(s.value, copies)
        elif isinstance(s, ir.Store):
            s.target = copies.get(s.target, s.target)
            s.index = tuple(_sub_atom(i, copies) for i in s.index)
            s.value = _sub_atom(s.value, copies)
        elif isinstance(s, ir.ExprStmt):
            s.value = _sub_expr(s.value, copies)
        elif isinstance(s, ir.Return) and s.value is not None:
            s.value = _sub_atom(s.value, copies)
        elif isinstance(s, ir.If):
            s.test = _sub_atom(s.test, copies)
        elif isinstance(s, ir.For):
            s.start, s.stop, s.step = (_sub_atom(b, copies) for b in (s.start, s.stop, s.step))
        return [s]
    return ir.rewrite(stmts, sub)


def _sub_expr(e, copies):
    e = copy.copy(e)
    for field in ("left", "right", "operand", "value", "obj"):
        if hasattr(e, field) and isinstance(getattr(e, field), ir.Name):
            setattr(e, field, _sub_atom(getattr(e, field), copies))
    if isinstance(e, (ir.Call, ir.Method)):
        e.args = [_sub_atom(a, copies) if not isinstance(a, ir.ListExpr) else
                  ir.ListExpr([_sub_atom(x, copies) for x in a.elts]) for a in e.args]
    if isinstance(e, ir.Call):
        e.kwargs = {k: _sub_atom(v, copies) for k, v in e.kwargs.items()}
    if isinstance(e, ir.Index):
        e.index = tuple(_sub_atom(i, copies) if not isinstance(i, ir.Slice) else
                        ir.Slice(*(_sub_atom(p, copies) for p in (i.lower, i.upper, i.step)))
                        for i in e.index)
    if isinstance(e, (ir.TupleExpr, ir.ListExpr)):
        e.elts = [_sub_atom(a, copies) for a in e.elts]
    if isinstance(e, ir.Name):
        return _sub_atom(e, copies)
    return e


def _leaf_of(e, split) -> ir.Name | None:
    if isinstance(e, ir.Index) and e.value.id in split and len(e.index) == 1 and \
            isinstance(e.index[0], ir.Const) and isinstance(e.index[0].value, int):
        n = len(split[e.value.id].types)
        return ir.Name(leaf_name(e.value.id, e.index[0].value % n))
    if isinstance(e, ir.Attr) and e.value.id in split:
        fields = getattr(split[e.value.id], "fields", ())
        if e.attr in fields:
            return ir.Name(leaf_name(e.value.id, list(fields).index(e.attr)))
    return None


def _rewrite(s, split):
    if isinstance(s, ir.Assign):
        leaf = _leaf_of(s.value, split)
        if leaf is not None:
            s.value = leaf
    for child in ([s.body, s.orelse] if isinstance(s, ir.If) else
                  [s.body] if isinstance(s, (ir.For, ir.While)) else []):
        child[:] = [_rewrite(x, split) for x in child]
    bad = ir.reads(s) & set(split)
    if bad:
        raise ADError(f"{s.loc}: the MixedDuplicated argument {sorted(bad)[0]!r} is used as a "
                      "whole; read its fields (p[k] or p.name) instead")
    return s
