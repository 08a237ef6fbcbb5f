"""The record every corpus entry is registered with, and helpers that build argument values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class Entry:
    """One function of the corpus and how to call it.

    ``function`` is what ``check_grads`` differentiates: the third-party kernel itself (when it
    returns a float, or writes the arrays it is given) or a scalar objective wrapper around it.
    ``make_args(k)`` gives the plain argument values at point ``k`` (floats, float arrays,
    ints); a float is annotated ``Active``, a float array ``Duplicated(x, zeros_like(x))``, an
    int is passed bare, and the indices in ``const`` are ``Const`` (data, fixed weights).
    """

    name: str
    function: Callable
    make_args: Callable[[int], tuple]
    source: str  # "owner/repo: path" of the kernel
    const: tuple = ()
    group: str = ""  # the corpus module (the source), filled in by the package
    construct: str = ""  # what the entry exercises, in a few words


def rng(k: int, salt: int = 0) -> np.random.Generator:
    """The random generator of point ``k`` (and an entry-specific ``salt``)."""
    return np.random.default_rng(1000 * salt + k)


def spd(n: int, g: np.random.Generator) -> np.ndarray:
    """A well-conditioned symmetric positive definite matrix."""
    a = g.standard_normal((n, n))
    return a @ a.T / n + n * np.eye(n)


def diag_dominant(n: int, g: np.random.Generator) -> np.ndarray:
    """A matrix with a dominant diagonal (LU without pivoting is stable)."""
    return g.standard_normal((n, n)) + n * np.eye(n)
