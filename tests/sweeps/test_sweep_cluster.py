"""Sweeps on a small cluster (a head and two worker nodes of one CPU each, on this machine):
a unit that kills its worker is quarantined, a killed driver resumes exactly the missing units,
and a node removed mid-sweep loses and duplicates nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from adtriad.agents import load_scenario
from adtriad.agents.sweep.ledger import Ledger
from adtriad.agents.sweep.runner import run_sweep
from adtriad.agents.sweep.spec import SweepSpec, plan_units

from sweep_fixtures import (  # noqa: F401  (fixtures are found by name)
    CRASHES, CUBIC, SAXPY, _reset_structlog, cfg, cluster, engine_dir, write,
)

pytestmark = pytest.mark.slow


def _ledger_ids(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT unit_id FROM results")]


def test_a_unit_that_kills_its_worker_is_quarantined_and_the_sweep_finishes(
        cluster, cfg, write, tmp_path):
    scenarios = [load_scenario(write("crashes.yaml", CRASHES)),
                 load_scenario(write("cubic.yaml", CUBIC))]
    spec = SweepSpec.from_flags(["crashes.yaml", "cubic.yaml"], seeds=3, quarantine_after=2,
                                retries=3, triads=2, per_triad=1)
    planned = [u.unit_id for u in plan_units(spec, scenarios, cfg)]
    with Ledger(tmp_path / "q.sweep.db") as led:
        outcome = run_sweep(spec, scenarios, cfg, led)
        rows = {r["unit_id"]: r for r in led.rows()}
        incidents = led.incidents()
    assert outcome.recorded == len(planned) == 6 and not outcome.stopped_early
    assert sorted(rows) == sorted(planned)
    crashed = [r for r in rows.values() if r["scenario"] == "crashes"]
    assert {r["status"] for r in crashed} == {"quarantined"}
    assert all(r["attempts"] == 3 for r in crashed)  # two deaths, then no third try
    assert {r["status"] for r in rows.values() if r["scenario"] == "cubic_sweep"} == {"passed"}
    blamed = [i for i in incidents if i["kind"] == "dead_worker"]
    assert len(blamed) == 6 and {i["unit_id"] for i in blamed} == {r["unit_id"] for r in crashed}


def test_a_driver_killed_mid_sweep_resumes_every_missing_unit_exactly_once(
        cluster, cfg, engine_dir, write, tmp_path):
    path = write("saxpy.yaml", SAXPY)
    ledger = tmp_path / "k.sweep.db"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "TRIAD_ENGINE__CACHE_DIR": str(engine_dir)}
    cmd = [sys.executable, "-m", "adtriad.cli", "--log-level", "warning", "sweep", str(path),
           "--seeds", "24", "--address", cluster.address, "--ledger", str(ledger)]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and first.poll() is None:
        if ledger.exists():
            try:
                done = len(_ledger_ids(ledger))
            except sqlite3.OperationalError:  # the driver is creating the tables
                done = 0
            if done >= 3:
                break
        time.sleep(0.05)
    assert first.poll() is None, first.stderr.read().decode()[-2000:]
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = set(_ledger_ids(ledger))
    planned = [u.unit_id for u in plan_units(SweepSpec.from_flags([path], seeds=24),
                                             [load_scenario(path)], cfg)]
    assert 3 <= len(before) < len(planned)
    again = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, timeout=180)
    assert again.returncode == 0, again.stderr.decode()[-3000:]
    ids = _ledger_ids(ledger)
    assert len(ids) == len(set(ids)) == len(planned) and set(ids) == set(planned)
    with Ledger(ledger) as led:
        runs = led.runs()
        assert led.status_counts()["passed"] == len(planned)
    assert [r["todo"] for r in runs] == [len(planned), len(planned) - len(before)]
    assert runs[1]["recorded"] == runs[1]["todo"]  # the resumed run did only the missing units


def test_a_worker_node_removed_mid_sweep_loses_and_duplicates_nothing(
        cluster, cfg, write, tmp_path):
    scenarios = [load_scenario(write("saxpy.yaml", SAXPY))]
    spec = SweepSpec.from_flags(["saxpy.yaml"], seeds=16, triads=3, per_triad=2, retries=3)
    planned = [u.unit_id for u in plan_units(spec, scenarios, cfg)]
    removed = []
    victims = {w.node_id: w for w in cluster.workers}
    led = Ledger(tmp_path / "n.sweep.db")

    def on_progress(prog):
        if removed or prog.done < 2:
            return
        busy = [r["node"] for r in led.rows(columns=("node",)) if r["node"] in victims]
        if busy:  # a worker node whose triad is busy with the sweep
            cluster.remove_node(victims[busy[0]], allow_graceful=False)
            removed.append(busy[0])

    with led:
        outcome = run_sweep(spec, scenarios, cfg, led, on_progress=on_progress)
        ids = [r["unit_id"] for r in led.rows(columns=("unit_id",))]
        counts = led.status_counts()
        incidents = led.incidents()
    assert removed, "no worker node was busy"
    assert not outcome.stopped_early and outcome.recorded == len(planned)
    assert len(ids) == len(set(ids)) == len(planned) and set(ids) == set(planned)
    assert counts["passed"] == len(planned)
    assert incidents and all(i["kind"] in ("lost_node", "unreachable") for i in incidents)


HANGS = """
name: hangs
kernel:
  entry: f
  source: |
    import time
    time.sleep(120)  # every process that imports this kernel hangs


    def f(x):
        return x * x
mode: Reverse
arguments: {x: {activity: Active, value: 1.5}}
"""


def test_a_unit_past_its_deadline_restarts_its_triad_and_ends_quarantined(
        cluster, cfg, write, tmp_path):
    scenarios = [load_scenario(write("hangs.yaml", HANGS))]
    spec = SweepSpec.from_flags(["hangs.yaml"], unit_timeout_s=3, quarantine_after=2, triads=1)
    with Ledger(tmp_path / "t.sweep.db") as led:
        outcome = run_sweep(spec, scenarios, cfg, led)
        (row,) = led.rows()
        kinds = [i["kind"] for i in led.incidents()]
    assert outcome.recorded == 1 and row["status"] == "quarantined"
    assert kinds == ["timeout", "timeout"]


def test_with_gpus_each_triad_holds_one_in_a_placement_group(cluster, cfg, write, tmp_path):
    # A node declaring one (logical) GPU: the sweep switches to one GPU triad per GPU.
    gpu_node = cluster.add_node(**cluster.node_args, num_gpus=1)
    cluster.wait_for_nodes()
    scenarios = [load_scenario(write("cubic.yaml", CUBIC))]
    spec = SweepSpec.from_flags(["cubic.yaml"], seeds=2)
    with Ledger(tmp_path / "g.sweep.db") as led:
        outcome = run_sweep(spec, scenarios, cfg, led)
        nodes = {r["node"] for r in led.rows(columns=("node",))}
        assert led.status_counts()["passed"] == 2
    assert outcome.gpu and outcome.triads == 1
    assert nodes == {gpu_node.node_id}
