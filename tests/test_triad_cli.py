"""``triad run``: the table, ``--json``, exit codes 0/1/2, ``--seeds`` (local backend)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from adtriad.agents.report import RunReport
from adtriad.cli import app

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))

sys.path.insert(0, str(Path(__file__).parent))
from cli_runner import _reset_structlog, runner  # noqa: E402,F401 - the fixture applies here


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    from adtriad.ad_core import loader

    saved = loader.cache_dir()
    yield tmp_path_factory.mktemp("engine-cache")
    loader.set_cache_dir(saved)


def triad(cache, *args):
    return runner.invoke(app, [str(a) for a in args],
                         env={"TRIAD_CONFIG": None, "TRIAD_ENGINE__CACHE_DIR": str(cache)})


def test_run_is_listed():
    result = runner.invoke(app, ["run", "--help"])
    assert result.exit_code == 0
    for option in ("--json", "--backend", "--address", "--seeds"):
        assert option in result.stdout


@pytest.mark.slow
def test_every_scenario_passes_and_the_json_report_validates(cache, tmp_path):
    out = tmp_path / "report.json"
    result = triad(cache, "run", "--backend", "local", *SCENARIOS, "--json", out)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "saxpy" in result.stdout and "all passed" in result.stdout
    report = RunReport.model_validate_json(out.read_text())
    assert report.passed and report.coherent and report.exit_code == 0
    assert [s.path for s in report.scenarios] == [str(p) for p in SCENARIOS]
    raw = json.loads(out.read_text())
    check = raw["scenarios"][0]["rounds"][0]["checks"][0]
    assert {"name", "passed", "max_abs_err", "max_rel_err", "worst_index", "tolerance"} <= set(check)
    assert raw["scenarios"][0]["rounds"][0]["coherence"]["violations"] == []


def test_a_wrong_expectation_fails_with_exit_1_naming_the_check(cache, tmp_path):
    text = (ROOT / "scenarios" / "test1_reverse_scalar.yaml").read_text()
    path = tmp_path / "wrong.yaml"
    path.write_text(text.replace('x: "2 * x + 2"', 'x: "2 * x + 3"'))
    out = tmp_path / "r.json"
    result = triad(cache, "run", "--backend", "local", path, "--json", out)
    assert result.exit_code == 1
    assert "check analytic[x] failed" in result.stdout and "FAILED" in result.stdout
    report = RunReport.model_validate_json(out.read_text())
    (failed,) = report.failed_checks()
    assert failed[1].name == "analytic[x]" and failed[1].max_abs_err == pytest.approx(1.0)
    assert not report.coherent  # a failed verdict breaks the round's coherence


def test_a_malformed_scenario_exits_2_naming_file_line_and_field(cache, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nkernel: {builtin: poly}\nmode: Reverse\narguments:\n"
                    "  x: {activity: Activ, value: 1.0}\n")
    result = triad(cache, "run", "--backend", "local", path)
    assert result.exit_code == 2
    assert f"{path}:5: arguments.x.activity:" in result.stderr


def test_a_missing_scenario_and_a_bad_option_exit_2(cache, tmp_path):
    assert triad(cache, "run", "--backend", "local", tmp_path / "nope.yaml").exit_code == 2
    assert triad(cache, "run", "--backend", "mars", SCENARIOS[0]).exit_code == 2
    assert triad(cache, "run", "--seeds", "0", SCENARIOS[0]).exit_code == 2


def test_seeds_sets_the_rounds_per_mode(cache, tmp_path):
    out = tmp_path / "r.json"
    result = triad(cache, "run", "--backend", "local", "--seeds", "3",
                   ROOT / "scenarios" / "test1_reverse_scalar.yaml", "--json", out)
    assert result.exit_code == 0, result.stdout
    (sc,) = RunReport.model_validate_json(out.read_text()).scenarios
    assert [r.index for r in sc.rounds] == [0, 1, 2]
    assert len({r.seed for r in sc.rounds}) == 3


def test_a_raising_kernel_exits_1_and_names_the_agent(cache, tmp_path):
    path = tmp_path / "boom.yaml"
    path.write_text("name: boom\nkernel:\n  entry: f\n  source: |\n"
                    "    raise ValueError('no kernel today')\n    def f(x):\n        return x\n"
                    "mode: Reverse\narguments: {x: {activity: Active, value: 1.0}}\n")
    result = triad(cache, "run", "--backend", "local", path)
    assert result.exit_code == 1
    assert "agent failed: ValueError: no kernel today" in result.stdout


def test_a_kernel_numba_cannot_compile_is_reported_at_the_users_file_and_line(cache, tmp_path):
    (tmp_path / "kern.py").write_text("import numpy as np\n\n\ndef f(x):\n"
                                      "    z = np.log(x * x + 1.0)\n    return z[3]\n")
    path = tmp_path / "k.yaml"
    path.write_text("name: k\nkernel: {ref: kern.py:f}\nmode: Reverse\n"
                    "arguments: {x: {activity: Active, value: 1.0}}\n")
    result = triad(cache, "run", "--backend", "local", path)
    assert result.exit_code == 1
    assert f"{tmp_path / 'kern.py'}:6" in result.stdout.replace("\n", "")
    assert "adtriad_kernel_" not in result.stdout


INLINE = ("name: inl\nkernel:\n  entry: f\n  source: |\n    import numpy as np\n\n"
          "    def f(x, y):\n        s = 0.0\n        for i in range(x.shape[0]):\n"
          "            s += {1: x[i]}[1]\n        y[0] = s\n"
          "mode: Reverse\narguments:\n"
          "  x: {activity: Duplicated, value: {draw: uniform, shape: [4]}}\n"
          "  y: {activity: Duplicated, value: {draw: zeros, shape: [1]}, shadow: 1.0}\n")


def test_an_inline_kernels_refusal_names_the_scenarios_line_and_column(cache, tmp_path):
    path = tmp_path / "inl.yaml"
    path.write_text(INLINE)
    result = triad(cache, "run", "--backend", "local", path)
    assert result.exit_code == 1
    out = result.stdout.replace("\n", "")
    # line 10 of the file is `            s += {1: x[i]}[1]`: the dict opens at column 18
    assert f"{path}:10:18: cannot differentiate a dict" in out
    assert "adtriad_kernel_" not in out


def test_an_inline_kernel_raising_is_reported_at_the_scenarios_line(cache, tmp_path):
    path = tmp_path / "boom.yaml"
    path.write_text("name: boom\nkernel:\n  entry: f\n  source: |\n    def f(x):\n"
                    "        return x\n\n    raise ValueError('not today')\n"
                    "mode: Reverse\narguments: {x: {activity: Active, value: 1.0}}\n")
    result = triad(cache, "run", "--backend", "local", path)
    assert result.exit_code == 1
    out = result.stdout.replace("\n", "")
    assert "ValueError: not today" in out and f"{path}:8)" in out
    assert "adtriad_kernel_" not in out


@pytest.mark.parametrize("style", ['"def f(x):\\n    return x * x\\n"', ">\n    def f(x): return x\n"])
def test_an_inline_kernel_not_written_as_a_literal_block_keeps_its_copy(tmp_path, style):
    from adtriad.agents.loading import load_scenario

    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nkernel:\n  entry: f\n  source: {style}\nmode: Reverse\n"
                    "arguments: {x: {activity: Active, value: 1.0}}\n")
    kernel = load_scenario(path).kernel
    assert kernel.path is None and kernel.line is None  # its lines are not the file's


def test_an_inline_literal_block_is_placed_line_by_line(tmp_path):
    from adtriad.agents.loading import load_scenario

    path = tmp_path / "inl.yaml"
    path.write_text(INLINE)
    kernel = load_scenario(path).kernel
    assert (kernel.path, kernel.line, kernel.column) == (str(path), 5, 4)
    lines = path.read_text().split("\n")
    for i, line in enumerate(kernel.source.rstrip("\n").split("\n")):
        assert lines[kernel.line - 1 + i][kernel.column:] == line
