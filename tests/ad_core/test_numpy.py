"""NumPy whole-array code through every mode: broadcasting, products, reductions, slices,
views, max/min/where — each checked by the one gradient checker (finite differences in
float64 and the forward/reverse dot-product test)."""

import sys
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

from adtriad.ad_core import Active, Const, Duplicated, Reverse, autodiff
from adtriad.ad_core.testing import check_grads

sys.path.insert(0, str(Path(__file__).parent))
from numpy_models import mlp_loss, softmax_cross_entropy  # noqa: E402

rng = np.random.default_rng(7)


def dup(a):
    return Duplicated(a, np.zeros_like(a))


def least_squares(A, x, b):
    r = np.dot(A, x) - b
    return 0.5 * np.dot(r, r)


def stencil_2d(U):
    lap = U[1:-1, 2:] + U[1:-1, :-2] + U[2:, 1:-1] + U[:-2, 1:-1] - 4.0 * U[1:-1, 1:-1]
    return np.sum(lap * lap)


def slice_write(a, out):
    out[1:4] = a[0:3] * 2.0
    out[0] = a[3]
    return np.sum(out * a)


def broadcast_mix(A, v, s):
    C = (A - v) * s + np.sqrt(A * A + 1.0)
    return np.mean(C * C)


def extrema(a, b):
    return np.sum(np.maximum(a, b) - np.minimum(a * b, 0.5) + np.where(a > b, a * a, b))


def views(A):
    B = A.T
    C = A.reshape(A.size)
    return np.sum(B @ A) + np.sum(C * C * C)


CASES = [
    (mlp_loss, lambda: [dup(rng.standard_normal((3, 4))), dup(rng.standard_normal(4)),
                        dup(rng.standard_normal((4, 2))), Const(rng.standard_normal((5, 3))),
                        Const(rng.standard_normal((5, 2)))]),
    (softmax_cross_entropy, lambda: [dup(rng.standard_normal((4, 3))),
                                     Const(np.eye(3)[[0, 2, 1, 1]])]),
    (least_squares, lambda: [dup(rng.standard_normal((5, 3))), dup(rng.standard_normal(3)),
                             dup(rng.standard_normal(5))]),
    (stencil_2d, lambda: [dup(rng.standard_normal((5, 6)))]),
    (slice_write, lambda: [dup(rng.standard_normal(4)), dup(np.zeros(4))]),
    (broadcast_mix, lambda: [dup(rng.standard_normal((3, 4))), dup(rng.standard_normal(4)),
                             Active(0.7)]),
    (extrema, lambda: [dup(rng.standard_normal(6)), dup(rng.standard_normal(6))]),
    (views, lambda: [dup(rng.standard_normal((3, 3)))]),
]


@pytest.mark.parametrize("func, make", CASES, ids=[c[0].__name__ for c in CASES])
def test_numpy_function_all_modes(func, make):
    check_grads(func, *make())


def test_broadcast_gradient_sums_over_the_broadcast_axis():
    A = rng.standard_normal((3, 4))
    v = rng.standard_normal(4)
    dv = np.zeros(4)
    autodiff(Reverse, lambda A, v: np.sum(A * v), Active, Const(A), Duplicated(v, dv))
    np.testing.assert_allclose(dv, A.sum(axis=0))


Data = namedtuple("Data", ["x", "y"])


def loss_with_data(params, data):
    pred = data.x * params[0] + params[1]
    r = pred - data.y
    return np.sum(r * r)


def test_namedtuple_const_data():
    params = np.array([2.0, 0.5])
    dparams = np.zeros(2)
    data = Data(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.5, 6.0]))
    autodiff(Reverse, loss_with_data, Active, Duplicated(params, dparams), Const(data))
    r = data.x * params[0] + params[1] - data.y
    np.testing.assert_allclose(dparams, [np.sum(2 * r * data.x), np.sum(2 * r)])
