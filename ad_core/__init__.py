"""The AD engine (filled in by the engine modules)."""
