"""Differentiation modes and activity annotations, mirroring Enzyme.jl's.

Modes are singletons (``Forward``, ``Reverse``, ...); ``checkpointed(mode, memory)`` is a
reverse mode that reverses time loops by binomial checkpointing within ``memory`` bytes of
snapshots (as Enzyme's mode modifiers, it returns a new mode). Annotations are small named tuples so
that Numba types them inside compiled code: ``Const(val)``, ``Active(val)``,
``Duplicated(val, dval)``, ``DuplicatedNoNeed(val, dval)``, ``BatchDuplicated(val, dvals)``,
``BatchDuplicatedNoNeed(val, dvals)`` and ``MixedDuplicated(val, dval)``. The classes
themselves serve as return activities and as argument activities for ``autodiff_thunk``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from adtriad.ad_core.errors import ADError
from adtriad.units import memory_bytes


class Mode:
    """A differentiation mode; compare by identity."""

    def __init__(self, name: str, forward: bool, with_primal: bool, split: bool = False,
                 checkpoint_memory: int | None = None):
        self.name = name
        self.is_forward = forward
        self.with_primal = with_primal
        self.split = split
        self.checkpoint_memory = checkpoint_memory  # bytes; None: time loops are taped

    def __repr__(self) -> str:
        if self.checkpoint_memory is None:
            return self.name
        return f"checkpointed({self.name}, {self.checkpoint_memory})"


Forward = Mode("Forward", forward=True, with_primal=False)
ForwardWithPrimal = Mode("ForwardWithPrimal", forward=True, with_primal=True)
Reverse = Mode("Reverse", forward=False, with_primal=False)
ReverseWithPrimal = Mode("ReverseWithPrimal", forward=False, with_primal=True)
ReverseSplitWithPrimal = Mode("ReverseSplitWithPrimal", forward=False, with_primal=True, split=True)

MODES = (Forward, ForwardWithPrimal, Reverse, ReverseWithPrimal, ReverseSplitWithPrimal)

def checkpointed(mode: Mode, memory) -> Mode:
    """``mode`` (a reverse mode) reversing time loops by binomial checkpointing: a counted
    loop at the top of the differentiated function whose body loops or calls runs forward
    keeping snapshots of its state within ``memory`` (bytes, or ``"2 GB"``), and each trip is
    recomputed from the nearest snapshot and taped only when it is reversed (Revolve's
    schedule: the fewest recomputed trips for the snapshots that fit)."""
    if not isinstance(mode, Mode) or mode.is_forward:
        raise ADError(f"checkpointed(mode, memory) takes a reverse mode (Reverse, "
                         f"ReverseWithPrimal or ReverseSplitWithPrimal), got {mode!r}")
    try:
        memory = memory_bytes(memory)
    except ValueError as err:
        raise ADError(f"checkpointed(mode, memory): {err}") from None
    return Mode(mode.name, mode.is_forward, mode.with_primal, mode.split, memory)


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
