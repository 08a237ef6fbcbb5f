"""``triad sweep`` refuses bad input with exit code 2 before starting Ray."""

from __future__ import annotations

from typer.testing import CliRunner

from adtriad.cli import app

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
