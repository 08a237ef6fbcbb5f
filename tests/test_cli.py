"""The triad command: global options, logging on stderr only, results on stdout, exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adtriad import __version__
from adtriad.cli import app

sys.path.insert(0, str(Path(__file__).parent))
from cli_runner import _reset_structlog, runner  # noqa: E402,F401 - the fixture applies here


def triad(*args, env=None):
    return runner.invoke(app, list(args), env={"TRIAD_CONFIG": None, **(env or {})})


def test_help_lists_commands_and_global_options():
    result = triad("--help")
    assert result.exit_code == 0
    for word in ("version", "schema", "config", "--config", "--log-format", "--log-level"):
        assert word in result.stdout


def test_version():
    result = triad("version")
    assert result.exit_code == 0 and result.stdout.strip() == __version__


def test_schema_is_json_naming_the_message_fields():
    result = triad("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert {"from", "to", "payload", "seed"} <= set(schema["properties"])
    assert schema["title"] == "TriadMessage"


def test_json_logs_go_to_stderr_only():
    result = triad("--log-format", "json", "--log-level", "debug", "version")
    assert result.exit_code == 0
    assert result.stdout.strip() == __version__
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines and lines[0]["event"] == "configured" and lines[0]["level"] == "debug"
    assert lines[0]["command"] == "version" and "timestamp" in lines[0]


def test_console_logs_are_for_people():
    result = triad("--log-level", "DEBUG", "version")
    assert result.exit_code == 0 and "configured" in result.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stderr.splitlines()[0])


def test_default_level_hides_debug():
    result = triad("version")
    assert result.stderr == ""


def test_config_layers_reach_commands(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("logging: {level: error}\nray: {num_cpus: 2}\n")
    result = triad(
        "--config", str(path), "--log-level", "warning", "config", env={"TRIAD_RAY__NUM_CPUS": "4"}
    )
    assert result.exit_code == 0, result.stderr
    shown = __import__("yaml").safe_load(result.stdout)
    assert shown["logging"]["level"] == "warning" and shown["ray"]["num_cpus"] == 4


@pytest.mark.parametrize(
    "args, env, words",
    [
        (["--log-format", "xml", "version"], {}, ["--log-format"]),
        (["--config", "/does/not/exist.yaml", "version"], {}, ["--config"]),
        (["nonsense"], {}, ["nonsense"]),
        (["version"], {"TRIAD_RAY__NUM_CPUS": "many"}, ["TRIAD_RAY__NUM_CPUS"]),
        (["version"], {"TRIAD_CONFIG": "/does/not/exist.yaml"}, ["/does/not/exist.yaml"]),
    ],
)
def test_bad_input_exits_2(args, env, words):
    result = triad(*args, env=env)
    assert result.exit_code == 2
    assert result.stdout == ""
    for word in words:
        assert word in result.stderr


def test_bad_config_file_exits_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("ray: {port: 1}\n")
    result = triad("--config", str(path), "version")
    assert result.exit_code == 2 and "ray.port" in result.stderr


def test_importing_configures_no_logging():
    code = (
        "import structlog, adtriad, adtriad.protocol, adtriad.config, adtriad.logs, adtriad.cli\n"
        "assert not structlog.is_configured()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_library_logs_go_through_logging_until_structlog_is_configured(caplog, capsys):
    import logging

    from adtriad.logs import configure_logging, get_logger

    log = get_logger("adtriad.test")
    with caplog.at_level(logging.DEBUG, logger="adtriad.test"):
        log.debug("round", status="passed")
    assert [r.getMessage() for r in caplog.records] == ["round status=passed"]
    assert capsys.readouterr().out == ""
    configure_logging("json", "info")  # the command's set-up: structlog, on stderr
    log.info("configured", where="stderr")
    out, err = capsys.readouterr()
    assert out == "" and json.loads(err)["event"] == "configured"
