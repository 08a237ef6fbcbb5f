"""Kernels of NPBench (github spcl/npbench, commit f2d7f27d87ba4881991e62c18a607aa6ba52b260).

Every kernel is copied as its authors wrote it in ``npbench/benchmarks/**/*_numba_n.py``
(``nopython=True, parallel=False, fastmath=True``), ``*_numba_np.py`` (``parallel=True``) or
``*_numba_npr.py`` (``parallel=True`` with ``nb.prange``). NPBench names most kernels
``kernel``; here each is renamed ``<benchmark>_kernel`` so that they can live in one module,
and nothing else is changed. Module-level constants the kernels read are copied too.

Kernels that return an array or a tuple are differentiated through a scalar objective
``<benchmark>_objective``: the weighted sum ``np.sum(out * W)`` of every output with fixed
weights ``W`` passed as ``Const`` arguments. Kernels that write their arguments in place (no
result) are differentiated directly: ``check_grads`` takes the final state of every
``Duplicated`` array as an output.
"""

from __future__ import annotations

import numpy as np
import numba as nb

from .entry import Entry, diag_dominant, rng, spd

SRC = "spcl/npbench: npbench/benchmarks/"


def _w(g, *shape):
    """Fixed weights of an objective (Const)."""
    return g.uniform(0.5, 1.5, shape)


# ---- polybench/atax ---------------------------------------------------------------------------
# Source: spcl/npbench npbench/benchmarks/polybench/atax/atax_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def atax_kernel(A, x):

    return (A @ x) @ A


def atax_objective(A, x, W):
    return np.sum(atax_kernel(A, x) * W)


# ---- polybench/bicg ---------------------------------------------------------------------------
# Source: spcl/npbench npbench/benchmarks/polybench/bicg/bicg_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def bicg_kernel(A, p, r):

    return r @ A, A @ p


def bicg_objective(A, p, r, W1, W2):
    s, q = bicg_kernel(A, p, r)
    return np.sum(s * W1) + np.sum(q * W2)


# ---- polybench/gemm ---------------------------------------------------------------------------
# Source: spcl/npbench npbench/benchmarks/polybench/gemm/gemm_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def gemm_kernel(alpha, beta, C, A, B):

    C[:] = alpha * A @ B + beta * C


# Source: spcl/npbench npbench/benchmarks/polybench/gemm/gemm_numba_np.py
@nb.jit(nopython=True, parallel=True, fastmath=True)
def gemm_np_kernel(alpha, beta, C, A, B):

    C[:] = alpha * A @ B + beta * C


# ---- polybench/gesummv ------------------------------------------------------------------------
# Source: spcl/npbench npbench/benchmarks/polybench/gesummv/gesummv_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def gesummv_kernel(alpha, beta, A, B, x):

    return alpha * A @ x + beta * B @ x


def gesummv_objective(alpha, beta, A, B, x, W):
    return np.sum(gesummv_kernel(alpha, beta, A, B, x) * W)


# ---- polybench/jacobi_1d, jacobi_2d, heat_3d, seidel_2d, fdtd_2d (stencils) --------------------
# Source: spcl/npbench npbench/benchmarks/polybench/jacobi_1d/jacobi_1d_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def jacobi_1d_kernel(TSTEPS, A, B):

    for t in range(1, TSTEPS):
        B[1:-1] = 0.33333 * (A[:-2] + A[1:-1] + A[2:])
        A[1:-1] = 0.33333 * (B[:-2] + B[1:-1] + B[2:])


# Source: spcl/npbench npbench/benchmarks/polybench/jacobi_2d/jacobi_2d_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def jacobi_2d_kernel(TSTEPS, A, B):

    for t in range(1, TSTEPS):
        B[1:-1, 1:-1] = 0.2 * (A[1:-1, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:] +
                               A[2:, 1:-1] + A[:-2, 1:-1])
        A[1:-1, 1:-1] = 0.2 * (B[1:-1, 1:-1] + B[1:-1, :-2] + B[1:-1, 2:] +
                               B[2:, 1:-1] + B[:-2, 1:-1])


# Source: spcl/npbench npbench/benchmarks/polybench/jacobi_2d/jacobi_2d_numba_np.py
@nb.jit(nopython=True, parallel=True, fastmath=True)
def jacobi_2d_np_kernel(TSTEPS, A, B):

    for t in range(1, TSTEPS):
        B[1:-1, 1:-1] = 0.2 * (A[1:-1, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:] +
                               A[2:, 1:-1] + A[:-2, 1:-1])
        A[1:-1, 1:-1] = 0.2 * (B[1:-1, 1:-1] + B[1:-1, :-2] + B[1:-1, 2:] +
                               B[2:, 1:-1] + B[:-2, 1:-1])


# Source: spcl/npbench npbench/benchmarks/polybench/heat_3d/heat_3d_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def heat_3d_kernel(TSTEPS, A, B):

    for t in range(1, TSTEPS):
        B[1:-1, 1:-1,
          1:-1] = (0.125 * (A[2:, 1:-1, 1:-1] - 2.0 * A[1:-1, 1:-1, 1:-1] +
                            A[:-2, 1:-1, 1:-1]) + 0.125 *
                   (A[1:-1, 2:, 1:-1] - 2.0 * A[1:-1, 1:-1, 1:-1] +
                    A[1:-1, :-2, 1:-1]) + 0.125 *
                   (A[1:-1, 1:-1, 2:] - 2.0 * A[1:-1, 1:-1, 1:-1] +
                    A[1:-1, 1:-1, 0:-2]) + A[1:-1, 1:-1, 1:-1])
        A[1:-1, 1:-1,
          1:-1] = (0.125 * (B[2:, 1:-1, 1:-1] - 2.0 * B[1:-1, 1:-1, 1:-1] +
                            B[:-2, 1:-1, 1:-1]) + 0.125 *
                   (B[1:-1, 2:, 1:-1] - 2.0 * B[1:-1, 1:-1, 1:-1] +
                    B[1:-1, :-2, 1:-1]) + 0.125 *
                   (B[1:-1, 1:-1, 2:] - 2.0 * B[1:-1, 1:-1, 1:-1] +
                    B[1:-1, 1:-1, 0:-2]) + B[1:-1, 1:-1, 1:-1])


# Source: spcl/npbench npbench/benchmarks/polybench/seidel_2d/seidel_2d_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def seidel_2d_kernel(TSTEPS, N, A):

    for t in range(0, TSTEPS - 1):
        for i in range(1, N - 1):
            A[i, 1:-1] += (A[i - 1, :-2] + A[i - 1, 1:-1] + A[i - 1, 2:] +
                           A[i, 2:] + A[i + 1, :-2] + A[i + 1, 1:-1] +
                           A[i + 1, 2:])
            for j in range(1, N - 1):
                A[i, j] += A[i, j - 1]
                A[i, j] /= 9.0


