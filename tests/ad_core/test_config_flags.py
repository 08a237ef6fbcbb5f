"""api.type_warning and api.strict_aliasing have real, documented effects."""

import math
import warnings

import numpy as np
import pytest

from adtriad.ad_core import ADError, ADTypeWarning, Active, Duplicated, Reverse, api, autodiff


def steps(x, scale):
    k = math.floor(x * scale)
    return x * k + scale


def test_type_warning_reports_a_dropped_derivative():
    previous = api.type_warning(True)
    try:
        with pytest.warns(ADTypeWarning, match=r"math.floor\(.*\)` turns (the|an) active value .* "
                                               r"into a int64; its derivative is dropped"):
            ((dx, ds),) = autodiff(Reverse, steps, Active, Active(1.7), Active(2.0))
        assert dx == math.floor(1.7 * 2.0) and ds == 1.0
    finally:
        api.type_warning(previous)


def steps_quiet(x, scale):
    k = math.floor(x * scale)
    return x * k * scale


def test_type_warning_off_is_silent():
    previous = api.type_warning(False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ADTypeWarning)
            autodiff(Reverse, steps_quiet, Active, Active(1.7), Active(2.0))
    finally:
        api.type_warning(previous)


def add_into(y, x):
    for i in range(x.shape[0]):
        y[i] += x[i] * x[i]


def test_overlapping_arguments_are_refused_without_strict_aliasing():
    buf = np.arange(6.0)
    dbuf = np.zeros(6)
    with pytest.raises(ADError, match=r"argument 1 \('y'\) \(primal\) and argument 2 \('x'\) "
                                      r"\(primal\) share memory"):
        autodiff(Reverse, add_into, Duplicated(buf[:4], dbuf[:4]),
                 Duplicated(buf[2:], np.zeros(4)))


def test_strict_aliasing_skips_the_check():
    previous = api.strict_aliasing(True)
    try:
        y, x = np.zeros(3), np.ones(3)
        dy, dx = np.ones(3), np.zeros(3)
        autodiff(Reverse, add_into, Duplicated(y, dy), Duplicated(x, dx))
        np.testing.assert_allclose(dx, 2.0 * x)
    finally:
        api.strict_aliasing(previous)
