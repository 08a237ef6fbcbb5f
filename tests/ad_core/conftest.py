"""Shared set-up of the ad_core tests.

* The corpus (``functions.py``) is imported as the module ``functions``, as Tangent's tests do.
* ``ADTRIAD_EXHAUSTIVE=1`` runs the corpus in every activity combination, every mode and every
  case (by default a selection keeps ``test_corpus.py`` to a few minutes; see its docstring).
* Compiling derivatives dominates the corpus run and Numba compiles on one core. When many
  corpus cases are selected and a second core is there, a helper process warms the engine's
  on-disk cache from the far end of the run (``python test_corpus.py --warm``) while the tests
  run from the front; it stops where the two meet, and the tests load what it compiled.
  ``ADTRIAD_NO_WARMUP=1`` turns it off.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

# (off under pytest-xdist too: the second core already runs a worker)
_WARMUP_OFF = os.environ.get("ADTRIAD_NO_WARMUP", "").strip().lower() in ("1", "true", "yes") \
    or "PYTEST_XDIST_WORKER" in os.environ
_MIN_UNITS = 30


def compile_unit(params: dict) -> tuple:
    """The derivative module a corpus case needs: (function, Const arguments, direction)."""
    direction = "forward" if params["mode"].startswith("Forward") else "reverse"
    return params["name"], tuple(sorted(params["consts"])), direction


class _Warmup:
    def __init__(self, units: list[tuple]):
        self.dir = tempfile.mkdtemp(prefix="adtriad-warmup-")
        self.units_path = os.path.join(self.dir, "units.json")
        self.progress_path = os.path.join(self.dir, "progress")
        with open(self.units_path, "w") as fh:
            json.dump(units, fh)
        self.write_progress(0)
        self.index = {u: i for i, u in enumerate(units)}
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "test_corpus.py"), "--warm", self.units_path, self.progress_path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(HERE),
        )

    def write_progress(self, i: int) -> None:
        tmp = self.progress_path + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(str(i))
        os.replace(tmp, self.progress_path)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


_warmup: _Warmup | None = None


def pytest_collection_modifyitems(session, config, items):
    global _warmup
    if _WARMUP_OFF or (os.cpu_count() or 1) < 2 or _warmup is not None:
        return
    units: list[tuple] = []
    for item in items:
        if getattr(item, "originalname", None) == "test_corpus" and hasattr(item, "callspec"):
            u = compile_unit(item.callspec.params)
            if u not in units:
                units.append(u)
    if len(units) >= _MIN_UNITS:
        _warmup = _Warmup(units)


def pytest_runtest_setup(item):
    if _warmup is not None and getattr(item, "originalname", None) == "test_corpus":
        i = _warmup.index.get(compile_unit(item.callspec.params))
        if i is not None:
            _warmup.write_progress(i)


def pytest_sessionfinish(session, exitstatus):
    global _warmup
    if _warmup is not None:
        _warmup.stop()
        _warmup = None
