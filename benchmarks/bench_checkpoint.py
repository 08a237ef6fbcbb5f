"""Benchmark of binomial checkpointing on a long time loop, measured side by side in one run:
the heat stencil of kernels.py (state: u and tmp) as a warm njit primal, its reverse gradient
taped whole, and its reverse gradient under ``checkpointed(Reverse, memory)``; for each, the
time, the ratio to the primal, the peak tape bytes the augmented sweep left, and the bytes of
snapshots (slots the budget allows, times the state). The checkpointed gradient is compared
with the taped one. The issue's target scales a 1e7-trip loop over a 1e6-element state
within 2 GB (250 snapshots: about four recomputations per trip) to what runs here:
``--memory`` defaults to the same number of snapshots per trip count, binomially.

Run: python benchmarks/bench_checkpoint.py [--n 100000] [--steps 2000] [--memory 40MB]
Prints a table; it asserts nothing (target, read by people: checkpointed gradient <= 6x the
primal within the budget).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import kernels  # noqa: E402
from timing import median_time, tape_bytes  # noqa: E402
from adtriad.ad_core import Active, Const, Duplicated, Reverse, autodiff  # noqa: E402
from adtriad.ad_core import checkpointed  # noqa: E402
from adtriad.ad_core._runtime import checkpoint_slots  # noqa: E402
from adtriad.ad_core.annotations import memory_bytes  # noqa: E402


def gradient_run(mode, u0, steps, c):
    u, tmp, du = u0.copy(), np.zeros_like(u0), np.zeros_like(u0)
    dtmp = np.zeros_like(u0)

    def run():
        u[:] = u0
        du[:] = 0.0
        autodiff(mode, kernels.heat, Active, Duplicated(u, du), Duplicated(tmp, dtmp),
                 Const(c), Const(steps))
    return run, du


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--memory", default="40MB")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, steps, c = args.n, args.steps, 0.1
    u0 = np.sin(np.linspace(0.0, np.pi, n))
    primal = numba.njit(kernels.heat)
    u, tmp = u0.copy(), np.zeros_like(u0)

    def run_primal():
        u[:] = u0
        primal(u, tmp, c, steps)
    t_primal = median_time(run_primal, args.repeat)
    memory = memory_bytes(args.memory)
    rows = [("primal (njit)", t_primal, None, None)]
    results = {}
    for label, mode in (("reverse, taped", Reverse),
                        (f"reverse, checkpointed {args.memory}", checkpointed(Reverse, memory))):
        run, du = gradient_run(mode, u0, steps, c)
        t = median_time(run, args.repeat)
        results[label] = du.copy()
        snapshots = None
        if mode.checkpoint_memory is not None:
            snapshots = int(checkpoint_slots(steps, 2 * n, 0, memory)) * 2 * n * 8
        anns = (Active, Duplicated(u0.copy(), np.zeros_like(u0)),
                Duplicated(np.zeros_like(u0), np.zeros_like(u0)), Const(c), Const(steps))
        rows.append((label, t, tape_bytes(kernels.heat, anns, mode), snapshots))
    print(f"heat stencil, {n} points x {steps} steps; state {2 * n * 8 / 1e6:.1f} MB; "
          f"primal touches {2 * n * 8 / 1e6:.1f} MB")
    print(f"{'run':38} {'seconds':>9} {'x primal':>9} {'tape MB':>9} {'snapshots MB':>13}")
    for label, t, tape, snaps in rows:
        print(f"{label:38} {t:9.3f} {t / t_primal:9.2f} "
              f"{'' if tape is None else f'{tape / 1e6:9.1f}':>9} "
              f"{'' if snaps is None else f'{snaps / 1e6:13.1f}':>13}")
    taped, ck = results.values()
    print(f"largest difference between the two gradients: {np.max(np.abs(taped - ck)):.2e} "
          f"(gradient norm {np.linalg.norm(taped):.3e})")


if __name__ == "__main__":
    main()
