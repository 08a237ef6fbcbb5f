"""Compiled helpers the generated derivative code calls: the tape.

The tape is two stacks — ``float64`` values, and ``int64`` values (ints, booleans, branch
decisions, loop trip counts, array shapes) — each an array with a fill count. A push into a
full array grows it (:func:`grown`: a copy twice the size; the generated code rebinds the
array only on that branch, which keeps tight loops free of reference counting), and every
augmented function hands its (possibly new) arrays back with the counts. A pop needs no check:
a stack is one array. A loop whose trip count is known on entry and whose body pushes a fixed
number of values makes room for all of them at once, and its body pushes without checks.
Callers size the arrays from the previous run (``capacity_f``, ``capacity_i``) so growth is
rare. Pushes and pops are inlined in the generated code.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

INITIAL_CAPACITY = 1024


def new_stacks(capacity_f: int, capacity_i: int):
    """Float and int stack arrays of at least the given capacities."""
    return (np.empty(max(capacity_f, INITIAL_CAPACITY), np.float64),
            np.empty(max(capacity_i, INITIAL_CAPACITY), np.int64))


@njit(cache=True)
def grown(stack, n, more):
    """``stack`` if it has room for ``more`` values after its first ``n``; else a copy of
    those ``n`` values in an array at least twice as big."""
    if n + more <= stack.shape[0]:
        return stack
    bigger = np.empty(max(2 * stack.shape[0], n + more), stack.dtype)
    bigger[:n] = stack[:n]
    return bigger


@njit(cache=True)
def push_array(tf, nf, ti, ni, a):
    """Push an array's values (on the float stack, converted) and then its shape."""
    tf = grown(tf, nf, a.size)
    for v in a.flat:
        tf[nf] = v
        nf += 1
    ti = grown(ti, ni, a.ndim)
    for d in range(a.ndim):
        ti[ni] = a.shape[d]
        ni += 1
    return tf, nf, ti, ni


@njit(cache=True)
def pop_into(stack, n, target):
    """Pop ``target.size`` values into ``target`` (any rank or layout; the inverse of the
    value part of push_array)."""
    for k in range(target.size - 1, -1, -1):
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
