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
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numba import njit, objmode

INITIAL_CAPACITY = 1024
_SPILLED: dict = {}  # (key, "f" or "i") -> chunks, last on top
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
    """Forget what a consumed (or abandoned) tape spilled."""
    _SPILLED.pop((key, "f"), None)
    _SPILLED.pop((key, "i"), None)


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
