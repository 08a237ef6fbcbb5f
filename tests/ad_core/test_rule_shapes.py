"""Every registered rule that is not element-wise (linear maps, reductions, views, products,
creation, extrema) through check_grads in Reverse and Forward: finite differences in float64
and the dot-product test. A rule added to the table without a case here fails the first test
(element-wise rules are covered the same way by test_rule_table.py)."""

import numpy as np
import pytest

from rule_shape_defs import AXIS_CASES, CASES

from adtriad.ad_core import Duplicated, derivatives
from adtriad.ad_core.testing import check_grads

SHAPED = {k for k, r in derivatives.RULES.items() if r.shape not in ("elementwise", "custom")}


def test_every_rule_of_these_shapes_has_a_case():
    assert SHAPED == set(CASES), (sorted(SHAPED - set(CASES)), sorted(set(CASES) - SHAPED))


def _args():
    rng = np.random.default_rng(7)
    a = rng.uniform(0.5, 1.5, (3, 4))
    a[2, 3] = 2.5  # unique extrema, away from ties
    a[0, 0] = 0.2
    v = rng.uniform(0.5, 1.5, 4)
    return a, v


@pytest.mark.parametrize("key", sorted(CASES) + [k + " axis" for k in sorted(AXIS_CASES)])
def test_rule(key):
    f = AXIS_CASES[key.split()[0]] if key.endswith(" axis") else CASES[key]
    a, v = _args()
    check_grads(f, Duplicated(a, np.zeros_like(a)), Duplicated(v, np.zeros_like(v)),
                modes=("Reverse", "Forward"))
