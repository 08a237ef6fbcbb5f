"""adtriad: Enzyme-style automatic differentiation for Numba code, verified by a triad of agents.

Subpackages: ``adtriad.ad_core`` (the AD engine), ``adtriad.protocol`` (typed messages and the
GF(3) coherence checker), ``adtriad.agents`` (the three agents and their orchestrator) and
``adtriad.cli`` (the ``triad`` command). :class:`Triad` (``from adtriad import Triad``) embeds
the triad in another program (:mod:`adtriad.facade`); it is imported on first use. Importing
this package configures nothing and starts nothing.
"""

from typing import TYPE_CHECKING, Any

from adtriad._version import __version__

if TYPE_CHECKING:
    from adtriad.facade import Triad

__all__ = ["Triad", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Triad":
        from adtriad.facade import Triad

        return Triad
    raise AttributeError(f"module 'adtriad' has no attribute {name!r}")
