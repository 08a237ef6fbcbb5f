"""A fuzzed program's round through the three agents: the source travels in the kernel message,
the tempering agent's dual-number oracle judges it, and the log is judged for coherence; an
autodiff agent that is wrong in one term, or refuses, is caught there."""

from __future__ import annotations

import numpy as np
import pytest

from adtriad.agents.autodiff import AutodiffAgent
from adtriad.agents.base import guarded
from adtriad.agents.fuzz.triad import FuzzJob, FuzzTriad, program_scenario
from adtriad.protocol import FORWARD_MODES, Role

JOB = FuzzJob(seed=2026, max_statements=8, search_evaluations=0, shrink_s=0)
INDEX = 0  # a program the engine gets right in every mode


def test_the_scenario_carries_the_source_and_the_inputs_the_check_drew():
    program = JOB.program(INDEX)
    inputs = [0.5] * len(program.floats) + [np.linspace(0, 1, n) for _, n in program.arrays]
    for mode in ("Reverse", "Forward"):
        sc = program_scenario(program, inputs, mode, seed=3)
        assert sc.kernel.source == program.source and sc.checks == ("dual_numbers",)
        assert tuple(sc.arguments) == program.params
        scalar = "Duplicated" if mode in FORWARD_MODES else "Active"
        assert [sc.arguments[n].activity for n in program.floats] == [scalar] * len(program.floats)
        assert all(sc.arguments[n].activity == "Duplicated" for n, _ in program.arrays)
        assert all(sc.arguments[n].activity == "Const" for n in program.ints)


def test_every_mode_the_check_passes_is_a_coherent_round_of_the_triad():
    result = FuzzTriad().run_unit(JOB, "", INDEX)
    assert result["status"] == "passed" and result["coherent"], result["detail"]["why"]
    triad = result["detail"]["triad"]
    assert set(triad) == set(JOB.modes)
    for mode, rnd in triad.items():
        assert rnd["status"] == "passed" and rnd["coherent"], (mode, rnd)
        assert any(name.startswith("dual_numbers") for name in rnd["checks"]), (mode, rnd)


def _planted(monkeypatch, change):
    honest = AutodiffAgent.differentiate

    @guarded(to=Role.tempering)  # as the agent's own method is: an exception becomes an error message
    def differentiate(self, kernel_msg):
        msg = honest(self, kernel_msg)
        if msg.payload.kind != "gradients":
            return msg
        return msg.model_copy(update={"payload": change(msg.payload)})

    monkeypatch.setattr(AutodiffAgent, "differentiate", differentiate)


def test_an_autodiff_agent_wrong_in_one_term_is_caught_by_the_triads_round(monkeypatch):
    def one_percent_off(payload):
        derivs = {n: (None if d is None else np.asarray(d) * 1.01) for n, d in payload.derivatives.items()}
        tangent = None if payload.tangent is None else np.asarray(payload.tangent) * 1.01
        return payload.model_copy(update={"derivatives": derivs, "tangent": tangent})

    _planted(monkeypatch, one_percent_off)
    result = FuzzTriad().run_unit(JOB, "Reverse,Forward", INDEX)
    assert result["status"] == "failed" and not result["coherent"]
    modes = result["detail"]["modes"]
    assert modes["Reverse"]["class"] == modes["Forward"]["class"] == "wrong"
    assert "dual_numbers" in result["detail"]["why"]


def test_an_autodiff_agent_that_fails_is_a_crash_not_a_pass(monkeypatch):
    def broken(payload):
        raise RuntimeError("the agent lost the gradients")

    _planted(monkeypatch, broken)
    result = FuzzTriad().run_unit(JOB, "Reverse", INDEX)
    assert result["status"] == "failed" and not result["coherent"]
    assert result["detail"]["modes"]["Reverse"]["class"] == "crash"
