"""Compiled helpers the generated derivative code calls: the tape.

The tape is two stacks — ``float64`` values, and ``int64`` values (ints, booleans, branch
decisions, loop trip counts, array shapes) — each an array with a fill count, never rebound
(rebinding an array inside a loop costs Numba reference counting on every trip: 2-4x
measured). A push into a full stack moves its content to a list of spilled chunks kept in
Python under the call's integer key (:func:`spill`, through ``objmode``: typed lists cost
every entry point that takes one about 0.35 s of compile); a pop from an empty stack brings
the last chunk back (:func:`refill`). A loop whose trip count is known on entry and whose body
pushes a fixed number of values takes room for all of them at once (:func:`reserve_f`,
:func:`take_f` and their int twins), so its body has no capacity branch. Callers size the stacks
from the previous run so spills are rare. Pushes and pops are inlined in the generated code.

Checkpointed loops (:func:`checkpoint_begin` and the helpers after it) keep, under the same
key, the snapshots of the loop's state and the binomial schedule that says when to take,
load and advance them (``checkpoint_schedules``' multistage schedule with every snapshot in
memory: Griewank and Walther's Revolve schedule, minimal recomputation for the snapshots
given). The schedule reaches the generated code in chunks of rows ``(kind, a, b, slot,
taped)``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numba import njit, objmode

INITIAL_CAPACITY = 1024
_SPILLED: dict = {}  # (key, "f" or "i") -> chunks, last on top
# key -> [(float snapshots, int snapshots, schedule chunks, state size)], last on top
_CHECKPOINTED: dict = {}
_KEYS = itertools.count(1)


def new_stacks(capacity_f: int, capacity_i: int):
    """Float and int stack arrays of at least the given capacities."""
    return (np.empty(max(capacity_f, INITIAL_CAPACITY), np.float64),
            np.empty(max(capacity_i, INITIAL_CAPACITY), np.int64))


def new_key(count: int = 1) -> int:
    """A fresh spill key (``count`` consecutive ones, for the chunks of a kernel launch)."""
    first = next(_KEYS)
    for _ in range(count - 1):
        next(_KEYS)
    return first


def spilled_size(key: int, stack: str) -> int:
    """Values a stack has spilled under ``key`` (for sizing the next run's stacks)."""
    return sum(chunk.size for chunk in _SPILLED.get((key, stack), ()))


def release(key: int) -> None:
    """Forget what a consumed (or abandoned) tape spilled, and its checkpoints."""
    _SPILLED.pop((key, "f"), None)
    _SPILLED.pop((key, "i"), None)
    for record in _CHECKPOINTED.pop(key, ()):
        _give_back(record)


def _kind(stack) -> str:
    return "f" if stack.dtype == np.float64 else "i"


def _keep(key, chunk):
    _SPILLED.setdefault((int(key), _kind(chunk)), []).append(chunk)


def _bring_back(key, stack):
    chunk = _SPILLED[(int(key), _kind(stack))].pop()
    stack[:chunk.size] = chunk
    return chunk.size


def _top_size(key, stack):
    return _SPILLED[(int(key), _kind(stack))][-1].size


@njit(cache=True)
def spill(stack, n, key):
    """Move the first ``n`` values of a full stack into the spill list; the new count is 0."""
    chunk = stack[:n].copy()
    with objmode():
        _keep(key, chunk)
    return 0


@njit(cache=True)
def refill(stack, key):
    """Bring the last spilled chunk back into an empty stack; returns the new count."""
    with objmode(n="int64"):
        n = _bring_back(key, stack)
    return n


@njit(cache=True)
def _reserve(stack, n, key, need):
    """Room for the ``need`` values a loop pushes without capacity checks. Returns
    ``(array, position, count)``: the loop writes ``array[position:position + need]`` and
    ``count`` is the stack's fill count after the loop. The values go on the stack when they
    fit (after spilling what it holds, if need be), else into a chunk of their own, already
    on the spill list (bigger than the stack, which tells the take that it is one)."""
    if n + need <= stack.shape[0]:
        return stack, n, n + need
    if n > 0:
        n = spill(stack, n, key)
    if need <= stack.shape[0]:
        return stack, 0, need
    chunk = np.empty(need, stack.dtype)
    with objmode():
        _keep(key, chunk)
    return chunk, 0, 0


reserve_f = reserve_i = _reserve


@njit(cache=True)
def _take(stack, n, key, need):
    """The inverse of the reserve for the reversed loop: ``(array, position, count)``; the
    loop pops ``array[position - need:position]`` from the top and ``count`` is the stack's
    fill count before the loop."""
    if n == 0 and need > 0:
        with objmode(size="int64"):
            size = _top_size(key, stack)
        if size > stack.shape[0]:  # a chunk of its own
            chunk = np.empty(size, stack.dtype)
            with objmode():
                _bring_back(key, chunk)
            return chunk, size, 0
        n = refill(stack, key)
    return stack, n, n - need


take_f = take_i = _take


@njit(cache=True)
def push_array(tf, nf, ti, ni, key, a):
    """Push an array's values (on the float stack, converted) and then its shape."""
    for v in a.flat:
        if nf >= tf.shape[0]:
            nf = spill(tf, nf, key)
        tf[nf] = v
        nf += 1
    for d in range(a.ndim):
        if ni >= ti.shape[0]:
            ni = spill(ti, ni, key)
        ti[ni] = a.shape[d]
        ni += 1
    return nf, ni


@njit(cache=True)
def pop_into(stack, n, key, target):
    """Pop ``target.size`` values into ``target`` (any rank or layout; the inverse of the
    value part of push_array)."""
    for k in range(target.size - 1, -1, -1):
        if n == 0:
            n = refill(stack, key)
        n -= 1
        target.flat[k] = stack[n]
    return n


@njit(cache=True)
def range_len(start, stop, step):
    """``len(range(start, stop, step))`` for step != 0."""
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // (-step))


@njit(cache=True)
def digamma(x):
    """The digamma function psi(x) = d/dx log(gamma(x)) (derivative of gamma and lgamma)."""
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    result = 0.0
    if x < 0.0:  # reflection: psi(1 - x) - psi(x) = pi / tan(pi x)
        result -= math.pi / math.tan(math.pi * x)
        x = 1.0 - x
    while x < 6.0:
        result -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    series = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))))
    return result + math.log(x) - 0.5 / x - series


