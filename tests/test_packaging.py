"""Packaging: one import namespace, no top-level names of ours, the triad command works."""

import importlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import adtriad

REPO = Path(__file__).resolve().parents[1]


def test_subpackages_import():
    for name in (
        "adtriad.ad_core",
        "adtriad.agents",
        "adtriad.protocol",
        "adtriad.cli",
        "adtriad.config",
    ):
        importlib.import_module(name)


def outside_env():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.pop("TRIAD_CONFIG", None)
    return env


def test_bare_names_are_not_ours(tmp_path):
    # Run from elsewhere: the test runner's own sys.path (the repository root) must not count.
    code = (
        "import importlib.util, json\n"
        "out = {}\n"
        "assert importlib.util.find_spec('adtriad') is not None\n"
        "for name in ('agents', 'triad', 'protocol', 'ad_core'):\n"
        "    spec = importlib.util.find_spec(name)\n"
        "    places = [spec.origin, *(spec.submodule_search_locations or [])] if spec else None\n"
        "    out[name] = places\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=outside_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    for name, found in json.loads(done.stdout).items():
        if found is None:
            continue
        for place in found:
            if place and place not in ("built-in", "frozen"):
                assert not Path(place).resolve().is_relative_to(REPO), f"{name} resolves to {place}"


def test_defaults_need_no_repository(tmp_path):
    code = "from adtriad.config import load_config; print(load_config(env={}).logging.format)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=outside_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "console"


def triad_script():
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "triad"
        if candidate.exists():
            return str(candidate)
    return shutil.which("triad")


def test_triad_version_command(tmp_path):
    script = triad_script()
    assert script, "the triad console script is not installed"
    done = subprocess.run(
        [script, "version"], cwd=tmp_path, env=outside_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == adtriad.__version__
    assert done.stderr == ""


def test_python_m_cli(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "adtriad.cli", "version"],
        cwd=tmp_path,
        env=outside_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stdout.strip() == adtriad.__version__


def test_bad_option_exit_code(tmp_path):
    script = triad_script()
    if script is None:
        pytest.skip("no triad script")
    done = subprocess.run(
        [script, "--log-format", "xml", "version"],
        cwd=tmp_path,
        env=outside_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
