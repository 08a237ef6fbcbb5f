"""The ledger and the plan, without Ray: stable ids, exactly-once inserts, the resume set, the
sweep file's validation and the report."""

from __future__ import annotations

import json
import sqlite3

import pytest

from adtriad.agents import load_scenario
from adtriad.agents.loading import ScenarioError
from adtriad.agents.sweep.command import SweepInputError, load_inputs
from adtriad.agents.sweep.ledger import Ledger
from adtriad.agents.sweep.spec import (
    SweepSpec,
    activity_combinations,
    count_units,
    load_sweep,
    plan_units,
    unit_scenario,
)

from sweep_fixtures import (  # noqa: F401  (fixtures are found by name)
    CUBIC, ROOT, _reset_structlog, cfg, engine_dir, write,
)


def _row(unit, status="passed", **kw):
    return dict(unit_id=unit.unit_id, scenario=unit.scenario, kernel=unit.kernel, mode=unit.mode,
                activities="x:Active", seed_index=unit.seed_index, seed=unit.seed, status=status,
                coherent=status == "passed", seconds=0.01, max_rel_err=1e-12, **kw)


def test_unit_ids_are_stable_and_change_with_content(cfg, write):
    sc = load_scenario(write("cubic.yaml", CUBIC))
    spec = SweepSpec.from_flags(["cubic.yaml"], seeds=3, modes=["Reverse", "ReverseWithPrimal"])
    first = [u.unit_id for u in plan_units(spec, [sc], cfg)]
    again = [u.unit_id for u in plan_units(spec, [load_scenario(write("c2.yaml", CUBIC))], cfg)]
    assert first == again and len(set(first)) == 6 == count_units(spec, [sc])
    # another version, another seed range, other tolerances or another kernel: other ids
    assert not set(first) & {u.unit_id for u in plan_units(spec, [sc], cfg, version="0.0.0+x")}
    shifted = spec.with_flags(seeds={"start": 1, "count": 3})
    assert len(set(first) & {u.unit_id for u in plan_units(shifted, [sc], cfg)}) == 4
    loose = cfg.model_copy(update={"tolerances": cfg.tolerances.model_copy(
        update={"float64": cfg.tolerances.float32})})
    assert not set(first) & {u.unit_id for u in plan_units(spec, [sc], loose)}
    other = load_scenario(write("poly.yaml", CUBIC.replace("cubic}", "poly}")))
    assert not set(first) & {u.unit_id for u in plan_units(spec, [other], cfg)}


def test_exactly_once_and_the_resume_set(cfg, write, tmp_path):
    sc = load_scenario(write("cubic.yaml", CUBIC))
    spec = SweepSpec.from_flags(["cubic.yaml"], seeds=5)
    units = list(plan_units(spec, [sc], cfg))
    path = tmp_path / "l.sweep.db"
    with Ledger(path) as led:
        led.start_run(len(units), len(units))
        assert led.record(_row(units[0])) and led.record(_row(units[3], "failed"))
        assert not led.record(_row(units[0], "failed"))  # a duplicate is never written
        led.incident(units[1].unit_id, "dead_worker", "boom")
        assert [u.unit_id for u in led.missing(units)] == [units[i].unit_id for i in (1, 2, 4)]
        assert led.incident_counts() == {units[1].unit_id: {"dead_worker": 1}}
        assert led.status_counts()["failed"] == 1
    with sqlite3.connect(path) as db:  # any tool reads it
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = db.execute("SELECT unit_id, status FROM results ORDER BY seed_index").fetchall()
    assert rows == [(units[0].unit_id, "passed"), (units[3].unit_id, "failed")]
    with Ledger(path) as led:  # reopened: the same resume set
        assert len(list(led.missing(units))) == 3


