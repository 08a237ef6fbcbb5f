"""Custom rules (EnzymeRules-style) and ChainRules-style import: the seed's examples, a rule
that makes an iterative solver differentiable by its implicit derivative, rules inside
callers in every mode, and each misuse's message."""

import math

import numpy as np
import pytest

from adtriad.ad_core import (
    ADError, Active, BatchDuplicated, Const, Duplicated, Forward, ForwardWithPrimal, Reverse,
    ReverseSplitWithPrimal, autodiff, autodiff_thunk, rules,
)
from adtriad.ad_core.rules import AugmentedReturn
from adtriad.ad_core.testing import check_grads


# ---- the seed's custom rule --------------------------------------------------------------
def my_func(x):
    return x * x * x


def custom_derivative(x):
    return 3.0 * x * x


@rules.forward(my_func)
def my_func_forward(config, func, ret_activity, x):
    primal = my_func(x.val)
    derivative = custom_derivative(x.val) * x.dval
    return Duplicated(primal, derivative)


@rules.augmented_primal(my_func)
def my_func_augmented(config, func, ret_activity, x):
    primal = my_func(x.val)
    tape = (x.val,)
    return AugmentedReturn(primal, None, tape)


@rules.reverse(my_func)
def my_func_reverse(config, func, dret, tape, x):
    x_val = tape[0]
    dx = custom_derivative(x_val) * dret.val
    return (dx,)


def uses_my_func(y, a):
    s = 0.0
    for i in range(a.shape[0]):
        s += my_func(y * a[i])
    return math.sin(s)


def test_seed_rule_at_top_level():
    assert autodiff(Reverse, my_func, Active, Active(2.0)) == ((12.0,),)
    assert autodiff(Forward, my_func, Duplicated(2.0, 1.0)) == (12.0,)
    assert autodiff(ForwardWithPrimal, my_func, Duplicated(2.0, 1.0)) == (8.0, 12.0)


def test_seed_rule_inside_a_caller_in_every_mode():
    check_grads(uses_my_func, Active(0.7), Duplicated(np.array([0.3, -0.5, 0.9]), np.zeros(3)))


def test_seed_rule_in_batch_and_split_modes():
    (tangents,) = autodiff(Forward, my_func, BatchDuplicated(2.0, (1.0, 2.0)))
    assert tangents == (12.0, 24.0)
    fwd, rev = autodiff_thunk(ReverseSplitWithPrimal, Const(my_func), Active, Active)
    tape, primal, _ = fwd(Const(my_func), Active(2.0))
    assert primal == 8.0
    assert rev(Const(my_func), Active(2.0), 2.0, tape) == ((24.0,),)


# ---- a rule for an iterative solver: the implicit derivative ---------------------------------
def cube_root(a):
    """Newton's method for x**3 = a: the engine alone would differentiate every iteration."""
    x = 1.0
    for _ in range(100):
        step = (x * x * x - a) / (3.0 * x * x)
        x -= step
        if abs(step) < 1e-15:
            break
    return x


@rules.augmented_primal(cube_root)
def cube_root_augmented(config, func, ret_activity, a):
    x = cube_root(a.val)
    return AugmentedReturn(x, None, (x,))


@rules.reverse(cube_root)
def cube_root_reverse(config, func, dret, tape, a):
    x = tape[0]
    return (dret.val / (3.0 * x * x),)  # implicit function theorem: dx/da = 1 / (3 x^2)


@rules.forward(cube_root)
def cube_root_forward(config, func, ret_activity, a):
    x = cube_root(a.val)
    return Duplicated(x, a.dval / (3.0 * x * x))


def volume_side(v, scale):
    return scale * cube_root(v * v)


def test_implicit_derivative_of_a_solver_against_finite_differences():
    check_grads(volume_side, Active(2.5), Active(1.5))
    ((dv, _),) = autodiff(Reverse, volume_side, Active, Active(2.5), Active(1.5))
    assert dv == pytest.approx(1.5 * (2.0 / 3.0) * 2.5 ** (-1.0 / 3.0), rel=1e-12)


# ---- ChainRules import ----------------------------------------------------------------------
def special_func(x, c):
    return c * math.exp(x) + x


def special_frule(dargs, x, c):
    dself, dx, dc = dargs
    e = math.exp(x)
    return c * e + x, (c * e + 1.0) * dx + e * dc


def special_rrule(x, c):
    e = math.exp(x)
    y = c * e + x

    def pullback(dy):
        return (None, dy * (c * e + 1.0), dy * e)
    return y, pullback


rules.import_frule(special_func, special_frule)
rules.import_rrule(special_func, special_rrule)


def uses_special(x, a):
    s = 0.0
    for i in range(a.shape[0]):
        s += special_func(x * a[i], a[i])
    return s


def test_imported_chainrules_rules():
    ((dx, dc),) = autodiff(Reverse, special_func, Active, Active(0.5), Active(2.0))
    assert dx == pytest.approx(2.0 * math.exp(0.5) + 1.0)
    assert dc == pytest.approx(math.exp(0.5))
    check_grads(uses_special, Active(0.3), Duplicated(np.array([0.5, -1.0, 2.0]), np.zeros(3)))


# ---- misuse ---------------------------------------------------------------------------------
def target(x):
    return x * 2.0


def test_rule_with_wrong_signature():
    with pytest.raises(ADError, match=r"the forward rule bad for target takes 2 parameters; it "
                                      r"must take 4: \(config, func, ret_activity, \*args\)"):
        @rules.forward(target)
        def bad(config, x):
            return x


def test_rule_for_something_that_is_not_a_function():
    with pytest.raises(ADError, match=r"a rule needs a function to attach to; got 3"):
        rules.forward(3)(lambda config, func, ret, x: x)


def only_reverse(x):
    return x * 3.0


@rules.reverse(only_reverse)
def only_reverse_rule(config, func, dret, tape, x):
    return (3.0 * dret.val,)


def test_reverse_rule_without_augmented_primal():
    with pytest.raises(ADError, match=r"only_reverse has a reverse rule but no augmented-primal "
                                      r"rule; register one with @rules.augmented_primal"):
        autodiff(Reverse, only_reverse, Active, Active(1.0))
    with pytest.raises(ADError, match=r"no forward rule; register one with @rules.forward"):
        autodiff(Forward, only_reverse, Duplicated(1.0, 1.0))


def two_args(x, y):
    return x * y


@rules.augmented_primal(two_args)
def two_args_augmented(config, func, ret_activity, x, y):
    return AugmentedReturn(x.val * y.val, None, (x.val, y.val))


@rules.reverse(two_args)
def two_args_reverse(config, func, dret, tape, x, y):
    return (tape[1] * dret.val,)  # one derivative short


def test_wrong_number_of_returned_derivatives():
    with pytest.raises(ADError, match=r"the reverse rule for two_args returned 1 derivative\(s\)"
                                      r".*it must return 2, one per argument"):
        autodiff(Reverse, two_args, Active, Active(1.0), Active(2.0))


def bad_frule_target(x):
    return x


def test_frule_with_wrong_arity():
    with pytest.raises(ADError, match=r"the frule f for bad_frule_target takes 1 parameters; it "
                                      r"must take 2"):
        def f(dargs):
            return dargs
        rules.import_frule(bad_frule_target, f)
