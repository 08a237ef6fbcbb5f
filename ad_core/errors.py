"""The engine's one error type and the helper that points an error at user source.

Every refusal of the engine is an :class:`ADError` (a ``ValueError``). Its message names the
argument, or the ``file:line:col`` of the construct, and says what to do instead.
"""

from __future__ import annotations


class ADError(ValueError):
    """Raised for input the engine cannot differentiate correctly, or misuse of the API."""


def location(filename: str, lineno: int, col: int | None = None) -> str:
    """``file:line:col`` (or ``file:line``) for messages and generated-code stamps."""
    return f"{filename}:{lineno}" if col is None else f"{filename}:{lineno}:{col + 1}"
