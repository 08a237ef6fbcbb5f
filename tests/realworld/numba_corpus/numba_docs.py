"""Examples of Numba's own documentation (github numba/numba, commit
5340f052d01403b12480fa19e596200ee0d0e131): ``docs/source/user/*.rst`` and the doc examples
``numba/tests/doc_examples/test_examples.py`` that the documentation includes.

Each function is copied as the documentation writes it (decorators included); the page is
named in the comment above it. Where the documentation gives the same function under several
decorators, each variant is an entry. Functions that return an array are differentiated
through a scalar objective ``<name>_objective`` (a weighted sum with fixed ``Const`` weights);
``inner_func_nb`` writes its output argument and is differentiated directly.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import jit, njit, prange, stencil

from .entry import Entry, rng

SRC = "numba/numba: "


# Source: numba/numba docs/source/user/5minguide.rst
@jit
def go_fast(a): # Function is compiled to machine code when called the first time
    trace = 0.0
    for i in range(a.shape[0]):   # Numba likes loops
        trace += np.tanh(a[i, i]) # Numba likes NumPy functions
    return a + trace              # Numba likes NumPy broadcasting


def go_fast_objective(a, W):
    return np.sum(go_fast(a) * W)


# Source: numba/numba docs/source/user/jit.rst
@jit
def square(x):
    return x ** 2

@jit
def hypot(x, y):
    return math.sqrt(square(x) + square(y))


# Source: numba/numba docs/source/user/performance-tips.rst
@njit
def ident_np(x):
    return np.cos(x) ** 2 + np.sin(x) ** 2

@njit
def ident_loops(x):
    r = np.empty_like(x)
    n = len(x)
    for i in range(n):
        r[i] = np.cos(x[i]) ** 2 + np.sin(x[i]) ** 2
    return r


@njit(fastmath=False)
def do_sum(A):
    acc = 0.
    # without fastmath, this loop must accumulate in strict order
    for x in A:
        acc += np.sqrt(x)
    return acc

@njit(fastmath=True)
def do_sum_fast(A):
    acc = 0.
    # with fastmath, the reduction can be vectorized as floating point
    # reassociation is permitted.
    for x in A:
        acc += np.sqrt(x)
    return acc


@njit(parallel=True)
def ident_parallel(x):
    return np.cos(x) ** 2 + np.sin(x) ** 2


@njit(parallel=True)
def do_sum_parallel(A):
    # each thread can accumulate its own partial sum, and then a cross
    # thread reduction is performed to obtain the result to return
    n = len(A)
    acc = 0.
    for i in prange(n):
        acc += np.sqrt(A[i])
    return acc

@njit(parallel=True, fastmath=True)
def do_sum_parallel_fast(A):
    n = len(A)
    acc = 0.
    for i in prange(n):
        acc += np.sqrt(A[i])
    return acc


def ident_np_objective(x, W):
    return np.sum(ident_np(x) * W)


def ident_loops_objective(x, W):
    return np.sum(ident_loops(x) * W)


def ident_parallel_objective(x, W):
    return np.sum(ident_parallel(x) * W)


# Source: numba/numba docs/source/user/parallel.rst
@njit(parallel=True)
def prange_test(A):
    s = 0
    # Without "parallel=True" in the jit-decorator
    # the prange statement is equivalent to range
    for i in prange(A.shape[0]):
        s += A[i]
    return s


@njit(parallel=True)
def prange_ok_result_whole_arr(x):
    n = x.shape[0]
    y = np.zeros(4)
    for i in prange(n):
        y += x[i]
    return y


@njit(parallel=True)
def prange_ok_result_outer_slice(x):
    n = x.shape[0]
    y = np.zeros(4)
    z = y[:]
    for i in prange(n):
        z += x[i]
    return y


def prange_ok_result_whole_arr_objective(x, W):
    return np.sum(prange_ok_result_whole_arr(x) * W)


def prange_ok_result_outer_slice_objective(x, W):
    return np.sum(prange_ok_result_outer_slice(x) * W)


@numba.jit(nopython=True, parallel=True)
def logistic_regression(Y, X, w, iterations):
    for i in range(iterations):
        w -= np.dot(((1.0 / (1.0 + np.exp(-Y * np.dot(X, w))) - 1.0) * Y), X)
    return w


def logistic_regression_objective(Y, X, w, iterations, W):
    return np.sum(logistic_regression(Y, X, w, iterations) * W)


# Source: numba/numba docs/source/user/stencil.rst
@stencil
def kernel1(a):
    return 0.25 * (a[0, 1] + a[1, 0] + a[0, -1] + a[-1, 0])


@njit
def kernel1_njit(a):
    # calls the documentation's stencil from nopython code, as the page describes
    return kernel1(a)


def kernel1_objective(a, W):
    return np.sum(kernel1_njit(a) * W)


@njit(parallel=True)
def stencil_test(A):
    c = 2
    B = stencil(
        lambda a, c: 0.3 * (a[-c+1] + a[0] + a[c-1]))(A, c)
    return B


def stencil_test_objective(A, W):
    return np.sum(stencil_test(A) * W)


# Source: numba/numba numba/tests/doc_examples/test_examples.py (test_nogil, ex_no_gil)
@jit('void(double[:], double[:], double[:])', nopython=True,
     nogil=True)
def inner_func_nb(result, a, b):
    """
    Function under test.
    """
    for i in range(len(result)):
        result[i] = math.exp(2.1 * a[i] + 3.2 * b[i])


# ---- argument values ----------------------------------------------------------------------------


def _n(g, *shape):
    return g.standard_normal(shape)


def _w(g, *shape):
    return g.uniform(0.5, 1.5, shape)


def _pos(g, *shape):
    return g.uniform(0.5, 2.0, shape)


def _entry(name, function, make_args, path, const=(), construct=""):
    return Entry(name, function, make_args, SRC + path, const, construct=construct)


def _logreg_args(k):
    g = rng(k, 70)
    return (np.sign(_n(g, 6)), _n(g, 6, 3), _n(g, 3) * 0.1, 3, _w(g, 3))


ENTRIES = [
    _entry("go_fast", go_fast_objective, lambda k: (_n(rng(k, 1), 4, 4), _w(rng(k, 2), 4, 4)),
           "docs/source/user/5minguide.rst", const=(1,), construct="@jit, diagonal loop, broadcast"),
    _entry("hypot", hypot, lambda k: (1.0 + 0.5 * k, -2.0 + 0.3 * k),
           "docs/source/user/jit.rst", construct="scalar calls"),
    _entry("ident_np", ident_np_objective, lambda k: (_n(rng(k, 1), 6), _w(rng(k, 2), 6)),
           "docs/source/user/performance-tips.rst", const=(1,), construct="whole-array ufuncs"),
    _entry("ident_loops", ident_loops_objective, lambda k: (_n(rng(k, 1), 6), _w(rng(k, 2), 6)),
           "docs/source/user/performance-tips.rst", const=(1,), construct="element loop into np.empty_like"),
    _entry("do_sum", do_sum, lambda k: (_pos(rng(k, 1), 6),),
           "docs/source/user/performance-tips.rst", construct="for x in A"),
    _entry("do_sum_fast", do_sum_fast, lambda k: (_pos(rng(k, 1), 6),),
           "docs/source/user/performance-tips.rst", construct="for x in A, fastmath"),
    _entry("ident_parallel", ident_parallel_objective, lambda k: (_n(rng(k, 1), 6), _w(rng(k, 2), 6)),
           "docs/source/user/performance-tips.rst", const=(1,), construct="parallel=True array expression"),
    _entry("do_sum_parallel", do_sum_parallel, lambda k: (_pos(rng(k, 1), 6),),
           "docs/source/user/performance-tips.rst", construct="prange reduction"),
    _entry("do_sum_parallel_fast", do_sum_parallel_fast, lambda k: (_pos(rng(k, 1), 6),),
           "docs/source/user/performance-tips.rst", construct="prange reduction, fastmath"),
    _entry("prange_test", prange_test, lambda k: (_n(rng(k, 1), 6),),
           "docs/source/user/parallel.rst", construct="prange reduction, int start"),
    _entry("prange_ok_result_whole_arr", prange_ok_result_whole_arr_objective,
           lambda k: (_n(rng(k, 1), 6), _w(rng(k, 2), 4)),
           "docs/source/user/parallel.rst", const=(1,), construct="prange array reduction"),
    _entry("prange_ok_result_outer_slice", prange_ok_result_outer_slice_objective,
           lambda k: (_n(rng(k, 1), 6), _w(rng(k, 2), 4)),
           "docs/source/user/parallel.rst", const=(1,), construct="prange reduction through a view"),
    _entry("logistic_regression_parallel", logistic_regression_objective, _logreg_args,
           "docs/source/user/parallel.rst", const=(0, 4), construct="parallel=True gradient descent"),
    _entry("kernel1_stencil", kernel1_objective, lambda k: (_n(rng(k, 1), 5, 5), _w(rng(k, 2), 5, 5)),
           "docs/source/user/stencil.rst", const=(1,), construct="@stencil called from njit"),
    _entry("stencil_test", stencil_test_objective, lambda k: (_n(rng(k, 1), 8), _w(rng(k, 2), 8)),
           "docs/source/user/stencil.rst", const=(1,), construct="stencil(lambda) in parallel code"),
    _entry("inner_func_nb", inner_func_nb,
           lambda k: (np.zeros(5), _n(rng(k, 1), 5) * 0.3, _n(rng(k, 2), 5) * 0.3),
           "numba/tests/doc_examples/test_examples.py", construct="explicit signature, nogil, output array"),
]
