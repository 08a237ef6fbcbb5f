"""Kernels used by the kernel-backend tests (written as for a GPU)."""

from numba import cuda


@cuda.jit
def saxpy_kernel(Y, a, X):
    i = cuda.threadIdx.x
    Y[i] += a * X[i]


@cuda.jit
def scale_by_shared(out, x, w):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = w[0] * x[i] * x[i]


@cuda.jit
def sum_squares_atomic(total, x):
    i = cuda.grid(1)
    if i < x.shape[0]:
        cuda.atomic.add(total, 0, x[i] * x[i])


@cuda.jit
def stencil(out, u, c):
    i = cuda.grid(1)
    if i >= 1 and i < u.shape[0] - 1:
        out[i] = u[i] + c * (u[i - 1] - 2.0 * u[i] + u[i + 1])


@cuda.jit
def grid_2d(out, a):
    i, j = cuda.grid(2)
    if i < a.shape[0] and j < a.shape[1]:
        out[i, j] = a[i, j] * a[i, j] + a[i, 0]


@cuda.jit
def power_loop(out, x, n):
    i = cuda.grid(1)
    if i < x.shape[0]:
        p = 1.0
        for k in range(n):
            p = p * x[i] + 0.5
        out[i] = p


from adtriad.ad_core import Active, Const, Duplicated, Reverse, autodiff_deferred  # noqa: E402


@cuda.jit
def grad_saxpy(Y, dY, a, X, dX):
    autodiff_deferred(Reverse, saxpy_kernel, Const, Duplicated(Y, dY), Active(a),
                      Duplicated(X, dX))


from adtriad.ad_core import Forward  # noqa: E402


@cuda.jit
def tangent_saxpy(Y, dY, a, da, X, dX):
    autodiff_deferred(Forward, saxpy_kernel, Const, Duplicated(Y, dY), Duplicated(a, da),
                      Duplicated(X, dX))


@cuda.jit
def grad_shared(out, dout, x, dx, w, dw):
    autodiff_deferred(Reverse, scale_by_shared, Const, Duplicated(out, dout), Duplicated(x, dx),
                      Duplicated(w, dw))


@cuda.jit(device=True)
def power_of(x, n):
    p = 1.0
    for k in range(n):
        p = p * x + 0.5
    return p


@cuda.jit
def grad_power_of(x, dx, n):
    i = cuda.grid(1)
    if i < x.shape[0]:
        d = autodiff_deferred(Reverse, power_of, Active, Active(x[i]), Const(n))
        dx[i] = d[0][0]


@cuda.jit
def grad_power_of_small_tape(x, dx, n):  # compiled while tape_slots is small
    i = cuda.grid(1)
    if i < x.shape[0]:
        d = autodiff_deferred(Reverse, power_of, Active, Active(x[i]), Const(n))
        dx[i] = d[0][0]


@cuda.jit
def sum_squares_atomic_grad(total, dtotal, x, dx):
    autodiff_deferred(Reverse, sum_squares_atomic, Const, Duplicated(total, dtotal),
                      Duplicated(x, dx))


# ---- a function with custom rules, called inside a kernel ------------------------------------
import numba  # noqa: E402

from adtriad.ad_core import rules  # noqa: E402
from adtriad.ad_core.rules import AugmentedReturn  # noqa: E402


def heron_sqrt(a):
    """Heron's iteration for sqrt(a), stopped at convergence; its rules give the implicit
    derivative 1 / (2 x) instead of differentiating every iteration."""
    x = a if a > 1.0 else 1.0
    while True:
        nxt = 0.5 * (x + a / x)
        if abs(nxt - x) <= 1e-15 * nxt:
            return nxt
        x = nxt


heron_sqrt_jit = numba.njit(heron_sqrt)


@rules.augmented_primal(heron_sqrt)
def heron_sqrt_augmented(config, func, ret_activity, a):
    x = heron_sqrt(a.val)
    return AugmentedReturn(x, None, (x,))


@rules.reverse(heron_sqrt)
def heron_sqrt_reverse(config, func, dret, tape, a):
    return (dret.val / (2.0 * tape[0]),)


@cuda.jit
def square_roots(out, v):
    i = cuda.grid(1)
    if i < v.shape[0]:
        out[i] = heron_sqrt_jit(v[i])


# ---- the seed's "CUDA.jl Integration" example ----------------------------------------------
@cuda.jit
def mul_kernel(A, B, C):
    i = cuda.threadIdx.x
    C[i] = A[i] * B[i]


@cuda.jit
def grad_kernel(A, dA, B, dB, C, dC):
    autodiff_deferred(Reverse, mul_kernel, Const, Duplicated(A, dA), Duplicated(B, dB),
                      Duplicated(C, dC))


@numba.njit
def smooth_step(x):
    return x * x * (3.0 - 2.0 * x)


@cuda.jit
def grad_smooth_step(x, dx):
    i = cuda.grid(1)
    if i < x.shape[0]:
        dx[i] = autodiff_deferred(Reverse, smooth_step, Active, Active(x[i]))[0][0]


# Test 3's kernel again, compiled only while deterministic mode is on (Numba caches a compiled
# kernel per signature: grad_saxpy keeps the code it was first compiled with)
@cuda.jit
def grad_saxpy_deterministic(Y, dY, a, X, dX):
    autodiff_deferred(Reverse, saxpy_kernel, Const, Duplicated(Y, dY), Active(a),
                      Duplicated(X, dX))


@cuda.jit
def tile_kernel(out, a, x):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = a * x[i % x.shape[0]]  # threads i, i + n, ... all read x[i]


@cuda.jit
def atomic_then_store(total, x):
    i = cuda.grid(1)
    if i < x.shape[0]:
        cuda.atomic.add(total, 0, x[i])
        total[1] = 0.0  # changed another way too: refused on the GPU


@cuda.jit
def tangent_sum_squares_atomic(total, dtotal, x, dx):
    autodiff_deferred(Forward, sum_squares_atomic, Const, Duplicated(total, dtotal),
                      Duplicated(x, dx))
