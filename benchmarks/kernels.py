"""The benchmark kernels: loop code as people write it for Numba. Each entry says how to build
inputs of size n and how to annotate them for reverse and forward mode."""

import math


def saxpy(y, a, x):
    for i in range(x.shape[0]):
        y[i] += a * x[i]


def sum_of_squares(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    return s


def polynomial(x, c):
    s = 0.0
    for i in range(x.shape[0]):
        v = x[i]
        p = 0.0
        for k in range(c.shape[0]):
            p = p * v + c[k]
        s += p
    return s


def product(x):
    p = 1.0
    for i in range(x.shape[0]):
        p *= x[i]
    return p


def heat(u, tmp, c, steps):
    n = u.shape[0]
    for t in range(steps):
        for i in range(1, n - 1):
            tmp[i] = u[i] + c * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        for i in range(1, n - 1):
            u[i] = tmp[i]
    s = 0.0
    for i in range(n):
        s += u[i] * u[i]
    return s


def rnn(w, v, b, x):
    h = 0.0
    s = 0.0
    for t in range(x.shape[0]):
        h = math.tanh(w * h + v * x[t] + b)
        s += h
    return s


def newton(a, x0):
    """Square roots by Newton's method, each iterated until it converges (a while loop)."""
    s = 0.0
    for i in range(a.shape[0]):
        x = x0
        while abs(x * x - a[i]) > 1e-12 * a[i]:
            x = 0.5 * (x + a[i] / x)
        s += x
    return s