# Source: spcl/npbench npbench/benchmarks/polybench/fdtd_2d/fdtd_2d_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def fdtd_2d_kernel(TMAX, ex, ey, hz, _fict_):

    for t in range(TMAX):
        ey[0, :] = _fict_[t]
        ey[1:, :] -= 0.5 * (hz[1:, :] - hz[:-1, :])
        ex[:, 1:] -= 0.5 * (hz[:, 1:] - hz[:, :-1])
        hz[:-1, :-1] -= 0.7 * (ex[:-1, 1:] - ex[:-1, :-1] + ey[1:, :-1] -
                               ey[:-1, :-1])


# ---- polybench/mvt, k2mm, k3mm, gemver --------------------------------------------------------
# Source: spcl/npbench npbench/benchmarks/polybench/mvt/mvt_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def mvt_kernel(x1, x2, y_1, y_2, A):

    x1 += A @ y_1
    x2 += y_2 @ A


# Source: spcl/npbench npbench/benchmarks/polybench/k2mm/k2mm_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def k2mm_kernel(alpha, beta, A, B, C, D):

    D[:] = alpha * A @ B @ C + beta * D


# Source: spcl/npbench npbench/benchmarks/polybench/k3mm/k3mm_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def k3mm_kernel(A, B, C, D):

    return A @ B @ C @ D


def k3mm_objective(A, B, C, D, W):
    return np.sum(k3mm_kernel(A, B, C, D) * W)


# Source: spcl/npbench npbench/benchmarks/polybench/gemver/gemver_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def gemver_kernel(alpha, beta, A, u1, v1, u2, v2, w, x, y, z):

    A += np.outer(u1, v1) + np.outer(u2, v2)
    x += beta * y @ A + z
    w += alpha * A @ x


# ---- polybench/syrk, syr2k, symm, trmm ---------------------------------------------------------
# Source: spcl/npbench npbench/benchmarks/polybench/syrk/syrk_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def syrk_kernel(alpha, beta, C, A):

    for i in range(A.shape[0]):
        C[i, :i + 1] *= beta
        for k in range(A.shape[1]):
            C[i, :i + 1] += alpha * A[i, k] * A[:i + 1, k]


# Source: spcl/npbench npbench/benchmarks/polybench/syr2k/syr2k_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def syr2k_kernel(alpha, beta, C, A, B):

    for i in range(A.shape[0]):
        C[i, :i + 1] *= beta
        for k in range(A.shape[1]):
            C[i, :i + 1] += (A[:i + 1, k] * alpha * B[i, k] +
                             B[:i + 1, k] * alpha * A[i, k])


# Source: spcl/npbench npbench/benchmarks/polybench/symm/symm_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def symm_kernel(alpha, beta, C, A, B):

    temp2 = np.empty((C.shape[1], ), dtype=C.dtype)
    C *= beta
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            C[:i, j] += alpha * B[i, j] * A[i, :i]
            temp2[j] = B[:i, j] @ A[i, :i]
        C[i, :] += alpha * B[i, :] * A[i, i] + alpha * temp2


# Source: spcl/npbench npbench/benchmarks/polybench/trmm/trmm_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def trmm_kernel(alpha, A, B):

    for i in range(B.shape[0]):
        for j in range(B.shape[1]):
            B[i, j] += np.dot(A[i + 1:, i], B[i + 1:, j])
    B *= alpha


# Source: spcl/npbench npbench/benchmarks/polybench/trmm/trmm_numba_npr.py
@nb.jit(nopython=True, parallel=True, fastmath=True)
def trmm_npr_kernel(alpha, A, B):

    for i in range(B.shape[0]):
        for j in nb.prange(B.shape[1]):
            B[i, j] += np.dot(A[i + 1:, i], B[i + 1:, j])
    B *= alpha


# ---- polybench/trisolv, durbin, cholesky, lu, ludcmp, gramschmidt (solvers) ----------------------
# Source: spcl/npbench npbench/benchmarks/polybench/trisolv/trisolv_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def trisolv_kernel(L, x, b):

    for i in range(x.shape[0]):
        x[i] = (b[i] - L[i, :i] @ x[:i]) / L[i, i]


# Source: spcl/npbench npbench/benchmarks/polybench/durbin/durbin_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def durbin_kernel(r):

    y = np.empty_like(r)
    alpha = -r[0]
    beta = 1.0
    y[0] = -r[0]

    for k in range(1, r.shape[0]):
        beta *= 1.0 - alpha * alpha
        alpha = -(r[k] + np.dot(np.flip(r[:k]), y[:k])) / beta
        y[:k] += alpha * np.flip(y[:k])
        y[k] = alpha

    return y


def durbin_objective(r, W):
    return np.sum(durbin_kernel(r) * W)


# Source: spcl/npbench npbench/benchmarks/polybench/cholesky/cholesky_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def cholesky_kernel(A):

    A[0, 0] = np.sqrt(A[0, 0])
    for i in range(1, A.shape[0]):
        for j in range(i):
            A[i, j] -= np.dot(A[i, :j], A[j, :j])
            A[i, j] /= A[j, j]
        A[i, i] -= np.dot(A[i, :i], A[i, :i])
        A[i, i] = np.sqrt(A[i, i])


# Source: spcl/npbench npbench/benchmarks/polybench/lu/lu_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def lu_kernel(A):

    for i in range(A.shape[0]):
        for j in range(i):
            A[i, j] -= A[i, :j] @ A[:j, j]
            A[i, j] /= A[j, j]
        for j in range(i, A.shape[0]):
            A[i, j] -= A[i, :i] @ A[:i, j]


# Source: spcl/npbench npbench/benchmarks/polybench/ludcmp/ludcmp_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def ludcmp_kernel(A, b):

    x = np.zeros_like(b)
    y = np.zeros_like(b)

    for i in range(A.shape[0]):
        for j in range(i):
            A[i, j] -= A[i, :j] @ A[:j, j]
            A[i, j] /= A[j, j]
        for j in range(i, A.shape[0]):
            A[i, j] -= A[i, :i] @ A[:i, j]
    for i in range(A.shape[0]):
        y[i] = b[i] - A[i, :i] @ y[:i]
    for i in range(A.shape[0] - 1, -1, -1):
        x[i] = (y[i] - A[i, i + 1:] @ x[i + 1:]) / A[i, i]

    return x, y


def ludcmp_objective(A, b, W1, W2):
    x, y = ludcmp_kernel(A, b)
    return np.sum(x * W1) + np.sum(y * W2)


