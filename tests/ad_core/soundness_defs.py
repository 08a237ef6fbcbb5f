"""Functions for test_soundness.py, in a file of their own: the engine reads their source,
and the tests change the module-level arrays below in place between calls."""

import math

import numpy as np
from numba import cuda

WEIGHTS = np.array([1.0, 2.0, 3.0])
SCALE = np.array([2.0])


def list_of_actives(a):
    x = [1.0, a, 3.0]
    return x[0] * x[1]


def _first_two(values):
    return values[0] * values[1]


def list_passed_on(a):
    x = [1.0, a, 3.0]
    return _first_two(x)


def weighted(a):
    s = 0.0
    for i in range(WEIGHTS.shape[0]):
        s += WEIGHTS[i] * a
    return s


def weight_times(i, a):
    return WEIGHTS[i] * a * SCALE[0]


def weighted_by_callee(a):
    s = 0.0
    for i in range(WEIGHTS.shape[0]):
        s += weight_times(i, a)
    return s


def dot_with(w, a):
    s = 0.0
    for i in range(w.shape[0]):
        s += w[i] * a
    return s


def passes_global_on(a):
    return dot_with(WEIGHTS, a)


def writes_global(a):
    WEIGHTS[0] = a
    return a


def with_constants(a):
    return min(a, math.inf) * np.pi + (0.0 if a > -np.inf else 1.0)


def fills(a, x):
    x.fill(a)
    return x[0]


def shuffles(x):
    np.random.shuffle(x)
    return x[0] * x[1]


def zero_d(a):
    return a[()] * a[()] * 3.0


def squares(a):
    return np.sum(a * a)


def total(a):
    return np.sum(a)


def sum_positional_axis(a):
    return np.sum(np.sum(a, 0))


def frexp_of(a):
    q = math.frexp(a)
    return q[0]


@cuda.jit
def running_sum(a):
    i = cuda.grid(1)
    if 0 < i < a.shape[0]:
        a[i] = a[i - 1] + 1.0


@cuda.jit
def own_elements(a, b):
    i = cuda.grid(1)
    if i < a.shape[0]:
        b[i] = 2.0 * a[i]


def product_of(u, v):
    return u * v


def callee_of_a_recomputed_element(x):
    z = np.zeros(3)
    return product_of(z[0] + 0.5, x)


def parameter_rebound_by_a_dot(x, a):
    s = 0.5 * x
    z = np.empty(len(a))
    for i in range(len(z)):
        z[i] = 0.75
    x += np.dot(z, a)
    return s + x * x


def returns_in_a_loop_only(x, m):
    t = x * 2.0
    for i in range(m):
        return t * x


def load_then_write_through_a_view(x):
    t = x[1]
    y = x[1:]
    y[0] = 5.0 * x[0]  # writes x[1] after t read it
    return t * t + y[0]


def derived_from_a_load_then_written(x, a, n):
    # u is arithmetic of the load a[n]; a[n] is overwritten while u is still read after it
    u = a[n] - x
    a[n] *= u
    return x + u


def stencil_steps(u, tmp, c, steps):
    # diffusion with a coefficient per point: the flux difference is recomputed in reverse
    # from u as the tape puts it back; each step's copy loop makes room on the tape once
    n = u.shape[0]
    for t in range(steps):
        for i in range(1, n - 1):
            flux = c[i] * (u[i + 1] - u[i]) - c[i - 1] * (u[i] - u[i - 1])
            tmp[i] = u[i] + 0.25 * flux
        for i in range(1, n - 1):
            u[i] = tmp[i]
    return np.sum(np.sin(u))


def growing_rebinds(x, m):
    # a value array rebound m times: saved whole each time (the tape spills past its first
    # capacity) and brought back from the spilled chunks
    y = x * 1.0
    for k in range(m):
        y = np.sin(y) + 0.5 * y
    return np.sum(y * y)


def copies_itself(x, a, n):
    """`t = t` and `a = a`: the adjoint of a self-assignment is the identity."""
    t = a[n] * x
    t = t
    s = 0.0
    for i in range(n + 2):
        s = s + t * a[i]
        s = s
        a = a
    return s + t
