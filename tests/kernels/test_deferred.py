"""autodiff_deferred inside compiled code: in numba.njit functions, and in kernels run by the
CPU kernel backend (the seed's Test 3 written as in the seed)."""

import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from adtriad.ad_core import (Active, Const, Duplicated, Forward, Reverse, autodiff,
                             autodiff_deferred)
from adtriad.ad_core.gpu.kernels import cpu_kernel

sys.path.insert(0, str(Path(__file__).parent))
import kernel_defs as K  # noqa: E402


@numba.njit
def weighted(x, a):
    s = 0.0
    for i in range(a.shape[0]):
        s += x * a[i] * a[i]
    return s


@numba.njit
def reverse_inside(x, a, da):
    (derivs,) = autodiff_deferred(Reverse, weighted, Active, Active(x), Duplicated(a, da))
    return derivs[0]


@numba.njit
def forward_inside(x, a):
    return autodiff_deferred(Forward, weighted, Duplicated, Duplicated(x, 1.0), Const(a))[0]


def test_reverse_and_forward_inside_njit():
    a = np.array([1.0, 2.0, 0.5])
    da = np.zeros(3)
    assert reverse_inside(3.0, a, da) == pytest.approx(np.sum(a * a))
    np.testing.assert_allclose(da, 2 * 3.0 * a)
    assert forward_inside(3.0, a) == pytest.approx(np.sum(a * a))


def test_outside_compiled_code_it_is_autodiff():
    a = np.array([1.0, 2.0])
    assert autodiff_deferred(Reverse, weighted, Active, Active(2.0), Const(a)) == \
        autodiff(Reverse, weighted, Active, Active(2.0), Const(a))


def test_seed_test3_kernel_differentiated_inside_a_kernel():
    X = np.random.default_rng(42).random(256).astype(np.float32)
    Y = np.zeros(256, np.float32)
    dY = np.ones(256, np.float32)
    dX = np.zeros(256, np.float32)
    cpu_kernel(K.grad_saxpy)[1, 256](Y, dY, np.float32(2.0), X, dX)
    assert np.all(dX == 2.0)  # d(aX)/dX = a
    np.testing.assert_allclose(Y, 2.0 * X)
