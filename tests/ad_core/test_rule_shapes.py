"""Every registered rule that is not element-wise (linear maps, reductions, views, products,
creation, extrema, primitives) through check_grads in Reverse and Forward: finite differences
in float64 and the dot-product test. A rule added to the table without a case here fails the
first test (element-wise rules are covered the same way by test_rule_table.py).

By default the cases run as four weighted sums (``rule_shape_defs.EVERY_CASE``: one
compilation per sum and mode); ``ADTRIAD_EXHAUSTIVE=1`` runs each key on its own, which names
the failing rule."""

import ast
import inspect
import os

import numpy as np
import pytest

import rule_shape_defs
from rule_shape_defs import AXIS_CASES, CASES, EVERY_CASE

EXHAUSTIVE = os.environ.get("ADTRIAD_EXHAUSTIVE") == "1"

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


def test_the_sums_call_each_case_once():
    called = []
    for group in EVERY_CASE:
        tree = ast.parse(inspect.getsource(group))
        called += [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert sorted(called) == sorted(f.__name__ for f in CASES.values())
    assert all(getattr(rule_shape_defs, f.__name__) is f for f in CASES.values())


@pytest.mark.parametrize("group", range(len(EVERY_CASE)))
def test_every_case_at_once(group):
    a, v = _args()
    check_grads(EVERY_CASE[group], Duplicated(a, np.zeros_like(a)),
                Duplicated(v, np.zeros_like(v)), modes=("Reverse", "Forward"))


@pytest.mark.skipif(not EXHAUSTIVE, reason="ADTRIAD_EXHAUSTIVE=1 runs each key on its own")
@pytest.mark.parametrize("key", sorted(CASES))
def test_rule(key):
    a, v = _args()
    check_grads(CASES[key], Duplicated(a, np.zeros_like(a)), Duplicated(v, np.zeros_like(v)),
                modes=("Reverse", "Forward"))


@pytest.mark.parametrize("key", sorted(AXIS_CASES))
def test_axis_rule(key):
    f = AXIS_CASES[key]
    a, v = _args()
    check_grads(f, Duplicated(a, np.zeros_like(a)), Duplicated(v, np.zeros_like(v)),
                modes=("Reverse", "Forward"))
