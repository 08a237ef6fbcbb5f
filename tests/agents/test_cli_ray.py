"""``triad run`` on its default backend, Ray (joining the session's Ray instance)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from adtriad.agents.report import RunReport
from adtriad.cli import app

from conftest import ROOT

pytestmark = pytest.mark.slow


def test_triad_run_saxpy_on_ray_writes_a_valid_report(engine_cache, ray_session, tmp_path):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        app, ["run", str(ROOT / "scenarios" / "saxpy.yaml"), "--json", str(out)],
        env={"TRIAD_CONFIG": None, "TRIAD_ENGINE__CACHE_DIR": str(engine_cache)},
    )
    assert result.exit_code == 0, result.output
    assert "saxpy" in result.stdout and "passed" in result.stdout
    report = RunReport.model_validate_json(out.read_text())
    assert report.backend == "ray" and report.passed and report.coherent
    assert report.scenarios[0].rounds[0].coherence.coherent
