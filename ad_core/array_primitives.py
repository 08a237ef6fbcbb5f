"""Compiled helpers for the derivative rules of NumPy functions whose tangent or cotangent is
more than one expression (the ``primitive`` rules of :mod:`~adtriad.ad_core.derivatives`).

Contract: every function is ``njit`` and pure; generated code calls them as ``_prim.NAME``.
Each computes exactly what its name says, for the argument shapes the rule admits.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit
from numba.extending import overload


@njit(cache=True)
def products_of_others(a):
    """``out.flat[i] = prod(a.flat[j] for j != i)``, exact when elements are zero."""
    flat = a.ravel()
    n = flat.size
    out = np.empty(n, flat.dtype)
    left = 1.0
    for i in range(n):
        out[i] = left
        left *= flat[i]
    right = 1.0
    for i in range(n - 1, -1, -1):
        out[i] *= right
        right *= flat[i]
    return out.reshape(a.shape)


@njit(cache=True)
def cumsum_cotangent(a, g):
    """The cotangent of ``np.cumsum(a)`` (flattened) for the result's cotangent ``g``."""
    return np.cumsum(g[::-1])[::-1].copy().reshape(a.shape)


@njit(cache=True)
def sort_cotangent(a, g):
    """The cotangent of ``np.sort(a)`` (1-D): ``g`` moved back to where each value came from."""
    out = np.zeros_like(a)
    order = np.argsort(a)
    for k in range(order.size):
        out[order[k]] += g[k]
    return out


@njit(cache=True)
def solve_cotangent_matrix(a, z, g):
    """The cotangent of ``A`` in ``z = np.linalg.solve(A, b)``: ``-solve(A.T, g) z^T``."""
    n = a.shape[0]
    gb = np.linalg.solve(a.T.copy(), g)
    return -np.dot(gb.reshape(n, -1), z.reshape(n, -1).T)


@njit(cache=True)
def scatter_add_mask(bar, mask, g):
    """``bar[mask] += g`` for a mask of bar's shape (``g`` holds the selected elements in
    order)."""
    flat, m = bar.reshape(bar.size), mask.reshape(mask.size)
    k = 0
    for i in range(m.size):
        if m[i]:
            flat[i] += g[k]
            k += 1


@njit(cache=True)
def scatter_add_index(bar, index, g):
    """``bar[index] += g`` along the first axis, repeated indices adding up."""
    for k in range(index.size):
        bar[index[k]] += g[k]


def add_unbroadcast(bar, term):
    """``bar += term`` with NumPy broadcasting undone: a ``term`` with more dimensions, or
    with extent n where ``bar`` has extent 1, is summed down to ``bar``'s shape. (Compiled
    code only: one implementation per pair of ranks, shared by every adjoint that needs it
    instead of the loops written out in each.)"""
    raise TypeError("add_unbroadcast is called from compiled code only")


@overload(add_unbroadcast)
def _add_unbroadcast(bar, term):
    return _unbroadcast(term.ndim, bar.ndim)


@functools.cache
def _unbroadcast(term_ndim: int, bar_ndim: int):
    idx = [f"i{d}" for d in range(term_ndim)]
    lines = ["def add(bar, term):"]
    if term_ndim == bar_ndim:
        lines += ["    if term.shape == bar.shape:", "        bar += term", "        return"]
    for d in range(term_ndim):
        lines.append("    " * (d + 1) + f"for {idx[d]} in range(term.shape[{d}]):")
    offset = term_ndim - bar_ndim
    target = ", ".join(f"({idx[offset + k]} if bar.shape[{k}] != 1 else 0)"
                       for k in range(bar_ndim))
    lines.append("    " * (term_ndim + 1) + f"bar[{target}] += term[{', '.join(idx)}]")
    namespace: dict = {}
    exec("\n".join(lines), namespace)
    return namespace["add"]
