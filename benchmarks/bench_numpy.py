"""Benchmark of NumPy whole-array code and batch mode.

* A two-layer MLP loss (batch 256, widths 64-256) and a softmax cross-entropy: the reverse
  gradient's time over the primal's (both compiled by Numba), beside JAX's `jit(grad)` over
  `jit(f)` in the same run when JAX is installed (`pip install -e '.[bench]'`).
* Forward mode with BatchDuplicated of 8 directions against 8 single forward passes.

Run: python benchmarks/bench_numpy.py [--repeat 7]. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ad_core"))
from numpy_models import mlp_loss, softmax_cross_entropy  # noqa: E402
from timing import median_time  # noqa: E402
from adtriad.ad_core import (Active, BatchDuplicated, Const, Duplicated, Forward, Reverse,
                             autodiff, loader)


def jax_ratio(kind, arrays, repeat):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None, None
    jax.config.update("jax_enable_x64", True)
    if kind == "mlp":
        def f(W1, b1, W2, X, Y):
            r = jnp.tanh(X @ W1 + b1) @ W2 - Y
            return jnp.sum(r * r) / X.shape[0]
        argnums = (0, 1, 2)
    else:
        def f(Z, T):
            return -jnp.sum(T * jax.nn.log_softmax(Z, axis=1))
        argnums = (0,)
    args = [jnp.asarray(a) for a in arrays]
    primal, grad = jax.jit(f), jax.jit(jax.grad(f, argnums=argnums))
    tp = median_time(lambda: jax.block_until_ready(primal(*args)), repeat)
    tg = median_time(lambda: jax.block_until_ready(grad(*args)), repeat)
    return tg / tp, tg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    opts = parser.parse_args()
    loader.set_cache_dir(tempfile.mkdtemp(prefix="adtriad-bench-"))
    rng = np.random.default_rng(0)
    print(f"{'case':34s} {'primal':>10s} {'gradient':>10s} {'grad/pri':>9s} "
          f"{'jax grad':>10s} {'jax g/p':>8s}")
    for width in (64, 128, 256):
        W1 = rng.standard_normal((width, width)) / np.sqrt(width)
        b1 = rng.standard_normal(width)
        W2 = rng.standard_normal((width, 10)) / np.sqrt(width)
        X = rng.standard_normal((256, width))
        Y = rng.standard_normal((256, 10))
        primal = numba.njit(mlp_loss)
        t_p = median_time(lambda: primal(W1, b1, W2, X, Y), opts.repeat)
        shadows = [np.zeros_like(a) for a in (W1, b1, W2)]
        t_g = median_time(lambda: autodiff(
            Reverse, mlp_loss, Active, Duplicated(W1, shadows[0]), Duplicated(b1, shadows[1]),
            Duplicated(W2, shadows[2]), Const(X), Const(Y)), opts.repeat)
        jr, jg = jax_ratio("mlp", (W1, b1, W2, X, Y), opts.repeat)
        print(f"{'mlp batch=256 width=' + str(width):34s} {t_p * 1e3:8.3f}ms {t_g * 1e3:8.3f}ms "
              f"{t_g / t_p:9.2f} {'' if jg is None else f'{jg * 1e3:8.3f}ms':>10s} "
              f"{'' if jr is None else f'{jr:8.2f}':>8s}")
    Z = rng.standard_normal((256, 100))
    T = np.eye(100)[rng.integers(0, 100, 256)]
    primal = numba.njit(softmax_cross_entropy)
    t_p = median_time(lambda: primal(Z, T), opts.repeat)
    dZ = np.zeros_like(Z)
    t_g = median_time(lambda: autodiff(Reverse, softmax_cross_entropy, Active,
                                       Duplicated(Z, dZ), Const(T)), opts.repeat)
    jr, jg = jax_ratio("softmax", (Z, T), opts.repeat)
    print(f"{'softmax cross-entropy 256x100':34s} {t_p * 1e3:8.3f}ms {t_g * 1e3:8.3f}ms "
          f"{t_g / t_p:9.2f} {'' if jg is None else f'{jg * 1e3:8.3f}ms':>10s} "
          f"{'' if jr is None else f'{jr:8.2f}':>8s}")

    print()
    x = rng.standard_normal(100_000)
    dirs = tuple(rng.standard_normal(100_000) for _ in range(8))

    def poly(a):
        s = 0.0
        for i in range(a.shape[0]):
            v = a[i]
            s += v * v * v - 2.0 * v * v + v
        return s

    t_single = median_time(lambda: [autodiff(Forward, poly, Duplicated(x, d)) for d in dirs],
                           opts.repeat)
    t_batch = median_time(lambda: autodiff(Forward, poly, BatchDuplicated(x, dirs)), opts.repeat)
    t_one = t_single / 8
    print(f"forward, 8 directions, n=1e5 loop: 8 single passes {t_single * 1e3:.3f} ms, one "
          f"batch-8 pass {t_batch * 1e3:.3f} ms = {t_batch / t_one:.2f}x a single pass")


if __name__ == "__main__":
    main()