# Source: spcl/npbench npbench/benchmarks/polybench/gramschmidt/gramschmidt_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def gramschmidt_kernel(A):

    Q = np.zeros_like(A)
    R = np.zeros((A.shape[1], A.shape[1]), dtype=A.dtype)

    for k in range(A.shape[1]):
        nrm = np.dot(A[:, k], A[:, k])
        R[k, k] = np.sqrt(nrm)
        Q[:, k] = A[:, k] / R[k, k]
        for j in range(k + 1, A.shape[1]):
            R[k, j] = np.dot(Q[:, k], A[:, j])
            A[:, j] -= Q[:, k] * R[k, j]

    return Q, R


def gramschmidt_objective(A, W1, W2):
    Q, R = gramschmidt_kernel(A)
    return np.sum(Q * W1) + np.sum(R * W2)


# ---- polybench/covariance, correlation, deriche, doitgen, adi -----------------------------------
# Source: spcl/npbench npbench/benchmarks/polybench/covariance/covariance_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def covariance_kernel(M, float_n, data):

    # mean = np.mean(data, axis=0)
    mean = np.sum(data, axis=0) / float_n
    data -= mean
    cov = np.zeros((M, M), dtype=data.dtype)
    # for i in range(M):
    #     for j in range(i, M):
    #         cov[i, j] = np.sum(data[:, i] * data[:, j])
    #         cov[i, j] /= float_n - 1.0
    #         cov[j, i] = cov[i, j]
    for i in range(M):
        cov[i:M, i] = cov[i, i:M] = data[:, i] @ data[:, i:M] / (float_n - 1.0)

    return cov


def covariance_objective(M, float_n, data, W):
    return np.sum(covariance_kernel(M, float_n, data) * W)


# Source: spcl/npbench npbench/benchmarks/polybench/correlation/correlation_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def correlation_kernel(M, float_n, data):

    # mean = np.mean(data, axis=0)
    mean = np.sum(data, axis=0) / float_n
    # stddev = np.std(data, axis=0)
    stddev = np.sqrt(np.sum((data - mean)**2, axis=0) / float_n)
    stddev[stddev <= 0.1] = 1.0
    data -= mean
    data /= np.sqrt(float_n) * stddev
    corr = np.eye(M, dtype=data.dtype)
    for i in range(M - 1):
        corr[i + 1:M, i] = corr[i, i + 1:M] = data[:, i] @ data[:, i + 1:M]

    return corr


def correlation_objective(M, float_n, data, W):
    return np.sum(correlation_kernel(M, float_n, data) * W)


# Source: spcl/npbench npbench/benchmarks/polybench/deriche/deriche_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def deriche_kernel(alpha, imgIn):

    k = (1.0 - np.exp(-alpha)) * (1.0 - np.exp(-alpha)) / (
        1.0 + alpha * np.exp(-alpha) - np.exp(2.0 * alpha))
    a1 = a5 = k
    a2 = a6 = k * np.exp(-alpha) * (alpha - 1.0)
    a3 = a7 = k * np.exp(-alpha) * (alpha + 1.0)
    a4 = a8 = -k * np.exp(-2.0 * alpha)
    b1 = 2.0**(-alpha)
    b2 = -np.exp(-2.0 * alpha)
    c1 = c2 = 1

    y1 = np.empty_like(imgIn)
    y1[:, 0] = a1 * imgIn[:, 0]
    y1[:, 1] = a1 * imgIn[:, 1] + a2 * imgIn[:, 0] + b1 * y1[:, 0]
    for j in range(2, imgIn.shape[1]):
        y1[:, j] = (a1 * imgIn[:, j] + a2 * imgIn[:, j - 1] +
                    b1 * y1[:, j - 1] + b2 * y1[:, j - 2])

    y2 = np.empty_like(imgIn)
    y2[:, -1] = 0.0
    y2[:, -2] = a3 * imgIn[:, -1]
    for j in range(imgIn.shape[1] - 3, -1, -1):
        y2[:, j] = (a3 * imgIn[:, j + 1] + a4 * imgIn[:, j + 2] +
                    b1 * y2[:, j + 1] + b2 * y2[:, j + 2])

    imgOut = c1 * (y1 + y2)

    y1[0, :] = a5 * imgOut[0, :]
    y1[1, :] = a5 * imgOut[1, :] + a6 * imgOut[0, :] + b1 * y1[0, :]
    for i in range(2, imgIn.shape[0]):
        y1[i, :] = (a5 * imgOut[i, :] + a6 * imgOut[i - 1, :] +
                    b1 * y1[i - 1, :] + b2 * y1[i - 2, :])

    y2[-1, :] = 0.0
    y2[-2, :] = a7 * imgOut[-1, :]
    for i in range(imgIn.shape[0] - 3, -1, -1):
        y2[i, :] = (a7 * imgOut[i + 1, :] + a8 * imgOut[i + 2, :] +
                    b1 * y2[i + 1, :] + b2 * y2[i + 2, :])

    imgOut[:] = c2 * (y1 + y2)

    return imgOut


def deriche_objective(alpha, imgIn, W):
    return np.sum(deriche_kernel(alpha, imgIn) * W)


# Source: spcl/npbench npbench/benchmarks/polybench/doitgen/doitgen_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def doitgen_kernel(NR, NQ, NP, A, C4):

    for r in range(NR):
        for q in range(NQ):
            tmp = A[r, q, :] @ C4
            A[r, q, :] = tmp
    # A[:] = np.reshape(np.reshape(A, (NR, NQ, 1, NP)) @ C4, (NR, NQ, NP))


# Source: spcl/npbench npbench/benchmarks/polybench/adi/adi_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def adi_kernel(TSTEPS, N, u):

    v = np.empty(u.shape, dtype=u.dtype)
    p = np.empty(u.shape, dtype=u.dtype)
    q = np.empty(u.shape, dtype=u.dtype)

    DX = 1.0 / N
    DY = 1.0 / N
    DT = 1.0 / TSTEPS
    B1 = 2.0
    B2 = 1.0
    mul1 = B1 * DT / (DX * DX)
    mul2 = B2 * DT / (DY * DY)

    a = -mul1 / 2.0
    b = 1.0 + mul2
    c = a
    d = -mul2 / 2.0
    e = 1.0 + mul2
    f = d

    for t in range(1, TSTEPS + 1):
        v[0, 1:N - 1] = 1.0
        p[1:N - 1, 0] = 0.0
        q[1:N - 1, 0] = v[0, 1:N - 1]
        for j in range(1, N - 1):
            p[1:N - 1, j] = -c / (a * p[1:N - 1, j - 1] + b)
            q[1:N - 1,
              j] = (-d * u[j, 0:N - 2] +
                    (1.0 + 2.0 * d) * u[j, 1:N - 1] - f * u[j, 2:N] -
                    a * q[1:N - 1, j - 1]) / (a * p[1:N - 1, j - 1] + b)
        v[N - 1, 1:N - 1] = 1.0
        for j in range(N - 2, 0, -1):
            v[j, 1:N - 1] = p[1:N - 1, j] * v[j + 1, 1:N - 1] + q[1:N - 1, j]

        u[1:N - 1, 0] = 1.0
        p[1:N - 1, 0] = 0.0
        q[1:N - 1, 0] = u[1:N - 1, 0]
        for j in range(1, N - 1):
            p[1:N - 1, j] = -f / (d * p[1:N - 1, j - 1] + e)
            q[1:N - 1,
              j] = (-a * v[0:N - 2, j] +
                    (1.0 + 2.0 * a) * v[1:N - 1, j] - c * v[2:N, j] -
                    d * q[1:N - 1, j - 1]) / (d * p[1:N - 1, j - 1] + e)
        u[1:N - 1, N - 1] = 1.0
        for j in range(N - 2, 0, -1):
            u[1:N - 1, j] = p[1:N - 1, j] * u[1:N - 1, j + 1] + q[1:N - 1, j]


