"""The engine's one error type, and how refusals speak of the user's code.

Every refusal of the engine is an :class:`ADError` (a ``ValueError``). Its message names the
argument, or the ``file:line:col`` of the construct, and says what to do instead. Messages
quote the user's own line (:func:`user_line`) and never an engine temporary
(:func:`spoken`), since the normalized code the engine works on is not what the user wrote.
"""

from __future__ import annotations

import linecache
import re

from adtriad.ad_core import naming


class ADError(ValueError):
    """Raised for input the engine cannot differentiate correctly, or misuse of the API."""


def user_line(loc) -> str:
    """The user's source line at ``loc`` (an ``ir.Loc``), stripped; '' when unreadable."""
    return linecache.getline(loc.filename, loc.line).strip()


def spoken(name: str, noun: str = "value") -> str:
    """How a message names a variable: "the array 'x'"; an engine temporary is "an array
    computed on this line" (the user never wrote its name)."""
    if name.startswith(naming.PREFIX + "_"):
        return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun} computed on this line"
    return f"the {noun} {name!r}"


def at(loc, what: str, instead: str) -> ADError:
    """A refusal at ``loc``: where, the user's line, what is wrong, and what to write."""
    line = user_line(loc)
    quoted = f" (in `{line}`)" if line else ""
    return ADError(f"{loc}: {what}{quoted}; {instead}")


def numba_failure(exc, generated: str | None = None) -> tuple[str, str | None]:
    """Numba's error in one line, and the ``file:line`` stamp of the generated line it points
    at (generated lines end in ``# file:line`` of the user code they come from). ``generated``
    is a regular expression matching the generated file's name (None: no stamp wanted)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    stamp = None
    match = generated and re.search(rf'File "({generated})", line (\d+)', text)
    if match:
        line = linecache.getline(match.group(1), int(match.group(2)))
        found = re.search(r"# (.+:\d+)\s*$", line)
        stamp = found.group(1) if found else None
    skip = ("During:", "File", "Failed in", "Enable logging", "^", "<source", "Use of")
    lines = [ln.strip() for ln in text.splitlines()]
    # an overload that refused its argument types says why further down: that is the news
    specific = re.search(r"raised a specific error:\s*\w*Error: (.+)", text)
    if specific:
        return specific.group(1).strip()[:400], stamp
    first = next((ln for ln in lines if ln and not ln.startswith(skip)), text)
    return first[:400], stamp
