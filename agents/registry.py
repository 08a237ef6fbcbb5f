"""The kernel registry: where a scenario's kernel source comes from.

Contract: :func:`resolve` turns a :class:`~adtriad.agents.scenario.KernelSpec` into a
:class:`KernelSource` (name, the full module source text, the entry function, its parameter
names, and where it came from). Built-ins (:data:`BUILTINS`) are the functions of
``builtin_kernels.py``; ``module:function`` imports the module and sends its whole source file;
``path.py:function`` reads the file (relative to ``base``); inline source is parsed, never run.
The entry must be a top-level ``def`` of the source. Every problem raises
:class:`KernelSpecError` saying what to write instead.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path

from adtriad.agents import builtin_kernels
from adtriad.paths import UnreadableFile, read_user_text

__all__ = ["BUILTINS", "KernelSource", "KernelSpecError", "resolve"]


class KernelSpecError(ValueError):
    """A kernel cannot be found or does not define its entry."""


def _builtins() -> dict[str, str]:
    tree = ast.parse(inspect.getsource(builtin_kernels))
    return {node.name: node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


BUILTINS: dict[str, str] = _builtins()
"""Built-in kernel name → entry function in ``builtin_kernels.py``."""


@dataclass(frozen=True)
class KernelSource:
    """A kernel ready to travel: its source text and the function to differentiate."""

    name: str
    source: str
    entry: str
    params: tuple[str, ...]
    origin: str
    path: str | None = None
    """The file ``source`` was read from (absolute), so that errors can name it."""


def _params(source: str, entry: str, origin: str) -> tuple[str, ...]:
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise KernelSpecError(f"{origin}: not valid Python (line {err.lineno}: {err.msg})") from None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == entry:
            args = node.args
            if args.vararg or args.kwarg or args.kwonlyargs:
                raise KernelSpecError(f"{origin}: {entry} must take plain positional parameters")
            return tuple(a.arg for a in args.posonlyargs + args.args)
    raise KernelSpecError(f"{origin}: no top-level function {entry!r} (define it with def)")


def resolve(spec, base: Path | None = None) -> KernelSource:
    """The source of the kernel ``spec`` names (see the module contract)."""
    if spec.builtin is not None:
        if spec.builtin not in BUILTINS:
            raise KernelSpecError(
                f"unknown built-in kernel {spec.builtin!r}; built-ins: {', '.join(BUILTINS)}"
            )
        entry, origin = BUILTINS[spec.builtin], f"builtin:{spec.builtin}"
        source = inspect.getsource(builtin_kernels)
        file = inspect.getsourcefile(builtin_kernels)
    elif spec.ref is not None:
        where, _, entry = spec.ref.rpartition(":")
        if not where or not entry.isidentifier():
            raise KernelSpecError(f"ref {spec.ref!r}: write module:function or file.py:function")
        origin = spec.ref
        if where.endswith(".py"):
            path = Path(where) if base is None or Path(where).is_absolute() else base / where
            try:
                source = read_user_text(path)
            except UnreadableFile as err:
                raise KernelSpecError(f"ref {spec.ref!r}: {err}") from None
            file = str(path.resolve())
        else:
            try:
                module = importlib.import_module(where)
                source, file = inspect.getsource(module), inspect.getsourcefile(module)
            except Exception as err:  # an import runs arbitrary code
                raise KernelSpecError(f"ref {spec.ref!r}: cannot import {where!r} ({err})") from None
    else:
        source, entry, origin, file = spec.source, spec.entry, "inline source", None
    params = _params(source, entry, origin)
    return KernelSource(spec.name or entry, source, entry, params, origin, file)