# ---- nbody --------------------------------------------------------------------------------------
# Source: spcl/npbench npbench/benchmarks/nbody/nbody_numba_n.py (after Philip Mocz's
# "Create Your Own N-body Simulation")
@nb.jit(nopython=True, parallel=False, fastmath=True)
def getAcc(pos, mass, G, softening):
    """
    Calculate the acceleration on each particle due to Newton's Law 
    pos  is an N x 3 matrix of positions
    mass is an N x 1 vector of masses
    G is Newton's Gravitational constant
    softening is the softening length
    a is N x 3 matrix of accelerations
    """
    # positions r = [x,y,z] for all particles
    x = pos[:, 0:1]
    y = pos[:, 1:2]
    z = pos[:, 2:3]

    # matrix that stores all pairwise particle separations: r_j - r_i
    dx = x.T - x
    dy = y.T - y
    dz = z.T - z

    # matrix that stores 1/r^3 for all particle pairwise particle separations
    inv_r3 = (dx**2 + dy**2 + dz**2 + softening**2)
    # inv_r3[inv_r3>0] = inv_r3[inv_r3>0]**(-1.5)
    I = inv_r3 > 0
    for i in range(I.shape[0]):
        for j in range(I.shape[1]):
            if I[i, j]:
                inv_r3[i, j] **= -1.5

    ax = G * (dx * inv_r3) @ mass
    ay = G * (dy * inv_r3) @ mass
    az = G * (dz * inv_r3) @ mass

    # pack together the acceleration components
    a = np.hstack((ax, ay, az))

    return a


@nb.jit(nopython=True, parallel=False, fastmath=True)
def getEnergy(pos, vel, mass, G):
    """
    Get kinetic energy (KE) and potential energy (PE) of simulation
    pos is N x 3 matrix of positions
    vel is N x 3 matrix of velocities
    mass is an N x 1 vector of masses
    G is Newton's Gravitational constant
    KE is the kinetic energy of the system
    PE is the potential energy of the system
    """
    # Kinetic Energy:
    # KE = 0.5 * np.sum(np.sum( mass * vel**2 ))
    KE = 0.5 * np.sum(mass * vel**2)

    # Potential Energy:

    # positions r = [x,y,z] for all particles
    x = pos[:, 0:1]
    y = pos[:, 1:2]
    z = pos[:, 2:3]

    # matrix that stores all pairwise particle separations: r_j - r_i
    dx = x.T - x
    dy = y.T - y
    dz = z.T - z

    # matrix that stores 1/r for all particle pairwise particle separations
    inv_r = np.sqrt(dx**2 + dy**2 + dz**2)
    # inv_r[inv_r>0] = 1.0/inv_r[inv_r>0]
    I = inv_r > 0
    for i in range(I.shape[0]):
        for j in range(I.shape[1]):
            if I[i, j]:
                inv_r[i, j] = 1.0 / inv_r[i, j]

    # sum over upper triangle, to count each interaction only once
    # PE = G * np.sum(np.sum(np.triu(-(mass*mass.T)*inv_r,1)))
    PE = G * np.sum(np.triu(-(mass * mass.T) * inv_r, 1))

    return KE, PE


@nb.jit(nopython=True, parallel=False, fastmath=True)
def nbody(mass, pos, vel, N, Nt, dt, G, softening):

    # Convert to Center-of-Mass frame
    # vel -= np.mean(mass * vel, axis=0) / np.mean(mass)
    vel -= (np.sum(mass * vel, axis=0) / vel.shape[0]) / np.mean(mass)

    # calculate initial gravitational accelerations
    acc = getAcc(pos, mass, G, softening)

    # calculate initial energy of system
    # KE = np.ndarray(Nt+1, dtype=np.float64)
    # PE = np.ndarray(Nt+1, dtype=np.float64)
    KE = np.empty(Nt + 1, dtype=np.float64)
    PE = np.empty(Nt + 1, dtype=np.float64)
    KE[0], PE[0] = getEnergy(pos, vel, mass, G)

    t = 0.0

    # Simulation Main Loop
    for i in range(Nt):
        # (1/2) kick
        vel += acc * dt / 2.0

        # drift
        pos += vel * dt

        # update accelerations
        acc = getAcc(pos, mass, G, softening)

        # (1/2) kick
        vel += acc * dt / 2.0

        # update time
        t += dt

        # get energy of system
        KE[i + 1], PE[i + 1] = getEnergy(pos, vel, mass, G)

    return KE, PE


def getAcc_objective(pos, mass, G, softening, W):
    return np.sum(getAcc(pos, mass, G, softening) * W)


def nbody_objective(mass, pos, vel, N, Nt, dt, G, softening, W1, W2):
    KE, PE = nbody(mass, pos, vel, N, Nt, dt, G, softening)
    return np.sum(KE * W1) + np.sum(PE * W2)


# ---- deep_learning/softmax, mlp ---------------------------------------------------------------
# Source: spcl/npbench npbench/benchmarks/deep_learning/softmax/softmax_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def softmax(x):
    new_shape = (x.shape[0], x.shape[1], x.shape[2], 1)
    # tmp_max = np.max(x, axis=-1, keepdims=True)
    tmp_max = np.empty(new_shape, dtype=x.dtype)
    for i in range(x.shape[3]):
        tmp_max[:, :, :, 0] = np.max(x[:, :, :, i])
    tmp_out = np.exp(x - tmp_max)
    # tmp_sum = np.sum(tmp_out, axis=-1, keepdims=True)
    tmp_sum = np.reshape(np.sum(tmp_out, axis=-1), new_shape)
    return tmp_out / tmp_sum


def softmax_objective(x, W):
    return np.sum(softmax(x) * W)


