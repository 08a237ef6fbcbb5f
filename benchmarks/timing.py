"""The one timing helper every benchmark uses: the median of repeated runs after a warm-up."""

from __future__ import annotations

import time

import numpy as np


def median_time(fn, repeat: int = 5) -> float:
    """Seconds per call of ``fn()``: one warm-up call, then the median of ``repeat`` calls."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def tape_bytes(func, reverse_args, mode=None) -> int:
    """Peak tape bytes of the last reverse call of ``func`` with these annotated arguments
    (``autodiff(mode or Reverse, func, *reverse_args)`` must have run): the float and int
    stacks' fill counts, as the augmented sweep recorded them for sizing the next call."""
    from adtriad.ad_core import api
    from adtriad.ad_core.annotations import Reverse
    anns, vals, mask = api._prepare(Reverse, func, reverse_args[1:])
    module = api._module(func, "reverse", vals, mask,
                         checkpoint=None if mode is None else mode.checkpoint_memory)
    floats, ints = module.__dict__.get("tape_hint", (0, 0))
    return 8 * (int(floats) + int(ints))
