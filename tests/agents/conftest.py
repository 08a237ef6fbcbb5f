"""Shared set-up of the agent tests: one engine cache and one Ray instance for the session.

* ``engine_cache``: a fresh derivative cache (the engine's global cache folder is restored at
  the end), so the Ray actors load what the in-process runs compiled.
* ``cfg``: the configuration every test runs with (defaults plus that cache).
* structlog is reset after every test (``triad`` configures it onto a stream the test runner
  closes).
* ``ray_session``: a quiet local Ray instance shared by every Ray test (the orchestrator joins
  a Ray already initialised in the process and leaves it running).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import structlog

from adtriad.config import load_config

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.fixture(autouse=True)
def _reset_structlog():
    yield  # a CLI test configures structlog onto a stream that closes with the test
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def engine_cache(tmp_path_factory):
    from adtriad.ad_core import loader

    saved = loader.cache_dir()
    path = tmp_path_factory.mktemp("engine-cache")
    yield path
    loader.set_cache_dir(saved)


@pytest.fixture(scope="session")
def cfg(engine_cache):
    return load_config(env={"TRIAD_ENGINE__CACHE_DIR": str(engine_cache)})


@pytest.fixture(scope="session")
def ray_session():
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        yield ray
        return
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             namespace="adtriad-tests", _temp_dir=temp)
    yield ray
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


def write_scenario(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# A scenario whose kernel module raises on import: the agent that loads it must fail its
# round with an error message naming itself.
BOOM = """
name: boom
kernel:
  entry: f
  source: |
    raise RuntimeError("kernel module exploded")
    def f(x):
        return x
mode: Reverse
arguments: {x: {activity: Active, value: 1.0}}
"""
