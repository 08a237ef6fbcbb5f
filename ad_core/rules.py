"""Custom derivative rules (EnzymeRules-style) registered by users.

The registry's digest enters every cache key, so registering a rule never reuses code
generated without it.
"""

from __future__ import annotations

import hashlib

_REGISTRY: dict = {}


def registry_digest() -> str:
    """A hash of the registered rules (empty when there are none)."""
    if not _REGISTRY:
        return ""
    text = "|".join(sorted(f"{k}:{v!r}" for k, v in _REGISTRY.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
