"""Small rewrites of the normalized form that widen what the generators accept.

Contract: each returns an equivalent NormalFunction (the input is not modified).

* :func:`scalarize_tuples` (before typing): a tuple built once from atoms and only read by
  constant indexing (``p = (a, b); s, t = p; p[0]``) becomes one variable per element, so its
  elements carry derivatives like any scalar.
* :func:`define_result` (after typing): a scalar result set by early returns gets a first
  value of its type, so no path leaves it undefined for Numba.
* :func:`inplace_arrays` (after typing): ``a op= b`` on an array updates it in place
  (``a[...] = a op b``) as NumPy does, instead of rebinding the name.
* :func:`split_array_rebinds` (after typing): an array name bound several times, each
  binding read only up to the next (``datacol = dcol[:, k]`` in one loop, ``datacol = d -
  c`` in another), gets a name per binding (``_ad_v1_datacol``), so that a view bound once
  and a new array bound later are not taken for one buffer when aliasing is followed.
* :func:`tuple_indices` (after typing): an index held in a tuple (``a[i]`` with ``i`` from
  ``np.ndindex``, ``idx = (i, j); a[idx]``) is spelled element by element (``a[i0, i1]``),
  so whether a load or store reaches one element or a region is read from the index itself.
* :func:`rebound_array_params` (after typing): an array parameter the body rebinds
  (``x = np.sin(x)``) is copied to a local first (``_ad_param_x = x``) and the body works on
  the local, so the parameter itself always names the caller's array (and its shadow).
"""

from __future__ import annotations

import copy
import itertools

import numpy as np
from numba.core import types

from adtriad.ad_core import ir, naming
from adtriad.ad_core.typeinfer import is_array


def element_name(name: str, k: int) -> str:
    return f"{naming.PREFIX}_{name}_el{k}"


def scalarize_tuples(nf):
    assigns: dict = {}
    for s in ir.walk(nf.body):
        if isinstance(s, ir.Assign):
            assigns.setdefault(s.target, []).append(s)
    candidates = {t: defs[0].value for t, defs in assigns.items()
                  if len(defs) == 1 and isinstance(defs[0].value, ir.TupleExpr)
                  and t not in nf.params}
    for s in ir.walk(nf.body):  # every other read must be a constant index
        for name in _reads_other_than_const_index(s):
            candidates.pop(name, None)
    if not candidates:
        return nf
    out = copy.copy(nf)
    out.body = _rewrite_tuples(nf.body, candidates)
    return out


def _reads_other_than_const_index(s) -> set:
    v = s.value if isinstance(s, ir.Assign) else None
    if isinstance(v, ir.Index) and len(v.index) == 1 and isinstance(v.index[0], ir.Const):
        return ir.reads(s) - {v.value.id}
    return ir.reads(s)


def _rewrite_tuples(stmts: list, tuples: dict) -> list:
    def split(s):
        if isinstance(s, ir.Assign) and s.target in tuples:
            return [ir.Assign(element_name(s.target, k), e, s.loc)
                    for k, e in enumerate(tuples[s.target].elts)]
        if isinstance(s, ir.Assign) and isinstance(s.value, ir.Index) and \
                s.value.value.id in tuples:
            k = s.value.index[0].value % len(tuples[s.value.value.id].elts)
            return [ir.Assign(s.target, ir.Name(element_name(s.value.value.id, k)), s.loc)]
        return [s]
    return ir.rewrite(stmts, split)


def define_result(nf, ti):
    """A scalar result set by early returns (``for ...: return x`` then ``return 0.0``) is
    given a first value of its type at the top: each path sets it, but Numba cannot see that
    and would leave it undefined on the path it cannot rule out."""
    t = ti.of(naming.RET_VALUE)
    if t is None or not isinstance(t, (types.Float, types.Integer, types.Boolean)):
        return nf
    zero = ir.Call(ir.Fn(f"np.{t.name}", f"np.{t.name}", getattr(np, t.name)), [ir.Const(0)])
    out = copy.copy(nf)
    out.body = [ir.Assign(naming.RET_VALUE, zero, nf.body[0].loc)] + list(nf.body)
    return out


def inplace_arrays(nf, ti):
    if not any(isinstance(s, ir.Assign) and s.inplace and is_array(ti.of(s.target))
               for s in ir.walk(nf.body)):
        return nf
    out = copy.copy(nf)
    out.body = _rewrite_inplace(nf.body, ti, itertools.count(1))
    return out


def _rewrite_inplace(stmts: list, ti, numbers) -> list:
    def store(s):
        if not (isinstance(s, ir.Assign) and s.inplace and is_array(ti.of(s.target))):
            return [s]
        out, value = [], s.value
        if not isinstance(value, (ir.Name, ir.Const)):
            tmp = naming.flag("inplace", next(numbers))
            out.append(ir.Assign(tmp, value, s.loc))
            value = ir.Name(tmp)
        whole = (ir.Slice(None, None, None),) * ti.of(s.target).ndim
        return out + [ir.Store(s.target, whole, value, s.loc)]
    return ir.rewrite(stmts, store)


