"""Coverage is explicit: the NumPy functions Numba compiles that have no derivative rule are
listed, and each one given an active argument is refused by name, never differentiated as 0."""

import numpy as np
import pytest

from adtriad.ad_core import ADError, Active, Duplicated, Forward, Reverse, autodiff, derivatives


def test_the_gap_list_is_disjoint_from_the_rules():
    ruled = set(derivatives.RULES)
    assert derivatives.NO_RULE
    assert not ruled & set(derivatives.NO_RULE)
    assert not derivatives.NOT_DIFFERENTIABLE & ruled


def uses_cumprod(a):
    return np.sum(np.cumprod(a))


def uses_median(a):
    return np.median(a)


def uses_diff(a):
    return np.sum(np.diff(a) ** 2)


def uses_ptp(a):
    return np.ptp(a)


def uses_pinv(a):
    return np.sum(np.linalg.pinv(a))


def uses_cov(a):
    return np.sum(np.cov(a))


def uses_roll(a):
    return np.sum(np.roll(a, 1) * a)


def uses_sinc(a):
    return np.sum(np.sinc(a))


@pytest.mark.parametrize("func, name, shape", [
    (uses_cumprod, "np.cumprod", (4,)), (uses_median, "np.median", (4,)),
    (uses_diff, "np.diff", (4,)), (uses_ptp, "np.ptp", (4,)),
    (uses_pinv, "np.linalg.pinv", (2, 2)), (uses_cov, "np.cov", (3,)),
    (uses_roll, "np.roll", (4,)), (uses_sinc, "np.sinc", (3,)),
])
def test_listed_gaps_are_refused_in_both_directions(func, name, shape):
    assert name in derivatives.NO_RULE
    a = np.eye(shape[0]) + 0.5 if len(shape) == 2 else np.linspace(0.2, 0.9, shape[0])
    with pytest.raises(ADError, match=rf"no derivative rule for `{name}\("):
        autodiff(Reverse, func, Active, Duplicated(a.copy(), np.zeros_like(a)))
    with pytest.raises(ADError, match=rf"no derivative rule for `{name}\("):
        autodiff(Forward, func, Duplicated(a.copy(), np.ones_like(a)))


def test_the_coverage_document_is_current():
    import pathlib

    from adtriad.ad_core import coverage
    doc = pathlib.Path(__file__).resolve().parents[2] / "docs" / "coverage.md"
    assert doc.read_text() == coverage.markdown(), \
        "run `python -m adtriad.ad_core.coverage > docs/coverage.md`"
