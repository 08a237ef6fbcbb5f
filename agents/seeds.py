"""Reproducible seeds: a master seed spawns one seed per round (NumPy ``SeedSequence``).

Contract: :func:`round_seed` is a pure function of ``(master, index)`` returning an unsigned
64-bit integer; :func:`round_rng` gives the generator a round draws its inputs from, and
:func:`probe_rng` an independent one for the verifier's random directions. The same seed always
gives the same stream, in any process.

Examples:
    >>> round_seed(42, 0) == round_seed(42, 0) != round_seed(42, 1)
    True
"""

from __future__ import annotations

import numpy as np

__all__ = ["probe_rng", "round_rng", "round_seed"]


def round_seed(master: int, index: int) -> int:
    """The seed of round ``index`` of a sweep with master seed ``master``."""
    seq = np.random.SeedSequence(int(master), spawn_key=(int(index),))
    return int(seq.generate_state(1, dtype=np.uint64)[0])


def round_rng(seed: int) -> np.random.Generator:
    """The generator a round's inputs are drawn from."""
    return np.random.default_rng(np.random.SeedSequence(int(seed)))


def probe_rng(seed: int, purpose: int) -> np.random.Generator:
    """A generator for the verifier, independent of the inputs' stream."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(1, int(purpose))))
