"""Reverse mode: an augmented forward sweep that records what the reverse sweep needs, and
the adjoint sweep that walks the program backwards.

Contract: :func:`generate` returns two function sources for a Spec:

* ``AUG(params..., tape...) -> (result, n_floats, n_ints)`` runs the primal
  and pushes onto the tape: the old value of every variable the adjoint sweep reads before it
  is overwritten, the old value of every array element so overwritten, the decision of every
  branch, the trip count (and start/step) of every loop, and finally the values of the local
  variables the adjoint sweep starts from.
* ``ADJ(params..., adjoint arrays of active array params..., seed, tape...)`` pops the tape
  in reverse order, restoring each variable before the statement that assigned it is
  reversed ("restore" model: when a statement is reversed every variable holds the value it
  had right after that statement ran). Adjoints of arrays are accumulated with ``+=``; a
  stored element's adjoint is read and zeroed. It returns the adjoints of the active scalar
  parameters followed by the tape fill counts.

Which variables are pushed is decided by what the adjoint code reads (two passes); reads of
array elements that are never written are recomputed instead of taped.
"""

from __future__ import annotations

import contextlib
import re

import numba

from adtriad.ad_core import aliasing, array_rules, derivatives, ir, naming, rule_calls, rules
from adtriad.ad_core._runtime import (END_FORWARD as _END_FORWARD, END_REVERSE as _END_REVERSE,
                                      FORWARD as _FORWARD, LOAD as _LOAD, REVERSE as _REVERSE)
from adtriad.ad_core.emit import (Emitter, applied_to, atom_type, no_rule, partials,
                                  zero_of)
from adtriad.ad_core.errors import ADError, at, spoken
from adtriad.ad_core.typeinfer import is_array, is_float, jitted

TF, NF, TI, NI, KEY = naming.TAPE
COUNTS = f"{NF}, {NI}"
STACKS = {"f": (TF, NF), "i": (TI, NI)}
G = naming.GRAD
# integer helpers of index arithmetic (np.ndindex loops): recomputed like integer arithmetic
_INDEX_HELPERS = ("_prim.unravel", "_prim.size_of", "_prim.list_index")


def generate(spec, builder) -> tuple[str, str]:
    # What is taped decides what the adjoint sweep does, and that decides what it reads: probe
    # until nothing new is read (each pass can only add to the set, so this ends).
    needed: set = set()
    while True:
        probe = _Reverse(spec, builder, needed=needed)
        probe.adjoint_body()
        reads = probe.reads & probe.program_vars
        if reads <= needed:
            break
        needed = needed | reads
    gen = _Reverse(spec, builder, needed=needed, read_sites=probe.read_sites,
                   read_by=probe.read_by)
    code = gen.augmented(), gen.adjoint()
    # arrays whose contents the adjoint sweep puts back: the caller saves and restores their
    # final values (two passes over each, so only where the adjoint writes them)
    spec.restored = {p for p in spec.nf.params if gen.kind(p) == "array" and
                     (gen.group(p) in gen.put_back() or p in gen.call_arrays)}
    return code


