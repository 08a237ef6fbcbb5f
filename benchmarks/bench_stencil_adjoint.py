"""What the heat stencil's adjoint could cost: hand-written forms of the loop the engine emits.

    python benchmarks/bench_stencil_adjoint.py [--repeat 9]

The stencil ``tmp[i] = u[i] + c * (u[i-1] - 2 u[i] + u[i+1])`` (benchmarks/kernels.py ``heat``)
has, with ``u`` and ``c`` active, an adjoint that scatters into ``bar_u[i-1..i+1]`` and reduces
into ``bar_c``. Each form below computes the same adjoints (checked against the first); each is
driven ``reps`` times from one njit loop, the forms interleaved, and the best of ``--repeat``
is printed as a ratio to the primal stencil loop:

* ``scatter`` — the engine's form: one backward loop, three read-modify-writes per trip;
* ``scatter_no_reduction`` — the same without ``bar_c`` (what the scatter alone costs);
* ``gather`` — each ``bar_u[j]`` gathers its three terms in a forward loop, ``bar_c`` reduced
  in a loop of its own; ``gather_loop`` and ``serial_reduction`` are its two loops alone;
* ``buffered_reduction`` — ``bar_c``'s terms stored in a buffer and summed by a helper that
  reassociates only that sum (the order of a sum of contributions is free, as XLA's reduce);
* ``gather_backwards`` — the gather loop run backwards, as a reversed loop is.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numba import njit


@njit
def primal(u, tmp, c):
    n = u.shape[0]
    for i in range(1, n - 1):
        tmp[i] = u[i] + c * (u[i - 1] - 2.0 * u[i] + u[i + 1])


@njit
def scatter(u, c, bar_u, bar_tmp):
    n = u.shape[0]
    bar_c = 0.0
    for k in range(n - 3, -1, -1):
        i = 1 + k
        g = bar_tmp[i]
        bar_tmp[i] = 0.0
        bar_c += g * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        gc = g * c
        bar_u[i + 1] += gc
        bar_u[i] += -2.0 * gc
        bar_u[i - 1] += gc
        bar_u[i] += g
    return bar_c


@njit
def scatter_no_reduction(u, c, bar_u, bar_tmp):
    n = u.shape[0]
    for k in range(n - 3, -1, -1):
        i = 1 + k
        g = bar_tmp[i]
        bar_tmp[i] = 0.0
        gc = g * c
        bar_u[i + 1] += gc
        bar_u[i] += -2.0 * gc
        bar_u[i - 1] += gc
        bar_u[i] += g
    return 0.0


@njit
def gather_loop(u, c, bar_u, bar_tmp):
    n = u.shape[0]
    lo, hi = 1, n - 1
    for j in range(0, n):
        acc = 0.0
        if lo <= j + 1 < hi:
            acc += bar_tmp[j + 1] * c
        if lo <= j < hi:
            acc += -2.0 * (bar_tmp[j] * c) + bar_tmp[j]
        if lo <= j - 1 < hi:
            acc += bar_tmp[j - 1] * c
        bar_u[j] += acc
    return 0.0


@njit
def gather_backwards(u, c, bar_u, bar_tmp):
    n = u.shape[0]
    lo, hi = 1, n - 1
    for j in range(n - 1, -1, -1):
        acc = 0.0
        if lo <= j + 1 < hi:
            acc += bar_tmp[j + 1] * c
        if lo <= j < hi:
            acc += -2.0 * (bar_tmp[j] * c) + bar_tmp[j]
        if lo <= j - 1 < hi:
            acc += bar_tmp[j - 1] * c
        bar_u[j] += acc
    return 0.0


@njit
def serial_reduction(u, c, bar_u, bar_tmp):
    n = u.shape[0]
    bar_c = 0.0
    for k in range(n - 3, -1, -1):
        i = 1 + k
        g = bar_tmp[i]
        bar_tmp[i] = 0.0
        bar_c += g * (u[i - 1] - 2.0 * u[i] + u[i + 1])
    return bar_c


@njit
def gather(u, c, bar_u, bar_tmp):
    gather_loop(u, c, bar_u, bar_tmp)
    return serial_reduction(u, c, bar_u, bar_tmp)


@njit(fastmath={"reassoc"})
def reassociated_sum(a, lo, hi):
    s = 0.0
    for i in range(lo, hi):
        s += a[i]
    return s


@njit
def buffered_reduction(u, c, bar_u, bar_tmp):
    gather_loop(u, c, bar_u, bar_tmp)
    n = u.shape[0]
    terms = np.empty(n)
    for i in range(1, n - 1):
        g = bar_tmp[i]
        bar_tmp[i] = 0.0
        terms[i] = g * (u[i - 1] - 2.0 * u[i] + u[i + 1])
    return reassociated_sum(terms, 1, n - 1)


FORMS = (scatter, scatter_no_reduction, gather, gather_loop, serial_reduction,
         buffered_reduction, gather_backwards)
SAME_ADJOINTS = (scatter, gather, buffered_reduction)


def driven(form):
    @njit
    def drive(u, c, bar_u, bar_tmp, seed, reps):
        s = 0.0
        for _ in range(reps):
            bar_tmp[:] = seed
            s += form(u, c, bar_u, bar_tmp)
        return s
    return drive


@njit
def drive_primal(u, tmp, c, reps):
    for _ in range(reps):
        primal(u, tmp, c)


@njit
def drive_seed_only(u, c, bar_u, bar_tmp, seed, reps):
    for _ in range(reps):
        bar_tmp[:] = seed
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    opts = parser.parse_args()
    print("ratio to the primal stencil loop (best of --repeat; the reset of bar_tmp the "
          "drivers do is subtracted)")
    for n, reps in ((2000, 20000), (100_000, 400)):
        u = np.random.default_rng(0).uniform(size=n)
        seed = np.linspace(0.1, 1.0, n)
        expected = None
        for form in SAME_ADJOINTS:
            bar_u, bar_tmp = np.zeros(n), seed.copy()
            bar_c = form(u, 0.2, bar_u, bar_tmp)
            if expected is None:
                expected = (bar_u, bar_c)
            assert np.allclose(bar_u, expected[0]) and np.isclose(bar_c, expected[1]), form
        drivers = [driven(f) for f in FORMS]
        args = lambda: (u, 0.2, np.zeros(n), seed.copy(), seed)  # noqa: E731
        for d in drivers + [drive_seed_only]:
            d(*args(), 1)
        drive_primal(u, np.zeros(n), 0.2, 1)
        times = {f.py_func.__name__: [] for f in FORMS}
        t_primal, t_seed = [], []
        for _ in range(opts.repeat):
            t0 = time.perf_counter()
            drive_primal(u, np.zeros(n), 0.2, reps)
            t_primal.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            drive_seed_only(*args(), reps)
            t_seed.append(time.perf_counter() - t0)
            for form, d in zip(FORMS, drivers):
                a = args()
                t0 = time.perf_counter()
                d(*a, reps)
                times[form.py_func.__name__].append(time.perf_counter() - t0)
        base, reset = min(t_primal), min(t_seed)
        cols = "  ".join(f"{k} {(min(v) - reset) / base:5.2f}" for k, v in times.items())
        print(f"n={n:6d}  {cols}")


if __name__ == "__main__":
    main()