# Source: spcl/npbench npbench/benchmarks/deep_learning/mlp/mlp_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def relu(x):
    return np.maximum(x, 0)


@nb.jit(nopython=True, parallel=False, fastmath=True)
def mlp_softmax(x):
    new_shape = (x.shape[0], 1)
    # tmp_max = np.max(x, axis=-1, keepdims=True)
    tmp_max = np.empty(new_shape, dtype=x.dtype)
    for i in range(x.shape[1]):
        tmp_max[:, 0] = np.max(x[:, i])
    tmp_out = np.exp(x - tmp_max)
    # tmp_sum = np.sum(tmp_out, axis=-1, keepdims=True)
    tmp_sum = np.reshape(np.sum(tmp_out, axis=-1), new_shape)
    return tmp_out / tmp_sum


@nb.jit(nopython=True, parallel=False, fastmath=True)
def mlp(input, w1, b1, w2, b2, w3, b3):
    x = relu(input @ w1 + b1)
    x = relu(x @ w2 + b2)
    x = mlp_softmax(x @ w3 + b3)  # Softmax call can be omitted if necessary
    return x


def mlp_objective(input, w1, b1, w2, b2, w3, b3, W):
    return np.sum(mlp(input, w1, b1, w2, b2, w3, b3) * W)


# ---- pythran/arc_distance, compute, go_fast ---------------------------------------------------
# Source: spcl/npbench npbench/benchmarks/pythran/arc_distance/arc_distance_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def arc_distance(theta_1, phi_1, theta_2, phi_2):
    """
    Calculates the pairwise arc distance between all points in vector a and b.
    """
    temp = np.sin((theta_2 - theta_1) /
                  2)**2 + np.cos(theta_1) * np.cos(theta_2) * np.sin(
                      (phi_2 - phi_1) / 2)**2
    distance_matrix = 2 * (np.arctan2(np.sqrt(temp), np.sqrt(1 - temp)))
    return distance_matrix


def arc_distance_objective(theta_1, phi_1, theta_2, phi_2, W):
    return np.sum(arc_distance(theta_1, phi_1, theta_2, phi_2) * W)


# Source: spcl/npbench npbench/benchmarks/compute/compute_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def compute(array_1, array_2, a, b, c):
    # return np.clip(array_1, 2, 10) * a + array_2 * b + c
    return np.minimum(np.maximum(array_1, 2), 10) * a + array_2 * b + c


def compute_objective(array_1, array_2, a, b, c, W):
    return np.sum(compute(array_1, array_2, a, b, c) * W)


# Source: spcl/npbench npbench/benchmarks/go_fast/go_fast_numba_npr.py
@nb.jit(nopython=True, parallel=True, fastmath=True)
def go_fast_npr(a):
    trace = 0.0
    for i in nb.prange(a.shape[0]):
        trace += np.tanh(a[i, i])
    return a + trace


def go_fast_npr_objective(a, W):
    return np.sum(go_fast_npr(a) * W)


# ---- azimint_naive ------------------------------------------------------------------------------
# Source: spcl/npbench npbench/benchmarks/azimint_naive/azimint_naive_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def azimint_naive(data, radius, npt):
    rmax = radius.max()
    res = np.zeros(npt, dtype=np.float64)
    for i in range(npt):
        r1 = rmax * i / npt
        r2 = rmax * (i + 1) / npt
        mask_r12 = np.logical_and((r1 <= radius), (radius < r2))
        values_r12 = data[mask_r12]
        res[i] = values_r12.mean()
    return res


def azimint_naive_objective(data, radius, npt, W):
    return np.sum(azimint_naive(data, radius, npt) * W)


# ---- weather_stencils/hdiff, vadv --------------------------------------------------------------
# Source: spcl/npbench npbench/benchmarks/weather_stencils/hdiff/hdiff_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def hdiff(in_field, out_field, coeff):
    I, J, K = out_field.shape[0], out_field.shape[1], out_field.shape[2]
    lap_field = 4.0 * in_field[1:I + 3, 1:J + 3, :] - (
        in_field[2:I + 4, 1:J + 3, :] + in_field[0:I + 2, 1:J + 3, :] +
        in_field[1:I + 3, 2:J + 4, :] + in_field[1:I + 3, 0:J + 2, :])

    res = lap_field[1:, 1:J + 1, :] - lap_field[:-1, 1:J + 1, :]
    flx_field = np.where(
        (res *
         (in_field[2:I + 3, 2:J + 2, :] - in_field[1:I + 2, 2:J + 2, :])) > 0,
        0,
        res,
    )

    res = lap_field[1:I + 1, 1:, :] - lap_field[1:I + 1, :-1, :]
    fly_field = np.where(
        (res *
         (in_field[2:I + 2, 2:J + 3, :] - in_field[2:I + 2, 1:J + 2, :])) > 0,
        0,
        res,
    )

    out_field[:, :, :] = in_field[2:I + 2, 2:J + 2, :] - coeff[:, :, :] * (
        flx_field[1:, :, :] - flx_field[:-1, :, :] + fly_field[:, 1:, :] -
        fly_field[:, :-1, :])


# Source: spcl/npbench npbench/benchmarks/weather_stencils/vadv/vadv_numba_n.py
BET_M = 0.5
BET_P = 0.5


