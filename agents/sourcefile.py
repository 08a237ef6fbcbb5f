"""Kernel source → an importable module file, so the engine sees real source.

Contract: :func:`load_kernel` imports ``source`` from the file it was read from when that
file is on this machine and still holds exactly ``source`` (so tracebacks, Numba's errors and
the engine's refusals name the user's file:line); otherwise it writes ``source`` to
``<directory>/adtriad_kernel_<hash>.py`` (atomically, once per content). Either way it imports
it under the digest's module name (registered in
``sys.modules``, so ``inspect.getsource`` and Numba's on-disk cache work) and returns the entry
function. The same source is imported once per process. Errors raised while importing the
source propagate unchanged. When a copy stands in for the user's file (a source embedded in
it, a scenario's ``source: |`` block, or a file this machine does not have),
:func:`user_locations` maps the copy's ``FILE:LINE[:COL]`` and ``File "FILE", line N`` in a
message back to the user's file. :func:`launched` turns a ``numba.cuda`` kernel and its launch
configuration into a plain function running every thread (on the CPU kernel backend, so the
oracles stay on the CPU in float64).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["kernel_module_name", "launched", "load_kernel", "user_locations"]

# a copy imported in place of a user's file → (that file, its line of the source's line 1,
# indent): a source embedded in it, or a file this machine does not have (a remote node)
_COPIES: dict[str, tuple[str, int, int]] = {}


def kernel_module_name(source: str) -> str:
    """The module name of ``source``: a digest of its text."""
    return "adtriad_kernel_" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:20]


def load_kernel(source: str, entry: str, directory: Path, origin: str | None = None,
                line: int | None = None, column: int = 0) -> Any:
    """Import ``source`` and return its function ``entry``: from ``origin`` when that file
    holds exactly ``source`` (errors then name the user's file), else from a copy in
    ``directory``. ``line`` and ``column``: ``source`` is embedded in ``origin``, its line 1
    at that line, every line indented by ``column`` spaces."""
    name = kernel_module_name(source)
    module = sys.modules.get(name)
    if module is None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.py"
        if origin is not None and line is None and _holds(Path(origin), source):
            path = Path(origin)
        else:
            if not path.exists() or path.read_text(encoding="utf-8") != source:
                fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(source)
                os.replace(tmp, path)
            if origin is not None:
                _COPIES[str(path)] = (origin, line or 1, column)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    try:
        return getattr(module, entry)
    except AttributeError:
        raise AttributeError(f"the kernel source defines no {entry!r}") from None


def user_locations(text: str) -> str:
    """``text`` with every location in a copy of a user's source moved to the user's file
    (line shifted, column shifted by the indent); other text unchanged."""
    for copy, (origin, first, indent) in _COPIES.items():
        if copy not in text:
            continue

        def moved(m: re.Match, origin=origin, first=first, indent=indent) -> str:
            if m.group("quoted") is not None:
                return f'{origin}", line {int(m.group("quoted")) + first - 1}'
            at = f"{origin}:{int(m.group('line')) + first - 1}"
            return at if m.group("col") is None else f"{at}:{int(m.group('col')) + indent}"

        pattern = re.escape(copy) + r'(?::(?P<line>\d+)(?::(?P<col>\d+))?|", line (?P<quoted>\d+))'
        text = re.sub(pattern, moved, text)
    return text


def _holds(path: Path, source: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == source
    except (OSError, UnicodeDecodeError):
        return False  # not on this machine (a remote node), or changed since it was sent


def launched(func: Any, launch: Any) -> Any:
    """``func`` itself, or for a kernel a function launching it with ``launch``."""
    from adtriad.ad_core.gpu.kernels import cpu_kernel, is_cuda_function

    if not is_cuda_function(func):
        return func
    if launch is None:
        raise ValueError(f"{func.__name__} is a numba.cuda kernel: the scenario needs "
                         "kernel.launch (blocks and threads)")
    run = cpu_kernel(func)[launch.blocks, launch.threads]

    def launch_kernel(*args):
        run(*args)
    launch_kernel.__name__ = func.__name__
    return launch_kernel
