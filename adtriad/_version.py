"""The one place adtriad's version is written; packaging and cache keys read it."""

__version__ = "0.1.0"
