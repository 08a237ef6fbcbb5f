"""Differentiation called inside differentiated code (nested.py): a gradient or a tangent
taken by autodiff_deferred / autodiff inside a function, itself differentiated in Forward
and Reverse, against finite differences of the outer function (check_grads)."""

import numba
import numpy as np
import pytest

from adtriad.ad_core import (ADError, Active, Const, Duplicated, Forward, Reverse, autodiff,
                             autodiff_deferred)
from adtriad.ad_core.testing import check_grads


@numba.njit
def energy(x, w):
    return np.sum(np.sin(x) * x * w) + x[0] * x[-1]


@numba.njit
def gradient_norm(x, w):
    """The squared norm of energy's gradient in x: reverse inside, any mode outside."""
    g = np.zeros_like(x)
    autodiff_deferred(Reverse, energy, Active, Duplicated(x, g), Const(w))
    return np.sum(g * g)


def directional(x, v, w):
    """A tangent taken with autodiff in a plain Python function (forward over forward)."""
    (d,) = autodiff(Forward, energy, Duplicated, Duplicated(x, v), Const(w))
    return d * d + np.sum(x * v)


def newton_step(x, w):
    """k-means style: a step along the gradient, then the energy there."""
    g = np.zeros_like(x)
    autodiff(Reverse, energy, Active, Duplicated(x, g), Const(w))
    y = x - 0.1 * g
    return energy(y, w)


ARGS = dict(x=np.linspace(0.2, 1.1, 5), v=np.cos(np.arange(5.0)), w=np.linspace(1.0, 2.0, 5))


def test_gradient_inside_njit_code_both_modes():
    x, w = ARGS["x"], ARGS["w"]
    check_grads(gradient_norm, Duplicated(x, np.zeros(5)), Const(w),
                modes=("Reverse", "Forward"))


def test_tangent_inside_python_code_both_modes():
    x, v, w = ARGS["x"], ARGS["v"], ARGS["w"]
    check_grads(directional, Duplicated(x, np.zeros(5)), Duplicated(v, np.zeros(5)),
                Const(w), modes=("Reverse", "Forward"))


def test_newton_step_closed_form():
    x, w = ARGS["x"], ARGS["w"]
    check_grads(newton_step, Duplicated(x, np.zeros(5)), Const(w),
                modes=("Reverse", "Forward"))


def nested_active(x, w):
    return autodiff(Reverse, energy, Active, Active(x[0]), Const(w))[0][0]


def nested_result_used(x, w):
    g = np.zeros_like(x)
    r = autodiff_deferred(Reverse, energy, Active, Duplicated(x, g), Const(w))
    kept = r  # noqa: F841 - the result is used, though only as a value
    return np.sum(g)


@pytest.mark.parametrize("func, what", [
    (nested_active, r"an Active argument of a nested differentiation call"),
    (nested_result_used, r"a use of a nested Reverse call's result"),
])
def test_nested_calls_outside_the_subset_are_refused(func, what):
    with pytest.raises(ADError, match=r"test_nested\.py:\d+:\d+: cannot differentiate " + what):
        autodiff(Reverse, func, Active, Duplicated(ARGS["x"], np.zeros(5)), Const(ARGS["w"]))
