"""Batch mode, jacobian and the Hessian-vector product, checked against separate passes,
against each other, against finite differences and against closed forms."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from adtriad.ad_core import (
    Active, BatchDuplicated, Const, Duplicated, Forward, ForwardWithPrimal, Reverse, autodiff,
    gradient, hvp, jacobian,
)


def weighted(x, a):
    s = 0.0
    for i in range(a.shape[0]):
        s += math.sin(x * a[i]) * a[i]
    return s


def vector_field(x):
    return np.array([x[0] ** 2 * x[1], np.sin(x[1]) + x[2], x[0] * x[2] - x[1]])


def rosenbrock(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def rosenbrock_hessian(x):
    n = x.shape[0]
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i + 1, i + 1] += 200
        H[i, i + 1] += -400 * x[i]
        H[i + 1, i] += -400 * x[i]
    return H


def stencil_energy(u):
    s = 0.0
    for i in range(1, u.shape[0] - 1):
        d = u[i - 1] - 2.0 * u[i] + u[i + 1]
        s += d * d * u[i]
    return s


small = st.integers(min_value=2, max_value=6)


@settings(max_examples=6, deadline=None)
@given(n=small, width=st.integers(min_value=2, max_value=4), seed=st.integers(0, 2**16))
def test_batched_forward_equals_separate_passes(n, width, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n)
    dirs = [rng.standard_normal(n) for _ in range(width)]
    dxs = tuple(rng.standard_normal(width))
    (batched,) = autodiff(Forward, weighted, BatchDuplicated(0.3, dxs),
                          BatchDuplicated(a, tuple(dirs)))
    for lane in range(width):
        (single,) = autodiff(Forward, weighted, Duplicated(0.3, dxs[lane]),
                             Duplicated(a, dirs[lane]))
        assert batched[lane] == pytest.approx(single, rel=1e-12, abs=1e-12)


def writes(y, x):
    for i in range(x.shape[0]):
        y[i] = x[i] * x[i] + y[i] * x[0]


@settings(max_examples=5, deadline=None)
@given(n=small, seed=st.integers(0, 2**16))
def test_batched_reverse_equals_separate_passes(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = rng.standard_normal(n)
    seeds = [rng.standard_normal(n) for _ in range(3)]
    dxs = tuple(np.zeros(n) for _ in range(3))
    autodiff(Reverse, writes, Const, BatchDuplicated(y.copy(), tuple(s.copy() for s in seeds)),
             BatchDuplicated(x.copy(), dxs))
    for lane in range(3):
        dx = np.zeros(n)
        autodiff(Reverse, writes, Const, Duplicated(y.copy(), seeds[lane].copy()),
                 Duplicated(x.copy(), dx))
        np.testing.assert_allclose(dxs[lane], dx, rtol=1e-12, atol=1e-12)


def test_batched_active_scalar_returns_a_tuple():
    a = np.array([1.0, 2.0, 3.0])
    das = (np.zeros(3), np.zeros(3))
    ((dx, _),) = autodiff(Reverse, weighted, Active, Active(0.4),
                          BatchDuplicated(a, das))
    (single,) = autodiff(Reverse, weighted, Active, Active(0.4), Duplicated(a, np.zeros(3)))
    assert dx == (single[0], single[0])


def test_forward_with_primal_batched():
    a = np.array([1.0, 2.0])
    primal, tangents = autodiff(ForwardWithPrimal, weighted, BatchDuplicated(0.5, (1.0, 0.0)),
                                BatchDuplicated(a, (np.zeros(2), np.ones(2))))
    assert primal == pytest.approx(weighted(0.5, a))
    assert len(tangents) == 2


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_jacobian_forward_equals_reverse(seed):
    x = np.random.default_rng(seed).uniform(-1, 1, 3)
    jf = jacobian(Forward, vector_field, x)
    jr = jacobian(Reverse, vector_field, x)
    expected = np.array([[2 * x[0] * x[1], x[0] ** 2, 0.0],
                         [0.0, math.cos(x[1]), 1.0],
                         [x[2], -1.0, x[0]]])
    np.testing.assert_allclose(jf, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jr, expected, rtol=1e-12, atol=1e-12)


def test_jacobian_of_a_scalar_function_is_its_gradient():
    x = np.array([0.3, -0.2, 0.9, 1.1])
    (g,) = gradient(Reverse, rosenbrock, x)
    np.testing.assert_allclose(jacobian(Reverse, rosenbrock, x), g, rtol=1e-12)
    np.testing.assert_allclose(jacobian(Forward, rosenbrock, x), g, rtol=1e-12)


def test_jacobian_with_more_inputs_than_a_batch():
    x = np.linspace(0.1, 2.0, 11)
    f = lambda x: np.tanh(x) * np.sum(x)  # noqa: E731
    np.testing.assert_allclose(jacobian(Forward, f, x), jacobian(Reverse, f, x), rtol=1e-12)


def test_hessian_of_rosenbrock_against_closed_form():
    x = np.array([0.3, -0.2, 0.9, 1.1])
    H = np.stack([hvp(rosenbrock, x, e) for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(H, rosenbrock_hessian(x), rtol=1e-10, atol=1e-10)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_hvp_against_finite_differences_of_the_gradient(seed):
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.5, 1.5, 6)
    v = rng.standard_normal(6)

    def grad(p):
        d = np.zeros_like(p)
        autodiff(Reverse, stencil_energy, Active, Duplicated(p.copy(), d))
        return d

    h = 1e-5
    fd = (-grad(u + 2 * h * v) + 8 * grad(u + h * v) - 8 * grad(u - h * v)
          + grad(u - 2 * h * v)) / (12 * h)
    np.testing.assert_allclose(hvp(stencil_energy, u, v), fd, rtol=1e-6, atol=1e-8)


from collections import namedtuple  # noqa: E402

from adtriad.ad_core import MixedDuplicated  # noqa: E402

Params = namedtuple("Params", ["scale", "w"])


def mixed_loss(p, x):
    s = 0.0
    for i in range(x.shape[0]):
        s += p.scale * p.w[i] * x[i] ** 2
    return s


def test_mixed_duplicated_reverse_returns_scalars_and_accumulates_arrays():
    x = np.array([1.0, 2.0])
    w = np.array([0.5, 1.5])
    dw = np.ones(2)  # accumulated into, like every shadow
    ((dp, dx),) = autodiff(Reverse, mixed_loss, Active, MixedDuplicated(Params(2.0, w), (0.0, dw)),
                           Const(x))
    assert isinstance(dp, Params) and dp.w is None and dx is None
    assert dp.scale == pytest.approx(np.sum(w * x ** 2))
    np.testing.assert_allclose(dw, 1.0 + 2.0 * x ** 2)


def test_mixed_duplicated_forward():
    x = np.array([1.0, 2.0])
    w = np.array([0.5, 1.5])
    (d,) = autodiff(Forward, mixed_loss, MixedDuplicated(Params(2.0, w), (1.0, np.ones(2))),
                    Const(x))
    assert d == pytest.approx(np.sum(w * x ** 2) + 2.0 * np.sum(x ** 2))


def whole_tuple(p):
    return mixed_loss(p, np.ones(2))


def test_mixed_tuple_used_whole_is_refused():
    from adtriad.ad_core import ADError
    with pytest.raises(ADError, match=r"MixedDuplicated argument 'p' is used as a whole"):
        autodiff(Reverse, whole_tuple, Active,
                 MixedDuplicated(Params(2.0, np.ones(2)), (0.0, np.zeros(2))))


def logsumexp(x):
    p = np.exp(x - np.max(x))
    return np.log(np.sum(p)) + np.mean(x) ** 2


def matrix_energy(x):
    a = x.reshape(2, 3)
    r = a + np.sum(a, axis=0)  # broadcast back over the rows
    return np.sum(np.tanh(r) * a) + np.max(a) * np.dot(x, x)


@pytest.mark.parametrize("f", [logsumexp, matrix_energy], ids=lambda f: f.__name__)
def test_hvp_of_whole_array_code_against_finite_differences(f):
    # adjoints of whole-array code accumulate through _prim.unbroadcast and store extrema
    # by index: second order differentiates both
    x = np.linspace(0.1, 1.2, 6)
    v = np.cos(np.arange(6.0))

    def grad(p):
        return gradient(Reverse, f, p)[0]

    h = 1e-5
    fd = (-grad(x + 2 * h * v) + 8 * grad(x + h * v) - 8 * grad(x - h * v)
          + grad(x - 2 * h * v)) / (12 * h)
    np.testing.assert_allclose(hvp(f, x, v), fd, rtol=1e-7, atol=1e-9)
