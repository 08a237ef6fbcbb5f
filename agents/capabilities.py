"""Which engine features exist yet: a small table that probes the engine once per process.

Contract: :func:`capabilities` maps each feature a scenario may ``require`` to ``None`` when
the engine has it, or to the reason it is missing. ``batch`` is probed by calling the engine
with ``BatchDuplicated`` (an ``ADError`` saying "not supported yet" means missing);
``gpu_kernel`` needs ``autodiff_deferred``'s CUDA target (``deferred.CUDA_TARGET``; kernels
run on the GPU when there is one, else on the CPU kernel backend); ``custom_rules`` needs the
rule API of ``adtriad.ad_core.rules``. :func:`missing` lists the unmet requirements of a scenario; an
unknown feature name is reported as missing, never ignored.
"""

from __future__ import annotations

from functools import cache

__all__ = ["FEATURES", "capabilities", "missing"]

FEATURES = ("batch", "gpu_kernel", "custom_rules")


def _batch() -> str | None:
    from adtriad import ad_core

    def twice(x):
        return 2.0 * x

    try:
        ad_core.autodiff(ad_core.Forward, twice, ad_core.BatchDuplicated(1.0, (1.0, 2.0)))
    except ad_core.ADError as err:
        if "not supported yet" in str(err):
            return f"the engine refuses BatchDuplicated ({err})"
        raise
    return None


def _gpu_kernel() -> str | None:
    from adtriad.ad_core import deferred

    if not getattr(deferred, "CUDA_TARGET", False):
        return "autodiff_deferred has no CUDA target"
    return None


def _custom_rules() -> str | None:
    from adtriad.ad_core import rules

    needed = ("import_frule", "import_rrule", "AugmentedReturn")
    absent = [name for name in needed if not hasattr(rules, name)]
    if absent:
        return f"adtriad.ad_core.rules has no {', '.join(absent)} (custom rules have not landed)"
    return None


_PROBES = {"batch": _batch, "gpu_kernel": _gpu_kernel, "custom_rules": _custom_rules}


@cache
def capabilities() -> dict[str, str | None]:
    """Feature → ``None`` when available, else why not."""
    return {name: probe() for name, probe in _PROBES.items()}


def missing(requires) -> dict[str, str]:
    """The features in ``requires`` that are not available, with the reason."""
    table = capabilities()
    out = {}
    for name in requires:
        if name not in table:
            out[name] = f"unknown feature {name!r} (known: {', '.join(FEATURES)})"
        elif table[name] is not None:
            out[name] = table[name]
    return out
