"""Which variables of a normalized function may share memory, and which memory is written.

Contract:

* :func:`groups` maps every name to a representative: names that may be bound to the same
  buffer (``b = a``, ``b = a[i]``, ``b = a[1:]``, ``b = a.T``, ``b = f(a)`` for a user
  function or custom rule that may return its argument, tuples holding arrays) share one.
  Parameters are their own buffers (callers do not pass overlapping arrays).
* :func:`writes` lists the statements that write a buffer in place, with the names they
  write: element and slice stores, and calls to user functions that write a parameter (found
  by :func:`written_params`, the same analysis on the callee), or to library functions or
  custom rules called for their effect.
* :func:`written_params` gives the parameter positions a function may write.

Everything here over-approximates: a name that may alias is treated as aliasing, a call that
may write is treated as writing. Reverse mode relies on it to decide when an array can be
handled as a value (see :mod:`~adtriad.ad_core.reverse`).
"""

from __future__ import annotations

from adtriad.ad_core import derivatives, ir
from adtriad.ad_core.normalize import normalized

# Library calls whose result may be their first argument itself.
MAY_RETURN_ARGUMENT = frozenset(("np.asarray", "np.ascontiguousarray", "np.asfortranarray",
                                 "np.ravel", ".ravel", "np.atleast_1d", "np.atleast_2d",
                                 "np.atleast_3d", "np.squeeze", ".squeeze", ".view",
                                 "np.flip", "np.fliplr", "np.flipud"))


def groups(nf, handovers: frozenset = frozenset()) -> dict:
    """``handovers``: ids of ``b = a`` statements after which ``a`` is never used again
    before it is bound to new memory, so ``a``'s memory is ``b``'s alone (not an alias)."""
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a, b):
        parent[find(a)] = find(b)

    for s in ir.walk(nf.body):
        if isinstance(s, ir.Assign) and id(s) not in handovers:
            for source in sources(s.value):
                union(s.target, source)
    return {name: find(name) for name in parent}


def sources(e) -> list:
    """Names whose memory the value of ``e`` may be (or contain)."""
    if isinstance(e, ir.Name):
        return [e.id]
    if isinstance(e, ir.Index):
        return [e.value.id]
    if isinstance(e, ir.TupleExpr):
        return [x.id for x in e.elts if isinstance(x, ir.Name)]
    if isinstance(e, ir.Call) and (e.fn.key == "rule" or
                                   (e.fn.key == "user" and returns_param(e.fn.user))):
        return [a.id for a in e.args if isinstance(a, ir.Name)]
    if derivatives.view_source(e) is not None:
        return [derivatives.view_source(e)]
    key = derivatives.key_of(e)
    if key in MAY_RETURN_ARGUMENT:
        return [a.id for a in ir.operands(e)[:1] if isinstance(a, ir.Name)]
    return []


def writes(nf) -> list:
    """``(statement, names it writes)`` for every statement that writes memory in place."""
    found = []
    for s in ir.walk(nf.body):
        if isinstance(s, ir.Store):
            found.append((s, {s.target}))
        call = s.value if isinstance(s, (ir.Assign, ir.ExprStmt)) else None
        if not isinstance(call, ir.Call):
            continue
        names = [a.id if isinstance(a, ir.Name) else None for a in call.args]
        if call.fn.key == "user":
            written = {names[k] for k in written_params(call.fn.user) if k < len(names)}
        elif isinstance(s, ir.ExprStmt):
            written = set(names)  # called for its effect
        else:
            written = set()
        written.discard(None)
        if written:
            found.append((s, written))
    return found


_WRITTEN: dict = {}
_RETURNS: dict = {}


def returns_param(sf) -> bool:
    """May user function ``sf`` return (a view of) one of its parameters?"""
    if sf.digest not in _RETURNS:
        _RETURNS[sf.digest] = True  # a call cycle (refused elsewhere) is assumed to
        nf = normalized(sf)
        rep = groups(nf)
        result = nf.body[-1].value
        params = {rep.get(p, p) for p in nf.params}
        _RETURNS[sf.digest] = isinstance(result, ir.Name) and rep.get(result.id, result.id) in params
    return _RETURNS[sf.digest]


def written_params(sf) -> frozenset:
    """Positions of the parameters of user function ``sf`` that it may write."""
    if sf.digest not in _WRITTEN:
        nf = normalized(sf)
        rep = groups(nf)
        dirty = {rep.get(n, n) for _, names in writes(nf) for n in names}
        _WRITTEN[sf.digest] = frozenset(k for k, p in enumerate(nf.params)
                                        if rep.get(p, p) in dirty)
    return _WRITTEN[sf.digest]
