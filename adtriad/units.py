"""Amounts of memory written as people write them: ``4096``, ``"2 GB"``, ``"512 MiB"``.

Contract: :func:`memory_bytes` returns a positive number of bytes or raises ValueError saying
what it expected. It imports nothing of the engine, so the configuration can validate with it.
"""

from __future__ import annotations

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def memory_bytes(memory) -> int:
    """Bytes from an int or a string such as ``"2 GB"`` or ``"512MiB"`` (at least one)."""
    if isinstance(memory, str):
        text = memory.strip().upper()
        number = text.rstrip("BITEKMG ")
        unit = text[len(number):].replace(" ", "")
        try:
            value = float(number) * _UNITS[unit]
        except (KeyError, ValueError):
            raise ValueError(f"{memory!r} is not an amount of memory such as '2 GB' or "
                             "'512 MiB'") from None
    elif isinstance(memory, (int, float)) and not isinstance(memory, bool):
        value = memory
    else:
        raise ValueError(f"{memory!r} is not an amount of memory (bytes, or a string such as "
                         "'2 GB')")
    if not value >= 1:
        raise ValueError(f"an amount of memory must be at least one byte, got {memory!r}")
    return int(value)