class _Reverse:
    def __init__(self, spec, builder, needed: set, read_sites: dict | None = None,
                 read_by: dict | None = None):
        self.spec = spec
        self.nf = spec.nf
        self.ti = spec.ti
        self.active = spec.active
        self.builder = builder
        self.N = needed
        self.reads: set[str] = set()
        self.read_sites: dict[str, list] = {}  # name -> loops (uids) around each read
        self.prior_sites = read_sites or {}
        self.read_by: dict[int | None, set] = {}  # statement id -> names its adjoint reads
        self.current: int | None = None  # the statement whose adjoint is being written
        self.loop_stack: list[int] = []
        self.body = self.nf.body[:-1]
        self.ret = self.nf.body[-1]
        self.assign_count: dict[str, int] = {}
        self.stored: set[str] = set()
        self.for_vars: set[str] = set()
        for s in ir.walk(self.nf.body):
            if isinstance(s, ir.Assign):
                self.assign_count[s.target] = self.assign_count.get(s.target, 0) + 1
            elif isinstance(s, ir.For):
                self.for_vars.add(s.var)
            elif isinstance(s, ir.Store):
                self.stored.add(s.target)
        self.program_vars = set(self.nf.params) | set(self.assign_count) | self.for_vars
        self.calls_in_loops = {id(c) for loop in ir.walk(self.nf.body)
                               if isinstance(loop, (ir.For, ir.While))
                               for x in ir.walk(loop.body) for c in _calls(x)}
        self.inner_loops = {id(x) for loop in ir.walk(self.nf.body)
                            if isinstance(loop, (ir.For, ir.While))
                            for x in ir.walk(loop.body) if isinstance(x, (ir.For, ir.While))}
        # assignments whose old value the adjoint reads (None in a probe: all of them)
        self.old_read = None if read_by is None else self._old_values_read(read_by)
        self.call_arrays = {a.id for s in ir.walk(self.nf.body)
                            for c in _calls(s) for a in c.args
                            if isinstance(a, ir.Name) and is_array(self.ti.of(a.id))}
        self.recompute: dict[str, ir.Assign] = {}
        self.recompute_block: dict[str, int] = {}
        self.recompute_inputs: dict[str, set] = {}  # name -> what its recomputation reads
        self.values: set = set()
        self.device = spec.device
        self.atomics = spec.atomics if self.device else frozenset()
        # which names may share memory, and which statements write it
        self.handed_over = self.handovers()
        rep = aliasing.groups(self.nf, self.handed_over)
        self.group = lambda n: rep.get(n, n)  # noqa: E731
        self.writers = aliasing.writes(self.nf)
        self.dirty = {self.group(n) for _, names in self.writers for n in names}
        self._find_recomputable(self.body)  # scalars; then views, once arrays are classified
        self._classify_arrays()
        self._find_recomputable(self.body)
        self._check_value_arrays()
        self._work: dict[int, bool] = {}
        # The unchecked flavor (used to differentiate derivative code again) has no capacity
        # checks or spill key, and passes results through the tape instead of tuples.
        self.unchecked = spec.unchecked
        self.tape = list(naming.TAPE[:4] if self.unchecked else naming.TAPE)
        # CUDA device code: a fixed-size tape (overflow counted, never written past), shared
        # adjoint contributions added atomically or logged (see device.py); self.atomics:
        # arrays a kernel changes only with cuda.atomic.add (which reached here as a[i] += v)
        if self.device == "log":
            self.tape += [naming.LOG_V, naming.LOG_K]
        self.tape_args = ", ".join(self.tape)
        self.cache: dict[str, tuple[str, str]] = {}  # stack -> (array, position) in a loop cache
        self.lanes = range(spec.width)
        self.lane = 0

    def B(self, name: str, lane: int | None = None) -> str:
        """The adjoint of ``name`` in the current (or given) lane."""
        lane = self.lane if lane is None else lane
        return naming.adjoint(name, lane if self.spec.width > 1 else None)

    def lane_name(self, fn, lane: int | None = None) -> str:
        lane = self.lane if lane is None else lane
        return fn(lane if self.spec.width > 1 else None)

    # ---- decisions shared by both sweeps --------------------------------------------------
    def kind(self, name: str) -> str:
        """'array', 'float', 'int' (ints and booleans) or 'other' (tuples, ...)."""
        t = self.ti.of(name)
        if is_array(t):
            return "array"
        if is_float(t):
            return "float"
        if isinstance(numba.types.unliteral(t), (numba.types.Integer, numba.types.Boolean)):
            return "int"
        return "other"

    def pushes(self, name: str) -> bool:
        """Is the old value of scalar ``name`` taped when it is assigned?"""
        if name not in self.N or name in self.recompute or self.kind(name) == "array":
            return False
        if self.kind(name) == "other":
            loc = next(s.loc for s in ir.walk(self.nf.body)
                       if isinstance(s, ir.Assign) and s.target == name)
            raise at(loc, f"reverse mode would have to save {spoken(name, 'tuple')} on the "
                          "tape", "unpack it into separate variables")
        return True

    def pushes_at(self, s: ir.Assign) -> bool:
        """Is the old value of ``s.target`` taped at ``s``? Only when the adjoint sweep reads
        that value: a running sum's intermediate values (``v += a[j] * b[j]`` in a loop, then
        ``sq += v * v``) are never read, only the last one is."""
        return self.pushes(s.target) and (self.old_read is None or id(s) in self.old_read)

    def _old_values_read(self, read_by: dict) -> set:
        """Ids of the assignments whose target's old value some adjoint statement reads.

        The restore model runs the adjoint of statement Q with every variable holding the
        value it had right after Q ran. So the value x holds just before an assignment S is
        read when the adjoint of a statement executed between x's previous assignment
        (included) and S reads x: a forward pass over the program, the set of variables whose
        current value has been read so far, joined over branches and iterated to a fixed
        point over loops."""
        found: set = set()

        def block(stmts, live: frozenset) -> frozenset:
            for x in stmts:
                reads = read_by.get(id(x), set())
                if isinstance(x, ir.Assign):
                    if x.target in live:
                        found.add(id(x))
                    live = (live - {x.target}) | reads
                elif isinstance(x, ir.If):
                    live = block(x.body, live) | block(x.orelse, live) | reads
                elif isinstance(x, (ir.For, ir.While)):
                    var = {x.var} if isinstance(x, ir.For) else set()
                    entry = live
                    while True:
                        end = block(x.body, entry - var)
                        if entry | end == entry:
                            break
                        entry = entry | end
                    # (the loop's own reads, its bounds, see the values after it)
                    live = live | end | reads
                else:
                    live = live | reads
            return live

        block(self.nf.body, frozenset())
        return found

    def store_pushes(self, array: str) -> bool:
        return array in self.N or (self.spec.is_callee and array in self.nf.params)

    def saves_array(self, name: str) -> bool:
        """Is a value array saved whole when it is rebound (the adjoint reads its values)?"""
        return name in self.values and name in self.N and name not in self.recompute

    def saves_shape(self, name: str) -> bool:
        """Is only the shape of a value array saved (for the adjoint of its old binding)?"""
        return name in self.values and name in self.active and not self.saves_array(name) \
            and name not in self.recompute

    def call_differentiated(self, call) -> bool:
        if call.fn.key == "rule":
            return any(isinstance(a, ir.Name) and a.id in self.active for a in call.args)
        if call.fn.text in self.nf.hidden_callees:
            return True  # only its generated code takes the hidden parameters
        return call.fn.key == "user" and any(
            isinstance(a, ir.Name) and (a.id in self.active or
                                        (a.id in self.N and self.kind(a.id) == "array"))
            for a in call.args)

    def callee_spec(self, call):
        """The generated code of a differentiated call. A callee called outside loops
        checkpoints its own time loops too (where a time-stepping loop often lives: in the
        simulation a loss calls); one called inside a loop does not (each run of it would
        keep its own snapshots)."""
        inside = id(call) in self.calls_in_loops
        return self.builder.request(call, self.spec, "reverse",
                                    None if inside else self.spec.checkpoint)

    def work(self, s) -> bool:
        key = id(s)
        if key not in self._work:
            self._work[key] = self._has_work(s)
        return self._work[key]

    def _has_work(self, s) -> bool:
        if isinstance(s, ir.Assign) and s.target in self.values and s.target in self.recompute:
            return False  # a view taken again where it is read
        if isinstance(s, ir.Assign):
            if isinstance(s.value, ir.Call) and self.call_differentiated(s.value):
                return True
            return s.target in self.active or self.pushes_at(s) or \
                self.saves_array(s.target)
        if isinstance(s, ir.Store):
            return s.target in self.active or self.store_pushes(s.target)
        if isinstance(s, ir.ExprStmt):
            return self.call_differentiated(s.value)
        if isinstance(s, ir.If):
            return any(self.work(x) for x in s.body + s.orelse)
        if isinstance(s, (ir.For, ir.While)):
            return any(self.work(x) for x in s.body)
        return False

    def _classify_arrays(self) -> None:
        """Local arrays the adjoint sweep needs are handled one of two ways.

        An *identity* array is made once, outside loops and branches: its adjoint is allocated
        once (a view's adjoint is the same view of its source's adjoint) and element stores
        are undone in place. Every other array is a *value*: saved whole when rebound (or
        recomputed), with a fresh adjoint for each binding, as a scalar is. Treating an array
        as a value is exact when no memory it may share is written while it is alive, which
        is checked here (else the array is refused at its line)."""
        self.identity: set = set()
        self.values: set = set()
        direct = {n for _, names in self.writers for n in names}
        for name in self.nf.params:  # rewrites.rebound_array_params made these locals
            if self.kind(name) == "array" and name in self.assign_count:
                raise ADError(f"{self.nf.name}: the array parameter {name!r} is rebound")
        needed = {n for n in self.assign_count if self.kind(n) == "array"
                  and n not in self.nf.params and (n in self.active or n in self.N)}
        self.identity_views: set = set()  # identity arrays that are views of another
        for s in self.body:  # program order: a view's source is classified before it
            if isinstance(s, ir.Assign) and s.target in needed and \
                    self.assign_count[s.target] == 1 and self.identity_source(s):
                self.identity.add(s.target)
                if aliasing.sources(s.value) and not self.gathers(s.value):
                    self.identity_views.add(s.target)
        self.values = needed - self.identity
        self.direct_writes = direct

    def _check_value_arrays(self) -> None:
        """A value array that may share memory must not be written through, nor outlive a
        write to that memory (views taken again in the adjoint sweep need neither)."""
        where = _positions(self.body)
        for s in ir.walk(self.nf.body):
            if not (isinstance(s, ir.Assign) and s.target in self.values) or \
                    s.target in self.recompute:
                continue
            # memory handed over (`h = hn`, hn fresh and never used again) is shared with
            # nothing
            aliased = [] if id(s) in self.handed_over else aliasing.sources(s.value)
            if aliased and s.target in self.direct_writes:
                raise at(s.loc, f"reverse mode cannot follow writes into "
                                f"{spoken(s.target, 'array')}, which shares memory with "
                                f"{spoken(aliased[0], 'array')}",
                         "make it a copy (`.copy()`), or create it once before the loop")
            if aliased and self.saves_array(s.target) and self.group(s.target) in self.dirty \
                    and isinstance(s.value, ir.Call) and s.value.fn.key in ("user", "rule"):
                raise at(s.loc, f"reverse mode would have to save {spoken(s.target, 'array')}, "
                                "which may share memory with an argument of the call that is "
                                "written later", "return a copy (`.copy()`) from the function")
            if aliased and self.group(s.target) in self.dirty and \
                    not self.used_before_written(s, *where[id(s)]):
                raise at(s.loc, f"reverse mode needs {spoken(s.target, 'view')} of "
                                f"{spoken(aliased[0], 'array')} to be used before that array "
                                "is written again",
                         "take a copy (`.copy()`) or take the view again after the write")

    def handovers(self) -> frozenset:
        """``b = a`` where ``a`` is an array made fresh earlier in the same block and used
        nowhere but between there and here (``hn = np.empty(m)``, fill ``hn``, ``h = hn``):
        ``a``'s memory passes to ``b``, which shares it with nothing."""
        where = _positions(self.body)
        found = set()
        for s in ir.walk(self.nf.body):
            if not (isinstance(s, ir.Assign) and isinstance(s.value, ir.Name)
                    and self.kind(s.target) == "array"):
                continue
            src = s.value.id
            defs = [d for d in ir.walk(self.nf.body)
                    if isinstance(d, ir.Assign) and d.target == src]
            if src in self.nf.params or not defs or \
                    any(aliasing.sources(d.value) for d in defs):
                continue
            stmts, k = where[id(s)]
            starts = [j for j in range(k) if isinstance(stmts[j], ir.Assign)
                      and stmts[j].target == src]
            if not starts:
                continue
            span = {id(x) for x in ir.walk(stmts[starts[-1]:k + 1])}
            touching = [x for x in ir.walk(self.nf.body) if src in ir.reads(x)
                        or (isinstance(x, (ir.Assign, ir.Store)) and x.target == src)]
            if all(id(x) in span for x in touching):
                found.add(id(s))
        return frozenset(found)

    def copied_alias(self, s: ir.Assign) -> bool:
        """Is ``s`` a value array sharing memory that is written later, saved for the
        adjoint sweep (so the augmented sweep must take a copy)?"""
        return s.target in self.values and s.target not in self.recompute and \
            self.saves_array(s.target) and bool(aliasing.sources(s.value)) and \
            self.group(s.target) in self.dirty

    def retaken_source(self, s: ir.Assign) -> str | None:
        """The source of a view ``s`` takes of a parameter or identity array (whose buffer is
        the same for the whole call, so the view can be taken again); else None."""
        v = s.value
        if self.gathers(v):
            return None
        if isinstance(v, ir.Index) and self.kind(v.value.id) == "array":
            source = v.value.id
        else:
            source = derivatives.view_source(v)
        if source is None or not (source in self.nf.params or source in self.identity):
            return None
        return source

    def gathers(self, e) -> bool:
        """Is ``e`` an index by an array (``x[mask]``, ``x[idx]``), which copies?"""
        return isinstance(e, ir.Index) and any(
            isinstance(i, ir.Name) and self.kind(i.id) == "array" for i in e.index)

    def identity_source(self, s: ir.Assign) -> bool:
        """Can the array ``s`` makes (once, at the top level) keep one adjoint for the call?
        Yes when it owns its memory, or is a view with fixed bounds of an array that can."""
        aliased = aliasing.sources(s.value)
        if not aliased or self.gathers(s.value):
            return True  # owns its memory (a gather, x[mask] or x[idx], is a copy)
        owners = set(self.nf.params) | self.identity
        view = isinstance(s.value, (ir.Name, ir.Index)) or \
            derivatives.view_source(s.value) is not None
        return view and aliased[0] in owners and \
            all(self.fixed_value(n) for n in ir.expr_names(s.value) if n != aliased[0])

    def used_before_written(self, s: ir.Assign, stmts: list, k: int) -> bool:
        """Are all reads of the view ``s`` makes in the statements after it in its block, with
        no write to memory it may share before the last of them?"""
        later = stmts[k + 1:]
        uses = [j for j, x in enumerate(later) if s.target in ir.reads_within(x)]
        total = sum(1 for x in ir.walk(self.nf.body) if s.target in ir.reads(x))
        nested = sum(sum(1 for x in ir.walk([later[j]]) if s.target in ir.reads(x))
                     for j in uses)
        if total != nested or self.assign_count[s.target] != 1:
            return False
        window = {id(x) for x in ir.walk(later[:uses[-1] + 1])} if uses else set()
        group = self.group(s.target)
        return not any(id(w) in window and any(self.group(n) == group for n in names)
                       for w, names in self.writers)

    def _find_recomputable(self, stmts) -> None:
        """Values the adjoint sweep recomputes instead of taping: scalars assigned once, read
        only by later statements of the same block (or statements nested in them), and
        computed from values nothing changes in between (elements of arrays never written,
        integer arithmetic)."""
        for k, s in enumerate(stmts):
            for child in ir.blocks(s):
                self._find_recomputable(child)
            if not (isinstance(s, ir.Assign) and self.assign_count.get(s.target) == 1
                    and s.target not in self.nf.params and s.target not in self.for_vars
                    and (self.kind(s.target) != "array" or s.target in self.values)):
                continue
            v = s.value
            if self.kind(s.target) == "array":
                # a view of an array bound once for the call is taken again in the adjoint
                # sweep (its adjoint the same view of the source's adjoint), not saved
                if self.retaken_source(s) is None:
                    continue
                inputs = set(ir.expr_names(v))
            elif isinstance(v, ir.Index):
                array = v.value.id
                if self.kind(array) == "array":
                    if any(isinstance(i, ir.Slice) for i in v.index) or \
                            not (self.never_written(array) or self.restored(array)):
                        continue
                elif array not in self.recompute:
                    continue  # a tuple that may change
                inputs = {i.id for i in v.index if isinstance(i, ir.Name)} | {array}
            elif isinstance(v, ir.Attr) and v.attr in ("shape", "size", "ndim") and \
                    self.fixed(v.value.id):
                inputs = set()
            elif isinstance(v, (ir.BinOp, ir.UnaryOp)) and (
                    self.kind(s.target) == "int" or all(
                        n in self.recompute or self.fixed(n) for n in ir.expr_names(v))):
                # integer arithmetic; float arithmetic of values that are recomputed or fixed
                # (the heat stencil's Laplacian): a few operations instead of a tape entry
                inputs = set(ir.expr_names(v))
            elif isinstance(v, ir.TupleExpr) and all(
                    isinstance(x, ir.Const) or self.kind(x.id) == "int" for x in v.elts
                    if not isinstance(x, ir.Ref)):
                inputs = set(ir.expr_names(v))  # a shape such as (n, 3)
            elif isinstance(v, ir.Call) and v.fn.key in _INDEX_HELPERS:
                inputs = set(ir.expr_names(v))  # an unravelled np.ndindex index
            else:
                continue
            # recomputing a value recomputes the values it is computed from, where it is
            # recomputed: nothing they read may change before its last use either
            inputs = inputs.union(*(self.recompute_inputs.get(n, ()) for n in inputs))
            later = stmts[k + 1:]
            uses = [j for j, x in enumerate(later) if s.target in ir.reads_within(x)]
            total = sum(1 for x in ir.walk(self.nf.body) if s.target in ir.reads(x))
            nested = sum(sum(1 for x in ir.walk([later[j]]) if s.target in ir.reads(x))
                         for j in uses)
            if not uses or total != nested:
                continue
            window = later[:uses[-1] + 1]
            if inputs & ir.assigned_in(window):
                continue
            if self.kind(s.target) != "array" and self.writes_memory_of(inputs, window):
                continue  # a value loaded before the write (a view is memory, taken again)
            self.recompute[s.target] = s
            self.recompute_block[s.target] = id(stmts)
            self.recompute_inputs[s.target] = inputs

    def put_back(self) -> set:
        """Alias groups whose memory the adjoint sweep writes: by a store whose old value it
        reads (taped, then put back; through a view too), by a call (a callee's adjoint puts
        back what it wrote), or inside a checkpointed loop (snapshots are loaded into the
        state). A store whose old value nothing reads stays as the primal left it (saxpy's
        ``y[i] += a * x[i]``)."""
        checkpointed = {id(x) for s in self.body if self.checkpointed(s)
                        for x in ir.walk(s.body)}
        return {self.group(n) for w, names in self.writers for n in names
                if not isinstance(w, ir.Store) or self.store_pushes(w.target)
                or id(w) in checkpointed}

    def never_written(self, array: str) -> bool:
        """Is nothing in the call written into ``array``'s memory (by any name sharing it)?"""
        return self.group(array) not in self.dirty and array not in self.call_arrays

    def restored(self, array: str) -> bool:
        """Does the adjoint sweep put back every write into ``array``'s memory, so that a load
        of it can be taken again where the adjoint reads it (given no write in between)? Yes
        when ``array`` is bound once for the call and written only by element stores through
        its own name (element, slice or mask stores) or by user functions it is passed to:
        the restore model undoes both once the adjoint reads the array. Not on the GPU, where other threads read the
        memory while one thread puts it back."""
        if self.device or array in self.atomics or not self.fixed(array):
            return False
        group = self.group(array)
        for w, names in self.writers:
            if not any(self.group(n) == group for n in names):
                continue
            by_name = isinstance(w, ir.Store) and w.target == array
            by_callee = not isinstance(w, ir.Store) and w.value.fn.key == "user" and \
                names == {array}
            through_indices = by_name and not self.is_mask_store(w) and any(
                isinstance(i, ir.Name) and self.kind(i.id) == "array" for i in w.index)
            if not (by_name or by_callee) or through_indices:
                return False  # (a store through an array of indices is not undone)
        return True

    def writes_memory_of(self, names: set, stmts: list) -> bool:
        """Do ``stmts`` write memory that one of the arrays ``names`` may share?"""
        groups = {self.group(n) for n in names if self.kind(n) == "array"}
        inside = {id(x) for x in ir.walk(stmts)}
        return any(id(w) in inside and any(self.group(n) in groups for n in written)
                   for w, written in self.writers)

    def fixed(self, name: str) -> bool:
        """Is ``name`` bound once for the whole call (a parameter never reassigned, or a local
        assigned exactly once, outside loops and branches)?"""
        count = self.assign_count.get(name, 0) + (name in self.for_vars)
        if name in self.nf.params:
            return count == 0
        return count == 1 and any(isinstance(s, ir.Assign) and s.target == name
                                  for s in self.body)

    def fixed_value(self, name: str) -> bool:
        """Does ``name`` hold one value from its assignment to the end of the call?"""
        if not self.fixed(name):
            return False
        if name in self.recompute:
            return all(self.fixed_value(n) for n in ir.expr_names(self.recompute[name].value))
        return True

    def emit_recompute(self, name: str, done: set) -> None:
        """Recompute ``name`` (and first the recomputed temporaries it reads)."""
        if name in done:
            return
        d = self.recompute[name]
        for dep in ir.expr_names(d.value):
            if dep in self.recompute:
                self.emit_recompute(dep, done)
        self.out(self.read(f"{name} = {ir.expr_src(d.value)}"), d.loc)
        if name in self.values and name in self.active:  # the same view of the adjoint
            source = self.retaken_source(d)
            text = ("{}[" + ir.index_src(d.value.index) + "]" if isinstance(d.value, ir.Index)
                    else applied_to(d.value, "{}"))
            for self.lane in self.lanes:
                self.out(self.read(f"{self.B(name)} = {text.format(self.B(source))}"))
        done.add(name)

    def read(self, text: str) -> str:
        """Record the names a generated line reads (identifiers not after a dot; keywords and
        module names never match a program variable) and return the line."""
        for name in re.findall(r"(?<![.\w])([A-Za-z_]\w*)", text):
            self.reads.add(name)
            self.read_sites.setdefault(name, []).append(frozenset(self.loop_stack))
            self.read_by.setdefault(self.current, set()).add(name)
        return text

    def restores_loop_var(self, s: ir.For) -> bool:
        """Must the loop variable's value from before the loop be taped? Not when it is only
        ever this loop's variable and the adjoint reads it only inside this loop."""
        if s.var not in self.N:
            return False
        sole = self.assign_count.get(s.var, 0) == 0 and sum(
            1 for x in ir.walk(self.nf.body) if isinstance(x, ir.For) and x.var == s.var) == 1
        inside = all(s.uid in site for site in self.prior_sites.get(s.var, []))
        return not (sole and inside)

    # ---- augmented forward sweep ----------------------------------------------------------
    def augmented(self) -> str:
        out = self.out = Emitter()
        params = self.nf.params + self.tape
        head = f"def {self.spec.aug_name}({', '.join(params)}):"
        self.init_locals()
        self.aug_block(self.body)
        for name in self.final_locals():
            if name in self.values:
                self.save_value_array(name)
            elif self.kind(name) == "array":
                out(f"{COUNTS} = {self.push_array_call(name)}")
            else:
                self.push(name)
        value = "None" if self.ret.value is None else ir.atom_src(self.ret.value)
        if self.unchecked:
            if self.ret.value is not None:
                self.push_value("f" if is_float(self.spec.ti.restype) else "i", value)
            out(f"return {COUNTS}", self.ret.loc)
        else:
            out(f"return {value}, {COUNTS}", self.ret.loc)
        return "\n".join([head] + out.lines)

    def init_locals(self) -> None:
        """Scalars and value arrays the tape saves get a typed value first, so the first save
        is defined."""
        for name in sorted(self.N):
            if name not in self.nf.params and self.pushes(name):
                self.out(f"{name} = {zero_of(self.ti.of(name))}")
        for name in sorted(self.values):
            if self.saves_array(name) or self.saves_shape(name):
                t = self.ti.of(name)
                self.out(f"{name} = np.empty({(0,) * t.ndim}, {_dtype_src(t.dtype)})")

    def save_value_array(self, name: str) -> None:
        """Before a value array is rebound: save it, or its shape."""
        if self.saves_array(name):
            self.out(f"{COUNTS} = {self.push_array_call(name)}")
        elif self.saves_shape(name):
            for d in range(self.ti.of(name).ndim):
                self.push_value("i", f"{name}.shape[{d}]")

    def final_locals(self) -> list[str]:
        """Locals the adjoint sweep starts from, in push order."""
        names = [n for n in sorted(self.N) if n in self.program_vars and n not in self.recompute
                 and (n not in self.nf.params or self.assign_count.get(n) or n in self.for_vars)
                 and self.kind(n) != "array" and self.pushes(n)]
        arrays = [s.target for s in self.body if isinstance(s, ir.Assign)
                  and s.target in self.identity and s.target not in self.identity_views]
        values = [n for n in sorted(self.values) if self.saves_array(n) or self.saves_shape(n)]
        return names + arrays + values

    def push(self, name: str, value: str | None = None) -> None:
        value = name if value is None else value
        self.push_value("f" if self.kind(name) == "float" else "i", value)

    def push_value(self, stack: str, value: str) -> None:
        """Inline push; a full stack spills its content (the array itself is never rebound)."""
        tape, count = STACKS[stack]
        if stack in self.cache:  # inside a loop that took room for all its pushes
            cache, position = self.cache[stack]
            self.out(f"{cache}[{position}] = {value}; {position} += 1")
            return
        if self.device:  # the count goes on past the end: the caller sees the overflow
            self.out(f"if {count} < {tape}.shape[0]: {tape}[{count}] = {value}")
            self.out(f"{count} += 1")
            return
        if not self.unchecked:
            self.out(f"if {count} >= {tape}.shape[0]: {count} = _spill({tape}, {count}, {KEY})")
        self.out(f"{tape}[{count}] = {value}; {count} += 1")

    def pop_value(self, stack: str) -> str:
        """Inline pop; returns the expression of the popped value."""
        tape, count = STACKS[stack]
        if stack in self.cache:
            cache, position = self.cache[stack]
            self.out(f"{position} -= 1")
            return f"{cache}[{position}]"
        if not self.unchecked:
            self.out(f"if {count} == 0: {count} = _refill({tape}, {KEY})")
        self.out(f"{count} -= 1")
        return f"{tape}[{count}]"

    def refuse_array_tape(self, array: str) -> None:
        if self.device:
            raise ADError(f"{self.nf.name}: differentiating this on the GPU would save the whole "
                          f"array {array!r} on each thread's tape; keep arrays written by a "
                          "kernel as its arguments, or use the CPU kernel backend")

    def push_array_call(self, array: str) -> str:
        self.refuse_array_tape(array)
        if self.unchecked:
            return f"_push_array_unchecked({TF}, {NF}, {TI}, {NI}, {array})"
        return f"_push_array({TF}, {NF}, {TI}, {NI}, {KEY}, {array})"

    def pop_into_call(self, target: str) -> str:
        self.refuse_array_tape(target)
        if self.unchecked:
            return f"_pop_into_unchecked({TF}, {NF}, {target})"
        return f"_pop_into({TF}, {NF}, {KEY}, {target})"

    def call_result(self, callee, target: str) -> None:
        """In the unchecked flavor a callee's result comes back on the tape."""
        if callee.returns_none:
            return
        kind = "f" if is_float(callee.ti.restype) else "i"
        self.out(f"{target} = {self.pop_value(kind)}")

    def aug_block(self, stmts) -> None:
        for s in stmts:
            self.aug_stmt(s)

    def aug_stmt(self, s) -> None:
        out = self.out
        if isinstance(s, ir.Assign):
            if s.inplace and self.kind(s.target) == "array":
                raise ADError(f"{s.loc}: in-place `{s.target} op= ...` on an array is not "
                              "supported yet; write a loop over its elements")
            if self.pushes_at(s):
                self.push(s.target)
            self.save_value_array(s.target)
            if isinstance(s.value, ir.Call) and s.value.fn.key == "rule":
                out(f"{s.target} = {ir.expr_src(s.value)}", s.loc)  # its rule runs in reverse
            elif isinstance(s.value, ir.Call) and self.call_differentiated(s.value):
                callee = self.callee_spec(s.value)
                args = ", ".join([ir.atom_src(a) for a in s.value.args] + [self.tape_args])
                if self.unchecked:
                    out(f"{COUNTS} = {callee.aug_name}({args})", s.loc)
                    self.call_result(callee, s.target)
                else:
                    out(f"{s.target}, {COUNTS} = {callee.aug_name}({args})", s.loc)
            elif self.copied_alias(s):
                # the memory it shares is written later: the tape must keep the values it
                # has here, so the augmented sweep holds a copy (equal while it is used)
                out(f"{s.target} = np.copy({ir.expr_src(s.value)})", s.loc)
            else:
                out(f"{s.target} = {ir.expr_src(s.value)}", s.loc)
        elif isinstance(s, ir.Store) and s.target in self.atomics:
            if self.store_pushes(s.target):
                raise ADError(f"{s.loc}: the reverse sweep would need the old values of "
                              f"{s.target!r}, which other threads change atomically")
            out(f"cuda.atomic.add({s.target}, {_atomic_index(s.index)}, "
                f"{self.atomic_increment(s)})", s.loc)
        elif isinstance(s, ir.Store):
            idx = ir.index_src(s.index)
            if any(isinstance(i, ir.Name) and self.kind(i.id) == "array" for i in s.index) \
                    and self.work(s) and not self.is_mask_store(s):
                # (a repeated index is written once, by the last write: not followed yet)
                raise at(s.loc, "reverse mode does not support storing through an array of "
                                "indices", "write the elements in a loop, or use a mask")
            if self.store_pushes(s.target):
                if self.is_slice_store(s) or self.is_mask_store(s):
                    out(f"{COUNTS} = {self.push_array_call(f'{s.target}[{idx}]')}")
                else:
                    self.push_value("f" if self.elem_is_float(s.target) else "i",
                                    f"{s.target}[{idx}]")
            out(f"{s.target}[{idx}] = {ir.atom_src(s.value)}", s.loc)
        elif isinstance(s, ir.ExprStmt):
            if s.value.fn.key == "rule":
                out(ir.expr_src(s.value), s.loc)
            elif self.call_differentiated(s.value):
                callee = self.callee_spec(s.value)
                args = ", ".join([ir.atom_src(a) for a in s.value.args] + [self.tape_args])
                if self.unchecked:
                    out(f"{COUNTS} = {callee.aug_name}({args})", s.loc)
                    self.call_result(callee, f"{naming.PREFIX}_unused")
                else:
                    out(f"{naming.PREFIX}_unused, {COUNTS} = {callee.aug_name}({args})", s.loc)
            else:
                out(ir.expr_src(s.value), s.loc)
        elif isinstance(s, ir.If):
            record = self.work(s)
            out(f"if {ir.atom_src(s.test)}:", s.loc)
            with out.indent():
                self.aug_block(s.body)
                if record:
                    self.push_value("i", "1")
            if s.orelse or record:
                out("else:")
                with out.indent():
                    self.aug_block(s.orelse)
                    if record:
                        self.push_value("i", "0")
        elif isinstance(s, ir.For):
            record = self.work(s)
            counted = record and not self.static_trips(s)
            trips = naming.counter(s.uid)
            if record and self.restores_loop_var(s):
                self.push(s.var)
            if self.checkpointed(s):
                self.checkpointed_loop(s, reverse=False)
                return
            if counted:
                out(f"{trips} = 0")
            bounds = ", ".join(ir.atom_src(b) for b in (s.start, s.stop, s.step))
            per_trip = self.loop_pushes(s)
            if per_trip:
                out(f"{naming.planned_trips(s.uid)} = _range_len({bounds})")
            self.open_loop_cache(s, per_trip, "_reserve", naming.planned_trips(s.uid))
            out(f"for {s.var} in range({bounds}):", s.loc)
            with out.indent(), self.cached(s, per_trip):
                if counted:
                    out(f"{trips} += 1")
                self.aug_block(s.body)
                if s.exit_flag:
                    out(f"if {s.exit_flag}:")
                    out("    break")
            if counted:
                for bound in (s.start, s.step):
                    if not isinstance(bound, ir.Const):
                        self.push_value("i", ir.atom_src(bound))
                self.push_value("i", trips)
        elif isinstance(s, ir.While):
            record = self.work(s)
            trips = naming.counter(s.uid)
            if record:
                out(f"{trips} = 0")
            out("while True:", s.loc)
            with out.indent():
                if record:
                    out(f"{trips} += 1")
                self.aug_block(s.body)
                out(f"if {s.exit_flag}:")
                out("    break")
            if record:
                self.push_value("i", trips)
        elif isinstance(s, ir.Return):  # pragma: no cover - only the final Return remains
            raise TypeError("unexpected return")

    def loop_pushes(self, s: ir.For) -> dict:
        """Values each trip of ``s`` pushes, per stack ({'f': 2}), when the stacks can be given
        room for all of them on entry, so that the body pushes without capacity checks and
        LLVM can vectorize it (Enzyme's loop caches): its trip count is known then, and its
        body pushes a fixed number of scalars (no branch, inner loop or call that pushes);
        else {}."""
        if self.unchecked or self.device or s.exit_flag or not self.work(s) or \
                id(s) in self.inner_loops:
            # (inside another loop, binding the cache on every outer trip costs reference
            # counting on every trip: polynomial's 8-trip inner loop ran 1.8x slower)
            return {}
        per_trip = {"f": 0, "i": 0}
        for x in s.body:
            if isinstance(x, (ir.If, ir.For, ir.While)) and self.work(x):
                return {}
            if isinstance(x, (ir.Assign, ir.ExprStmt)) and isinstance(x.value, ir.Call) and \
                    self.call_differentiated(x.value) and x.value.fn.key != "rule":
                return {}
            if isinstance(x, ir.Assign):
                if x.target in self.values and (self.saves_array(x.target) or
                                                self.saves_shape(x.target)):
                    return {}
                if self.pushes_at(x):
                    per_trip["f" if self.kind(x.target) == "float" else "i"] += 1
            elif isinstance(x, ir.Store) and self.store_pushes(x.target):
                if self.is_slice_store(x) or self.is_mask_store(x):
                    return {}
                per_trip["f" if self.elem_is_float(x.target) else "i"] += 1
        return {stack: n for stack, n in per_trip.items() if n}

    def open_loop_cache(self, s: ir.For, per_trip: dict, helper: str, trips: str) -> None:
        """Before the loop: room on each stack for its pushes (``_reserve``), or, before the
        reversed loop, the values they left (``_take``)."""
        for stack, n in per_trip.items():
            tape, count = STACKS[stack]
            cache, position = naming.loop_cache(s.uid, stack)
            self.out(f"{cache}, {position}, {count} = {helper}_{stack}({tape}, {count}, {KEY}, "
                     f"{trips} * {n})")

    @contextlib.contextmanager
    def cached(self, s: ir.For, per_trip: dict):
        """Pushes and pops inside the loop's body go to its loop cache."""
        outer = self.cache
        self.cache = {stack: naming.loop_cache(s.uid, stack) for stack in per_trip}
        try:
            yield
        finally:
            self.cache = outer

    def static_trips(self, s: ir.For) -> bool:
        """Can the reverse sweep recount this loop's trips from its bounds? Yes when it has no
        early exit and nothing in its body reassigns a bound."""
        bounds = {b.id for b in (s.start, s.stop, s.step) if isinstance(b, ir.Name)}
        return s.exit_flag is None and not (bounds & (ir.assigned_in(s.body) | {s.var}))

    # ---- checkpointed loops ---------------------------------------------------------------
    def checkpointed(self, s) -> bool:
        """Is ``s`` reversed by binomial checkpointing (asked for with a memory budget)? Time
        loops are: counted loops at the top of the function (the differentiated one, or one
        it calls outside loops) whose body loops or calls. Their
        trips run primal-only between snapshots of the state, and each trip is taped only
        just before it is reversed, so the tape holds one trip."""
        return (self.spec.checkpoint is not None and not self.unchecked and not self.device
                and isinstance(s, ir.For) and any(s is x for x in self.body)
                and self.static_trips(s) and self.work(s)
                and any(isinstance(x, (ir.For, ir.While)) or _calls(x) for x in ir.walk(s.body)))

    def loop_state(self, s: ir.For) -> list[tuple[str, str]]:
        """What a snapshot of checkpointed loop ``s`` holds, as (name, how): ``scalar`` for
        the scalars its body assigns that live before it, ``array`` for the contents of arrays
        bound before it whose memory the body writes, ``value`` for an array the body rebinds
        while it carries it from one trip to the next (shape and contents)."""
        k = next(j for j, x in enumerate(self.body) if x is s)
        before = set(self.nf.params) | ir.assigned_in(self.body[:k])
        assigned = ir.assigned_in(s.body)
        state = []
        for name in sorted((assigned & before) - {s.var}):
            kind = self.kind(name)
            if kind == "other":
                raise at(s.loc, f"checkpointing this loop would have to save "
                                f"{spoken(name, 'tuple')} in its snapshots",
                         "unpack it into separate variables")
            carried = kind == "array" and self.used_before_written_in(name, s.body)
            if kind != "array" or carried:
                state.append((name, "value" if carried else "scalar"))
        inside = {id(x) for x in ir.walk(s.body)}
        written = {n for stmt, names in self.writers if id(stmt) in inside for n in names}
        for name in sorted(before - assigned):
            if self.kind(name) == "array" and any(self.group(name) == self.group(w)
                                                  for w in written):
                state.append((name, "array"))
        for name, how in state:
            if how != "scalar" and self.ti.of(name).dtype.name.startswith("complex"):
                raise at(s.loc, f"checkpointing this loop cannot save the complex array "
                                f"{name!r}", "split it into real and imaginary arrays")
        for x in ir.walk(s.body):
            for call in _calls(x):
                if call.fn.text in self.nf.hidden_callees:
                    raise at(x.loc, f"checkpointing this loop needs the primal of "
                                    f"{call.fn.text}, which reads global arrays",
                             "pass those arrays to it as arguments")
        return state

    def used_before_written_in(self, name: str, body: list) -> bool:
        """Does a trip of a loop with this body read ``name`` before assigning it (so that
        it carries the value from the trip before)?"""
        for x in ir.walk(body):
            if name in ir.reads(x):
                return True
            if isinstance(x, ir.Assign) and x.target == name:
                return False
        return False

    def checkpointed_loop(self, s: ir.For, reverse: bool) -> None:
        """The loop as an interpreter of its schedule (see _runtime): the augmented sweep runs
        the rows up to END_FORWARD, the adjoint sweep the rest. A trip runs primal-only,
        taped (the augmented body), or reversed (the adjoint body, right after it was taped:
        the schedule loads a snapshot after every reversal, never relying on what the
        adjoint sweep put back)."""
        out, u = self.out, s.uid
        names = {part: f"{naming.PREFIX}_ck{part}{u}"
                 for part in ("f", "i", "nf", "ni", "rows", "row", "kind", "t", "at_f", "at_i")}
        snap_f, snap_i, n_f, n_i, rows, row, kind, t, at_f, at_i = names.values()
        trips = naming.counter(u)
        start, stop, step = (ir.atom_src(b) for b in (s.start, s.stop, s.step))
        state = self.loop_state(s)
        temporaries = sorted(ir.assigned_in(s.body) & self.values - {n for n, _ in state})
        temporaries = [n for n in temporaries if n in self.active or self.saves_array(n)]
        if reverse:  # the trips run again read what the body reads from before the loop
            free = ir.reads_within(s) - ir.assigned_in(s.body) - {s.var}
            self.read(" ".join(sorted(free | {name for name, _ in state})))
        out(f"{trips} = _range_len({start}, {stop}, {step})", s.loc)
        sizes = {"f": [], "i": []}
        for name, how in state:
            stack = self.snapshot_stack(name)
            if how == "scalar":
                sizes[stack].append("1")
                continue
            out(f"{naming.PREFIX}_cksize_{name} = {name}.size")
            sizes[stack].append(f"{naming.PREFIX}_cksize_{name}")
            if how == "value":
                sizes["i"].append(str(self.ti.of(name).ndim))
        out(f"{n_f} = {' + '.join(sizes['f']) or '0'}")
        out(f"{n_i} = {' + '.join(sizes['i']) or '0'}")
        if reverse:
            out(f"{snap_f}, {snap_i} = _checkpoint_resume({KEY}, {n_f}, {n_i})")
            # a taped trip saves the shape of the binding it replaces: give the body's own
            # arrays one (those saved whole are back from the tape already)
            for name in temporaries:
                if self.saves_shape(name):
                    ty = self.ti.of(name)
                    out(f"{name} = np.empty({(0,) * ty.ndim}, {_dtype_src(ty.dtype)})")
        else:
            out(f"{snap_f}, {snap_i} = _checkpoint_begin({KEY}, {trips}, {n_f}, {n_i}, "
                f"{self.spec.checkpoint})")
        out(f"{rows} = _checkpoint_rows({KEY})")
        out(f"{row} = 0")
        out("while True:", s.loc)
        with out.indent():
            out(f"if {row} == {rows}.shape[0]:")
            out(f"    {rows} = _checkpoint_rows({KEY})")
            out(f"    {row} = 0")
            out(f"{kind} = {rows}[{row}, 0]")
            out(f"if {kind} == {_END_REVERSE if reverse else _END_FORWARD}:")
            out("    break")
            def each_value(copy) -> None:  # the row's slot, value by value
                out(f"{at_f} = {rows}[{row}, 3] * {n_f}")
                out(f"{at_i} = {rows}[{row}, 3] * {n_i}")
                for name, how in state:
                    copy(name, how, names)

            @contextlib.contextmanager
            def trips(loop: str):
                out(f"for {t} in {loop}:", s.loc)
                with out.indent():
                    out(f"{s.var} = {start} + {t} * {step}")
                    yield

            forward = f"range({rows}[{row}, 1], {rows}[{row}, 2])"
            out(f"if {kind} == {_LOAD}:")
            with out.indent():
                each_value(self.load_state)
            out(f"elif {kind} == {_FORWARD}:")
            with out.indent():
                out(f"if {rows}[{row}, 3] >= 0:")
                with out.indent():
                    each_value(self.save_state)
                out(f"if {rows}[{row}, 4] != 0:")
                with out.indent():
                    with trips(forward):
                        self.aug_block(s.body)
                    # the last trip taped here is reversed first: its own arrays start with a
                    # zero adjoint of their shape (the reversal before left them others)
                    for name in (n for n in temporaries if n in self.active and reverse):
                        for k in self.lanes:
                            out(f"{self.B(name, k)} = np.zeros({name}.shape, "
                                f"{_dtype_src(self.ti.of(name).dtype)})")
                out("else:")
                with out.indent(), trips(forward):
                    for line in ir.to_source(s.body, indent=0):
                        out(line)
            if reverse:
                out(f"elif {kind} == {_REVERSE}:")
                with out.indent(), trips(f"range({rows}[{row}, 1] - 1, {rows}[{row}, 2] - 1, -1)"):
                    self.loop_stack.append(u)
                    self.adj_block(s.body)
                    self.loop_stack.pop()
            out(f"{row} += 1")
        if reverse:
            out(f"_checkpoint_end({KEY})")

    def snapshot_stack(self, name: str) -> str:
        t = self.ti.of(name)
        return "f" if is_float(t.dtype if is_array(t) else t) else "i"

    def save_state(self, name: str, how: str, names: dict) -> None:
        stack = self.snapshot_stack(name)
        snap, at = names[stack], names["at_" + stack]
        if how == "scalar":
            self.out(f"{snap}[{at}] = {name}; {at} += 1")
            return
        if how == "value":
            for d in range(self.ti.of(name).ndim):
                self.out(f"{names['i']}[{names['at_i']}] = {name}.shape[{d}]; "
                         f"{names['at_i']} += 1")
        self.out(f"{at} = _save_values({snap}, {at}, {name}, "
                 f"{naming.PREFIX}_cksize_{name})")

    def load_state(self, name: str, how: str, names: dict) -> None:
        stack = self.snapshot_stack(name)
        snap, at = names[stack], names["at_" + stack]
        t = self.ti.of(name)
        if how == "scalar":
            value = f"{snap}[{at}]"
            if t.name == "bool":
                value += " != 0"
            elif t.name not in ("float64", "int64"):
                value = f"np.{t.name}({value})"
            self.out(f"{name} = {value}; {at} += 1")
            return
        if how == "value":
            dims = [f"{names['i']}[{names['at_i']} + {d}]" for d in range(t.ndim)]
            self.out(f"{name} = np.empty(({', '.join(dims)},), np.{t.dtype.name})")
            self.out(f"{names['at_i']} += {t.ndim}")
        self.out(f"{at} = _load_values({snap}, {at}, {name})")

    def elem_is_float(self, array: str) -> bool:
        t = self.ti.of(array)
        return is_float(t.dtype)

    # ---- adjoint sweep --------------------------------------------------------------------
    def adjoint(self) -> str:
        body = self.adjoint_body()
        params = (self.nf.params
                  + [self.B(p, k) for p in self.spec.active_array_params for k in self.lanes]
                  + [self.lane_name(naming.seed, k) for k in self.lanes] + self.tape)
        head = f"def {self.spec.adj_name}({', '.join(params)}):"
        results = [self.B(p, k) for p in self.spec.active_scalar_params for k in self.lanes]
        if self.unchecked:  # results travel on the tape, in order
            self.out = Emitter()
            for r in results:
                self.push_value("f", r)
            body += self.out.lines
            body.append(f"    return {COUNTS}")
        else:
            body.append(f"    return ({', '.join(results + [NF, NI])},)")
        return "\n".join([head] + body)

    def adjoint_body(self) -> list[str]:
        out = self.out = Emitter()
        for name in sorted(self.active):
            if self.kind(name) == "float":
                for k in self.lanes:
                    out(f"{self.B(name, k)} = {zero_of(self.ti.of(name))}")
        for name in reversed(self.final_locals()):
            if name in self.values:
                self.restore_value_array(name)
            elif self.kind(name) == "array":
                self.pop_array(name)
            else:
                self.pop(name)
        recomputed_at_start: set = set()
        for s in self.body:  # views are taken again (of their restored sources), not saved
            if isinstance(s, ir.Assign) and s.target in self.identity_views:
                for name in ir.expr_names(s.value):
                    if name in self.recompute:
                        self.emit_recompute(name, recomputed_at_start)
                self.out(self.read(f"{s.target} = {ir.expr_src(s.value)}"), s.loc)
        for s in self.body:  # adjoints of local arrays, in creation order (aliases are views)
            if isinstance(s, ir.Assign) and s.target in self.active and \
                    s.target in self.identity:
                view = self.view_of(s)
                for name in ir.expr_names(s.value):
                    if name in self.recompute:
                        self.emit_recompute(name, recomputed_at_start)
                for self.lane in self.lanes:
                    view = self.view_of(s)
                    out(self.read(f"{self.B(s.target)} = "
                                  f"{view if view else f'np.zeros_like({s.target})'}"))
        r = self.ret.value
        if isinstance(r, ir.Name) and r.id in self.active:
            for self.lane in self.lanes:  # an array result's seed is an array (or 0.0: none)
                out(self.read(f"{self.B(r.id)} += {self.lane_name(naming.seed)}"), self.ret.loc)
        self.adj_block(self.body)
        return out.lines

    def view_of(self, s: ir.Assign) -> str | None:
        """For ``b = <view of a>`` (alias, transpose, slice, reshape), the same view of a's
        adjoint; None when ``b`` owns its memory."""
        v = s.value
        source = None
        if self.gathers(v):
            return None  # a copy
        if isinstance(v, ir.Name):
            source, text = v.id, "{}"
        elif isinstance(v, ir.Index) and self.kind(v.value.id) == "array":
            source, text = v.value.id, "{}[" + ir.index_src(v.index) + "]"
        elif derivatives.view_source(v) is not None:
            source, text = derivatives.view_source(v), applied_to(v, "{}")
        if source is None:
            return None
        unfixed = [n for n in ir.expr_names(v) if n != source and not self.fixed_value(n)]
        if unfixed or source not in self.active:
            raise at(s.loc, f"reverse mode needs {spoken(s.target, 'view')} of "
                            f"{spoken(source, 'array')} to be taken with bounds that never change",
                     "compute the bounds once before it")
        return text.format(self.B(source))

    def pop(self, name: str) -> None:
        t = self.ti.of(name)
        if self.kind(name) == "float":
            value = self.pop_value("f")
            self.out(f"{name} = np.{t.name}({value})" if t.name != "float64" else
                     f"{name} = {value}")
        else:
            value = self.pop_value("i")
            self.out(f"{name} = {value} != 0" if t is not None and t.name == "bool" else
                     f"{name} = {value}")

    def restore_value_array(self, name: str) -> None:
        """Undo :meth:`save_value_array`: the array's old binding (or its shape) is back, with
        a zero adjoint."""
        t = self.ti.of(name)
        if self.saves_array(name):
            self.pop_array(name)
            shape = f"{name}.shape"
        elif self.saves_shape(name):
            dims = [f"{naming.PREFIX}_dim{d}" for d in range(t.ndim)]
            for d in reversed(dims):
                self.out(f"{d} = {self.pop_value('i')}")
            shape = f"({', '.join(dims)},)"
        else:
            return
        if name in self.active:
            for k in self.lanes:
                self.out(f"{self.B(name, k)} = np.zeros({shape}, {_dtype_src(t.dtype)})")

    def pop_array(self, name: str) -> None:
        t = self.ti.of(name)
        shape = naming.PREFIX + "_shape"
        dims = []
        for d in range(t.ndim):
            dims.append(f"{naming.PREFIX}_dim{d}")
            self.out(f"{dims[-1]} = {self.pop_value('i')}")
        self.out(f"{shape} = ({', '.join(reversed(dims))},)")
        self.out(f"{name} = np.empty({shape}, np.{t.dtype.name})")
        self.out(f"{NF} = {self.pop_into_call(name)}")

    def adj_block(self, stmts) -> None:
        recomputed: set[str] = set()
        for s in reversed(stmts):
            if not self.work(s):
                continue
            outer, self.current = self.current, id(s)
            # (a recomputed value whose own adjoint reads it, as a quotient's does, is taken
            # again where it is reversed)
            own = {s.target} if isinstance(s, ir.Assign) and s.target in self.N else set()
            for name in sorted(ir.reads_within(s) | own):
                # a scalar only when the adjoint reads it (see generate); a view always, since
                # its adjoint is the same view of its source's adjoint
                if self.recompute_block.get(name) == id(stmts) and \
                        (name in self.N or self.kind(name) == "array"):
                    self.emit_recompute(name, recomputed)
            self.adj_stmt(s)
            self.current = outer

    def adj_stmt(self, s) -> None:
        out = self.out
        if isinstance(s, ir.Assign):
            self.adj_assign(s)
        elif isinstance(s, ir.Store) and s.target in self.atomics:
            # an atomic add: its adjoint reads the shared shadow and leaves it as it is (the
            # load of a[i] that `a[i] += v` starts with adds nothing back: see accumulate)
            idx = ir.index_src(s.index)
            for self.lane in self.lanes if s.target in self.active else ():
                out(self.read(f"{G} = {self.B(s.target)}[{idx}]"), s.loc)
                if isinstance(s.value, ir.Name) and s.value.id in self.active:
                    out(f"{self.B(s.value.id)} += {G}", s.loc)
        elif isinstance(s, ir.Store):
            idx = ir.index_src(s.index)
            for self.lane in self.lanes if s.target in self.active else ():
                bar = self.B(s.target)
                if self.is_slice_store(s) or self.is_mask_store(s):
                    region = naming.PREFIX + "_region"
                    out(self.read(f"{region} = {bar}[{idx}].copy()"), s.loc)
                    out(f"{bar}[{idx}] = 0.0", s.loc)
                    v = s.value
                    if isinstance(v, ir.Name) and v.id in self.active:
                        bar_ndim = self.ti.of(v.id).ndim if self.kind(v.id) == "array" else None
                        array_rules.accumulate(lambda line: out(self.read(line), s.loc),
                                               self.B(v.id), region, self.slice_ndim(s),
                                               bar_ndim)
                else:
                    out(self.read(f"{G} = {bar}[{idx}]"), s.loc)
                    out(f"{bar}[{idx}] = 0.0", s.loc)
                    if isinstance(s.value, ir.Name) and s.value.id in self.active:
                        out(f"{self.B(s.value.id)} += {G}", s.loc)
            if self.store_pushes(s.target):
                if self.is_mask_store(s):  # x[mask] is a copy: the old values go back through it
                    old = naming.PREFIX + "_old"
                    out(f"{old} = np.empty({self.pop_value('i')}, "
                        f"np.{self.ti.of(s.target).dtype.name})")
                    out(f"{NF} = {self.pop_into_call(old)}")
                    out(self.read(f"{s.target}[{idx}] = {old}"), s.loc)
                elif self.is_slice_store(s):
                    for d in reversed(range(self.slice_ndim(s))):
                        out(f"{naming.PREFIX}_dim{d} = {self.pop_value('i')}")
                    out(self.read(f"{NF} = {self.pop_into_call(f'{s.target}[{idx}]')}"), s.loc)
                else:
                    value = self.pop_value("f" if self.elem_is_float(s.target) else "i")
                    out(self.read(f"{s.target}[{idx}] = {value}"), s.loc)
        elif isinstance(s, ir.ExprStmt):
            self.adj_call(s.value, ["0.0"] * self.spec.width, s.loc)
        elif isinstance(s, ir.If):
            out(f"if {self.pop_value('i')} != 0:", s.loc)
            with out.indent():
                self.adj_block(s.body)
            out("else:")
            with out.indent():
                self.adj_block(s.orelse)
        elif isinstance(s, ir.For) and self.checkpointed(s):
            self.checkpointed_loop(s, reverse=True)
            if self.restores_loop_var(s):
                self.pop(s.var)
        elif isinstance(s, ir.For):
            trips, k = naming.counter(s.uid), naming.rev_index(s.uid)
            bounds = {}
            if self.static_trips(s):
                # The bounds are unchanged since the loop started: recount instead of taping.
                start, stop, step = (ir.atom_src(b) for b in (s.start, s.stop, s.step))
                out(self.read(f"{trips} = _range_len({start}, {stop}, {step})"))
                bounds = {"start": start, "step": step}
            else:
                out(f"{trips} = {self.pop_value('i')}")
                for label, bound in (("step", s.step), ("start", s.start)):
                    if isinstance(bound, ir.Const):
                        bounds[label] = repr(bound.value)
                    else:
                        name = (naming.loop_step(s.uid) if label == "step"
                                else naming.loop_start(s.uid))
                        out(f"{name} = {self.pop_value('i')}")
                        bounds[label] = name
            per_trip = self.loop_pushes(s)
            self.open_loop_cache(s, per_trip, "_take", trips)
            out(f"for {k} in range({trips} - 1, -1, -1):", s.loc)
            self.loop_stack.append(s.uid)
            with out.indent(), self.cached(s, per_trip):
                out(f"{s.var} = {bounds['start']} + {k} * {bounds['step']}")
                self.adj_block(s.body)
            self.loop_stack.pop()
            if self.restores_loop_var(s):
                self.pop(s.var)
        elif isinstance(s, ir.While):
            trips, k = naming.counter(s.uid), naming.rev_index(s.uid)
            out(f"{trips} = {self.pop_value('i')}")
            out(f"for {k} in range({trips}):", s.loc)
            with out.indent():
                self.adj_block(s.body)

    def adj_assign(self, s: ir.Assign) -> None:
        out, t, e = self.out, s.target, s.value
        is_call = isinstance(e, ir.Call) and self.call_differentiated(e)
        # `t = t`: the adjoint is the identity (taking bar_t and zeroing it, with no
        # contribution back, lost the derivative through t)
        copies_itself = isinstance(e, ir.Name) and e.id == t
        grads = []
        for self.lane in self.lanes:
            if copies_itself:
                break
            if t in self.active and self.kind(t) == "float":
                g = self.lane_name(naming.grad) if is_call else G
                out(f"{g} = {self.B(t)}", s.loc)
                out(f"{self.B(t)} = {zero_of(self.ti.of(t))}", s.loc)
            elif t in self.active:
                g = self.B(t)
            else:
                g = "0.0"
            grads.append(g)
            if not is_call and g != "0.0":
                self.contributions(s, g)
        if is_call:
            self.adj_call(e, grads, s.loc)
        if self.pushes_at(s):
            self.pop(t)
        self.restore_value_array(t)

    def contributions(self, s: ir.Assign, g: str) -> None:
        out, t, e = self.out, s.target, s.value
        act = self.active
        if not any(n in act for n in ir.expr_names(e)):
            return
        emit = lambda line: out(self.read(line), s.loc)  # noqa: E731
        if t in self.identity and self.view_of(s) is not None:
            pass  # a view's adjoint is the same view of the source's adjoint
        elif isinstance(e, ir.Name):
            emit(f"{self.B(e.id)} += {g}")
        elif isinstance(e, ir.Index):
            self.accumulate(e.value.id, e.index, g, emit)
        else:
            rule = derivatives.lookup(e)
            if rule is None or rule.shape == "custom":
                raise no_rule(e, s.loc)
            getattr(self, "adjoint_" + rule.shape)(s, e, rule, g, emit)

    # one method per rule shape (derivatives.SHAPES): add each operand's contribution
    def adjoint_elementwise(self, s, e, rule, g, emit) -> None:
        for name, term in partials(e, rule, s.target, self.ti, self.active, s.loc,
                                   lambda _: g):
            bar_ndim = self.ti.of(name).ndim if self.kind(name) == "array" else None
            array_rules.accumulate(emit, self.B(name), term,
                                   self.ndim(ir.Name(s.target)), bar_ndim)

    def adjoint_linear(self, s, e, rule, g, emit) -> None:
        if isinstance(e, ir.Call) and e.kwargs:
            raise at(s.loc, f"reverse mode does not support `{e.fn.text}` with keyword "
                            "arguments yet", "call it with the array alone")
        if isinstance(e, ir.Call) and e.fn.key == "np.array" and isinstance(e.args[0], ir.ListExpr):
            for k, a in enumerate(e.args[0].elts):
                if isinstance(a, ir.Name) and a.id in self.active:
                    emit(f"{self.B(a.id)} += {g}[{k}]")
            return
        first, *rest = ir.operands(e)
        if rest:
            name = e.fn.text if isinstance(e, ir.Call) else "." + e.method
            raise at(s.loc, f"reverse mode supports `{name}` of one array only",
                     f"write `{name}(a)`, or `{name}(a, axis=k)` for a reduction")
        if isinstance(first, ir.Name) and first.id in self.active:
            emit(f"{self.B(first.id)} += {rule.transpose.format(first.id, g=g)}")

    def adjoint_reduction(self, s, e, rule, g, emit) -> None:
        kwargs = e.kwargs if isinstance(e, ir.Call) else {}
        if not kwargs:
            self.adjoint_linear(s, e, rule, g, emit)
            return
        (a,) = ir.operands(e)
        axis = kwargs.get("axis")
        if rule.axis_scale is None:
            raise no_rule(e, s.loc)
        if set(kwargs) != {"axis"} or not isinstance(axis, ir.Const) or \
                not isinstance(axis.value, int):
            raise at(s.loc, f"reverse mode supports `{e.fn.text}(a, axis=k)` with a constant "
                            "integer k only", "reduce over a constant axis or write a loop")
        if isinstance(a, ir.Name) and a.id in self.active:
            array_rules.reduce_axis(emit, self.B(a.id), g, rule.axis_scale, a.id,
                                    axis.value % self.ndim(a), self.ndim(a))

    def adjoint_view(self, s, e, rule, g, emit) -> None:
        # an identity view's adjoint is the same view of the source's adjoint (see view_of);
        # a value view adds its adjoint into that view
        source = derivatives.view_source(e)
        if s.target in self.values and source in self.active:
            view = naming.PREFIX + "_view"
            emit(f"{view} = {applied_to(e, self.B(source))}")
            emit(f"{view} += {g}")

    def adjoint_creation(self, s, e, rule, g, emit) -> None:
        pass  # depends on shapes only

    def adjoint_extrema(self, s, e, rule, g, emit) -> None:
        (a, *rest) = ir.operands(e)
        if rest or (isinstance(e, ir.Call) and e.kwargs):
            raise no_rule(e, s.loc)
        k = naming.PREFIX + "_at"
        emit(f"{k} = {rule.arg}({ir.atom_src(a)})")
        bar = self.B(a.id)
        if self.ti.of(a.id).ndim > 1:  # an element store (second order differentiates it)
            emit(f"{k}_index = _prim.unravel({k}, {bar}.shape)")
            k += "_index"
        emit(f"{bar}[{k}] = {bar}[{k}] + {g}")

    def adjoint_primitive(self, s, e, rule, g, emit) -> None:
        ops = ir.operands(e)
        if (isinstance(e, ir.Call) and e.kwargs) or len(ops) not in rule.arity:
            raise no_rule(e, s.loc)
        srcs = [ir.atom_src(a) for a in ops]
        for a, template in zip(ops, rule.cotangents):
            if isinstance(a, ir.Name) and a.id in self.active:
                if template is None:
                    raise no_rule(e, s.loc)
                emit(f"{self.B(a.id)} += {derivatives.primitive_term(template, srcs, z=s.target, g=g)}")

    def adjoint_product(self, s, e, rule, g, emit) -> None:
        if isinstance(e, ir.Call) and e.kwargs:
            raise no_rule(e, s.loc)
        a, b = ir.operands(e)
        bars = [self.B(x.id) if isinstance(x, ir.Name) and x.id in self.active else None
                for x in (a, b)]
        array_rules.dot(emit, g, ir.atom_src(a), ir.atom_src(b), self.ndim(a), self.ndim(b),
                        *bars)

    def accumulate(self, array: str, index: tuple, g: str, emit) -> None:
        """``bar[index] += g``; in device code a shadow other threads may touch gets an atomic
        add (or a log entry), unless the launch makes the thread's index its own."""
        bar, idx = self.B(array), ir.index_src(index)
        if array in self.atomics:
            return  # the load an atomic add starts with: its shadow was never taken away
        gathered = [i for i in index if isinstance(i, ir.Name) and self.kind(i.id) == "array"]
        if gathered:
            # x[mask] or x[idx]: each selected element gets its share (repeats add up)
            if len(index) != 1 or self.device:
                raise ADError(f"reverse mode supports indexing {array!r} by one array of "
                              "indices or one mask only (on the CPU)")
            helper = ("scatter_add_mask" if self.ti.of(gathered[0].id).dtype.name == "bool"
                      else "scatter_add_index")
            emit(f"_prim.{helper}({bar}, {idx}, {g})")
            return
        if not self.device or any(isinstance(i, ir.Slice) for i in index):
            emit(f"{bar}[{idx}] += {g}")
            return
        own = self.spec.exclusive.get(array)
        if own:
            emit(f"if {own}:")
            emit(f"    {bar}[{idx}] += {g}")
            emit("else:")
            emit = (lambda e: lambda line: e("    " + line))(emit)
        can_log = self.device == "log" and not self.spec.is_callee and array not in self.stored
        if self.device == "atomic":
            emit(f"cuda.atomic.add({bar}, {_atomic_index(index)}, {g})")
        elif can_log:
            slot = self.spec.active_array_params.index(array)
            emit(f"_log_add({naming.LOG_V}, {naming.LOG_K}, {slot}, "
                 f"{device_flat_index(bar, index)}, {g})")
        elif own:
            # deterministic mode, and a launch that does not make the index the thread's own
            # (so threads race on the primal too): the result is poisoned, not raced
            emit(f"{bar}[{idx}] += math.nan")
        else:
            where = "a called function" if self.spec.is_callee else self.nf.name
            raise ADError(
                f"{where}: the adjoint of {array!r} may be accumulated by several threads, "
                "which needs float atomics; deterministic mode allows that only for arrays "
                "the kernel itself reads and never writes, through "
                "adtriad.ad_core.gpu.cuda.gradient_kernel(..., deterministic=True) (or index the "
                "array only by the thread's own cuda.grid index)")

    def atomic_increment(self, s: ir.Store) -> str:
        """What ``cuda.atomic.add(a, i, v)`` adds: normalized, it reads ``t = a[i]``,
        ``u = t + v``, ``a[i] = u``; the source of ``v``."""
        defs = {a.target: a for a in ir.walk(self.nf.body) if isinstance(a, ir.Assign)}
        total = defs.get(s.value.id) if isinstance(s.value, ir.Name) else None
        e = total.value if total is not None else None
        if isinstance(e, ir.BinOp) and e.op == "+" and isinstance(e.left, ir.Name):
            load = defs.get(e.left.id)
            if load is not None and isinstance(load.value, ir.Index) and \
                    load.value.value.id == s.target and load.value.index == s.index:
                return ir.atom_src(e.right)
        raise ADError(f"{s.loc}: {s.target!r} is changed with cuda.atomic.add, and only that "
                      "way can the GPU derivative change it; write other results elsewhere")

    def is_mask_store(self, s: ir.Store) -> bool:
        """Does the store write a vector through a boolean mask (``x[m] = v``, each element
        once)? (Numba reads ``x[m]`` for one dimension only.)"""
        if len(s.index) != 1 or not isinstance(s.index[0], ir.Name):
            return False
        t = self.ti.of(s.index[0].id)
        return is_array(t) and t.dtype == numba.types.boolean and t.ndim == 1 and \
            self.ti.of(s.target).ndim == 1

    def is_slice_store(self, s: ir.Store) -> bool:
        """Does the store write a region (a slice, or a whole row: ``h[t] = x[t]`` in 2-D)?"""
        return not self.is_mask_store(s) and (any(isinstance(i, ir.Slice) for i in s.index) or
                                              len(s.index) < self.ti.of(s.target).ndim)

    def slice_ndim(self, s: ir.Store) -> int:
        """Rank of ``a[index]`` for a store with slices (one per slice, plus trailing axes) or
        a mask (one)."""
        if self.is_mask_store(s):
            return 1
        t = self.ti.of(s.target)
        return sum(isinstance(i, ir.Slice) for i in s.index) + t.ndim - len(s.index)

    def ndim(self, a) -> int:
        t = self.ti.of(a.id) if isinstance(a, ir.Name) else None
        return t.ndim if is_array(t) else 0

    def adj_call(self, call, grads: list, loc) -> None:
        """Reverse a call: the callee's adjoint takes the arguments, the adjoints of the active
        array arguments and the result's cotangent, lane by lane, and returns the adjoints of
        the active scalar arguments."""
        if not self.call_differentiated(call):
            return
        if call.fn.key == "rule":
            self.adj_rule(call, grads, loc)
            return
        callee = self.callee_spec(call)
        args = [ir.atom_src(a) for a in call.args]
        pairs = list(zip(call.args, callee.active_mask, callee.array_mask))
        bars = [self.B(a.id, k) for a, act, arr in pairs if act and arr for k in self.lanes]
        scalars = [a for a, act, arr in pairs if act and not arr]
        results = [f"{naming.PREFIX}_r{j}_{k}" for j in range(len(scalars)) for k in self.lanes]
        text = f"{callee.adj_name}({', '.join(args + bars + list(grads) + [self.tape_args])})"
        if self.unchecked:
            self.out(self.read(f"{COUNTS} = {text}"), loc)
            for r in reversed(results):
                self.out(f"{r} = {self.pop_value('f')}")
        else:
            self.out(self.read(f"{', '.join(results + [NF, NI])} = {text}"), loc)
        for j, a in enumerate(scalars):
            for k in self.lanes:
                self.out(f"{self.B(a.id, k)} += {naming.PREFIX}_r{j}_{k}", loc)


    def adj_rule(self, call, grads: list, loc) -> None:
        """Reverse a call to a function with custom rules: augmented_primal again (the
        arguments hold their values at the call) for the tape, then the reverse rule; or the
        pullback of an imported rrule."""
        rs = rules.lookup(call.fn.obj)
        argtypes = [atom_type(a, self.ti) for a in call.args]
        active = [isinstance(a, ir.Name) and a.id in self.active for a in call.args]
        restype = infer_result(self.ti, call)
        srcs = [ir.atom_src(a) for a in call.args]
        res, aug = naming.PREFIX + "_rule_result", naming.PREFIX + "_rule_tape"
        if rs.reverse is not None or rs.augmented_primal is not None:
            if rs.reverse is None:
                raise ADError(f"{loc}: {rs.name} has an augmented-primal rule but no reverse "
                              "rule; register one with @rules.reverse")
            rule_calls.check_reverse(rs, argtypes, active, restype)
            aug_name, rev_name = self.builder.rule(rs, "augmented_primal"), \
                self.builder.rule(rs, "reverse")
        elif rs.rrule_vjp is not None:
            rule_calls.check_rrule(rs, argtypes, restype)
            vjp_name = self.builder.rule(rs, "rrule_vjp")
        else:
            raise ADError(f"{loc}: {rs.name} has custom rules but no reverse rule; register "
                          "@rules.augmented_primal and @rules.reverse, or rules.import_rrule")
        config = rule_calls.config_src(rs.nargs)
        for self.lane, g in zip(self.lanes, grads):
            if rs.reverse is not None:
                anns = [(f"_ad_Duplicated({x}, {self.B(a.id)})" if is_array(t) else
                         f"_ad_Active({x})") if act else f"_ad_Const({x})"
                        for x, a, act, t in zip(srcs, call.args, active, argtypes)]
                self.out(self.read(f"{aug} = {aug_name}({config}, {call.fn.text}, "
                                   f"{rule_calls.ret_src('Active')}, {', '.join(anns)})"), loc)
                self.out(self.read(f"{res} = {rev_name}({config}, {call.fn.text}, "
                                   f"_ad_Active({g}), {aug}.tape, {', '.join(anns)})"), loc)
                offset = 0
            else:
                self.out(self.read(f"{res} = {vjp_name}({', '.join(srcs + [g])})"), loc)
                offset = 1
            for j, (a, act, t) in enumerate(zip(call.args, active, argtypes)):
                if act and (offset or not is_array(t)):
                    self.out(f"{self.B(a.id)} += {res}[{j + offset}]", loc)


