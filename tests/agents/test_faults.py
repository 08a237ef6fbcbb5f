"""Faults: an agent that raises fails only its round; a dead actor is restarted and its round
run again."""

from __future__ import annotations

import pytest

from adtriad.agents import load_scenario, run_scenarios

from conftest import BOOM, ROOT, write_scenario

pytestmark = pytest.mark.slow


DIES_ONCE = """
name: dies_once
kernel:
  entry: cube
  source: |
    import os
    MARK = {mark!r}
    if not os.path.exists(MARK):
        open(MARK, "w").close()
        os._exit(1)  # the first process that imports this kernel dies


    def cube(x):
        return x * x * x
mode: Reverse
seeds: 2
arguments: {{x: {{activity: Active, value: {{draw: normal}}}}}}
expect: {{x: "3 * x**2"}}
"""


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_a_raising_kernel_fails_its_round_and_the_run_goes_on(backend, cfg, tmp_path, request):
    if backend == "ray":
        request.getfixturevalue("ray_session")
    boom = load_scenario(write_scenario(tmp_path, "boom", BOOM))
    good = load_scenario(ROOT / "scenarios" / "test1_reverse_scalar.yaml")
    report = run_scenarios([boom, good], cfg, backend=backend)
    bad, ok = report.scenarios
    assert ok.status == "passed"
    assert bad.status == "error" and report.exit_code == 1 and not report.coherent
    (r,) = bad.rounds
    assert r.error.agent in ("autodiff", "tempering")
    assert r.error.error_type == "RuntimeError" and "exploded" in r.error.message
    assert "error_reported" in r.coherence.names


def test_an_actor_killed_mid_run_is_restarted_and_its_round_retried(cfg, tmp_path, ray_session):
    mark = tmp_path / "died"
    sc = load_scenario(write_scenario(tmp_path, "dies_once", DIES_ONCE.format(mark=str(mark))))
    report = run_scenarios([sc], cfg, backend="ray")
    assert mark.exists()  # an actor did die
    (rep,) = report.scenarios
    assert rep.status == "passed", [(r.error, r.checks) for r in rep.rounds]
    assert max(r.attempts for r in rep.rounds) == 2
    assert all(r.coherence.coherent for r in rep.rounds) and report.exit_code == 0