def test_activity_combinations_and_unit_scenarios():
    sc = load_scenario(ROOT / "scenarios" / "saxpy.yaml")
    combos = activity_combinations(sc, "all")
    assert len(combos) == 7 and {"y": "Duplicated", "a": "Active", "x": "Duplicated"} in combos
    only_a = unit_scenario(sc, "Reverse", {"y": "Const", "a": "Active", "x": "Const"})
    assert only_a.arguments["y"].shadow is None and only_a.modes == ("Reverse",)
    assert set(only_a.expect) == set()  # every expectation names y or x, or reads shadow_y
    # saxpy's expectations are adjoints (it is written for Reverse): forward units drop them
    assert set(unit_scenario(sc, "ReverseWithPrimal", {}).expect) == {"x", "a", "y"}
    assert unit_scenario(sc, "Forward", {}).expect == {}
    keyed = sc.model_copy(update={"expect": {**sc.expect, "Forward": {"tangent": "a * x"}}})
    assert unit_scenario(keyed, "Forward", {}).expect == {"Forward": {"tangent": "a * x"}}
    loss = load_scenario(ROOT / "scenarios" / "loss_with_data.yaml")
    assert len(activity_combinations(loss, "all")) == 7  # xs, ys may become Duplicated
    assert activity_combinations(loss, [{"xs": "Duplicated"}])[0]["xs"] == "Duplicated"


def test_sweep_file_errors_name_file_line_and_field(write):
    write("cubic.yaml", CUBIC)
    bad = write("bad.yaml", "name: s\nscenarios: [cubic.yaml]\nseeds: 0\nmodes: [Sideways]\n")
    with pytest.raises(ScenarioError) as err:
        load_sweep(bad)
    text = str(err.value)
    assert f"{bad}:3: seeds" in text and f"{bad}:4: modes.0" in text
    missing = write("missing.yaml", "scenarios:\n  - cubic.yaml\n  - nowhere.yaml\n")
    with pytest.raises(ScenarioError, match=r"missing.yaml:3: scenarios.1: no such scenario"):
        load_sweep(missing)
    acts = write("acts.yaml", "scenarios: [cubic.yaml]\nactivities:\n  - {z: Const}\n")
    with pytest.raises(ScenarioError, match=r"acts.yaml:3: activities.0: no scenario has"):
        load_sweep(acts)
    with pytest.raises(SweepInputError, match="--modes"):
        load_inputs([write("c.yaml", CUBIC)], {"modes": "Reverse,Bogus"})


def test_flags_override_the_sweep_file(write):
    write("cubic.yaml", CUBIC)
    path = write("s.yaml", "name: s\nscenarios: [cubic.yaml]\nseeds: {start: 4, count: 2}\n")
    spec, scs = load_inputs([path], {"seeds": 3, "modes": "Forward", "activities": None})
    assert spec.seeds.count == 3 and spec.seeds.start == 0 and spec.modes == ("Forward",)
    spec, _ = load_inputs([path], {"seed_start": 7})
    assert (spec.seeds.start, spec.seeds.count) == (7, 2)


def test_the_shipped_sweeps_load():
    for path in sorted((ROOT / "sweeps").glob("*.yaml")):
        spec, scenarios = load_sweep(path)
        assert count_units(spec, scenarios) > 0


def test_report_from_a_ledger(cfg, write, tmp_path):
    from adtriad.sweep_report import print_summary, summarize, write_report

    sc = load_scenario(write("cubic.yaml", CUBIC))
    units = list(plan_units(SweepSpec.from_flags(["c"], seeds=30), [sc], cfg))
    with Ledger(tmp_path / "r.sweep.db") as led:
        led.set_meta(name="r", planned=len(units))
        for u in units[:-1]:
            led.record(_row(u, "failed" if u.seed_index % 7 == 0 else "passed"))
        led.record({**_row(units[-1], "quarantined"), "detail": {"reason": "quarantined after 2"}})
        led.incident(units[-1].unit_id, "dead_worker", "died")
        summary = summarize(led)
        page = write_report(led, summary, tmp_path / "rep")
    assert summary["exit_code"] == 1 and summary["counts"]["failed"] == 5
    assert summary["quarantined"][0]["unit_id"] == units[-1].unit_id
    assert json.loads((tmp_path / "rep" / "summary.json").read_text())["counts"]["passed"] == 24
    for png in ("errors.png", "pass_rate.png", "time.png"):
        assert (tmp_path / "rep" / png).read_bytes()[:4] == b"\x89PNG"
    assert "pass_rate.png" in page.read_text()
    print_summary(summary)
