"""A failing program is shrunk while it fails the same way and becomes a regression test.

The engine here is a stand-in: forward mode computed with dual numbers of its own, wrong in one
rule (the tangent of ``math.cos`` is off by 1%), so that each candidate costs milliseconds; the
shrunk program must still fail, be smaller, and keep the ``cos`` that makes it fail.
"""

from __future__ import annotations

import inspect
import sys
import types

import numpy as np

import adtriad.ad_core as ad
from adtriad.agents.fuzz import dual
from adtriad.agents.fuzz.check import check_program, python_function
from adtriad.agents.fuzz.generator import Program
from adtriad.agents.fuzz.shrink import regression_test, shrink

SOURCE = """import math

import numba
import numpy as np


@numba.njit
def g0(u, v):
    w = u * v + 0.25
    return math.tanh(w) + math.sin(u)


def f(x, y, a, n):
    s = 0.0
    t = math.exp(math.sin(y)) * 1.5
    for i in range(n):
        s = s + a[i] * g0(x, t)
        if s > 2.5:
            break
        a[i] = math.tanh(s) * 0.5
    u = math.cos(x * y) + s
    z = np.zeros(len(a))
    z[1] = u * t
    return s + u + np.sum(z) + max(t, 0.3)
"""


class BadCos(dual.DualMath):
    def __init__(self):
        super().__init__()
        good = self.cos

        def cos(u):
            r = good(u)
            return dual.Dual(r.value, 1.01 * r.tangent) if isinstance(r, dual.Dual) else r
        self.cos = cos


def standin_autodiff(mode, f, *args):
    """Forward mode over dual numbers with the planted cos rule."""
    assert mode is ad.Forward
    source = inspect.getsource(sys.modules[f.__module__])
    run = python_function(source, dual=True)
    run.__globals__["math"] = BadCos()  # the program's functions look math up when called
    values = []
    for a in args:
        if isinstance(a, ad.Duplicated):
            values.append(dual.duals(a.val, a.dval) if isinstance(a.val, np.ndarray) else dual.Dual(a.val, a.dval))
        else:
            values.append(a)
    result = run(*values)
    for a, v in zip(args, values):
        if isinstance(a, ad.Duplicated) and isinstance(a.val, np.ndarray):
            a.val[:] = dual.value_of(v)
            a.dval[:] = dual.tangent_of(v)
    return (dual.tangent_of(result),)


STANDIN = types.SimpleNamespace(autodiff=standin_autodiff, Active=ad.Active, Duplicated=ad.Duplicated,
                                Forward=ad.Forward)


def test_a_wrong_program_shrinks_to_the_rule_that_is_wrong_and_becomes_a_test(tmp_path):
    program = Program(SOURCE, ("x", "y"), (("a", 5),), ("n",), (3,), 11)
    verdict = check_program(program, modes=("Forward",), engine=STANDIN)
    assert verdict.status == "wrong", verdict.detail
    key = verdict.key()

    def still_fails(p):
        return check_program(p, modes=("Forward",), engine=STANDIN).key() == key

    small, tried = shrink(program, still_fails, budget_s=120)
    assert tried > 0 and still_fails(small)
    assert len(small.source) < len(SOURCE) / 2, small.source
    assert "math.cos" in small.source and "g0" not in small.source
    assert small.int_values == (0,)  # the loop plays no part: no trips needed

    test_file = tmp_path / "test_found.py"
    test_file.write_text(regression_test(small, ("Forward",), "a wrong tangent of cos (planted)"))
    ns: dict = {}
    exec(compile(test_file.read_text(), str(test_file), "exec"), ns)
    assert ns["SOURCE"] == small.source
    ns["test_the_engine_is_right_or_refuses"]()  # the real engine gets it right
