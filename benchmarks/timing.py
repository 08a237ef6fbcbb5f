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