@nb.jit(nopython=True, parallel=False, fastmath=True)
def vadv(utens_stage, u_stage, wcon, u_pos, utens, dtr_stage):
    I, J, K = utens_stage.shape[0], utens_stage.shape[1], utens_stage.shape[2]
    # ccol = np.ndarray((I, J, K), dtype=utens_stage.dtype)
    # dcol = np.ndarray((I, J, K), dtype=utens_stage.dtype)
    # data_col = np.ndarray((I, J), dtype=utens_stage.dtype)
    ccol = np.empty((I, J, K), dtype=utens_stage.dtype)
    dcol = np.empty((I, J, K), dtype=utens_stage.dtype)
    data_col = np.empty((I, J), dtype=utens_stage.dtype)

    for k in range(1):
        gcv = 0.25 * (wcon[1:, :, k + 1] + wcon[:-1, :, k + 1])
        cs = gcv * BET_M

        ccol[:, :, k] = gcv * BET_P
        bcol = dtr_stage - ccol[:, :, k]

        # update the d column
        correction_term = -cs * (u_stage[:, :, k + 1] - u_stage[:, :, k])
        dcol[:, :, k] = (dtr_stage * u_pos[:, :, k] + utens[:, :, k] +
                         utens_stage[:, :, k] + correction_term)

        # Thomas forward
        divided = 1.0 / bcol
        ccol[:, :, k] = ccol[:, :, k] * divided
        dcol[:, :, k] = dcol[:, :, k] * divided

    for k in range(1, K - 1):
        gav = -0.25 * (wcon[1:, :, k] + wcon[:-1, :, k])
        gcv = 0.25 * (wcon[1:, :, k + 1] + wcon[:-1, :, k + 1])

        as_ = gav * BET_M
        cs = gcv * BET_M

        acol = gav * BET_P
        ccol[:, :, k] = gcv * BET_P
        bcol = dtr_stage - acol - ccol[:, :, k]

        # update the d column
        correction_term = -as_ * (u_stage[:, :, k - 1] -
                                  u_stage[:, :, k]) - cs * (
                                      u_stage[:, :, k + 1] - u_stage[:, :, k])
        dcol[:, :, k] = (dtr_stage * u_pos[:, :, k] + utens[:, :, k] +
                         utens_stage[:, :, k] + correction_term)

        # Thomas forward
        divided = 1.0 / (bcol - ccol[:, :, k - 1] * acol)
        ccol[:, :, k] = ccol[:, :, k] * divided
        dcol[:, :, k] = (dcol[:, :, k] - (dcol[:, :, k - 1]) * acol) * divided

    for k in range(K - 1, K):
        gav = -0.25 * (wcon[1:, :, k] + wcon[:-1, :, k])
        as_ = gav * BET_M
        acol = gav * BET_P
        bcol = dtr_stage - acol

        # update the d column
        correction_term = -as_ * (u_stage[:, :, k - 1] - u_stage[:, :, k])
        dcol[:, :, k] = (dtr_stage * u_pos[:, :, k] + utens[:, :, k] +
                         utens_stage[:, :, k] + correction_term)

        # Thomas forward
        divided = 1.0 / (bcol - ccol[:, :, k - 1] * acol)
        dcol[:, :, k] = (dcol[:, :, k] - (dcol[:, :, k - 1]) * acol) * divided

    for k in range(K - 1, K - 2, -1):
        datacol = dcol[:, :, k]
        data_col[:] = datacol
        utens_stage[:, :, k] = dtr_stage * (datacol - u_pos[:, :, k])

    for k in range(K - 2, -1, -1):
        datacol = dcol[:, :, k] - ccol[:, :, k] * data_col[:, :]
        data_col[:] = datacol
        utens_stage[:, :, k] = dtr_stage * (datacol - u_pos[:, :, k])


# ---- cavity_flow ------------------------------------------------------------------------------
# Source: spcl/npbench npbench/benchmarks/cavity_flow/cavity_flow_numba_n.py
@nb.jit(nopython=True, parallel=False, fastmath=True)
def build_up_b(b, rho, dt, u, v, dx, dy):

    b[1:-1,
      1:-1] = (rho * (1 / dt * ((u[1:-1, 2:] - u[1:-1, 0:-2]) / (2 * dx) +
                                (v[2:, 1:-1] - v[0:-2, 1:-1]) / (2 * dy)) -
                      ((u[1:-1, 2:] - u[1:-1, 0:-2]) / (2 * dx))**2 - 2 *
                      ((u[2:, 1:-1] - u[0:-2, 1:-1]) / (2 * dy) *
                       (v[1:-1, 2:] - v[1:-1, 0:-2]) / (2 * dx)) -
                      ((v[2:, 1:-1] - v[0:-2, 1:-1]) / (2 * dy))**2))


@nb.jit(nopython=True, parallel=False, fastmath=True)
def pressure_poisson(nit, p, dx, dy, b):
    pn = np.empty_like(p)
    pn = p.copy()

    for q in range(nit):
        pn = p.copy()
        p[1:-1, 1:-1] = (((pn[1:-1, 2:] + pn[1:-1, 0:-2]) * dy**2 +
                          (pn[2:, 1:-1] + pn[0:-2, 1:-1]) * dx**2) /
                         (2 * (dx**2 + dy**2)) - dx**2 * dy**2 /
                         (2 * (dx**2 + dy**2)) * b[1:-1, 1:-1])

        p[:, -1] = p[:, -2]  # dp/dx = 0 at x = 2
        p[0, :] = p[1, :]  # dp/dy = 0 at y = 0
        p[:, 0] = p[:, 1]  # dp/dx = 0 at x = 0
        p[-1, :] = 0  # p = 0 at y = 2


@nb.jit(nopython=True, parallel=False, fastmath=True)
def cavity_flow(nx, ny, nt, nit, u, v, dt, dx, dy, p, rho, nu):
    un = np.empty_like(u)
    vn = np.empty_like(v)
    b = np.zeros((ny, nx))

    for n in range(nt):
        un = u.copy()
        vn = v.copy()

        build_up_b(b, rho, dt, u, v, dx, dy)
        pressure_poisson(nit, p, dx, dy, b)

        u[1:-1,
          1:-1] = (un[1:-1, 1:-1] - un[1:-1, 1:-1] * dt / dx *
                   (un[1:-1, 1:-1] - un[1:-1, 0:-2]) -
                   vn[1:-1, 1:-1] * dt / dy *
                   (un[1:-1, 1:-1] - un[0:-2, 1:-1]) - dt / (2 * rho * dx) *
                   (p[1:-1, 2:] - p[1:-1, 0:-2]) + nu *
                   (dt / dx**2 *
                    (un[1:-1, 2:] - 2 * un[1:-1, 1:-1] + un[1:-1, 0:-2]) +
                    dt / dy**2 *
                    (un[2:, 1:-1] - 2 * un[1:-1, 1:-1] + un[0:-2, 1:-1])))

        v[1:-1,
          1:-1] = (vn[1:-1, 1:-1] - un[1:-1, 1:-1] * dt / dx *
                   (vn[1:-1, 1:-1] - vn[1:-1, 0:-2]) -
                   vn[1:-1, 1:-1] * dt / dy *
                   (vn[1:-1, 1:-1] - vn[0:-2, 1:-1]) - dt / (2 * rho * dy) *
                   (p[2:, 1:-1] - p[0:-2, 1:-1]) + nu *
                   (dt / dx**2 *
                    (vn[1:-1, 2:] - 2 * vn[1:-1, 1:-1] + vn[1:-1, 0:-2]) +
                    dt / dy**2 *
                    (vn[2:, 1:-1] - 2 * vn[1:-1, 1:-1] + vn[0:-2, 1:-1])))

        u[0, :] = 0
        u[:, 0] = 0
        u[:, -1] = 0
        u[-1, :] = 1  # set velocity on cavity lid equal to 1
        v[0, :] = 0
        v[-1, :] = 0
        v[:, 0] = 0
        v[:, -1] = 0


# ---- argument values ----------------------------------------------------------------------------


def _n(g, *shape):
    return g.standard_normal(shape)


def _u(g, *shape):
    return g.uniform(0.1, 1.0, shape)


