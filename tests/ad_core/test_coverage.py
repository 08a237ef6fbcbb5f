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


def uses_cumsum(a):
    return np.sum(np.cumsum(a))


def uses_prod(a):
    return np.prod(a)


def uses_sort(a):
    return np.sum(np.sort(a) * a)


def uses_var(a):
    return np.var(a)


def uses_clip(a):
    return np.sum(np.clip(a, 0.0, 1.0))


def uses_inv(a):
    return np.sum(np.linalg.inv(a))


def uses_outer(a):
    return np.sum(np.outer(a, a))


def uses_sinc(a):
    return np.sum(np.sinc(a))


@pytest.mark.parametrize("func, name, shape", [
    (uses_cumsum, "np.cumsum", (4,)), (uses_prod, "np.prod", (4,)),
    (uses_sort, "np.sort", (4,)), (uses_var, "np.var", (4,)), (uses_clip, "np.clip", (4,)),
    (uses_inv, "np.linalg.inv", (2, 2)), (uses_outer, "np.outer", (3,)),
    (uses_sinc, "np.sinc", (3,)),
])
def test_listed_gaps_are_refused_in_both_directions(func, name, shape):
    assert name in derivatives.NO_RULE
    a = np.eye(shape[0]) + 0.5 if len(shape) == 2 else np.linspace(0.2, 0.9, shape[0])
    with pytest.raises(ADError, match=rf"no derivative rule for `{name}\("):
        autodiff(Reverse, func, Active, Duplicated(a.copy(), np.zeros_like(a)))
    with pytest.raises(ADError, match=rf"no derivative rule for `{name}\("):
        autodiff(Forward, func, Duplicated(a.copy(), np.ones_like(a)))
