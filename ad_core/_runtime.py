"""Compiled helpers the generated derivative code calls: the tape.

The tape is two stacks — ``float64`` values, and ``int64`` values (ints, booleans, branch
decisions, loop trip counts, array shapes) — each a fixed array with a fill count, plus a
list of spilled chunks. A push into a full array moves its content to the spill list
(:func:`spill`); a pop from an empty array brings the last chunk back (:func:`refill`). The
arrays are never rebound, which keeps tight loops free of reference counting; callers size
the arrays from the previous run (``capacity_f``, ``capacity_i``) so spills are rare.
Pushes and pops are inlined in the generated code.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.typed import List

INITIAL_CAPACITY = 1024


@njit(cache=True)
def new_spills():
    """Empty spill lists for the float and int stacks."""
    return List.empty_list(types.float64[::1]), List.empty_list(types.int64[::1])


def new_stacks(capacity_f: int, capacity_i: int):
    """Float and int stack arrays of at least the given capacities."""
    return (np.empty(max(capacity_f, INITIAL_CAPACITY), np.float64),
            np.empty(max(capacity_i, INITIAL_CAPACITY), np.int64))


@njit(cache=True)
def spill(stack, n, spills):
    """Move the first ``n`` values of a full stack into the spill list; the new count is 0."""
    spills.append(stack[:n].copy())
    return 0


@njit(cache=True)
def refill(stack, spills):
    """Bring the last spilled chunk back into an empty stack; returns the new count."""
    chunk = spills.pop()
    stack[:chunk.size] = chunk
    return chunk.size


@njit(cache=True)
def push_array(tf, nf, ti, ni, sf, si, a):
    """Push an array's values (on the float stack, converted) and then its shape."""
    for v in a.flat:
        if nf >= tf.shape[0]:
            nf = spill(tf, nf, sf)
        tf[nf] = v
        nf += 1
    for d in range(a.ndim):
        if ni >= ti.shape[0]:
            ni = spill(ti, ni, si)
        ti[ni] = a.shape[d]
        ni += 1
    return nf, ni


@njit(cache=True)
def pop_into(stack, n, spills, target):
    """Pop ``target.size`` values into ``target`` (any rank or layout; the inverse of the
    value part of push_array)."""
    for k in range(target.size - 1, -1, -1):
        if n == 0:
            n = refill(stack, spills)
        n -= 1
        target.flat[k] = stack[n]
    return n


@njit(cache=True)
def stored_size(n, spills):
    """Values held by a stack: its count plus every spilled chunk (for the next run's size).
    Compiled, because calling a typed list's methods from Python compiles them anew."""
    total = n
    for chunk in spills:
        total += chunk.size
    return total


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
