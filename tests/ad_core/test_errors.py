"""Every misuse of the engine is an ADError whose message names the argument or the
file:line:col and says what to do instead."""

import math
import re

import numpy as np
import pytest

from adtriad.ad_core import (
    ADError, Active, BatchDuplicated, Const, Duplicated, Forward, Reverse,
    ReverseSplitWithPrimal, autodiff, autodiff_thunk,
)

from functions import _scaled_running_sum

HERE = re.escape(__file__.rsplit("/", 1)[-1])


def square(x):
    return x * x


def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s


def test_active_in_forward_mode():
    with pytest.raises(ADError, match=r"argument 1 \('x'\): Active is for reverse modes.*"
                                      r"Duplicated\(x, 1.0\)"):
        autodiff(Forward, square, Active(2.0))


def test_active_on_an_array():
    with pytest.raises(ADError, match=r"argument 1 \('a'\): Active cannot annotate an array"):
        autodiff(Reverse, total, Active, Active(np.ones(3)))


def test_active_on_an_int():
    with pytest.raises(ADError, match=r"Active needs a float scalar, got int"):
        autodiff(Reverse, square, Active, Active(3))


def test_shadow_shape_mismatch():
    with pytest.raises(ADError, match=r"argument 1 \('a'\): shadow shape \(2,\) differs from "
                                      r"the primal's \(3,\)"):
        autodiff(Reverse, total, Active, Duplicated(np.ones(3), np.zeros(2)))


def test_shadow_dtype_mismatch():
    with pytest.raises(ADError, match=r"shadow dtype float32 differs from the primal's float64"):
        autodiff(Reverse, total, Active, Duplicated(np.ones(3), np.zeros(3, np.float32)))


def test_integer_array_duplicated():
    with pytest.raises(ADError, match=r"int64 arrays cannot be Duplicated.*pass it as Const"):
        autodiff(Reverse, total, Active, Duplicated(np.ones(3, np.int64), np.zeros(3, np.int64)))


def test_shadow_aliasing_primal():
    a = np.ones(3)
    with pytest.raises(ADError, match=r"shares memory with the primal"):
        autodiff(Reverse, total, Active, Duplicated(a, a))


def test_scalar_duplicated_in_reverse():
    with pytest.raises(ADError, match=r"scalar cannot be Duplicated in reverse mode.*Active"):
        autodiff(Reverse, square, Active, Duplicated(2.0, 1.0))


def test_wrong_number_of_annotations():
    with pytest.raises(ADError, match=r"square takes 1 positional argument\(s\) but 2"):
        autodiff(Reverse, square, Active, Active(1.0), Active(2.0))


def test_class_instead_of_value():
    with pytest.raises(ADError, match=r"got the class Active, not a value"):
        autodiff(Reverse, square, Active, Active)


def test_not_a_mode():
    with pytest.raises(ADError, match=r"is not a mode"):
        autodiff("reverse", square, Active, Active(1.0))


def add(x, y):
    return x + y


def test_batch_widths_must_agree():
    with pytest.raises(ADError, match=r"different numbers of shadows \[2, 3\]"):
        autodiff(Forward, add, BatchDuplicated(1.0, (1.0, 2.0)),
                 BatchDuplicated(1.0, (1.0, 2.0, 3.0)))


def test_batch_with_plain_duplicated():
    with pytest.raises(ADError, match=r"argument 2 \('y'\): a batched call needs every shadowed "
                                      r"argument batched"):
        autodiff(Forward, add, BatchDuplicated(1.0, (1.0, 2.0)), Duplicated(1.0, 1.0))


def test_batch_shadow_shape_checked():
    with pytest.raises(ADError, match=r"argument 1 \('a'\), shadow 2: shadow shape \(2,\)"):
        autodiff(Reverse, total, Active,
                 BatchDuplicated(np.ones(3), (np.zeros(3), np.zeros(2))))


def with_try(x):
    try:
        y = x * 2.0
    except Exception:
        y = 0.0
    return y


def with_comprehension(a):
    return sum({i: v * v for i, v in enumerate(a)}.values())


def loop_over_reversed(a):
    s = 0.0
    for v in reversed(a):
        s += v
    return s


def lambda_as_a_value(a):
    f = lambda v: v * v  # noqa: E731
    g = f
    return g(a[0])


def lambda_rebound(a):
    f = lambda v: v * v  # noqa: E731
    s = f(a[0])
    f = lambda v: v + 1.0  # noqa: E731
    return s + f(a[1])


@pytest.mark.parametrize("func, what", [
    (with_try, r"`try` blocks"),
    (with_comprehension, r"a dict comprehension"),
    (loop_over_reversed, r"a `for` loop over reversed\(a\).*np.ndindex"),
    (lambda_as_a_value, r"a `lambda` inside the function"),
    (lambda_rebound, r"a `lambda` inside the function"),
])
def test_constructs_outside_the_subset(func, what):
    arg = np.ones(3) if func is not with_try else 1.0
    ann = Duplicated(arg, np.zeros(3)) if isinstance(arg, np.ndarray) else Active(arg)
    with pytest.raises(ADError, match=HERE + r":\d+:\d+: cannot differentiate " + what):
        autodiff(Reverse, func, Active, ann)


