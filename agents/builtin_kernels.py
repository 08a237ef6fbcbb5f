"""The built-in kernels of the seed document, as plain Python the engine can differentiate.

Contract: this file is the source that travels in a kernel message for every built-in kernel
(the whole file, so imports come along); it imports only ``math`` and ``numpy`` and every
function in it is in the subset ``adtriad.ad_core`` differentiates. Arrays are plain array
arguments (no namedtuples).
"""

import math

import numpy as np


def saxpy(y, a, x):
    """Test 3: ``y += a * x``, one element per iteration as a GPU thread would."""
    for i in range(x.shape[0]):
        y[i] += a * x[i]


def poly(x):
    """Test 1: ``x^2 + 2x + 1`` (derivative ``2x + 2``)."""
    return x**2 + 2 * x + 1


def exp_sin(x):
    """Test 2: ``exp(x)·sin(x)`` (derivative ``exp(x)(sin(x) + cos(x))``)."""
    return math.exp(x) * math.sin(x)


def cubic(x):
    """Test 4: ``x^3 − 2x^2 + x`` (derivative ``3x^2 − 4x + 1``)."""
    return x**3 - 2 * x**2 + x


def square(x):
    """The seed's first example, ``x^2``."""
    return x**2


def sum_of_squares(a):
    """``g(A) = sum(A .^ 2)`` (gradient ``2A``)."""
    return np.sum(a**2)


def f_bang(y, x):
    """``f!(y, x)``: ``y = [x1^2 + x2, x1·x2]``, for the JVP and the VJP."""
    y[0] = x[0] ** 2 + x[1]
    y[1] = x[0] * x[1]


def loss(params, xs, ys):
    """A loss with data: ``sum((params[0]·xs + params[1] − ys)^2)``."""
    total = 0.0
    for i in range(xs.shape[0]):
        prediction = params[0] * xs[i] + params[1]
        total += (prediction - ys[i]) ** 2
    return total


def scaled_square(x, c):
    """``h(x, c) = c·x^2`` with ``c`` constant."""
    return c * x**2


def weighted_sum_of_squares(a, v):
    """The split-mode example's ``f(A, v) = v·sum(A .^ 2)``."""
    return v * np.sum(a * a)
