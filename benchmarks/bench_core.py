"""Benchmark of the AD engine on loop kernels, measured side by side in one run: the primal
(warm njit), the reverse gradient and the forward derivative through the public `autodiff`
call and their ratios to the primal, the compiled sweeps alone, forward batch mode (8 lanes)
against one lane, peak tape bytes beside the bytes of the primal's arguments, and first-call
times (generation + Numba compilation of the reverse code) beside the primal's own njit
compile. With JAX installed (`pip install -e '.[bench]'`), `jax.jit(jax.grad(...))` of
equivalent JAX programs is timed in the same run (JAX cannot reverse a while loop: newton has
no JAX column). A second process then loads derivative code from the cache.

Run: python benchmarks/bench_core.py [--sizes 1000 1000000] [--repeat 7]
Prints a table; it asserts nothing (targets, read by people: reverse <= 3x primal, forward
<= 1.5x primal, batch of 8 <= 4x one lane, first call <= 3x the primal's compile, cached
load <= 0.05 s).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import kernels  # noqa: E402
from timing import median_time, tape_bytes  # noqa: E402
from adtriad.ad_core import (Active, BatchDuplicated, Const, Duplicated, Forward,  # noqa: E402
                             Reverse, autodiff)
from adtriad.ad_core import loader  # noqa: E402

LANES = 8


def cases(n: int, rng) -> dict:
    """name -> (function, primal args, reverse annotations, forward annotations); the
    annotation builders take the batch width (1: plain Duplicated)."""
    x = rng.uniform(0.5, 1.5, n)
    c = rng.uniform(-1, 1, 8)
    px = rng.uniform(0.999, 1.001, n)
    sq = rng.uniform(1.0, 4.0, n)
    z = np.zeros_like
    return {
        "saxpy": (kernels.saxpy, lambda: (x.copy(), 2.0, x),
                  lambda: (Const, Duplicated(x.copy(), np.ones(n)), Active(2.0),
                           Duplicated(x, z(x))),
                  lambda w: (_dup(x.copy(), z(x), w), _dup(2.0, 1.0, w), _dup(x, np.ones(n), w))),
        "sum_of_squares": (kernels.sum_of_squares, lambda: (x,),
                           lambda: (Active, Duplicated(x, z(x))),
                           lambda w: (_dup(x, np.ones(n), w),)),
        "polynomial": (kernels.polynomial, lambda: (x, c),
                       lambda: (Active, Duplicated(x, z(x)), Duplicated(c, z(c))),
                       lambda w: (_dup(x, np.ones(n), w), _dup(c, np.ones(8), w))),
        "product": (kernels.product, lambda: (px,),
                    lambda: (Active, Duplicated(px, z(px))),
                    lambda w: (_dup(px, np.ones(n), w),)),
        "rnn": (kernels.rnn, lambda: (0.5, 0.8, 0.1, x),
                lambda: (Active, Active(0.5), Active(0.8), Active(0.1), Duplicated(x, z(x))),
                lambda w: (_dup(0.5, 1.0, w), _dup(0.8, 0.0, w), _dup(0.1, 0.0, w),
                           _dup(x, z(x), w))),
        "newton": (kernels.newton, lambda: (sq, 1.0),
                   lambda: (Active, Duplicated(sq, z(sq)), 1.0),
                   lambda w: (_dup(sq, np.ones(n), w), 1.0)),
    }


def heat_cases(rng) -> dict:
    """The heat equation at two shapes: many steps on a short rod, few on a long one."""
    out = {}
    for n, steps in ((2000, 200), (100_000, 10)):
        u = rng.uniform(0, 1, n)
        z = np.zeros_like
        out[f"heat({n}x{steps})"] = (
            kernels.heat, lambda u=u, steps=steps: (u.copy(), z(u), 0.2, steps),
            lambda u=u, steps=steps: (Active, Duplicated(u.copy(), z(u)),
                                      Duplicated(z(u), z(u)), Active(0.2), steps),
            lambda w, u=u, steps=steps: (_dup(u.copy(), np.ones(u.size), w),
                                         _dup(z(u), z(u), w), _dup(0.2, 0.0, w), steps))
    return out


def _dup(value, shadow, width: int):
    """Duplicated, or BatchDuplicated with ``width`` copies of the shadow."""
    if width == 1:
        return Duplicated(value, shadow)
    copy = np.copy if isinstance(shadow, np.ndarray) else (lambda v: v)
    return BatchDuplicated(value, tuple(copy(shadow) for _ in range(width)))


def core_reverse(func, make_ann):
    """Time the compiled sweeps alone (augmented + adjoint), without the Python API layer."""
    from adtriad.ad_core.api import (_call_values, _module, _prepare, _run_adjoint,
                                     _run_augmented)
    from adtriad.ad_core.annotations import Reverse as R
    ann = make_ann()[1:]
    anns, vals, mask = _prepare(R, func, ann)
    module = _module(func, "reverse", vals, mask)
    vals = _call_values(anns)

    def run():
        _, tape = _run_augmented(module, vals)
        _run_adjoint(module, func, anns, vals, (1.0,), tape)
    return run


def jax_programs(rng):
    """name -> (JAX function, argument builder for a size n)."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def poly(x, c):
        p = jnp.zeros_like(x)
        for k in range(c.shape[0]):
            p = p * x + c[k]
        return jnp.sum(p)

    def rnn(w, v, b, x):
        def step(h, xt):
            h = jnp.tanh(w * h + v * xt + b)
            return h, h
        _, hs = jax.lax.scan(step, 0.0, x)
        return jnp.sum(hs)

    def heat(u, c, steps):
        def step(_, u):
            return u.at[1:-1].set(u[1:-1] + c * (u[:-2] - 2.0 * u[1:-1] + u[2:]))
        u = jax.lax.fori_loop(0, steps, step, u)
        return jnp.sum(u * u)

    def uniform(lo, hi, n):
        return jnp.asarray(rng.uniform(lo, hi, n))

    return {
        "saxpy": (lambda a, x: jnp.sum(x + a * x), lambda n: (2.0, uniform(0.5, 1.5, n))),
        "sum_of_squares": (lambda x: jnp.sum(x * x), lambda n: (uniform(0.5, 1.5, n),)),
        "polynomial": (poly, lambda n: (uniform(0.5, 1.5, n), uniform(-1, 1, 8))),
        "product": (lambda x: jnp.prod(x), lambda n: (uniform(0.999, 1.001, n),)),
        "rnn": (rnn, lambda n: (0.5, 0.8, 0.1, uniform(0.5, 1.5, n))),
        "heat(2000x200)": (lambda u, c: heat(u, c, 200), lambda n: (uniform(0, 1, 2000), 0.2)),
        "heat(100000x10)": (lambda u, c: heat(u, c, 10),
                            lambda n: (uniform(0, 1, 100_000), 0.2)),
    }