def param_local(name: str) -> str:
    return f"{naming.PREFIX}_param_{name}"


def rebound_array_params(nf, ti):
    rebound = {s.target for s in ir.walk(nf.body) if isinstance(s, ir.Assign)
               and s.target in nf.params and is_array(ti.of(s.target))}
    if not rebound:
        return nf
    mapping = {p: param_local(p) for p in sorted(rebound)}
    out = copy.copy(nf)
    loc = nf.body[0].loc
    out.body = [ir.Assign(mapping[p], ir.Name(p), loc) for p in sorted(rebound)] + \
        ir.renamed(nf.body, mapping)
    return out


def split_array_rebinds(nf, ti):
    names = _splittable(nf, ti)
    if not names:
        return nf
    out = copy.copy(nf)
    out.body = _split_block(nf.body, names, {}, itertools.count(1))
    return out


def _splittable(nf, ti) -> set:
    """Array names bound more than once whose every read lies in the span of one binding:
    from it to the next binding in its own statement list (or that list's end), nested
    statements included. Each binding then reaches only the reads in its span."""
    spans: dict = {}  # name -> [(the binding, ids of the statements in its span)]

    def collect(stmts):
        for k, s in enumerate(stmts):
            if isinstance(s, ir.Assign) and is_array(ti.of(s.target)) and \
                    s.target not in nf.params:
                end = next((j for j in range(k + 1, len(stmts))
                            if isinstance(stmts[j], ir.Assign) and stmts[j].target == s.target),
                           len(stmts))
                spans.setdefault(s.target, []).append(
                    (s, {id(x) for x in ir.walk(stmts[k + 1:end])}))
            for block in ir.blocks(s):
                collect(block)

    collect(nf.body)
    out = set()
    for name, bindings in spans.items():
        if len(bindings) < 2:
            continue
        covered = set().union(*(span for _, span in bindings))
        if any(name in ir.reads(b) or id(b) in covered for b, _ in bindings):
            continue  # a binding reads the name, or lies in another's span
        if all(id(x) in covered for x in ir.walk(nf.body) if name in ir.reads(x)):
            out.add(name)
    return out


def _split_block(stmts: list, names: set, current: dict, numbers) -> list:
    current = dict(current)  # a binding's span ends with its statement list
    out = []
    for s in stmts:
        if isinstance(s, ir.Assign) and s.target in names:
            s = copy.copy(s)
            s.value = ir.renamed(s.value, current)
            current[s.target] = f"{naming.PREFIX}_v{next(numbers)}_{s.target}"
            s.target = current[s.target]
            out.append(s)
            continue
        s = ir.renamed(s, current) if current else copy.copy(s)
        if isinstance(s, ir.If):
            s.body = _split_block(s.body, names, current, numbers)
            s.orelse = _split_block(s.orelse, names, current, numbers)
        elif isinstance(s, (ir.For, ir.While)):
            s.body = _split_block(s.body, names, current, numbers)
        out.append(s)
    return out


def tuple_indices(nf, ti):
    if not any(_tuple_index_names(s, ti) for s in ir.walk(nf.body)):
        return nf
    numbers = itertools.count(1)

    def spelled(s):
        held = _tuple_index_names(s, ti)
        if not held:
            return [s]
        out, parts = [], {}
        for name in held:
            parts[name] = []
            for k in range(len(ti.of(name))):
                part = naming.flag(f"at{k}", next(numbers))
                out.append(ir.Assign(part, ir.Index(ir.Name(name), (ir.Const(k),)), s.loc))
                parts[name].append(ir.Name(part))
        index = s.value.index if isinstance(s, ir.Assign) else s.index
        index = tuple(p for i in index for p in (
            parts[i.id] if isinstance(i, ir.Name) and i.id in parts else [i]))
        if isinstance(s, ir.Assign):
            return out + [ir.Assign(s.target, ir.Index(s.value.value, index), s.loc)]
        return out + [ir.Store(s.target, index, s.value, s.loc)]
    out = copy.copy(nf)
    out.body = ir.rewrite(nf.body, spelled)
    return out


def _tuple_index_names(s, ti) -> list:
    """Names of integer tuples in the index of a load or store of an array."""
    if isinstance(s, ir.Assign) and isinstance(s.value, ir.Index) and \
            is_array(ti.of(s.value.value.id)):
        index = s.value.index
    elif isinstance(s, ir.Store):
        index = s.index
    else:
        return []
    return [i.id for i in index if isinstance(i, ir.Name) and
            isinstance(ti.of(i.id), types.BaseTuple) and
            all(isinstance(t, types.Integer) for t in ti.of(i.id))]
