"""``triad fuzz`` on the session's Ray: a ledger, a summary, a report, resume, and bad input."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from adtriad.agents.fuzz.command import write_regression_tests
from adtriad.cli import app


def _fuzz(*args, cache=None):
    env = {"TRIAD_CONFIG": None}
    if cache is not None:
        env["TRIAD_ENGINE__CACHE_DIR"] = str(cache)
    return CliRunner().invoke(app, ["fuzz", *args], env=env)


def test_a_small_run_records_every_program_and_resumes(engine_cache, ray_session, tmp_path):
    ledger, out, page = tmp_path / "f.db", tmp_path / "f.json", tmp_path / "f.html"
    common = ["--programs", "3", "--seed", "5", "--size", "6", "--search", "4", "--ledger", str(ledger)]
    res = _fuzz(*common, "--json", str(out), "--report", str(page), cache=engine_cache)
    assert res.exit_code == 0, res.output
    summary = json.loads(out.read_text())
    assert summary["recorded"] == 3 and sum(summary["counts"].values()) == 3
    assert set(summary["modes"]) == {"Reverse", "ReverseWithPrimal", "Forward", "ForwardWithPrimal"}
    assert sum(summary["modes"]["Reverse"].values()) == 3
    assert summary["features"] and summary["this_run"]["programs_per_minute"] > 0
    assert "3 of 3 programs checked" in res.stdout
    text = page.read_text()
    assert "Per construct" in text and "<script" not in text

    again = _fuzz(*common, "--resume", "--json", str(out), cache=engine_cache)
    assert again.exit_code == 0, again.output
    assert json.loads(out.read_text())["this_run"]["todo"] == 0

    assert _fuzz(*common).exit_code == 2  # the ledger exists: --resume or --overwrite
    other = _fuzz("--programs", "3", "--seed", "6", "--ledger", str(ledger), "--resume")
    assert other.exit_code == 2 and "different job" in other.output and "seed" in other.output


def test_bad_options_exit_2_before_ray_starts(tmp_path):
    for args in (["--modes", "Sideways"], ["--size", "ten"], ["--size", "9-3"],
                 ["--resume", "--overwrite", "--ledger", str(tmp_path / "x.db")],
                 ["--ledger", str(tmp_path)]):
        res = _fuzz("--programs", "1", *args)
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output


def test_shrunk_failures_become_test_modules(tmp_path):
    source = "import math\n\n\ndef f(x, a, n):\n    return math.cos(x) + a[0]\n"
    program = {"source": source, "floats": ["x"], "arrays": [["a", 4]], "ints": ["n"], "int_values": [0],
               "input_seed": 3, "inputs": [0.25, [0.1, 0.2, 0.3, 0.4]]}
    summary = {"name": "fz", "job": {"seed": 9, "modes": ["Reverse", "Forward"]},
               "failures": [{"program": 4, "class": "wrong", "why": "Reverse: wrong: the result ...",
                             "shrunk": {"program": program, "tried": 10, "lines": [30, 5]}}]}
    (path,) = write_regression_tests(summary, tmp_path / "regressions")
    assert path.name == "test_fuzz_fz_9_4.py"
    ns: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), ns)
    assert ns["PROGRAM"].inputs == (0.25, (0.1, 0.2, 0.3, 0.4))
    ns["test_the_engine_is_right_or_refuses"]()  # the engine gets this one right
