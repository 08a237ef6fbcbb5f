"""Logging for triad: structlog, set up by the command line only.

Contract: importing any adtriad module configures nothing; library code logs through
:func:`get_logger`, which is structlog's logger once the process has configured structlog and
otherwise the standard library's ``logging`` (so a program embedding triad gets nothing on
stdout: warnings and errors reach stderr through logging's last resort, the rest only where that
program configures logging). :func:`configure_logging` (called by ``triad``'s global options,
or by an embedding program that wants the same output) sends every log line to stderr, leaving
stdout to results: human-readable ``console`` lines (coloured on a terminal) or ``json``, one
object per line with ``timestamp`` (UTC, ISO 8601), ``level`` and ``event``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from adtriad.config import LogFormat, LogLevel

__all__ = ["configure_logging", "get_logger"]


def configure_logging(
    format: LogFormat = "console", level: LogLevel = "info", *, stream: TextIO | None = None
) -> None:
    """Configure structlog for the whole process.

    Args:
        format: ``"console"`` or ``"json"``.
        level: the least severe level logged (``"debug"`` ... ``"critical"``).
        stream: where lines go; ``sys.stderr`` (as it is at call time) when ``None``.
    """
    stream = sys.stderr if stream is None else stream
    if format == "json":
        renderer: structlog.typing.Processor = structlog.processors.JSONRenderer()
        tracebacks: list[structlog.typing.Processor] = [structlog.processors.dict_tracebacks]
    elif format == "console":
        isatty = getattr(stream, "isatty", None)
        renderer = structlog.dev.ConsoleRenderer(colors=bool(isatty and isatty()))
        tracebacks = []
    else:
        raise ValueError(f"log format {format!r} is not 'console' or 'json'")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            *tracebacks,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


class _LibraryLogger:
    """A logger deciding at each call where its line goes (see the module contract): decided
    late, because modules create their loggers at import, before the command configures."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, level: str) -> Any:
        if structlog.is_configured():
            return getattr(structlog.get_logger(self.name), level)
        number = logging.getLevelNamesMapping()["WARNING" if level == "warn" else level.upper()]
        stdlib = logging.getLogger(self.name)

        def log(event: str, **fields: Any) -> None:
            if stdlib.isEnabledFor(number):
                stdlib.log(number, " ".join([event, *(f"{k}={v}" for k, v in fields.items())]))
        return log


def get_logger(name: str) -> Any:
    """The logger library code uses for ``name`` (``adtriad.sweep``, ...)."""
    return _LibraryLogger(name)
