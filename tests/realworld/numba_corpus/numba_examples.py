"""Examples of github numba/numba-examples (commit c423f5419a459f5ab8874fda6d39bb5ea05d04b2).

Each function is copied as its authors wrote it (decorators included) from the file named in
the comment above it, under ``examples/`` (the benchmarked examples) or ``legacy/`` (the older
example scripts). Only the example's compute functions are taken, not its drivers or plots.

Functions that return an array or a tuple are differentiated through a scalar objective
``<name>_objective``: the weighted sum of every output with fixed weights passed as ``Const``
arguments. Functions that write an output argument are differentiated directly (the final
state of a ``Duplicated`` array is an output of ``check_grads``).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import guvectorize, jit, njit, prange, stencil

from .entry import Entry, rng

SRC = "numba/numba-examples: "


# Source: numba/numba-examples examples/finance/blackscholes/blackscholes_numba.py
@jit
def cnd_numba(d):
    A1 = 0.31938153
    A2 = -0.356563782
    A3 = 1.781477937
    A4 = -1.821255978
    A5 = 1.330274429
    RSQRT2PI = 0.39894228040143267793994605993438
    K = 1.0 / (1.0 + 0.2316419 * math.fabs(d))
    ret_val = (RSQRT2PI * math.exp(-0.5 * d * d) *
               (K * (A1 + K * (A2 + K * (A3 + K * (A4 + K * A5))))))
    if d > 0:
        ret_val = 1.0 - ret_val
    return ret_val


@jit
def black_scholes_numba(stockPrice, optionStrike,
                        optionYears, Riskfree, Volatility):
    callResult = np.empty_like(stockPrice)
    putResult = np.empty_like(stockPrice)

    S = stockPrice
    X = optionStrike
    T = optionYears
    R = Riskfree
    V = Volatility
    for i in range(len(S)):
        sqrtT = math.sqrt(T[i])
        d1 = (math.log(S[i] / X[i]) + (R + 0.5 * V * V) * T[i]) / (V * sqrtT)
        d2 = d1 - V * sqrtT
        cndd1 = cnd_numba(d1)
        cndd2 = cnd_numba(d2)

        expRT = math.exp((-1. * R) * T[i])
        callResult[i] = (S[i] * cndd1 - X[i] * expRT * cndd2)
        putResult[i] = (X[i] * expRT * (1.0 - cndd2) - S[i] * (1.0 - cndd1))

    return callResult, putResult


def black_scholes_objective(stockPrice, optionStrike, optionYears, Riskfree, Volatility, W1, W2):
    call, put = black_scholes_numba(stockPrice, optionStrike, optionYears, Riskfree, Volatility)
    return np.sum(call * W1) + np.sum(put * W2)


# Source: numba/numba-examples examples/density_estimation/kernel/impl.py (numba section)
@numba.jit(nopython=True)
def gaussian(x):
    return np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)

@numba.jit(nopython=True)
def numba_kde(eval_points, samples, bandwidths):
    result = np.zeros_like(eval_points)

    for i, eval_x in enumerate(eval_points):
        for sample, bandwidth in zip(samples, bandwidths):
            result[i] += gaussian((eval_x - sample) / bandwidth) / bandwidth
        result[i] /= len(samples)

    return result


# Source: numba/numba-examples examples/density_estimation/kernel/impl.py (numba_multithread section)
@numba.jit(nopython=True, parallel=True)
def numba_kde_multithread(eval_points, samples, bandwidths):
    result = np.zeros_like(eval_points)

    # SPEEDTIP: Parallelize over evaluation points with prange()
    for i in numba.prange(len(eval_points)):
        eval_x = eval_points[i]
        for sample, bandwidth in zip(samples, bandwidths):
            result[i] += gaussian((eval_x - sample) / bandwidth) / bandwidth
        result[i] /= len(samples)

    return result


def numba_kde_objective(eval_points, samples, bandwidths, W):
    return np.sum(numba_kde(eval_points, samples, bandwidths) * W)


def numba_kde_multithread_objective(eval_points, samples, bandwidths, W):
    return np.sum(numba_kde_multithread(eval_points, samples, bandwidths) * W)


# Source: numba/numba-examples examples/physics/lennard_jones/numba_scalar_impl.py
@numba.njit
def lj_numba_scalar(r):
    sr6 = (1./r)**6
    pot = 4.*(sr6*sr6 - sr6)
    return pot


@numba.njit
def distance_numba_scalar(atom1, atom2):
    dx = atom2[0] - atom1[0]
    dy = atom2[1] - atom1[1]
    dz = atom2[2] - atom1[2]

    r = (dx * dx + dy * dy + dz * dz) ** 0.5

    return r


@numba.njit
def potential_numba_scalar(cluster):
    energy = 0.0
    for i in range(len(cluster)-1):
        for j in range(i + 1, len(cluster)):
            r = distance_numba_scalar(cluster[i], cluster[j])
            e = lj_numba_scalar(r)
            energy += e

    return energy


# Source: numba/numba-examples examples/physics/lennard_jones/numba_array_impl.py
@numba.njit
def lj_numba_array(r):
    sr6 = (1./r)**6
    pot = 4.*(sr6*sr6 - sr6)
    return pot


@numba.njit
def distances_numba_array(cluster):
    # Original: diff = cluster[:, np.newaxis, :] - cluster[np.newaxis, :, :]
    # Since np.newaxis is not supported, we use reshape to do this
    diff = (cluster.reshape(cluster.shape[0], 1, cluster.shape[1]) -
            cluster.reshape(1, cluster.shape[0], cluster.shape[1]))
    mat = (diff * diff)
    # Original: mat = mat.sum(-1)
    # Since axis argument is not supported, we write the loop out
    out = np.empty(mat.shape[:2], dtype=mat.dtype)
    for i in np.ndindex(out.shape):
        out[i] = mat[i].sum()

    return np.sqrt(out)


@numba.njit
def potential_numba_array(cluster):
    d = distances_numba_array(cluster)
    # Original: dtri = np.triu(d)
    # np.triu is not supported; so write my own loop to clear the
    # lower triangle
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            if i > j:
                d[i, j] = 0
    # Original: lj_numba_array(d[d > 1e-6]).sum()
    # d[d > 1e-6] is not supported due to the indexing with boolean
    # array.  Replace with custom loop.
    energy = 0.0
    for v in d.flat:
        if v > 1e-6:
            energy += lj_numba_array(v)
    return energy


# Source: numba/numba-examples examples/physics/lennard_jones/numba_scalar_prange_impl.py
@numba.njit
def lj_numba_scalar_prange(r):
    sr6 = (1./r)**6
    pot = 4.*(sr6*sr6 - sr6)
    return pot


@numba.njit
def distance_numba_scalar_prange(atom1, atom2):
    dx = atom2[0] - atom1[0]
    dy = atom2[1] - atom1[1]
    dz = atom2[2] - atom1[2]

    r = (dx * dx + dy * dy + dz * dz) ** 0.5

    return r


@numba.njit(parallel=True)
def potential_numba_scalar_prange(cluster):
    energy = 0.0
    # numba.prange requires parallel=True flag to compile.
    # It causes the loop to run in parallel in multiple threads.
    for i in numba.prange(len(cluster)-1):
        for j in range(i + 1, len(cluster)):
            r = distance_numba_scalar_prange(cluster[i], cluster[j])
            e = lj_numba_scalar_prange(r)
            energy += e

    return energy


# Source: numba/numba-examples legacy/laplace2d/laplace2d-numba.py
@jit
def jacobi_relax_core(A, Anew):
    error = 0.0
    n = A.shape[0]
    m = A.shape[1]
    for j in range(1, n - 1):
        for i in range(1, m - 1):
            Anew[j, i] = 0.25 * ( A[j, i + 1] + A[j, i - 1] \
                                + A[j - 1, i] + A[j + 1, i])
            error = max(error, abs(Anew[j, i] - A[j, i]))
    return error


# Source: numba/numba-examples legacy/linear_regression/linear_regression_numba.py
@numba.njit()
def linear_regression(Y, X, w, iterations, alphaN):
    for i in range(iterations):
        w -= alphaN * np.dot(X.T, np.dot(X,w)-Y)
    return w


def linear_regression_objective(Y, X, w, iterations, alphaN, W):
    return np.sum(linear_regression(Y, X, w, iterations, alphaN) * W)


# Source: numba/numba-examples legacy/logistic-regression/logistic_regression.py
run_parallel = numba.config.NUMBA_NUM_THREADS > 1


@numba.njit(parallel=run_parallel, fastmath=True)
def logistic_regression(Y, X, w, iterations):
    for i in range(iterations):
        w -= np.dot(((1.0 / (1.0 + np.exp(-Y * np.dot(X, w))) - 1.0) * Y), X)
    return w


def logistic_regression_objective(Y, X, w, iterations, W):
    return np.sum(logistic_regression(Y, X, w, iterations) * W)


# Source: numba/numba-examples legacy/kernel-density-estimation/kernel_density_estimation_numba.py
@njit()
def kde(X):
    b = 0.5
    points = np.array([-1.0, 2.0, 5.0])
    N = points.shape[0]
    n = X.shape[0]
    exps = 0
    # prange in a not-parallel jitted function is identical to "range"
    for i in prange(n):
        p = X[i]
        d = (-(p-points)**2)/(2*b**2)
        m = np.min(d)
        exps += m-np.log(b*N)+np.log(np.sum(np.exp(d-m)))
    return exps


# Source: numba/numba-examples legacy/blur_image.py
@jit(nopython=True)
def filter2d_core(image, filt, result):
    M, N = image.shape
    Mf, Nf = filt.shape
    Mf2 = Mf // 2
    Nf2 = Nf // 2
    for i in range(Mf2, M - Mf2):
        for j in range(Nf2, N - Nf2):
            num = 0
            for ii in range(Mf):
                for jj in range(Nf):
                    num += (filt[Mf-1-ii, Nf-1-jj] * image[i-Mf2+ii,j-Nf2+jj])
            result[i, j] = num


@jit(nopython=True)
def filter2d(image, filt):
    result = np.zeros_like(image)
    filter2d_core(image, filt, result)
    return result


def filter2d_objective(image, filt, W):
    return np.sum(filter2d(image, filt) * W)


# Source: numba/numba-examples legacy/harris/harris_numba.py
@njit
def xsten(a):
    ret = np.zeros_like(a)
    ashape = a.shape
    for i in range(1,ashape[0]-1):
        for j in range(1,ashape[1]-1):
            ret[i,j] = ((a[i-1,j-1] * -1.0) + (a[i-1,j] * -2.0) + (a[i-1,j+1] * -1.0) + a[i+1,j-1] + (a[i+1,j] * 2.0) + a[i+1,j+1]) / 12.0
    return ret

@njit
def ysten(a):
    ret = np.zeros_like(a)
    ashape = a.shape
    for i in range(1,ashape[0]-1):
        for j in range(1,ashape[1]-1):
            ret[i,j] = ((a[i-1,j-1] * -1.0) + (a[i,j-1] * -2.0) + (a[i+1,j-1] * -1.0) + a[i-1,j+1] + (a[i,j+1] * 2.0) + a[i+1,j+1]) / 12.0
    return ret

@njit
def harris_common(a):
    ret = np.zeros_like(a)
    ashape = a.shape
    for i in range(1,ashape[0]-1):
        for j in range(1,ashape[1]-1):
            ret[i,j] = (a[i-1,j-1] + a[i-1,j] + a[i-1,j+1] + a[i,j-1] + a[i,j] + a[i,j+1] + a[i+1,j-1] + a[i+1,j] + a[i+1,j+1])
    return ret

@njit
def harris(Iin):
    Ix = xsten(Iin)
    Iy = ysten(Iin)
    Ixx = Ix * Ix
    Iyy = Iy * Iy
    Ixy = Ix * Iy
    Sxx = harris_common(Ixx)
    Syy = harris_common(Iyy)
    Sxy = harris_common(Ixy)
    det = (Sxx * Syy) - (Sxy * Sxy)
    trace = Sxx + Syy
    return det - (0.04 * trace * trace)


def harris_objective(Iin, W):
    return np.sum(harris(Iin) * W)


# Source: numba/numba-examples legacy/wave-2d/wave_2d_numba.py
@stencil()
def rws_kernel(p, c, r):
    return 2 * c[0, 0] - p[0, 0] + r * r * (c[-1, 0] + c[1, 0] + c[0, -1] + c[0, 1] - 4*c[0, 0])

@njit()
def runWaveStencil(p, c, f, r, t, n, s2, s4, s):
    rws_kernel(p, c, r, out=f)

    # Dynamic source
    f[s2+s4-2:s2+s4+1, 0:2] = 1.5 * np.sin(t*n)
    f[s2-s4-2:s2-s4+1, 0:2] = 1.5 * np.sin(t*n)
    f[1:s-1, 0:2] = 1.0

    # Transparent boundary handling
    f[1:s-1, 0]   = (2.0 * c[1:s-1, 0]   + (r-1.0) * p[1:s-1, 0]   + 2.0*r*r*(c[1:s-1, 1]   + c[2:s, 0]   + c[0:s-2, 0]   - 3.0 * c[1:s-1, 0]))   / (1.0+r) # Y:1
    f[1:s-1, s-1] = (2.0 * c[1:s-1, s-1] + (r-1.0) * p[1:s-1, s-1] + 2.0*r*r*(c[1:s-1, s-2] + c[2:s, s-1] + c[0:s-2, s-1] - 3.0 * c[1:s-1, s-1])) / (1.0+r) # Y:s
    f[0, 1:s-1]   = (2.0 * c[0, 1:s-1]   + (r-1.0) * p[0, 1:s-1]   + 2.0*r*r*(c[1, 1:s-1]   + c[0, 2:s]   + c[0, 0:s-2]   - 3.0 * c[0, 1:s-1]))   / (1.0+r) # X:1
    f[s-1, 1:s-1] = (2.0 * c[s-1, 1:s-1] + (r-1.0) * p[s-1, 1:s-1] + 2.0*r*r*(c[s-2, 1:s-1] + c[s-1, 2:s] + c[s-1, 0:s-2] - 3.0 * c[s-1, 1:s-1])) / (1.0+r) # Y:s


# Source: numba/numba-examples legacy/movemean.py
@guvectorize(['void(float64[:], intp[:], float64[:])'], '(n),()->(n)')
def move_mean(a, window_arr, out):
    window_width = window_arr[0]
    asum = 0.0
    count = 0
    for i in range(window_width):
        asum += a[i]
        count += 1
        out[i] = asum / count
    for i in range(window_width, len(a)):
        asum += a[i] - a[i - window_width]
        out[i] = asum / count


def move_mean_objective(a, window, W):
    return np.sum(move_mean(a, window) * W)


# Source: numba/numba-examples examples/waveforms/zero_suppression/impl.py
@numba.vectorize(nopython=True)
def numba_zero_suppression(values, threshold):
    if np.abs(values) >= threshold:
        return values
    else:
        return 0.0


def zero_suppression_objective(values, threshold, W):
    return np.sum(numba_zero_suppression(values, threshold) * W)


# ---- argument values ----------------------------------------------------------------------------


def _n(g, *shape):
    return g.standard_normal(shape)


def _w(g, *shape):
    return g.uniform(0.5, 1.5, shape)


def _cluster(k):
    """A small Lennard-Jones cluster: atoms near a lattice, no two closer than about 0.9."""
    g = rng(k, 60)
    base = np.array([[0, 0, 0], [1.1, 0, 0], [0, 1.1, 0], [0, 0, 1.1], [1.1, 1.1, 0.0]], dtype=float)
    return base + 0.05 * g.standard_normal(base.shape)


def _bs_args(k):
    g = rng(k, 61)
    n = 4
    return (g.uniform(0.8, 1.2, n), g.uniform(0.8, 1.2, n), g.uniform(0.5, 2.0, n), 0.02, 0.30,
            _w(g, n), _w(g, n))


def _wave_args(k):
    g = rng(k, 62)
    s = 8
    # n is the source's frequency; 30 rather than the example's 300, at which sin(t * n)
    # turns too fast for finite differences in float64 to be a reference (the engine's
    # derivative agrees with the limit of central differences there too)
    return (_n(g, s, s), _n(g, s, s), np.zeros((s, s)), 0.1, 0.01 * (k + 1), 30, s // 2, s // 4, s)


def _entry(name, function, make_args, path, const=(), construct=""):
    return Entry(name, function, make_args, SRC + path, const, construct=construct)


ENTRIES = [
    _entry("cnd_numba", cnd_numba, lambda k: (0.3 + 0.4 * k,),
           "examples/finance/blackscholes/blackscholes_numba.py", construct="scalar @jit, math, branch"),
    _entry("black_scholes", black_scholes_objective, _bs_args,
           "examples/finance/blackscholes/blackscholes_numba.py", const=(5, 6),
           construct="element loop, calls, tuple of arrays"),
    _entry("numba_kde", numba_kde_objective,
           lambda k: (_n(rng(k, 1), 3), _n(rng(k, 2), 5), rng(k, 3).uniform(0.5, 1.5, 5), _w(rng(k, 4), 3)),
           "examples/density_estimation/kernel/impl.py", const=(3,), construct="enumerate, zip over arrays"),
    _entry("numba_kde_multithread", numba_kde_multithread_objective,
           lambda k: (_n(rng(k, 1), 3), _n(rng(k, 2), 5), rng(k, 3).uniform(0.5, 1.5, 5), _w(rng(k, 4), 3)),
           "examples/density_estimation/kernel/impl.py", const=(3,), construct="numba.prange, zip"),
    _entry("lj_potential_scalar", potential_numba_scalar, lambda k: (_cluster(k),),
           "examples/physics/lennard_jones/numba_scalar_impl.py", construct="row views passed to calls, ** 0.5"),
    _entry("lj_potential_array", potential_numba_array, lambda k: (_cluster(k),),
           "examples/physics/lennard_jones/numba_array_impl.py", construct="reshape, np.ndindex, .flat"),
    _entry("lj_potential_prange", potential_numba_scalar_prange, lambda k: (_cluster(k),),
           "examples/physics/lennard_jones/numba_scalar_prange_impl.py", construct="prange reduction"),
    _entry("jacobi_relax_core", jacobi_relax_core, lambda k: (_n(rng(k, 1), 5, 5), np.zeros((5, 5))),
           "legacy/laplace2d/laplace2d-numba.py", construct="max/abs error and output array"),
    _entry("linear_regression", linear_regression_objective,
           lambda k: (_n(rng(k, 1), 6, 2), _n(rng(k, 2), 6, 3), _n(rng(k, 3), 3, 2) * 0.1, 3, 0.05,
                      _w(rng(k, 4), 3, 2)),
           "legacy/linear_regression/linear_regression_numba.py", const=(5,), construct="gradient descent, w -="),
    _entry("logistic_regression", logistic_regression_objective,
           lambda k: (np.sign(_n(rng(k, 1), 6)), _n(rng(k, 2), 6, 3), _n(rng(k, 3), 3) * 0.1, 3,
                      _w(rng(k, 4), 3)),
           "legacy/logistic-regression/logistic_regression.py", const=(0, 4),
           construct="parallel=, fastmath, gradient descent"),
    _entry("kde", kde, lambda k: (_n(rng(k, 1), 5) * 2.0,),
           "legacy/kernel-density-estimation/kernel_density_estimation_numba.py",
           construct="prange, np.min, log-sum-exp, np.array literal"),
    _entry("filter2d_core", filter2d_core,
           lambda k: (_n(rng(k, 1), 5, 6), _n(rng(k, 2), 3, 3), np.zeros((5, 6))),
           "legacy/blur_image.py", construct="convolution into an output array"),
    _entry("filter2d", filter2d_objective,
           lambda k: (_n(rng(k, 1), 5, 6), _n(rng(k, 2), 3, 3), _w(rng(k, 3), 5, 6)),
           "legacy/blur_image.py", const=(2,), construct="call writing a fresh array"),
    _entry("harris", harris_objective, lambda k: (_n(rng(k, 1), 5, 5), _w(rng(k, 2), 5, 5)),
           "legacy/harris/harris_numba.py", const=(1,), construct="stencil loops, array expressions"),
    _entry("runWaveStencil", runWaveStencil, _wave_args, "legacy/wave-2d/wave_2d_numba.py",
           construct="@stencil with out=, boundary slices"),
    _entry("move_mean", move_mean_objective, lambda k: (_n(rng(k, 1), 2, 6), 3, _w(rng(k, 2), 2, 6)),
           "legacy/movemean.py", const=(2,), construct="@guvectorize"),
    _entry("zero_suppression", zero_suppression_objective,
           lambda k: (_n(rng(k, 1), 6) * 8.0, 5.0, _w(rng(k, 2), 6)),
           "examples/waveforms/zero_suppression/impl.py", const=(1, 2), construct="@vectorize ufunc"),
]