# The unchecked flavor's helpers are written in the subset the engine differentiates, because
# second-order derivatives differentiate the code that calls them.
@njit(cache=True)
def push_array_unchecked(tf, nf, ti, ni, a):
    """Push an array's values and shape without capacity checks (the caller sized the stacks)."""
    flat = np.ascontiguousarray(a).reshape(a.size)
    for k in range(a.size):
        tf[nf + k] = flat[k]
    nf = nf + a.size
    for d in range(a.ndim):
        ti[ni] = a.shape[d]
        ni = ni + 1
    return nf, ni


@njit(cache=True)
def pop_into_unchecked(stack, n, target):
    """Pop ``target.size`` values into the contiguous array ``target``."""
    flat = target.reshape(target.size)
    for k in range(target.size - 1, -1, -1):
        n = n - 1
        flat[k] = stack[n]
    return n


# ---- checkpointed loops ----------------------------------------------------------------------
# Row kinds of a schedule: FORWARD (a, b): run trips a..b-1, first saving the state in `slot`
# when it is >= 0, taped when `taped` is 1 (else primal only); REVERSE (a, b): reverse trips
# a-1 down to b; LOAD: put the state of `slot` back; END_FORWARD ends what the augmented sweep
# runs, END_REVERSE what the adjoint sweep runs.
FORWARD, REVERSE, LOAD, END_FORWARD, END_REVERSE = range(5)
_ROWS_PER_CHUNK = 4096


def _schedule(trips: int, slots: int):
    """Chunks of rows of the binomial schedule reversing ``trips`` trips with ``slots``
    snapshots; a chunk ends at END_FORWARD, so each sweep takes its own."""
    rows: list = []
    for row in _rows(trips, slots):
        rows.append(row)
        if len(rows) == _ROWS_PER_CHUNK or row[0] in (END_FORWARD, END_REVERSE):
            yield np.array(rows, np.int64)
            rows = []


