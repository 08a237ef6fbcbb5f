"""The three roles of the triad and their trits.

Contract: :class:`Role` names the three agents (``tempering``, ``autodiff``, ``gpu_kernels``);
:data:`DEFAULT_TRITS` gives each its element of GF(3) (−1, 0, +1, which sum to 0 mod 3). Trits
are configurable: anything that takes a trit table accepts a mapping ``Role -> int`` and checks
it with :func:`validate_trits` (every role present, each value in {−1, 0, +1}).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

__all__ = ["DEFAULT_TRITS", "Role", "validate_trits"]


class Role(StrEnum):
    """A member of the triad; its value is the name used in JSON and configuration."""

    tempering = "tempering"
    """Seed provider and verifier (trit −1 by default)."""
    autodiff = "autodiff"
    """The differentiator, ERGODIC (trit 0 by default)."""
    gpu_kernels = "gpu_kernels"
    """Kernel and input provider (trit +1 by default)."""


DEFAULT_TRITS: Mapping[Role, int] = MappingProxyType(
    {Role.tempering: -1, Role.autodiff: 0, Role.gpu_kernels: 1}
)
"""The trits of the seed document: (−1) + 0 + (+1) ≡ 0 (mod 3)."""


def validate_trits(trits: Mapping[Role, int] | None) -> dict[Role, int]:
    """Return a checked copy of a trit table (``None`` gives :data:`DEFAULT_TRITS`).

    Raises:
        ValueError: a role is missing or unknown, or a trit is not −1, 0 or +1.

    Examples:
        >>> validate_trits({"tempering": 1, "autodiff": 1, "gpu_kernels": 1})[Role.autodiff]
        1
    """
    if trits is None:
        return dict(DEFAULT_TRITS)
    table: dict[Role, int] = {}
    for key, value in trits.items():
        try:
            role = Role(key)
        except ValueError:
            raise ValueError(f"trits: unknown role {key!r}; roles are {_names()}") from None
        if isinstance(value, bool) or not isinstance(value, int) or value not in (-1, 0, 1):
            raise ValueError(f"trits.{role.value}: a trit is -1, 0 or 1, got {value!r}")
        table[role] = value
    missing = [role.value for role in Role if role not in table]
    if missing:
        raise ValueError(f"trits: no trit for {', '.join(missing)}; every role needs one")
    return table


def _names() -> str:
    return ", ".join(role.value for role in Role)
