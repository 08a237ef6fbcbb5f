"""Compiled helpers for the derivative rules of NumPy functions whose tangent or cotangent is
more than one expression (the ``primitive`` rules of :mod:`~adtriad.ad_core.derivatives`).

Contract: every function is ``njit`` and pure; generated code calls them as ``_prim.NAME``.
Each computes exactly what its name says, for the argument shapes the rule admits.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, types
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
def _halved_lower(x):
    """Phi(x): the lower triangle of x with its diagonal halved."""
    out = np.tril(x)
    for i in range(x.shape[0]):
        out[i, i] *= 0.5
    return out


@njit(cache=True)
def cholesky_tangent(l, t):
    """The tangent of ``l = np.linalg.cholesky(a)`` along ``t`` (NumPy reads the lower
    triangle of ``a``, so ``t`` counts there, mirrored): ``l Phi(l^-1 s l^-T)``."""
    s = np.tril(t) + np.tril(t, -1).T
    li = np.linalg.inv(l)
    return np.dot(l, _halved_lower(np.dot(np.dot(li, s), li.T)))


@njit(cache=True)
def cholesky_cotangent(l, g):
    """The cotangent of ``a`` in ``l = np.linalg.cholesky(a)``: with ``S = l^-T Phi(l^T g)
    l^-1``, ``S + S^T`` below the diagonal, ``S`` on it, zero above (the elements NumPy
    reads)."""
    li = np.linalg.inv(l)
    s = np.dot(np.dot(li.T, _halved_lower(np.dot(l.T, g))), li)
    out = np.tril(s + s.T, -1)
    for i in range(s.shape[0]):
        out[i, i] = s[i, i]
    return out


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


# Functions the rule table keys as ``_prim.NAME`` (they have no Python source worth
# differentiating: second-order code differentiates their calls by their rule).
KEYED = ("unbroadcast", "unravel", "size_of", "list_index")


def unbroadcast(term, shape):
    """``term`` with NumPy broadcasting to ``shape`` undone: summed over the leading axes
    ``shape`` lacks and, keeping them, over the axes where ``shape`` has extent 1. A term of
    that shape is returned as it is. Adjoints accumulate ``bar += unbroadcast(term,
    bar.shape)``; compiled code gets one implementation per pair of ranks."""
    term = np.asarray(term)
    extra = term.ndim - len(shape)
    out = term.sum(axis=tuple(range(extra))) if extra else term
    axes = tuple(k for k, n in enumerate(shape) if n == 1 and out.shape[k] != 1)
    return out.sum(axis=axes, keepdims=True) if axes else out


@overload(unbroadcast)
def _unbroadcast_overload(term, shape):
    return _unbroadcast(term.ndim, len(shape))


@functools.cache
def _unbroadcast(term_ndim: int, out_ndim: int):
    idx = [f"i{d}" for d in range(term_ndim)]
    lines = ["def unbroadcast(term, shape):"]
    if term_ndim == out_ndim:
        lines += ["    if term.shape == shape:", "        return term"]
    lines.append("    out = np.zeros(shape, term.dtype)")
    for d in range(term_ndim):
        lines.append("    " * (d + 1) + f"for {idx[d]} in range(term.shape[{d}]):")
    offset = term_ndim - out_ndim
    target = ", ".join(f"({idx[offset + k]} if shape[{k}] != 1 else 0)"
                       for k in range(out_ndim))
    lines.append("    " * (term_ndim + 1) + f"out[{target}] += term[{', '.join(idx)}]")
    lines.append("    return out")
    namespace: dict = {"np": np}
    exec("\n".join(lines), namespace)
    return namespace["unbroadcast"]


def unravel(k, shape):
    """The index tuple of element ``k`` of an array of ``shape`` in C order (what
    ``np.unravel_index`` gives; Numba does not compile that)."""
    return tuple(int(i) for i in np.unravel_index(k, shape))


@overload(unravel)
def _unravel_overload(k, shape):
    if isinstance(shape, types.Integer):
        return lambda k, shape: (k,)
    return _unravel(len(shape))


def size_of(shape):
    """The number of elements of an array of ``shape`` (a tuple, or an int for a vector)."""
    return int(np.prod(shape))


@overload(size_of)
def _size_of_overload(shape):
    if isinstance(shape, types.Integer):
        return lambda shape: shape

    def size(shape):
        n = 1
        for extent in shape:
            n *= extent
        return n
    return size


@functools.cache
def _unravel(ndim: int):
    lines = ["def unravel(k, shape):", "    rest = k"]
    for d in range(ndim - 1, 0, -1):
        lines += [f"    i{d} = rest % shape[{d}]", f"    rest = rest // shape[{d}]"]
    lines.append(f"    return (rest, {''.join(f'i{d}, ' for d in range(1, ndim))})")
    namespace: dict = {}
    exec("\n".join(lines), namespace)
    return namespace["unravel"]


def list_index(i, n):
    """Index ``i`` of a list of ``n`` elements held in a longer buffer (lists.py): a
    negative ``i`` counts from the end; out of range raises IndexError, as for the list."""
    if i < 0:
        i += n
    if i < 0 or i >= n:
        raise IndexError("list index out of range")
    return i


@overload(list_index)
def _list_index_overload(i, n):
    return list_index  # the same code, compiled