def _rows(trips: int, slots: int):
    if trips == 0:
        yield END_FORWARD, 0, 0, -1, 0
        yield END_REVERSE, 0, 0, -1, 0
        return
    import checkpoint_schedules as cs

    slot_of: dict = {}
    free = list(range(slots - 1, -1, -1))
    after_reverse = False
    for action in cs.MultistageCheckpointSchedule(trips, slots, 0):
        # The adjoint sweep leaves a reversed trip's state partly restored only: what comes
        # after a reversal must load a snapshot (the schedules do; checked, never assumed).
        if after_reverse and not isinstance(action, (cs.Reverse, cs.Copy, cs.Move,
                                                     cs.EndReverse)):
            raise RuntimeError(f"checkpoint schedule advances after a reversal: {action}")
        after_reverse = isinstance(action, cs.Reverse)
        if isinstance(action, cs.Forward):
            slot = -1
            if action.write_ics:
                if action.storage != cs.StorageType.RAM:
                    raise RuntimeError(f"checkpoint schedule stores off memory: {action}")
                slot = slot_of[action.n0] = free.pop()
            yield FORWARD, action.n0, action.n1, slot, int(action.write_adj_deps)
        elif isinstance(action, cs.Reverse):
            yield REVERSE, action.n1, action.n0, -1, 0
        elif isinstance(action, (cs.Copy, cs.Move)):
            slot = slot_of[action.n]
            if isinstance(action, cs.Move):
                free.append(slot_of.pop(action.n))
            yield LOAD, action.n, action.n, slot, 0
        elif isinstance(action, cs.EndForward):
            yield END_FORWARD, 0, 0, -1, 0
        elif isinstance(action, cs.EndReverse):
            yield END_REVERSE, 0, 0, -1, 0
            return


def _begin(key, trips, slots, floats, ints):
    snap_f = _pooled(np.float64, int(slots) * int(floats))
    snap_i = _pooled(np.int64, int(slots) * int(ints))
    _CHECKPOINTED.setdefault(int(key), []).append(
        (snap_f, snap_i, _schedule(int(trips), int(slots)), (int(floats), int(ints))))
    return snap_f, snap_i


_POOL: list = []  # snapshot arrays of finished loops, reused: fresh ones cost page faults
_POOL_SIZE = 4


def _pooled(dtype, size: int):
    for k, array in enumerate(_POOL):
        if array.dtype == dtype and size <= array.size <= 2 * size + 4096:
            return _POOL.pop(k)[:size]
    return np.empty(size, dtype)


def _give_back(record) -> None:
    for array in record[:2]:
        _POOL.insert(0, array.base if array.base is not None else array)
    del _POOL[_POOL_SIZE:]


def _snapshots(key, floats, ints):
    snap_f, snap_i, rows, began = _CHECKPOINTED[int(key)][-1]
    if (int(floats), int(ints)) != began:
        raise ValueError("a checkpointed loop's state changed size between its start and end")
    return snap_f, snap_i


def _next_rows(key):
    return next(_CHECKPOINTED[int(key)][-1][2])


def _end(key):
    _give_back(_CHECKPOINTED[int(key)].pop())


@njit(cache=True)
def checkpoint_slots(trips, floats, ints, budget):
    """How many snapshots of ``floats`` + ``ints`` values fit in ``budget`` bytes (at least
    one, at most one per trip)."""
    size = 8 * (floats + ints)
    return max(1, min(max(trips, 1), budget // max(size, 1)))


@njit(cache=True)
def checkpoint_begin(key, trips, floats, ints, budget):
    """Before a checkpointed loop in the augmented sweep: room for its snapshots, and its
    schedule; returns the float and int snapshot arrays (slot k at k * floats, k * ints)."""
    slots = checkpoint_slots(trips, floats, ints, budget)
    with objmode(snap_f="float64[::1]", snap_i="int64[::1]"):
        snap_f, snap_i = _begin(key, trips, slots, floats, ints)
    return snap_f, snap_i


@njit(cache=True)
def checkpoint_resume(key, floats, ints):
    """Before the loop is reversed: the snapshot arrays the augmented sweep began with (for
    a state of the same size)."""
    with objmode(snap_f="float64[::1]", snap_i="int64[::1]"):
        snap_f, snap_i = _snapshots(key, floats, ints)
    return snap_f, snap_i


@njit(cache=True)
def checkpoint_rows(key):
    """The next chunk of the schedule's rows (kind, a, b, slot, taped)."""
    with objmode(rows="int64[:, ::1]"):
        rows = _next_rows(key)
    return rows


@njit(cache=True)
def checkpoint_end(key):
    """After the loop is reversed: forget its snapshots and schedule."""
    with objmode():
        _end(key)


@njit(cache=True)
def save_values(snapshots, at, a, size):
    """Copy an array's values into ``snapshots`` from ``at``; returns the next position. Its
    slot was sized for ``size`` values (the array's size when the loop began)."""
    if a.size != size:
        raise ValueError("a checkpointed loop changed the size of an array it carries")
    for v in a.flat:
        snapshots[at] = v
        at += 1
    return at


@njit(cache=True)
def load_values(snapshots, at, a):
    """Put back the values :func:`save_values` took; returns the next position."""
    for k in range(a.size):
        a.flat[k] = snapshots[at + k]
    return at + a.size
