"""Shared set-up of the sweep tests (imported by each test module, so that no second module
named ``conftest`` shadows another test folder's): an engine cache, the configuration, and a
small cluster.

* ``cfg``: defaults plus a fresh derivative cache shared by every triad of the session.
* ``cluster``: a ``ray.cluster_utils.Cluster`` on this machine — a head and two worker nodes
  of one CPU each — with this process connected as a driver. A Ray instance another test left
  initialised in this process is shut down first (a process joins one Ray at a time).
* ``_reset_structlog`` (autouse where imported): structlog back to its defaults after a test.
* ``write``: writes a scenario or sweep file into the test's folder.
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

CUBIC = """
name: cubic_sweep
kernel: {builtin: cubic}
mode: Reverse
master_seed: 11
arguments:
  x: {activity: Active, value: {draw: normal}}
expect:
  x: "3 * x**2 - 4 * x + 1"
checks: [analytic, finite_differences]
"""

SAXPY = """
name: saxpy_sweep
kernel: {builtin: saxpy}
mode: Reverse
return_activity: Const
master_seed: 5
arguments:
  y: {activity: Duplicated, value: {draw: zeros, shape: [96]}, shadow: 1.0}
  a: {activity: Active, value: 2.0}
  x: {activity: Duplicated, value: {draw: uniform, shape: [96]}}
checks: [finite_differences]
"""

CRASHES = """
name: crashes
kernel:
  entry: f
  source: |
    import os
    os._exit(3)  # every process that imports this kernel dies


    def f(x):
        return x * x
mode: Reverse
arguments: {x: {activity: Active, value: 1.5}}
"""


@pytest.fixture(autouse=True)
def _reset_structlog():
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory):
    from adtriad.ad_core import loader

    saved = loader.cache_dir()
    path = tmp_path_factory.mktemp("sweep-engine-cache")
    yield path
    loader.set_cache_dir(saved)


@pytest.fixture(scope="session")
def cfg(engine_dir):
    return load_config(env={"TRIAD_ENGINE__CACHE_DIR": str(engine_dir)})


@pytest.fixture
def write(tmp_path):
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="module")
def cluster():
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    temp = tempfile.mkdtemp(prefix="rsw", dir="/tmp")  # socket paths must stay short
    # Cluster() records the head's address in Ray's default folder whatever temp_dir says
    os.makedirs(os.path.join(tempfile.gettempdir(), "ray"), exist_ok=True)
    args = {"num_cpus": 1, "include_dashboard": False, "temp_dir": temp,
            "object_store_memory": 80 * 1024 * 1024}
    c = Cluster(initialize_head=True, head_node_args=args)
    workers = [c.add_node(**args) for _ in range(2)]
    c.wait_for_nodes()
    ray.init(address=c.address, namespace="adtriad-sweep-tests", log_to_driver=False,
             configure_logging=False)
    c.workers, c.node_args = workers, args
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
