"""Benchmark of the AD engine on loop kernels: primal, reverse gradient and forward
derivative times, their ratios, first-call generation+compile time and the load time of a
second process that finds the code in the cache. With JAX installed (`pip install -e
'.[bench]'`), `jax.jit(jax.grad(...))` of equivalent JAX programs is timed in the same run.

Run: python benchmarks/bench_core.py [--sizes 1000 1000000] [--repeat 7]
Prints a table; it asserts nothing (the targets are read by people: reverse <= 3x primal,
forward <= 2x primal, cached load <= 0.1 s).
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
from timing import median_time  # noqa: E402
from adtriad.ad_core import Active, Const, Duplicated, Forward, Reverse, autodiff  # noqa: E402
from adtriad.ad_core import loader  # noqa: E402


def cases(n: int, rng):
    """name -> (function, primal args, reverse annotations, forward annotations)."""
    x = rng.uniform(0.5, 1.5, n)
    heat_n, steps = (n, 10) if n <= 100_000 else (n // 10, 10)
    u = rng.uniform(0, 1, heat_n)
    c = rng.uniform(-1, 1, 8)
    px = rng.uniform(0.999, 1.001, n)
    z = lambda a: np.zeros_like(a)  # noqa: E731
    return {
        "saxpy": (kernels.saxpy, lambda: (x.copy(), 2.0, x),
                  lambda: (Const, Duplicated(x.copy(), np.ones(n)), Active(2.0), Duplicated(x, z(x))),
                  lambda: (Duplicated(x.copy(), z(x)), Duplicated(2.0, 1.0), Duplicated(x, np.ones(n)))),
        "sum_of_squares": (kernels.sum_of_squares, lambda: (x,),
                           lambda: (Active, Duplicated(x, z(x))),
                           lambda: (Duplicated(x, np.ones(n)),)),
        "polynomial": (kernels.polynomial, lambda: (x, c),
                       lambda: (Active, Duplicated(x, z(x)), Duplicated(c, z(c))),
                       lambda: (Duplicated(x, np.ones(n)), Duplicated(c, np.ones(8)))),
        "product": (kernels.product, lambda: (px,),
                    lambda: (Active, Duplicated(px, z(px))),
                    lambda: (Duplicated(px, np.ones(n)),)),
        f"heat(n={heat_n},steps={steps})": (
            kernels.heat, lambda: (u.copy(), z(u), 0.2, steps),
            lambda: (Active, Duplicated(u.copy(), z(u)), Duplicated(z(u), z(u)), Active(0.2), steps),
            lambda: (Duplicated(u.copy(), np.ones(heat_n)), Duplicated(z(u), z(u)),
                     Duplicated(0.2, 0.0), steps)),
        "rnn": (kernels.rnn, lambda: (0.5, 0.8, 0.1, x),
                lambda: (Active, Active(0.5), Active(0.8), Active(0.1), Duplicated(x, z(x))),
                lambda: (Duplicated(0.5, 1.0), Duplicated(0.8, 0.0), Duplicated(0.1, 0.0),
                         Duplicated(x, z(x)))),
    }



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


def jax_cases(n, rng):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    x = jnp.asarray(rng.uniform(0.5, 1.5, n))
    c = jnp.asarray(rng.uniform(-1, 1, 8))

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

    fns = {
        "saxpy": (lambda a, x: jnp.sum(x + a * x), (2.0, x)),
        "sum_of_squares": (lambda x: jnp.sum(x * x), (x,)),
        "polynomial": (poly, (x, c)),
        "product": (lambda x: jnp.prod(x), (jnp.asarray(rng.uniform(0.999, 1.001, n)),)),
        "heat": (lambda u, c: heat(u, c, 10), (x if n <= 100_000 else x[: n // 10], 0.2)),
        "rnn": (rnn, (0.5, 0.8, 0.1, x)),
    }
    out = {}
    for name, (f, args) in fns.items():
        primal = jax.jit(f)
        grad = jax.jit(jax.grad(f, argnums=tuple(range(len(args)))))
        jax.block_until_ready(primal(*args))
        jax.block_until_ready(grad(*args))
        out[name] = (primal, grad, args)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=7)
    opts = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="adtriad-bench-")
    loader.set_cache_dir(cache)
    rng = np.random.default_rng(0)
    header = (f"{'kernel':28s} {'n':>8s} {'primal':>10s} {'reverse':>10s} {'rev/pri':>8s} "
              f"{'forward':>10s} {'fwd/pri':>8s} {'api/call':>9s} {'gen+jit':>8s} {'jax g/p':>8s}")
    print(header)
    print("-" * len(header))
    for n in opts.sizes:
        jx = jax_cases(n, rng)
        for name, (func, prim, rev, fwd) in cases(n, rng).items():
            jitted = numba.njit(func)
            jitted(*prim())
            t0 = time.perf_counter()
            autodiff(Reverse, func, *rev())
            autodiff(Forward, func, *fwd())
            gen = time.perf_counter() - t0
            primal_args = [prim() for _ in range(opts.repeat + 1)]  # + the warm-up call
            it = iter(primal_args)
            t_primal = median_time(lambda: jitted(*next(it)), opts.repeat)
            run_rev = core_reverse(func, rev)
            t_rev = median_time(run_rev, opts.repeat)
            fwd_args = fwd()
            t_fwd = median_time(lambda: autodiff(Forward, func, *fwd_args), opts.repeat)
            rev_args = rev()
            t_api = median_time(lambda: autodiff(Reverse, func, *rev_args), opts.repeat) - t_rev
            jax_ratio = ""
            key = name.split("(")[0]
            if jx and key in jx:
                p, g, a = jx[key]
                import jax
                tp = median_time(lambda: jax.block_until_ready(p(*a)), opts.repeat)
                tg = median_time(lambda: jax.block_until_ready(g(*a)), opts.repeat)
                jax_ratio = f"{tg / tp:8.2f}"
            print(f"{name:28s} {n:8d} {t_primal * 1e3:8.3f}ms {t_rev * 1e3:8.3f}ms "
                  f"{t_rev / t_primal:8.2f} {t_fwd * 1e3:8.3f}ms {t_fwd / t_primal:8.2f} "
                  f"{max(t_api, 0) * 1e6:7.0f}us {gen:7.2f}s {jax_ratio:>8s}")
    print()
    numba_start, load = cached_load(cache)
    print(f"second process: Numba start-up (first call of any cached njit function) "
          f"{numba_start:.3f} s; then the first autodiff call, loading derivative code from the "
          f"cache, {load:.3f} s")
    print("Notes: 'reverse' times the compiled augmented+adjoint sweeps; 'forward' and "
          "'api/call' include the Python call layer; 'gen+jit' is the first reverse+forward "
          "call (generation and Numba compilation); forward seeds one direction.")


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
