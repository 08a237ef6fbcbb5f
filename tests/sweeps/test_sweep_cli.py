"""``triad sweep`` refuses bad input with exit code 2 before starting Ray."""

from __future__ import annotations

import sqlite3
import time

from typer.testing import CliRunner

from adtriad import __version__
from adtriad.agents.sweep.command import load_inputs
from adtriad.agents.sweep.ledger import Ledger
from adtriad.agents.sweep.spec import plan_digest
from adtriad.cli import app
from adtriad.config import load_config

from sweep_fixtures import (  # noqa: F401  (fixtures are found by name)
    CUBIC, _reset_structlog, write,
)


def _sweep(*args):
    return CliRunner().invoke(app, ["sweep", *args])


def test_bad_input_exits_2(write, tmp_path):
    assert _sweep(str(tmp_path / "nowhere.yaml")).exit_code == 2
    cubic = write("cubic.yaml", CUBIC)
    bad = write("bad.yaml", "scenarios: [cubic.yaml]\nseeds: -1\n")
    res = _sweep(str(bad))
    assert res.exit_code == 2 and "bad.yaml:2: seeds" in res.output
    assert _sweep(str(cubic), "--modes", "Sideways").exit_code == 2
    assert _sweep(str(cubic), str(bad)).exit_code == 2  # a sweep file mixed with scenarios
    ledger = write("old.sweep.db", "")
    res = _sweep(str(cubic), "--ledger", str(ledger))
    assert res.exit_code == 2 and "--resume" in res.output


def test_a_ledger_that_cannot_be_one_exits_2_and_is_left_as_it_was(write, tmp_path):
    cubic = write("cubic.yaml", CUBIC)
    folder = tmp_path / "folder.sweep.db"
    folder.mkdir()
    res = _sweep(str(cubic), "--ledger", str(folder), "--resume")
    assert res.exit_code == 2 and "a directory" in res.output
    corrupt = write("corrupt.sweep.db", "this is not SQLite\n" * 50)
    res = _sweep(str(cubic), "--ledger", str(corrupt), "--resume")
    assert res.exit_code == 2 and "not a ledger" in res.output
    assert corrupt.read_text() == "this is not SQLite\n" * 50
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE people (name TEXT)")
    db.close()
    before = foreign.read_bytes()
    res = _sweep(str(cubic), "--ledger", str(foreign), "--resume")
    assert res.exit_code == 2 and "not a ledger" in res.output and foreign.read_bytes() == before


def test_a_ledger_in_use_is_refused_at_once(write, tmp_path):
    cubic = write("cubic.yaml", CUBIC)
    path = tmp_path / "busy.sweep.db"
    with Ledger(path):  # another driver holds it
        started = time.monotonic()
        res = _sweep(str(cubic), "--ledger", str(path), "--resume")
        assert res.exit_code == 2 and "another process is writing" in res.output
        res = _sweep(str(cubic), "--ledger", str(path), "--overwrite")
        assert res.exit_code == 2 and path.exists()
        assert time.monotonic() - started < 20  # not SQLite's 30-second busy wait


def test_resume_with_a_changed_sweep_is_refused(write, tmp_path):
    cubic = write("cubic.yaml", CUBIC)
    spec, scenarios = load_inputs([cubic], {"seeds": 1})
    path = tmp_path / "cubic.sweep.db"
    with Ledger(path) as led:
        led.set_meta(plan_digest=plan_digest(spec, scenarios, load_config(env={})),
                     spec=spec.model_dump(mode="json"), version=__version__)
    res = CliRunner().invoke(app, ["sweep", str(cubic), "--seeds", "2", "--ledger", str(path), "--resume"],
                             env={"TRIAD_CONFIG": None})
    assert res.exit_code == 2, res.output
    assert "different sweep (seeds changed)" in res.output and "--overwrite" in res.output
    write("cubic.yaml", CUBIC.replace("master_seed: 11", "master_seed: 12"))
    res = CliRunner().invoke(app, ["sweep", str(cubic), "--seeds", "1", "--ledger", str(path), "--resume"],
                             env={"TRIAD_CONFIG": None})
    assert res.exit_code == 2 and "scenarios' content" in res.output


def test_active_on_an_array_is_refused_when_the_sweep_is_loaded(write):
    from sweep_fixtures import SAXPY

    saxpy = write("saxpy.yaml", SAXPY)
    sweep = write("s.yaml", "scenarios: [saxpy.yaml]\nactivities:\n  - {x: Active}\n")
    res = _sweep(str(sweep))
    assert res.exit_code == 2 and "s.yaml:3: activities.0: x is an array" in res.output
    bad = write("arr.yaml", SAXPY.replace("x: {activity: Duplicated", "x: {activity: Active"))
    res = _sweep(str(bad))
    assert res.exit_code == 2 and "arr.yaml:10: arguments.x: Active cannot annotate an array" in res.output
