"""``from adtriad import Triad``: in-process runs without Ray, and the agents driven by messages.

``import adtriad`` stays light (the facade loads on first use of ``Triad``); a scenario runs
in-process with Ray never started; a host's own asyncio loop drives the three agents by
messages alone (the example of the facade's docstring and docs/embedding.md) to a passing,
GF(3)-coherent round; handlers take JSON, ignore messages not addressed to them, and refuse
malformed ones before they reach an agent.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from adtriad import Triad
from adtriad.agents import ScenarioError
from adtriad.config import load_config
from adtriad.facade import round_log, scenario_from_yaml
from adtriad.protocol import Role, TriadMessage, check_round

ROOT = Path(__file__).resolve().parents[1]
SAXPY = ROOT / "scenarios" / "saxpy.yaml"
POLY = ROOT / "scenarios" / "test1_reverse_scalar.yaml"


@pytest.fixture(scope="module")
def triad(tmp_path_factory):
    from adtriad.ad_core import loader

    saved = loader.cache_dir()
    cache = tmp_path_factory.getbasetemp() / "embedding-engine-cache"
    cache.mkdir(exist_ok=True)
    cfg = load_config(env={"TRIAD_ENGINE__CACHE_DIR": str(cache)})
    with Triad(backend="local", config=cfg) as t:
        yield t
    loader.set_cache_dir(saved)


async def drive(agents, index: int = 0) -> list[TriadMessage]:
    """The host loop: every message goes to every agent; only its addressee answers."""
    bus = [agents[Role.tempering].open_round(index)]
    log = []
    while bus:
        msg = bus.pop(0)
        log.append(msg)
        for handler in agents.values():
            reply = await handler.ahandle(msg)
            if reply is not None:
                bus.append(reply)
    return log


def test_import_adtriad_stays_light():
    code = ("import sys, adtriad; light = not any(m in sys.modules for m in "
            "('adtriad.facade', 'adtriad.agents', 'numba', 'ray')); "
            "T = adtriad.Triad; print(light, T.__module__, 'ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "adtriad.facade", "False"]


NO_RAY = """
import sys, ray
from adtriad import Triad
report = Triad(backend="local").run(sys.argv[1])
print(report.passed, ray.is_initialized())
"""


def test_runs_a_scenario_in_process_without_ray(triad):
    report = triad.run(SAXPY)
    assert report.backend == "local"
    assert report.passed and report.coherent and report.exit_code == 0
    assert [r.round_id for r in report.scenarios[0].rounds] == ["saxpy/Reverse/0"]
    # In a process of its own (other tests here share a Ray instance): no Ray is started.
    proc = subprocess.run([sys.executable, "-c", NO_RAY, str(SAXPY)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False"]  # and no log line: stdout is the program's


def test_a_host_loop_drives_the_agents_by_messages_alone(triad):
    agents = triad.agents(SAXPY)
    assert set(agents) == set(Role) and agents["tempering"] is agents[Role.tempering]
    log = asyncio.run(drive(agents))
    rid = log[0].round_id
    own = round_log(log, rid)
    assert [m.payload.kind for m in own] == ["seed", "kernel", "gradients", "verdict"]
    verdict = own[-1].payload
    assert verdict.passed, [c for c in verdict.checks if not c.passed]
    assert {"dot_product", "reproducible", "analytic[x]"} <= {c.name for c in verdict.checks}
    assert check_round(own).coherent
    side = {m.round_id for m in log} - {rid}
    assert side == {f"{rid}:probe-Forward", f"{rid}:probe-Reverse", f"{rid}:again"}
    # the same round run by the orchestrator reaches the same verdict
    report = triad.run(SAXPY)
    assert [c.name for c in report.scenarios[0].rounds[0].checks] == \
        [c.name for c in verdict.checks]


def test_handlers_take_json_and_answer_only_their_own_messages(triad):
    agents = triad.agents(POLY)
    seed = agents["tempering"].open_round(0)
    kernel = agents["gpu_kernels"].handle(seed.model_dump_json())
    assert kernel == agents["gpu_kernels"].handle(json.loads(seed.model_dump_json()))
    assert kernel.payload.kind == "kernel" and kernel.to is Role.autodiff
    assert agents["autodiff"].handle(seed) is None
    assert agents["gpu_kernels"].handle(kernel) is None
    grads = agents["autodiff"](kernel)
    assert grads.payload.derivatives["x"] == pytest.approx(8.0)
    # a tempering agent that never saw the round's kernel message says so
    blind = triad.agents(POLY)["tempering"]
    blind.open_round(0)
    refusal = blind.handle(grads)
    assert refusal.payload.kind == "error" and "kernel message" in refusal.payload.message


def test_a_malformed_message_never_reaches_an_agent(triad):
    agents = triad.agents(POLY)
    raw = json.loads(agents["tempering"].open_round(0).model_dump_json())
    raw["to"] = "nobody"
    with pytest.raises(ValidationError) as err:
        agents["gpu_kernels"].handle(raw)
    assert "to" in str(err.value)
    with pytest.raises(ValidationError):
        agents["gpu_kernels"].handle('{"from": "tempering"}')


def test_async_runs_from_a_foreign_loop(triad):
    async def main():
        loop = asyncio.get_running_loop()
        answers = []

        async def echo(i):
            return i

        def on_round(_report, i, _total):
            # Called in the worker thread mid-run: the answer can only come back if the
            # caller's loop is free while the triad works.
            answers.append(asyncio.run_coroutine_threadsafe(echo(i), loop).result(timeout=60))

        report = await triad.arun(POLY, seeds=2, on_round=on_round)
        return report, answers

    report, answers = asyncio.run(main())
    assert report.passed and len(report.scenarios[0].rounds) == 2
    assert len(answers) == 2


def test_bad_arguments_are_refused(triad):
    with pytest.raises(ValueError, match="backend"):
        Triad(backend="cluster")
    with pytest.raises(ValueError, match="Forward"):
        triad.agents(POLY, mode="Forward")
    with pytest.raises(ScenarioError, match="<inline>"):
        scenario_from_yaml("name: x\nkernel: {builtin: nope}\nmode: Reverse\narguments: {}\n")
    sc = scenario_from_yaml(POLY.read_text())
    assert sc.name == "test1_reverse_scalar" and sc.source_path is None
