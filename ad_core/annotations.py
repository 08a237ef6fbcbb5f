"""Differentiation modes and activity annotations, mirroring Enzyme.jl's.

Modes are singletons (``Forward``, ``Reverse``, ...). Annotations are small named tuples so
that Numba types them inside compiled code: ``Const(val)``, ``Active(val)``,
``Duplicated(val, dval)``, ``DuplicatedNoNeed(val, dval)``, ``BatchDuplicated(val, dvals)``,
``BatchDuplicatedNoNeed(val, dvals)`` and ``MixedDuplicated(val, dval)``. The classes
themselves serve as return activities and as argument activities for ``autodiff_thunk``.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Mode:
    """A differentiation mode; compare by identity."""

    def __init__(self, name: str, forward: bool, with_primal: bool, split: bool = False):
        self.name = name
        self.is_forward = forward
        self.with_primal = with_primal
        self.split = split

    def __repr__(self) -> str:
        return self.name


Forward = Mode("Forward", forward=True, with_primal=False)
ForwardWithPrimal = Mode("ForwardWithPrimal", forward=True, with_primal=True)
Reverse = Mode("Reverse", forward=False, with_primal=False)
ReverseWithPrimal = Mode("ReverseWithPrimal", forward=False, with_primal=True)
ReverseSplitWithPrimal = Mode("ReverseSplitWithPrimal", forward=False, with_primal=True, split=True)

MODES = (Forward, ForwardWithPrimal, Reverse, ReverseWithPrimal, ReverseSplitWithPrimal)


class Const(NamedTuple):
    """A value that is not differentiated."""

    val: Any


class Active(NamedTuple):
    """A float scalar whose derivative is returned (reverse modes only)."""

    val: Any


class Duplicated(NamedTuple):
    """A value with its shadow: tangent in forward mode, accumulated adjoint in reverse mode."""

    val: Any
    dval: Any


class DuplicatedNoNeed(NamedTuple):
    """Like Duplicated, but the primal result need not be computed."""

    val: Any
    dval: Any


class BatchDuplicated(NamedTuple):
    """A value with a tuple of N shadows, differentiated in one pass."""

    val: Any
    dval: tuple


class BatchDuplicatedNoNeed(NamedTuple):
    """Like BatchDuplicated, but the primal result need not be computed."""

    val: Any
    dval: tuple


class MixedDuplicated(NamedTuple):
    """A tuple/namedtuple of float scalars and arrays: arrays accumulate, scalars are returned."""

    val: Any
    dval: Any


ANNOTATIONS = (Const, Active, Duplicated, DuplicatedNoNeed, BatchDuplicated,
               BatchDuplicatedNoNeed, MixedDuplicated)
SHADOWED = (Duplicated, DuplicatedNoNeed)
BATCHED = (BatchDuplicated, BatchDuplicatedNoNeed)