def _entry(name, function, make_args, path, const=(), construct=""):
    return Entry(name, function, make_args, SRC + path, const, construct=construct)


def _nbody_args(k):
    g = rng(k, 31)
    N = 4
    mass = g.uniform(0.5, 1.5, (N, 1))
    pos = _n(g, N, 3) * 2.0
    vel = _n(g, N, 3) * 0.3
    return (mass, pos, vel, N, 2, 0.01, 1.0, 0.1, _w(g, 3), _w(g, 3))


def _cavity_args(k):
    g = rng(k, 40)
    nx = ny = 6
    return (nx, ny, 2, 3, _n(g, ny, nx) * 0.1, _n(g, ny, nx) * 0.1, 0.001, 2.0 / (nx - 1),
            2.0 / (ny - 1), _n(g, ny, nx) * 0.1, 1.0, 0.1)


def _vadv_args(k):
    g = rng(k, 41)
    I, J, K = 3, 2, 4
    return (_n(g, I, J, K), _n(g, I, J, K), _n(g, I + 1, J, K) * 0.2, _n(g, I, J, K),
            _n(g, I, J, K), 3.0 + g.uniform())


ENTRIES = [
    _entry("atax", atax_objective, lambda k: (_n(rng(k, 1), 4, 3), _n(rng(k, 2), 3), _w(rng(k, 3), 3)),
           "polybench/atax/atax_numba_n.py", const=(2,), construct="matrix-vector @, objective"),
    _entry("bicg", bicg_objective,
           lambda k: (_n(rng(k, 1), 4, 3), _n(rng(k, 2), 3), _n(rng(k, 3), 4), _w(rng(k, 4), 3), _w(rng(k, 5), 4)),
           "polybench/bicg/bicg_numba_n.py", const=(3, 4), construct="tuple of arrays returned"),
    _entry("gemm", gemm_kernel,
           lambda k: (1.5, 1.2, _n(rng(k, 1), 3, 4), _n(rng(k, 2), 3, 5), _n(rng(k, 3), 5, 4)),
           "polybench/gemm/gemm_numba_n.py", construct="C[:] = ... in place"),
    _entry("gemm_np", gemm_np_kernel,
           lambda k: (1.5, 1.2, _n(rng(k, 1), 3, 4), _n(rng(k, 2), 3, 5), _n(rng(k, 3), 5, 4)),
           "polybench/gemm/gemm_numba_np.py", construct="parallel=True, in place"),
    _entry("gesummv", gesummv_objective,
           lambda k: (1.5, 1.2, _n(rng(k, 1), 4, 4), _n(rng(k, 2), 4, 4), _n(rng(k, 3), 4), _w(rng(k, 4), 4)),
           "polybench/gesummv/gesummv_numba_n.py", const=(5,)),
    _entry("jacobi_1d", jacobi_1d_kernel, lambda k: (3 + k % 2, _n(rng(k, 1), 8), _n(rng(k, 2), 8)),
           "polybench/jacobi_1d/jacobi_1d_numba_n.py", construct="slice stencil in a time loop"),
    _entry("jacobi_2d", jacobi_2d_kernel, lambda k: (3, _n(rng(k, 1), 5, 5), _n(rng(k, 2), 5, 5)),
           "polybench/jacobi_2d/jacobi_2d_numba_n.py", construct="2-D slice stencil in a time loop"),
    _entry("jacobi_2d_np", jacobi_2d_np_kernel, lambda k: (3, _n(rng(k, 1), 5, 5), _n(rng(k, 2), 5, 5)),
           "polybench/jacobi_2d/jacobi_2d_numba_np.py", construct="parallel=True stencil"),
    _entry("heat_3d", heat_3d_kernel, lambda k: (3, _n(rng(k, 1), 4, 4, 4), _n(rng(k, 2), 4, 4, 4)),
           "polybench/heat_3d/heat_3d_numba_n.py", construct="3-D slice stencil"),
    _entry("seidel_2d", seidel_2d_kernel, lambda k: (3, 5, _n(rng(k, 1), 5, 5)),
           "polybench/seidel_2d/seidel_2d_numba_n.py", construct="in-place Gauss-Seidel, row slices"),
    _entry("fdtd_2d", fdtd_2d_kernel,
           lambda k: (3, _n(rng(k, 1), 4, 5), _n(rng(k, 2), 4, 5), _n(rng(k, 3), 4, 5), _n(rng(k, 4), 3)),
           "polybench/fdtd_2d/fdtd_2d_numba_n.py", construct="three fields updated in place"),
    _entry("mvt", mvt_kernel,
           lambda k: (_n(rng(k, 1), 4), _n(rng(k, 2), 4), _n(rng(k, 3), 4), _n(rng(k, 4), 4), _n(rng(k, 5), 4, 4)),
           "polybench/mvt/mvt_numba_n.py", construct="x += A @ y"),
    _entry("k2mm", k2mm_kernel,
           lambda k: (1.5, 1.2, _n(rng(k, 1), 3, 4), _n(rng(k, 2), 4, 2), _n(rng(k, 3), 2, 3), _n(rng(k, 4), 3, 3)),
           "polybench/k2mm/k2mm_numba_n.py"),
    _entry("k3mm", k3mm_objective,
           lambda k: (_n(rng(k, 1), 3, 4), _n(rng(k, 2), 4, 2), _n(rng(k, 3), 2, 3), _n(rng(k, 4), 3, 3),
                      _w(rng(k, 5), 3, 3)),
           "polybench/k3mm/k3mm_numba_n.py", const=(4,)),
    _entry("gemver", gemver_kernel,
           lambda k: (1.5, 1.2, _n(rng(k, 1), 4, 4), *(_n(rng(k, 2 + j), 4) for j in range(8))),
           "polybench/gemver/gemver_numba_n.py", construct="np.outer, chained in-place updates"),
    _entry("syrk", syrk_kernel, lambda k: (1.5, 1.2, _n(rng(k, 1), 4, 4), _n(rng(k, 2), 4, 3)),
           "polybench/syrk/syrk_numba_n.py", construct="triangular row slices in loops"),
    _entry("syr2k", syr2k_kernel,
           lambda k: (1.5, 1.2, _n(rng(k, 1), 4, 4), _n(rng(k, 2), 4, 3), _n(rng(k, 3), 4, 3)),
           "polybench/syr2k/syr2k_numba_n.py"),
    _entry("symm", symm_kernel,
           lambda k: (1.5, 1.2, _n(rng(k, 1), 4, 3), _n(rng(k, 2), 4, 4), _n(rng(k, 3), 4, 3)),
           "polybench/symm/symm_numba_n.py", construct="column slices, scratch vector"),
    _entry("trmm", trmm_kernel, lambda k: (1.5, _n(rng(k, 1), 4, 4), _n(rng(k, 2), 4, 3)),
           "polybench/trmm/trmm_numba_n.py", construct="np.dot of slices, B *= alpha"),
    _entry("trmm_npr", trmm_npr_kernel, lambda k: (1.5, _n(rng(k, 1), 4, 4), _n(rng(k, 2), 4, 3)),
           "polybench/trmm/trmm_numba_npr.py", construct="nb.prange inner loop"),
    _entry("trisolv", trisolv_kernel,
           lambda k: (diag_dominant(4, rng(k, 1)), _n(rng(k, 2), 4), _n(rng(k, 3), 4)),
           "polybench/trisolv/trisolv_numba_n.py", construct="forward substitution"),
    _entry("durbin", durbin_objective, lambda k: (_n(rng(k, 1), 5) * 0.3, _w(rng(k, 2), 5)),
           "polybench/durbin/durbin_numba_n.py", const=(1,), construct="np.flip, Levinson recursion"),
    _entry("cholesky", cholesky_kernel, lambda k: (spd(4, rng(k, 1)),),
           "polybench/cholesky/cholesky_numba_n.py", construct="in-place factorization, np.sqrt"),
    _entry("lu", lu_kernel, lambda k: (diag_dominant(4, rng(k, 1)),),
           "polybench/lu/lu_numba_n.py", construct="in-place LU"),
    _entry("ludcmp", ludcmp_objective,
           lambda k: (diag_dominant(4, rng(k, 1)), _n(rng(k, 2), 4), _w(rng(k, 3), 4), _w(rng(k, 4), 4)),
           "polybench/ludcmp/ludcmp_numba_n.py", const=(2, 3), construct="LU then two triangular solves"),
    _entry("gramschmidt", gramschmidt_objective,
           lambda k: (_n(rng(k, 1), 5, 3) + 2 * np.eye(5, 3), _w(rng(k, 2), 5, 3), _w(rng(k, 3), 3, 3)),
           "polybench/gramschmidt/gramschmidt_numba_n.py", const=(1, 2), construct="QR, columns"),
    _entry("covariance", covariance_objective, lambda k: (3, 5.0, _n(rng(k, 1), 5, 3), _w(rng(k, 2), 3, 3)),
           "polybench/covariance/covariance_numba_n.py", const=(1, 3), construct="chained slice assignment"),
    _entry("correlation", correlation_objective,
           lambda k: (3, 5.0, _n(rng(k, 1), 5, 3), _w(rng(k, 2), 3, 3)),
           "polybench/correlation/correlation_numba_n.py", const=(1, 3), construct="boolean-mask assignment"),
    _entry("deriche", deriche_objective, lambda k: (0.25 + 0.1 * k, _n(rng(k, 1), 4, 5), _w(rng(k, 2), 4, 5)),
           "polybench/deriche/deriche_numba_n.py", const=(2,), construct="recursive filter, chained ="),
    _entry("doitgen", doitgen_kernel, lambda k: (2, 3, 4, _n(rng(k, 1), 2, 3, 4), _n(rng(k, 2), 4, 4)),
           "polybench/doitgen/doitgen_numba_n.py", construct="row of a 3-D array overwritten"),
    _entry("adi", adi_kernel, lambda k: (2, 5, _n(rng(k, 1), 5, 5)),
           "polybench/adi/adi_numba_n.py", construct="tridiagonal sweeps, scratch arrays"),
    _entry("nbody_getAcc", getAcc_objective,
           lambda k: (_n(rng(k, 1), 4, 3) * 2.0, rng(k, 2).uniform(0.5, 1.5, (4, 1)), 1.0, 0.1, _w(rng(k, 3), 4, 3)),
           "nbody/nbody_numba_n.py", const=(4,), construct="x.T - x broadcasting, **= in a branch, np.hstack"),
    _entry("nbody", nbody_objective, _nbody_args, "nbody/nbody_numba_n.py", const=(8, 9),
           construct="leapfrog loop, tuple results, np.triu"),
    _entry("softmax", softmax_objective, lambda k: (_n(rng(k, 1), 2, 2, 2, 3), _w(rng(k, 2), 2, 2, 2, 3)),
           "deep_learning/softmax/softmax_numba_n.py", const=(1,), construct="np.max, np.reshape"),
    _entry("mlp", mlp_objective,
           lambda k: (_n(rng(k, 1), 2, 4), _n(rng(k, 2), 4, 5), _n(rng(k, 3), 5), _n(rng(k, 4), 5, 3),
                      _n(rng(k, 5), 3), _n(rng(k, 6), 3, 3), _n(rng(k, 7), 3), _w(rng(k, 8), 2, 3)),
           "deep_learning/mlp/mlp_numba_n.py", const=(7,), construct="relu, softmax, njit calls"),
    _entry("arc_distance", arc_distance_objective,
           lambda k: (_u(rng(k, 1), 5), _u(rng(k, 2), 5), _u(rng(k, 3), 5), _u(rng(k, 4), 5), _w(rng(k, 5), 5)),
           "pythran/arc_distance/arc_distance_numba_n.py", const=(4,), construct="np.arctan2, np.sqrt"),
    _entry("compute", compute_objective,
           lambda k: (rng(k, 1).uniform(0, 12, 6), _n(rng(k, 2), 6), 1.5, 0.5, 0.25, _w(rng(k, 3), 6)),
           "compute/compute_numba_n.py", const=(5,), construct="np.minimum/np.maximum clip"),
    _entry("go_fast_npr", go_fast_npr_objective, lambda k: (_n(rng(k, 1), 4, 4), _w(rng(k, 2), 4, 4)),
           "go_fast/go_fast_numba_npr.py", const=(1,), construct="nb.prange scalar reduction"),
    _entry("azimint_naive", azimint_naive_objective,
           lambda k: (_n(rng(k, 1), 12), np.linspace(0.05, 1.0, 12) + 0.01 * k, 3, _w(rng(k, 2), 3)),
           "azimint_naive/azimint_naive_numba_n.py", const=(1, 3), construct="boolean-mask gather, .mean()"),
    _entry("hdiff", hdiff,
           lambda k: (_n(rng(k, 1), 6, 6, 2), _n(rng(k, 2), 2, 2, 2), _n(rng(k, 3), 2, 2, 2)),
           "weather_stencils/hdiff/hdiff_numba_n.py", construct="np.where limiter, output buffer"),
    _entry("vadv", vadv, _vadv_args, "weather_stencils/vadv/vadv_numba_n.py",
           construct="Thomas algorithm on column slices, globals"),
    _entry("cavity_flow", cavity_flow, _cavity_args, "cavity_flow/cavity_flow_numba_n.py",
           construct="CFD time loop, .copy(), njit calls writing arrays"),
]