def test_function_without_source():
    namespace = {}
    exec("def made(x):\n    return x * x\n", namespace)
    with pytest.raises(ADError, match=r"its source is not available.*\.py file"):
        autodiff(Reverse, namespace["made"], Active, Active(1.0))


def numba_cannot(x):
    d = {"a": x}
    return d["a"]


def uses_unsupported_call(x, a):
    return x * a.tolist()[0]


def test_function_numba_cannot_compile():
    with pytest.raises(ADError, match=HERE + r":\d+: Numba cannot compile uses_unsupported_call"):
        autodiff(Reverse, uses_unsupported_call, Active, Active(1.0), Const(np.ones(2)))


def test_dict_is_refused_by_the_fence():
    with pytest.raises(ADError, match=HERE + r":\d+:\d+: cannot differentiate a dict"):
        autodiff(Reverse, numba_cannot, Active, Active(1.0))


def writes_const(out, x):
    out[0] = x[0] * 2.0
    return x[0]


def test_const_array_receiving_active_values():
    with pytest.raises(ADError, match=r"argument 'out' of writes_const is Const.*at .*" + HERE
                                      + r":\d+.*annotate it Duplicated"):
        autodiff(Reverse, writes_const, Active, Const(np.zeros(1)),
                 Duplicated(np.ones(1), np.zeros(1)))


def recursive(x, n):
    if n == 0:
        return x
    return recursive(x * x, n - 1)


def test_recursion_is_refused():
    with pytest.raises(ADError, match=HERE + r":\d+: recursive calls itself \(recursive -> "
                                      r"recursive\); recursive functions cannot be differentiated"):
        autodiff(Reverse, recursive, Active, Active(1.1), Const(2))


def no_rule(x):
    return np.sinc(x)


def test_function_without_rule_is_refused_not_zero():
    with pytest.raises(ADError, match=HERE + r":\d+:\d+: no derivative rule for `np.sinc"):
        autodiff(Reverse, no_rule, Active, Active(1.5))
    with pytest.raises(ADError, match=r"no derivative rule for `np.sinc"):
        autodiff(Forward, no_rule, Duplicated(1.5, 1.0))


def reserved(x):
    _ad_t1 = x
    return _ad_t1


def test_reserved_names():
    with pytest.raises(ADError, match=r"names starting with '_ad_' are reserved"):
        autodiff(Reverse, reserved, Active, Active(1.0))


def test_split_tape_reversed_twice():
    fwd, rev = autodiff_thunk(ReverseSplitWithPrimal, Const(square), Active, Active)
    tape, primal, _ = fwd(Const(square), Active(3.0))
    assert primal == 9.0
    assert rev(Const(square), Active(3.0), 1.0, tape) == ((6.0,),)
    with pytest.raises(ADError, match=r"already reversed"):
        rev(Const(square), Active(3.0), 1.0, tape)


def test_thunk_checks_activities():
    fwd, _ = autodiff_thunk(ReverseSplitWithPrimal, Const(total), Active, Duplicated)
    with pytest.raises(ADError, match=r"made for activities \(Duplicated\); got \(Const\)"):
        fwd(Const(total), Const(np.ones(2)))


def test_active_return_of_none():
    def writes(a):
        a[0] = 1.0

    with pytest.raises(ADError, match=r"return activity Active needs a float result"):
        autodiff(Reverse, writes, Active, Duplicated(np.ones(2), np.zeros(2)))


def returns_array(a):
    return a * 2.0


def test_array_result_with_active_return_in_reverse():
    with pytest.raises(ADError, match=r"return activity Active needs a float result, but "
                                      r"returns_array returns array.*jacobian"):
        autodiff(Reverse, returns_array, Active, Duplicated(np.ones(2), np.zeros(2)))


def guvectorized_on_two_looped_arguments(M):
    # (n),()->(n) with loop dimensions on both arguments: refused (one looped argument is
    # differentiated, the others taken whole)
    return np.sum(_scaled_running_sum(M, M[:, 0]))


def test_guvectorize_with_loop_dimensions_on_two_arguments_is_refused_at_the_call():
    with pytest.raises(ADError, match=HERE + r":\d+: .*the @guvectorize function "
                                             r"_scaled_running_sum is differentiated when at "
                                             r"most one argument has leading loop dimensions"
                                             r".*ranks are \[2, 1\]"):
        autodiff(Reverse, guvectorized_on_two_looped_arguments, Active,
                 Duplicated(np.ones((2, 3)), np.zeros((2, 3))))


def _total(values):
    return sum(values)


def list_passed_to_a_function(a):
    values = [v * v for v in a]
    return _total(values)


def list_of_arrays(a):
    rows = []
    for i in range(2):
        rows.append(a * i)
    return rows[1][0]


def appends_while_looping(a):
    values = [a[0]]
    for v in values:
        if len(values) < 3:
            values.append(v * 2.0)
    return sum(values)


@pytest.mark.parametrize("func, what", [
    (list_passed_to_a_function, r"this use of the list"),
    (list_of_arrays, r"the list 'rows' of array"),
    (appends_while_looping, r"a second name for the list 'values', or a loop over it that "
                            r"appends to it"),
])
def test_lists_beyond_numbers_built_and_read_are_refused(func, what):
    with pytest.raises(ADError, match=HERE + r":\d+:\d+: cannot differentiate " + what):
        autodiff(Reverse, func, Active, Duplicated(np.ones(3), np.zeros(3)))
