"""The tempering agent's dual-number oracle: passes the engine's derivatives, catches one wrong
term, and gives no check where it does not apply."""

from __future__ import annotations

import numpy as np
import pytest

from adtriad.agents import oracles
from adtriad.agents.sourcefile import load_kernel
from adtriad.protocol import KernelPayload, Tolerance

SOURCE = """import math


def f(x, a, n):
    s = 0.0
    for i in range(n):
        x[i] = math.sin(a * x[i]) + x[i] * x[i]
        s += x[i] * a
    return s
"""
N = 5


def tol_for(dtype):
    return Tolerance(rtol=1e-10, atol=1e-12)


def _payload(mode, activities, x, a, shadows):
    return KernelPayload(name="f", source=SOURCE, entry="f", mode=mode, activities=activities,
                         inputs={"x": x, "a": np.array(a), "n": np.array(N)}, shadows=shadows)


@pytest.fixture(scope="module")
def f(tmp_path_factory):
    return load_kernel(SOURCE, "f", tmp_path_factory.mktemp("kernels"))


def _forward(f, x, a, tx, ta):
    from adtriad.ad_core import Const, Duplicated, Forward, autodiff

    shadow = tx.copy()
    (tangent,) = autodiff(Forward, f, Duplicated(x.copy(), shadow), Duplicated(a, ta), Const(N))
    return {"x": shadow, "a": ta, "n": None}, tangent


def _reverse(f, x, a, w):
    from adtriad.ad_core import Active, Const, Duplicated, Reverse, autodiff

    shadow = w.copy()
    ((_, da, _),) = autodiff(Reverse, f, Active, Duplicated(x.copy(), shadow), Active(a), Const(N))
    return {"x": shadow, "a": da, "n": None}


def test_forward_passes_and_one_wrong_element_fails(f):
    rng = np.random.default_rng(0)
    x, a, tx, ta = rng.uniform(-1, 1, N), 0.7, rng.standard_normal(N), 0.3
    k = _payload("Forward", {"x": "Duplicated", "a": "Duplicated", "n": "Const"}, x, a,
                 {"x": tx, "a": np.array(ta)})
    derivs, tangent = _forward(f, x, a, tx, ta)
    checks = oracles.dual_numbers(k, derivs, tangent, "float", tol_for, rng)
    assert [c.name for c in checks] == ["dual_numbers[tangent]", "dual_numbers[x]"]
    assert all(c.passed for c in checks), checks
    derivs["x"] = derivs["x"].copy()
    derivs["x"][3] *= 1 + 1e-6
    bad = oracles.dual_numbers(k, derivs, tangent, "float", tol_for, rng)
    assert [c.passed for c in bad] == [True, False] and bad[1].worst_index == (3,)


def test_reverse_passes_and_a_wrong_scalar_adjoint_fails(f):
    rng = np.random.default_rng(1)
    x, a, w = rng.uniform(-1, 1, N), -0.4, rng.standard_normal(N)
    k = _payload("Reverse", {"x": "Duplicated", "a": "Active", "n": "Const"}, x, a, {"x": w})
    derivs = _reverse(f, x, a, w)
    (check,) = oracles.dual_numbers(k, derivs, None, "float", tol_for, np.random.default_rng(2))
    assert check.passed, check.detail
    derivs["a"] = derivs["a"] * (1 + 1e-6)
    (bad,) = oracles.dual_numbers(k, derivs, None, "float", tol_for, np.random.default_rng(2))
    assert not bad.passed and bad.max_rel_err > 1e-9


def test_no_check_where_the_oracle_does_not_apply():
    x = np.zeros(N)
    batched = _payload("Forward", {"x": "BatchDuplicated", "a": "Const", "n": "Const"}, x, 1.0,
                       {"x": np.zeros((2, N))})
    assert oracles.dual_numbers(batched, {}, None, "float", tol_for, np.random.default_rng()) == []
    unknown = _payload("Forward", {"x": "Duplicated", "a": "Const", "n": "Const"}, x, 1.0,
                       {"x": np.ones(N)}).model_copy(
        update={"source": "import numpy as np\n\ndef f(x, a, n):\n    return np.frobnicate(x)\n"})
    assert oracles.dual_numbers(unknown, {}, None, "float", tol_for, np.random.default_rng()) == []
