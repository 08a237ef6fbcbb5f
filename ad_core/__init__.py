"""adtriad.ad_core — Enzyme-style automatic differentiation of Numba-compilable Python.

The engine turns a function's source into derivative source (forward or reverse mode),
compiles it with Numba and caches it on disk. Public names follow API.md.
"""

from adtriad.ad_core.annotations import (
    Active, BatchDuplicated, BatchDuplicatedNoNeed, Const, Duplicated, DuplicatedNoNeed,
    Forward, ForwardWithPrimal, MixedDuplicated, Reverse, ReverseSplitWithPrimal,
    ReverseWithPrimal, checkpointed,
)
from adtriad.ad_core.api import (
    autodiff, autodiff_thunk, derivative_source, gradient, hvp, jacobian,
)
from adtriad.ad_core.activity import ADTypeWarning
from adtriad.ad_core.deferred import autodiff_deferred
from adtriad.ad_core.errors import ADError

__all__ = [
    "autodiff", "autodiff_thunk", "autodiff_deferred", "gradient", "jacobian", "hvp", "derivative_source",
    "Forward", "ForwardWithPrimal", "Reverse", "ReverseWithPrimal", "ReverseSplitWithPrimal",
    "Const", "Active", "Duplicated", "DuplicatedNoNeed", "BatchDuplicated",
    "BatchDuplicatedNoNeed", "MixedDuplicated", "ADError", "ADTypeWarning", "checkpointed",
]