def time_jax(program, n, repeat):
    """(gradient/primal ratio, gradient seconds, first jit(grad) call seconds)."""
    import jax
    f, make = program
    args = make(n)
    primal = jax.jit(f)
    grad = jax.jit(jax.grad(f, argnums=tuple(range(len(args)))))
    t0 = time.perf_counter()
    jax.block_until_ready(grad(*args))
    first = time.perf_counter() - t0
    tp = median_time(lambda: jax.block_until_ready(primal(*args)), repeat)
    tg = median_time(lambda: jax.block_until_ready(grad(*args)), repeat)
    return tg / tp, tg, first


def primal_compile_time(func, args) -> float:
    """The first call of a fresh numba.njit of ``func`` (no cache): Numba's compile."""
    jitted = numba.njit(func)
    t0 = time.perf_counter()
    jitted(*args)
    return time.perf_counter() - t0


def measure(name, func, prim, rev, fwd, n, repeat, jx) -> str:
    compile_primal = primal_compile_time(func, prim())
    t0 = time.perf_counter()
    autodiff(Reverse, func, *rev())
    first_reverse = time.perf_counter() - t0
    autodiff(Forward, func, *fwd(1))
    autodiff(Forward, func, *fwd(LANES))
    jitted = numba.njit(func)
    jitted(*prim())
    primal_args = [prim() for _ in range(repeat + 1)]  # + the warm-up call
    it = iter(primal_args)
    t_primal = median_time(lambda: jitted(*next(it)), repeat)
    rev_args = rev()
    t_rev = median_time(lambda: autodiff(Reverse, func, *rev_args), repeat)
    t_core = median_time(core_reverse(func, rev), repeat)
    fwd1, fwd8 = fwd(1), fwd(LANES)
    t_fwd = median_time(lambda: autodiff(Forward, func, *fwd1), repeat)
    t_fwd8 = median_time(lambda: autodiff(Forward, func, *fwd8), repeat)
    tape = tape_bytes(func, rev_args)
    touched = sum(a.nbytes for a in prim() if isinstance(a, np.ndarray))
    jax_cols = f"{'':>8s} {'':>9s} {'':>7s}"
    if jx and name in jx:
        ratio, tg, first = time_jax(jx[name], n, repeat)
        jax_cols = f"{ratio:8.2f} {tg * 1e3:7.3f}ms {first:6.2f}s"
    return (f"{name:18s} {n:8d} {t_primal * 1e3:8.3f}ms {t_rev * 1e3:8.3f}ms "
            f"{t_rev / t_primal:7.2f} {t_core / t_primal:7.2f} {t_fwd / t_primal:7.2f} "
            f"{t_fwd8 / t_fwd:6.2f} {tape / 1e6:8.2f} {touched / 1e6:8.2f} "
            f"{compile_primal:6.2f}s {first_reverse:6.2f}s {first_reverse / compile_primal:6.1f} "
            f"{jax_cols}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", nargs="*", default=None, help="kernel names to run")
    opts = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="adtriad-bench-")
    loader.set_cache_dir(cache)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    autodiff(Reverse, lambda x: x * x, Active, Active(1.0))
    print(f"engine start-up (first autodiff call of the process, a one-line function): "
          f"{time.perf_counter() - t0:.2f} s")
    header = (f"{'kernel':18s} {'n':>8s} {'primal':>10s} {'reverse':>10s} {'rev/pri':>7s} "
              f"{'core/pr':>7s} {'fwd/pri':>7s} {'f8/f1':>6s} {'tape MB':>8s} {'args MB':>8s} "
              f"{'njit':>7s} {'first':>7s} {'fst/nj':>6s} {'jax g/p':>8s} {'jax grad':>9s} "
              f"{'jax 1st':>7s}")
    print(header)
    print("-" * len(header))
    jx = jax_programs(rng)
    runs = [(n, cases(n, rng)) for n in opts.sizes] + [(0, heat_cases(rng))]
    for n, table in runs:
        for name, (func, prim, rev, fwd) in table.items():
            if opts.only is None or name.split("(")[0] in opts.only:
                print(measure(name, func, prim, rev, fwd, n, opts.repeat, jx), flush=True)
    print()
    numba_start, load = cached_load(cache)
    print(f"second process: Numba start-up (first call of any cached njit function) "
          f"{numba_start:.3f} s; then the first autodiff call, loading derivative code from the "
          f"cache, {load:.3f} s")
    print("Columns: 'reverse' and the ratios rev/pri, fwd/pri go through the public autodiff "
          "call; core/pr times the compiled sweeps alone; f8/f1 is a forward call with 8 lanes "
          "against one lane; tape MB is the peak tape of a reverse call, args MB the bytes of "
          "the primal's array arguments; njit is the primal's first call (Numba's compile), "
          "first the first reverse call in a fresh cache (generation + compile); jax g/p is "
          "jit(grad)/jit(f), jax 1st its first call. n = 0: the heat shapes are in the name.")


def cached_load(cache: str) -> tuple[float, float]:
    """In a fresh process: Numba's own start-up (the first call of a tiny cached njit
    function, which every Numba program pays once), then the first autodiff call that finds
    its code in the cache."""
    script = (
        "import sys, time; sys.path.insert(0, %r)\n"
        "import numpy as np, numba, kernels\n"
        "from adtriad.ad_core import autodiff, Reverse, Active, Duplicated, loader\n"
        "loader.set_cache_dir(%r)\n"
        "x = np.random.default_rng(0).uniform(0.5, 1.5, 1000)\n"
        "t = time.perf_counter()\n"
        "from adtriad.ad_core._runtime import range_len\n"
        "range_len(0, 3, 1)\n"
        "numba_start = time.perf_counter() - t\n"
        "t = time.perf_counter()\n"
        "autodiff(Reverse, kernels.sum_of_squares, Active, Duplicated(x, np.zeros_like(x)))\n"
        "print(numba_start, time.perf_counter() - t)\n" % (str(Path(__file__).parent), cache))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=dict(os.environ), check=True)
    first, second = out.stdout.strip().splitlines()[-1].split()
    return float(first), float(second)


if __name__ == "__main__":
    main()
