"""The fuzzer's check: right derivatives pass in every mode, and an engine wrong in one term,
one array, one primal or one final state is caught and named.

The stand-in engines wrap the real one (``adtriad.ad_core``) and break one thing in its answer,
as tests/ad_core/test_check_grads.py does for ``check_grads``.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

import adtriad.ad_core as ad
from adtriad.agents.fuzz import dual
from adtriad.agents.fuzz.check import MODES, check_program
from adtriad.agents.fuzz.generator import Program

SOURCE = """import math

import numba
import numpy as np


@numba.njit
def g(u, v):
    return math.tanh(u) * v + math.sin(v)


def f(x, y, a, b, n):
    s = 0.0
    for i in range(n):
        a[i] = a[i] * x + g(b[i], y)
        if a[i] > 0.9:
            break
        s += math.exp(math.sin(a[i])) * b[(i + 1) % 4]
    b[0] = math.hypot(s, 0.5)
    return s * y + np.sum(a)
"""


def program(source: str = SOURCE, n: int = 3, seed: int = 7) -> Program:
    return Program(source, ("x", "y"), (("a", 4), ("b", 4)), ("n",), (n,), seed)


def engine_with(autodiff) -> types.SimpleNamespace:
    """The real engine, its ``autodiff`` replaced."""
    names = {name: getattr(ad, name) for name in ("Active", "Duplicated", *MODES)}
    return types.SimpleNamespace(autodiff=autodiff, **names)


def test_a_program_the_engine_gets_right_passes_in_every_mode():
    verdict = check_program(program(), modes=MODES)
    assert verdict.status == "ok", verdict.detail
    assert set(verdict.modes) == set(MODES)
    for result in verdict.modes.values():
        assert result.engine and len(result.engine) == len(result.oracle)


def test_a_gradient_wrong_in_one_term_is_wrong_in_reverse_only():
    def off(mode, f, *args):
        out = ad.autodiff(mode, f, *args)
        if mode is ad.Reverse:
            derivs = list(out[0])
            derivs[1] = derivs[1] * (1 + 1e-4)  # d/dy only
            return (tuple(derivs),)
        return out

    verdict = check_program(program(), modes=("Reverse", "Forward"), engine=engine_with(off))
    assert verdict.status == "wrong"
    assert verdict.modes["Reverse"].status == "wrong"
    assert verdict.modes["Forward"].status == "ok"
    got, want, fd = (verdict.modes["Reverse"].engine[0], verdict.modes["Reverse"].oracle[0],
                     verdict.modes["Reverse"].differences[0])
    assert abs(fd - want) < 1e-6 * max(1.0, abs(want)) < abs(got - want)


def test_a_wrong_shadow_entry_in_forward_mode_is_wrong():
    def off(mode, f, *args):
        out = ad.autodiff(mode, f, *args)
        if mode is ad.Forward:
            args[3].dval[0] += 1e-3  # the tangent of b's final contents, entry 0
        return out

    verdict = check_program(program(), modes=("Forward",), engine=engine_with(off))
    assert verdict.modes["Forward"].status == "wrong"
    assert "entry" in verdict.modes["Forward"].detail


def test_a_wrong_primal_and_a_changed_array_are_named():
    def bad_primal(mode, f, *args):
        primal, derivs = ad.autodiff(mode, f, *args)
        return primal + 1e-6, derivs

    def bad_state(mode, f, *args):
        out = ad.autodiff(mode, f, *args)
        args[2].val[1] -= 1e-6
        return out

    primal = check_program(program(), modes=("ReverseWithPrimal",), engine=engine_with(bad_primal))
    assert primal.modes["ReverseWithPrimal"].status == "primal"
    state = check_program(program(), modes=("Reverse",), engine=engine_with(bad_state))
    assert state.modes["Reverse"].status == "state"
    assert state.modes["Reverse"].detail.startswith("a after the call")


def test_refusals_and_crashes_are_told_apart():
    def refuse(mode, f, *args):
        raise ad.ADError("prog.py:3:4: no rule for this")

    def crash(mode, f, *args):
        raise IndexError("index 9 is out of bounds")

    assert check_program(program(), engine=engine_with(refuse)).modes["Reverse"].status == "refused"
    crashed = check_program(program(), engine=engine_with(crash))
    assert crashed.status == "crash" and "IndexError" in crashed.modes["Forward"].detail


def test_a_mismatch_that_differences_cannot_confirm_is_not_called_wrong():
    # sin(3000 x) turns within one difference step: the differences agree with nothing, so a
    # disagreement there is reported as non-differentiable at this scale, not as a failure.
    source = "import math\n\n\ndef f(x, a, n):\n    return math.sin(3000.0 * x) + a[0]\n"
    prog = Program(source, ("x",), (("a", 4),), ("n",), (1,), 3)

    def off(mode, f, *args):
        (derivs,) = ad.autodiff(mode, f, *args)
        return ((derivs[0] * 1.5, *derivs[1:]),)

    assert check_program(prog, modes=("Reverse",)).status == "ok"
    assert check_program(prog, modes=("Reverse",), engine=engine_with(off)).modes["Reverse"].status == "nondiff"


def test_a_bug_in_the_dual_numbers_is_blamed_on_the_oracle(monkeypatch):
    monkeypatch.setitem(dual.MATH, "sin", (dual.math.sin, lambda u: 1.01 * dual.math.cos(u)))
    verdict = check_program(program(), modes=("Forward",))
    assert verdict.modes["Forward"].status == "oracle"


def test_programs_python_or_numba_reject_are_invalid():
    assert check_program(program("def f(x, y, a, b, n):\n    return x +\n")).status == "invalid"
    numba_rejects = "def f(x, y, a, b, n):\n    return x + len({1: 2.0}) * y + object.__sizeof__(a)\n"
    verdict = check_program(program(numba_rejects))
    assert verdict.status == "invalid" and "numba" in verdict.detail


def test_the_tempered_search_finds_the_region_where_the_engine_is_wrong():
    from adtriad.agents.fuzz.search import tempered_search

    source = "import math\n\n\ndef f(x, a, n):\n    return math.sin(x) * a[0] + a[1]\n"
    prog = Program(source, ("x",), (("a", 4),), ("n",), (1,), 0)

    def wrong_above(mode, f, *args):  # planted: wrong only where x > 1.2
        (derivs,) = ad.autodiff(mode, f, *args)
        if args[0].val > 1.2:
            return ((derivs[0] * 1.01, *derivs[1:]),)
        return (derivs,)

    standin = engine_with(wrong_above)
    assert check_program(prog, modes=("Reverse",), engine=standin).status == "ok"  # x < 1.2 here
    found = tempered_search(prog, ("Reverse",), 40, seed=1, engine=standin)
    assert found.verdict is not None and found.verdict.status == "wrong"
    assert found.program.inputs[0] > 1.2
    assert check_program(found.program, modes=("Reverse",), engine=standin).status == "wrong"
    clean = tempered_search(prog, ("Reverse",), 20, seed=1)
    assert clean.verdict is None and clean.evaluations <= 20 and clean.worst < 1e-12
