"""Configuration: defaults, configs/default.yaml, and the layers file < environment < overrides."""

import doctest
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

import adtriad.config
from adtriad.config import ConfigError, TriadConfig, load_config
from adtriad.protocol import DEFAULT_TRITS, Role, check_round

DEFAULT_YAML = Path(__file__).resolve().parents[1] / "configs" / "default.yaml"


def keys(tree):
    if isinstance(tree, dict):
        return {k: keys(v) for k, v in tree.items()}
    return None


def test_default_yaml_documents_exactly_the_builtin_defaults():
    raw = yaml.safe_load(DEFAULT_YAML.read_text())
    assert keys(raw) == keys(TriadConfig().model_dump(mode="json"))
    assert TriadConfig.model_validate(raw) == TriadConfig()
    assert load_config(DEFAULT_YAML, env={}) == load_config(env={})


def test_defaults():
    cfg = load_config(env={})
    assert cfg.engine.cache_dir == Path.home() / ".cache" / "adtriad"
    assert cfg.roles.trits == dict(DEFAULT_TRITS)
    assert cfg.logging.format == "console" and cfg.logging.level == "info"
    assert cfg.ray.address is None and cfg.ray.init_kwargs() == {
        "namespace": "adtriad",
        "include_dashboard": False,
    }
    assert cfg.tolerances.float32.rtol > cfg.tolerances.float64.rtol


def write(tmp_path, text, name="triad.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_precedence_file_env_command_line(tmp_path):
    path = write(
        tmp_path,
        "logging: {level: debug, format: json}\nray: {namespace: from-file, num_cpus: 2}\n",
    )
    env = {"TRIAD_LOGGING__LEVEL": "warning", "TRIAD_RAY__NUM_CPUS": "3"}
    cfg = load_config(path, env=env, overrides={"logging": {"level": "error"}})
    assert cfg.logging.level == "error"  # command line beats environment and file
    assert cfg.ray.num_cpus == 3  # environment beats file
    assert cfg.ray.namespace == "from-file"  # file beats defaults
    assert cfg.logging.format == "json"
    assert cfg.tolerances == TriadConfig().tolerances  # untouched defaults stay


def test_config_file_from_environment(tmp_path):
    path = write(tmp_path, "engine:\n  cache_dir: ~/elsewhere\n")
    cfg = load_config(env={"TRIAD_CONFIG": str(path)})
    assert cfg.engine.cache_dir == Path.home() / "elsewhere"
    assert load_config(path, env={"TRIAD_CONFIG": "/does/not/exist"}) == cfg  # the argument wins


def test_environment_values(tmp_path):
    cfg = load_config(
        env={
            "TRIAD_TOLERANCES__FLOAT32__RTOL": "1e-3",
            "TRIAD_ROLES__TRITS__AUTODIFF": "1",
            "TRIAD_RAY__INCLUDE_DASHBOARD": "true",
            "TRIAD_RAY__ADDRESS": "auto",
            "TRIAD_RAY__TEMP_DIR": str(tmp_path),
            "TRIAD_LOGGING__LEVEL": "DEBUG",
            "TRIAD_UNRELATED": "ignored",
            "OTHER__THING": "ignored",
        }
    )
    assert cfg.tolerances.float32.rtol == 1e-3
    assert cfg.roles.trits[Role.autodiff] == 1
    assert cfg.ray.include_dashboard is True and cfg.ray.temp_dir == tmp_path
    assert cfg.ray.init_kwargs() == {"namespace": "adtriad", "address": "auto"}
    assert cfg.logging.level == "debug"
    assert load_config(env={"TRIAD_RAY__ADDRESS": ""}).ray.address is None


def test_local_ray_options():
    cfg = load_config(
        env={}, overrides={"ray": {"num_cpus": 2, "num_gpus": 0, "temp_dir": "/tmp/r"}}
    )
    assert cfg.ray.init_kwargs() == {
        "namespace": "adtriad",
        "include_dashboard": False,
        "num_cpus": 2,
        "num_gpus": 0,
        "_temp_dir": "/tmp/r",
    }


@pytest.mark.parametrize(
    "env, words",
    [
        ({"TRIAD_RAY__NUM_CPUS": "many"}, ["TRIAD_RAY__NUM_CPUS", "ray.num_cpus"]),
        ({"TRIAD_RAY__NUMCPUS": "2"}, ["TRIAD_RAY__NUMCPUS", "unknown setting", "ray.numcpus"]),
        ({"TRIAD_RAY__ADDRESS__HOST": "x"}, ["TRIAD_RAY__ADDRESS__HOST", "unknown setting"]),
        ({"TRIAD_ROLES__TRITS__AUTODIFF": "2"}, ["TRIAD_ROLES__TRITS__AUTODIFF", "-1, 0 or 1"]),
        ({"TRIAD_LOGGING__FORMAT": "xml"}, ["TRIAD_LOGGING__FORMAT", "logging.format"]),
        ({"TRIAD_CONFIG": "/does/not/exist.yaml"}, ["/does/not/exist.yaml", "no such file"]),
    ],
)
def test_bad_environment_is_named(env, words):
    with pytest.raises(ConfigError) as info:
        load_config(env=env)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(
    "text, words",
    [
        ("ray: {port: 1}\n", ["unknown setting", "ray.port"]),
        ("colour: red\n", ["unknown setting", "colour"]),
        ("tolerances: {float32: {rtol: -1}}\n", ["tolerances.float32.rtol"]),
        ("roles: {trits: {enzyme: 0}}\n", ["roles.trits.enzyme"]),
        ("ray: [1, 2]\n", ["ray"]),
        ("- a\n- b\n", ["mapping"]),
        ("ray: {address: [\n", ["not valid YAML"]),
    ],
)
def test_bad_file_is_named(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(path) in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_empty_file_and_empty_section_keep_defaults(tmp_path):
    assert load_config(write(tmp_path, ""), env={}) == TriadConfig()
    assert (
        load_config(write(tmp_path, "ray:\nlogging:\n  level: error\n"), env={}).ray
        == TriadConfig().ray
    )


def test_bad_override_names_the_command_line():
    with pytest.raises(ConfigError, match="command line.*logging.level"):
        load_config(env={}, overrides={"logging": {"level": "loud"}})


def test_config_is_frozen_and_closed():
    cfg = TriadConfig()
    with pytest.raises(ValidationError):
        cfg.logging.level = "debug"
    with pytest.raises(ValidationError):
        TriadConfig.model_validate({"ray": {"port": 1}})


def test_tolerance_per_dtype():
    tol = TriadConfig().tolerances
    assert tol.for_dtype(np.float32) is tol.float32 and tol.for_dtype("float16") is tol.float32
    assert tol.for_dtype(np.complex64) is tol.float32
    assert tol.for_dtype(np.float64) is tol.float64 and tol.for_dtype("complex128") is tol.float64
    with pytest.raises(ConfigError):
        tol.for_dtype(np.int32)


def test_configured_trits_feed_the_coherence_check(tmp_path):
    path = write(tmp_path, "roles: {trits: {tempering: 1, autodiff: 0, gpu_kernels: 1}}\n")
    trits = load_config(path, env={}).roles.trits
    assert check_round([], trits=trits).trit_sum == 0  # the table is accepted as it is


def test_module_contract_and_doctests():
    assert "TRIAD_" in adtriad.config.__doc__
    assert doctest.testmod(adtriad.config).failed == 0
