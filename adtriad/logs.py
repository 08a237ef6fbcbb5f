"""Logging for triad: structlog, set up by the command line only.

Contract: importing any adtriad module configures nothing; library code only calls
``structlog.get_logger(...)``. :func:`configure_logging` (called by ``triad``'s global options,
or by an embedding program that wants the same output) sends every log line to stderr, leaving
stdout to results: human-readable ``console`` lines (coloured on a terminal) or ``json``, one
object per line with ``timestamp`` (UTC, ISO 8601), ``level`` and ``event``.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

from adtriad.config import LogFormat, LogLevel

__all__ = ["configure_logging"]


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
