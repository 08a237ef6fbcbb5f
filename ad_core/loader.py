"""Generated Python modules: where they are written, how they are loaded, and the objects
they refer to.

Contract: every module the engine generates (derivative code, kernels' per-thread functions,
trampolines of ruled functions, pullbacks of imported rrules) is written to a real file in
:func:`cache_dir` — Numba's ``cache=True`` and ``inspect.getsource`` need one — with
:func:`write_module` (atomically: processes may write the same file) and imported with
:func:`load_module`. Objects generated code cannot spell (user functions, rule bodies, bound
arrays) are registered with :func:`bind` and read back with :func:`binding` under a key that
is stable across processes. This module imports nothing else of the engine.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

from adtriad.paths import DEFAULT_CACHE_DIR

_BINDINGS: dict[str, object] = {}
_cache_dir: Path | None = None


def bind(key: str, obj) -> str:
    """Register ``obj`` for generated code under ``key``; returns the key."""
    _BINDINGS[key] = obj
    return key


def binding(key: str):
    """An object generated modules refer to, by key."""
    return _BINDINGS[key]


def set_cache_dir(path) -> None:
    """Where generated modules are written (default: the ``generated`` folder of the
    configured ``engine.cache_dir``, ``~/.cache/adtriad``; ``TRIAD_ENGINE__CACHE_DIR``
    moves it)."""
    global _cache_dir
    _cache_dir = Path(path).expanduser()


def cache_dir() -> Path:
    global _cache_dir
    if _cache_dir is None:
        env = os.environ.get("TRIAD_ENGINE__CACHE_DIR")
        if env:
            _cache_dir = Path(env).expanduser() / "generated"
        elif os.environ.get("TRIAD_CONFIG"):  # a config file may move it: read it
            from adtriad.config import load_config
            _cache_dir = load_config().engine.cache_dir / "generated"
        else:
            _cache_dir = Path(DEFAULT_CACHE_DIR).expanduser() / "generated"
    return _cache_dir


def write_module(path: Path, text: str) -> Path:
    """Write generated source atomically (concurrent processes may write the same file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


def load_module(name: str, path: Path):
    """Import the generated file ``path`` as the module ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def generated(name: str, text: str):
    """Write ``text`` as ``<cache dir>/<name>.py`` and import it."""
    return load_module(name, write_module(cache_dir() / f"{name}.py", text))
