"""Arrays joined by NumPy (``np.concatenate``, ``np.hstack``, ``np.vstack``, ``np.stack``,
``np.column_stack``) from a tuple of float64 arrays, lowered (after typing) into what
both generators differentiate: a new array filled by one slice store per part.

Contract: :func:`joined_arrays` returns an equivalent NormalFunction in which each

    parts = (a0, a1, ...)            # a tuple built right before, read only here
    out = np.hstack(parts)           # or concatenate(parts, axis=k), vstack, stack, ...

becomes

    out = np.empty(shape)            # the joined shape, from the parts' shapes
    out[:, 0:n0] = a0                # (np.stack: out[k] = ak, along its axis)
    out[:, n0:n0 + n1] = a1 ...

A join whose parts differ in rank or dtype, or whose ``axis`` is not an integer literal, is
left as it is (and refused at the user's line if an active value reaches it): NumPy's
promotion rules are not re-implemented here.
"""

from __future__ import annotations

import collections
import copy
import itertools

import numpy as np
from numba.core import types

from adtriad.ad_core import ir, naming
from adtriad.ad_core.typeinfer import is_array

JOINS = ("np.concatenate", "np.concat", "np.hstack", "np.vstack", "np.stack", "np.column_stack")
_EMPTY = ir.Fn("np.empty", "np.empty", np.empty)
_ALL = ir.Slice(None, None, None)


def joined_arrays(nf, ti):
    if not any(isinstance(s, ir.Assign) and isinstance(s.value, ir.Call)
               and s.value.fn.key in JOINS for s in ir.walk(nf.body)):
        return nf
    reads = collections.Counter(name for s in ir.walk(nf.body) for name in ir.reads(s))
    out = copy.copy(nf)
    out.body = _lower_block(nf.body, ti, reads, itertools.count(1))
    return out


def _lower_block(stmts: list, ti, reads, numbers) -> list:
    out = []
    for s in stmts:
        s = copy.copy(s)
        if isinstance(s, ir.If):
            s.orelse = _lower_block(s.orelse, ti, reads, numbers)
        if isinstance(s, (ir.If, ir.For, ir.While)):
            s.body = _lower_block(s.body, ti, reads, numbers)
        plan = _plan(s, out[-1] if out else None, ti, reads)
        if plan is None:
            out.append(s)
            continue
        out.pop()  # the tuple, made for this join only
        out.extend(_fill(s.target, *plan, s.loc, numbers))
    return out


def _plan(s, built, ti, reads):
    """(parts, axis, stacked, rank of the parts) of a join the rewrite applies to, else
    None."""
    if not (isinstance(s, ir.Assign) and isinstance(s.value, ir.Call)
            and s.value.fn.key in JOINS and s.value.args):
        return None
    call, seq = s.value, s.value.args[0]
    if not (isinstance(seq, ir.Name) and isinstance(built, ir.Assign) and
            built.target == seq.id and reads.get(seq.id) == 1 and
            isinstance(built.value, ir.TupleExpr)):
        return None
    parts = built.value.elts
    kinds = {(t.ndim, t.dtype) if is_array(t) else None
             for t in (ti.of(p.id) if isinstance(p, ir.Name) else None for p in parts)}
    result = ti.of(s.target)
    if len(kinds) != 1 or None in kinds or not parts or set(call.kwargs) - {"axis"} or \
            len(call.args) != 1 or not is_array(result) or result.dtype != types.float64:
        return None
    ((rank, _),) = kinds
    axis = call.kwargs.get("axis", ir.Const(0))
    if not (isinstance(axis, ir.Const) and isinstance(axis.value, int)) or rank == 0:
        return None
    key, k = call.fn.key, axis.value
    if key in ("np.concatenate", "np.concat"):
        return parts, k % rank, False, rank
    if key == "np.stack":
        return parts, k % (rank + 1), True, rank
    if key == "np.hstack":
        return parts, 0 if rank == 1 else 1, False, rank
    if key == "np.vstack":
        return parts, 0, rank == 1, rank
    if key == "np.column_stack" and rank <= 2:
        return parts, 1, rank == 1, rank
    return None


def _fill(target: str, parts: list, axis: int, stacked: bool, rank: int, loc, numbers) -> list:
    stmts: list = []

    def temp(value) -> ir.Name:
        name = naming.flag("join", next(numbers))
        stmts.append(ir.Assign(name, value, loc))
        return ir.Name(name)

    shape0 = temp(ir.Attr(parts[0], "shape"))
    dims = [temp(ir.Index(shape0, (ir.Const(d),))) for d in range(rank)]
    if stacked:
        dims.insert(axis, ir.Const(len(parts)))
        stores = [(ir.Const(k), p) for k, p in enumerate(parts)]
    else:
        bounds, stores = [ir.Const(0)], []
        for p in parts:
            n = temp(ir.Index(temp(ir.Attr(p, "shape")), (ir.Const(axis),)))
            bounds.append(n if len(bounds) == 1 else temp(ir.BinOp("+", bounds[-1], n)))
            stores.append((ir.Slice(bounds[-2], bounds[-1], None), p))
        dims[axis] = bounds[-1]
    stmts.append(ir.Assign(target, ir.Call(_EMPTY, [temp(ir.TupleExpr(dims))]), loc))
    for where, p in stores:
        index = (_ALL,) * axis + (where,) + (_ALL,) * (rank + stacked - axis - 1)
        stmts.append(ir.Store(target, index, p, loc))
    return stmts
