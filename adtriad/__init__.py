"""adtriad: Enzyme-style automatic differentiation for Numba code, verified by a triad of agents.

Subpackages: ``adtriad.ad_core`` (the AD engine), ``adtriad.protocol`` (typed messages and the
GF(3) coherence checker), ``adtriad.agents`` (the three agents and their orchestrator) and
``adtriad.cli`` (the ``triad`` command). Importing this package configures nothing and starts
nothing.
"""

from adtriad._version import __version__

__all__ = ["__version__"]
