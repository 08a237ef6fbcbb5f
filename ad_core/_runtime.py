"""Compiled helpers the generated derivative code calls: the growable tape stacks.

The tape is two stacks, ``float64`` values and ``int64`` values (ints, booleans, loop trip
counts, array shapes), each an array with a fill count. Pushing may reallocate (doubling);
popping is inlined in generated code as ``n -= 1; x = stack[n]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

INITIAL_CAPACITY = 1024


@njit(cache=True)
def new_tape(capacity_f, capacity_i):
    """Empty stacks; callers pass the sizes the previous run needed to avoid regrowth."""
    return (np.empty(max(capacity_f, INITIAL_CAPACITY), np.float64), 0,
            np.empty(max(capacity_i, INITIAL_CAPACITY), np.int64), 0)


@njit(cache=True)
def _grow(stack, need):
    size = max(2 * stack.shape[0], need)
    bigger = np.empty(size, stack.dtype)
    bigger[:stack.shape[0]] = stack
    return bigger


@njit(cache=True, inline="always")
def push_f(tf, nf, value):
    if nf >= tf.shape[0]:
        tf = _grow(tf, nf + 1)
    tf[nf] = value
    return tf, nf + 1


@njit(cache=True, inline="always")
def push_i(ti, ni, value):
    if ni >= ti.shape[0]:
        ti = _grow(ti, ni + 1)
    ti[ni] = value
    return ti, ni + 1


@njit(cache=True)
def push_array(tf, nf, ti, ni, a):
    """Push an array's values (float stack, or int stack for integer arrays) and shape."""
    if a.size > 0:
        if nf + a.size > tf.shape[0]:
            tf = _grow(tf, nf + a.size)
        k = nf
        for v in a.flat:
            tf[k] = v
            k += 1
        nf = k
    for d in range(a.ndim):
        ti, ni = push_i(ti, ni, a.shape[d])
    return tf, nf, ti, ni
