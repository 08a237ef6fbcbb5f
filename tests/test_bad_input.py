"""Files a user hands triad that cannot be read: exit 2 with the path (and line), nothing lost."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from adtriad.cli import app
from adtriad.config import ConfigError, load_config
from adtriad.paths import UnreadableFile, read_user_text

sys.path.insert(0, str(Path(__file__).parent))
from cli_runner import _reset_structlog, runner  # noqa: E402,F401 - the fixture applies here

LATIN1 = "name: caf\u00e9\nkernel: {builtin: poly}\n".encode("latin-1")


def test_read_user_text_names_line_and_column_of_a_byte_that_is_not_utf8(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(LATIN1)
    with pytest.raises(UnreadableFile, match=r"s\.yaml:1:10: not UTF-8 text \(byte 0xe9\); save"):
        read_user_text(path)
    assert path.read_bytes() == LATIN1
    with pytest.raises(UnreadableFile, match="a directory, not a file"):
        read_user_text(tmp_path)
    with pytest.raises(UnreadableFile, match="no such file"):
        read_user_text(tmp_path / "absent.yaml")


@pytest.mark.parametrize("command", [["run", "--backend", "local"], ["sweep"]])
def test_scenario_that_is_not_utf8_or_is_a_directory_exits_2(tmp_path, command):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(LATIN1)
    result = runner.invoke(app, [*command, str(path)], env={"TRIAD_CONFIG": None})
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert f"{path}:1:10: not UTF-8" in result.stderr + result.stdout
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    result = runner.invoke(app, [*command, str(folder)], env={"TRIAD_CONFIG": None})
    assert result.exit_code == 2 and "a directory" in result.stderr + result.stdout


def test_kernel_file_that_is_not_utf8_is_named_in_the_scenario(tmp_path):
    (tmp_path / "k.py").write_bytes(b"def f(x):\n    return x  # \xff\n")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nkernel: {ref: k.py:f}\nmode: Reverse\n"
                        "arguments:\n  x: {activity: Active, value: 1.0}\n")
    result = runner.invoke(app, ["run", "--backend", "local", str(scenario)], env={"TRIAD_CONFIG": None})
    assert result.exit_code == 2
    assert f"{scenario}:2: kernel:" in result.stderr and "k.py:2:" in result.stderr
    assert "not UTF-8" in result.stderr


def test_config_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "triad.yaml"
    path.write_bytes(b"logging: {level: debug}\n# \xe9\n")
    with pytest.raises(ConfigError, match=r"config file .*triad\.yaml:2:3: not UTF-8"):
        load_config(path, env={})
