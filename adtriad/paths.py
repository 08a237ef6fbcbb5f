"""Default locations, shared by the configuration and the engine (kept import-light)."""

DEFAULT_CACHE_DIR = "~/.cache/adtriad"
