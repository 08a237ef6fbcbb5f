"""The engine's one error type.

Every refusal of the engine is an :class:`ADError` (a ``ValueError``). Its message names the
argument, or the ``file:line:col`` of the construct, and says what to do instead.
"""

from __future__ import annotations


class ADError(ValueError):
    """Raised for input the engine cannot differentiate correctly, or misuse of the API."""