def _positions(stmts: list, found: dict | None = None) -> dict:
    """id(statement) -> (its block, its position there), for every statement."""
    found = {} if found is None else found
    for k, s in enumerate(stmts):
        found[id(s)] = (stmts, k)
        for child in ir.blocks(s):
            _positions(child, found)
    return found


def _dtype_src(dtype) -> str:
    return "np.bool_" if dtype.name == "bool" else f"np.{dtype.name}"


def _atomic_index(index: tuple) -> str:
    src = ir.index_src(index)
    return src if len(index) == 1 else f"({src})"


def device_flat_index(bar: str, index: tuple) -> str:
    """The C-order position of ``bar[index]`` (negative indices wrapped), as source."""
    parts = [ir.atom_src(i) for i in index]
    flat = f"({parts[0]} % {bar}.shape[0])"
    for axis, p in enumerate(parts[1:], 1):
        flat = f"({flat} * {bar}.shape[{axis}] + {p} % {bar}.shape[{axis}])"
    return flat


def infer_result(ti, call):
    """The Numba type of a ruled call's result (its primal's return type)."""
    disp = jitted(call.fn.obj)
    argtypes = tuple(atom_type(a, ti) for a in call.args)
    disp.compile(argtypes)
    return disp.overloads[argtypes].signature.return_type


def _calls(s):
    if isinstance(s, ir.Assign) and isinstance(s.value, ir.Call) and s.value.fn.key == "user":
        return [s.value]
    if isinstance(s, ir.ExprStmt) and s.value.fn.key == "user":
        return [s.value]
    return []
