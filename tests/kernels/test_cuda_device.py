"""The simulator's checks (test_cuda_simulator.py), run on a real GPU when there is one."""

import sys
from pathlib import Path

import pytest

cuda = pytest.importorskip("numba.cuda")
if not cuda.is_available():
    pytest.skip("no CUDA GPU here", allow_module_level=True)

sys.path.insert(0, str(Path(__file__).parent))
import simulated_runs  # noqa: E402
from test_cuda_simulator import *  # noqa: E402,F401,F403 - the same tests, another fixture


@pytest.fixture(scope="module")
def sim():
    return simulated_runs.run(simulated_runs.CASES)
