"""Benchmark of the reverse gradient on GradBench-style objectives, beside JAX.

The objectives are the Numba versions of ``tests/realworld/numba_corpus/gradbench.py`` (gmm,
ba, lstm, llsq, lse, ode, kmeans, det), called at sizes where the primal takes about
0.1-5 ms. For each one, in the same run, it measures:

- the warm primal (the ``@njit`` function) and the warm reverse gradient through the public
  ``autodiff(Reverse, f, Active, ...)`` call, and their ratio. The gradient is taken with
  respect to every argument the corpus entry differentiates (float arrays ``Duplicated``, float
  scalars ``Active``, the entry's data arguments ``Const``, ints bare);
- the same for an equivalent JAX program written here: ``jax.jit(f)`` and
  ``jax.jit(jax.grad(f, argnums=...))`` in float64;
- first-call times: Numba's compile of the primal (the first call of a fresh
  ``numba.njit(f.py_func)``), the first ``autodiff`` call (generation and Numba compilation, in
  a fresh cache directory) and their ratio, and the first call of JAX's ``jit(grad)``;
- the peak tape bytes of a reverse call beside the bytes of the primal's inputs;
- whether our gradient agrees with JAX's to 1e-8 relative (the Numba code is the reference
  the JAX programs were checked against).

Run: python benchmarks/bench_objectives.py [--repeat 5] [--only gmm ba ...]
Prints a table; it asserts nothing. Without JAX the JAX columns are blank.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
# tests/realworld goes first: its package ``numba_corpus`` has the name of a script here.
sys.path.insert(0, str(ROOT / "tests" / "realworld"))

from numba_corpus import gradbench as gb  # noqa: E402
from timing import median_time, tape_bytes  # noqa: E402
from adtriad.ad_core import Active, Const, Duplicated, Reverse, autodiff  # noqa: E402
from adtriad.ad_core import loader  # noqa: E402

try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:
    jax = None


# ---- JAX programs: the same definitions as the Numba code in gradbench.py ---------------------------

def _jlse(x, axis=None):
    x_max = jnp.max(x, axis=axis, keepdims=True)
    return jnp.log(jnp.sum(jnp.exp(x - x_max), axis=axis)) + jnp.squeeze(x_max, axis)


def lse_jax(x):
    return _jlse(x)


def llsq_jax(x, n):
    t = -1.0 + (jnp.arange(n) * 2.0) / (n - 1.0)

    # the Numba inner loop over the coefficients, for all points at once: x[j] * t**j
    def step(mul, xj):
        return mul * t, xj * mul

    _, terms = jax.lax.scan(step, jnp.ones(n), x)
    s = -jnp.sum(terms, axis=0)
    return jnp.sum((jnp.sign(t) + s) ** 2) / 2.0


def kmeans_jax(points, centers):
    dist = jnp.sum((points[:, None, :] - centers[None, :, :]) ** 2, axis=2)
    return jnp.sum(jnp.min(dist, axis=1))


def gmm_jax(x, alphas, means, qs, ls, gamma, m):
    n, d = x.shape
    k = alphas.shape[0]
    # The Numba loop's running ``idx`` walks the strict lower triangle row by row, which is the
    # order of np.tril_indices.
    rows, cols = np.tril_indices(d, -1)
    L = jnp.zeros((k, d, d)).at[:, rows, cols].set(ls) + jax.vmap(jnp.diag)(jnp.exp(qs))
    sum_qs = jnp.sum(qs, axis=1)
    centered = x[:, None, :] - means[None, :, :]
    sq = jnp.sum(jnp.einsum("kij,nkj->nki", L, centered) ** 2, axis=2)
    slse = jnp.sum(_jlse(alphas + sum_qs - 0.5 * sq, axis=1))
    p = d
    nw = p + m + 1
    prior = jnp.sum(0.5 * gamma * gamma * (jnp.sum(jnp.exp(qs) ** 2, axis=1)
                                           + jnp.sum(ls ** 2, axis=1)) - m * sum_qs)
    C = nw * p * jnp.log(gamma / math.sqrt(2.0))
    multigammaln = 0.25 * p * (p - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * nw + (1 - j) / 2.0) for j in range(1, p + 1))
    wishart = -prior + k * (C - multigammaln)
    constant = -n * d * 0.5 * math.log(2 * math.pi)
    return constant + slse - n * _jlse(alphas) + wishart


def _rodrigues(rot, X):
    sqtheta = jnp.sum(rot ** 2)
    nonzero = sqtheta != 0.0
    # where() on a safe value: the branch not taken must not put a NaN into the gradient
    theta = jnp.sqrt(jnp.where(nonzero, sqtheta, 1.0))
    costheta, sintheta = jnp.cos(theta), jnp.sin(theta)
    w = (1.0 / theta) * rot
    rotated = X * costheta + jnp.cross(w, X) * sintheta + w * (jnp.dot(w, X) * (1.0 - costheta))
    return jnp.where(nonzero, rotated, X + jnp.cross(rot, X))


def _project(cam, X):
    Xcam = _rodrigues(cam[0:3], X - cam[3:6])
    proj = Xcam[0:2] / Xcam[2]
    rsq = jnp.sum(proj ** 2)
    distorted = proj * (1.0 + cam[9] * rsq + cam[10] * rsq * rsq)
    return distorted * cam[6] + cam[7:9]


def ba_jax(cams, X, w, feats, obs):
    proj = jax.vmap(_project)(cams[obs[:, 0]], X[obs[:, 1]])
    err = w[:, None] * (proj - feats)
    return jnp.sum(err ** 2) + jnp.sum((1.0 - w ** 2) ** 2)


def lstm_jax(main_params, extra_params, state, sequence):
    b = state.shape[1]

    def sigmoid(v):
        return 1.0 / (1.0 + jnp.exp(-v))

    def step(s, io):
        _input, ygold = io
        x = _input * extra_params[0]
        for i in range(0, s.shape[0], 2):  # the layers, unrolled when traced
            gates = jnp.concatenate((x, s[i], x, s[i])) * main_params[i] + main_params[i + 1]
            cell = s[i + 1] * sigmoid(gates[0:b]) + sigmoid(gates[b:2 * b]) * jnp.tanh(gates[3 * b:])
            h = sigmoid(gates[2 * b:3 * b]) * jnp.tanh(cell)
            s = s.at[i].set(h).at[i + 1].set(cell)
            x = h
        ypred = x * extra_params[1] + extra_params[2]
        ynorm = ypred - jnp.log(jnp.sum(jnp.exp(ypred)) + 2.0)
        return s, jnp.sum(ygold * ynorm)

    # step t reads sequence[t] and predicts sequence[t + 1]
    _, totals = jax.lax.scan(step, state, (sequence[:-1], sequence[1:]))
    return -jnp.sum(totals) / ((sequence.shape[0] - 1) * b)


def ode_jax(x, s):
    h = 2.0 / s

    def fun(y):
        return jnp.concatenate((x[:1], x[1:] * y[:-1]))

    def step(_, y):
        k1 = fun(y)
        k2 = fun(y + h / 2 * k1)
        k3 = fun(y + h / 2 * k2)
        k4 = fun(y + h * k3)
        return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    return jax.lax.fori_loop(0, s, step, jnp.zeros_like(x))[-1]


def det_jax(A, ell):
    # The Numba code expands by minors (ell! products); JAX computes the same determinant by LU.
    return jnp.linalg.det(A.reshape(ell, ell))


# ---- the objectives: corpus entry name -> size, argument builder, JAX function ----------------------

class Objective(NamedTuple):
    size: str
    make_args: Callable  # rng -> the plain arguments of the Numba function
    jax_fn: Callable     # takes the same arguments


def _gmm_args(g, n=1000, d=10, k=10):
    return (g.standard_normal((n, d)), g.standard_normal(k), g.standard_normal((k, d)),
            0.3 * g.standard_normal((k, d)), 0.3 * g.standard_normal((k, d * (d - 1) // 2)), 1.0, 0)


def _ba_args(g, ncams=16, npoints=1000, nobs=4000):
    # as the corpus' _ba_args, with more cameras, points and observations
    cams = np.zeros((ncams, 11))
    cams[:, 0:3] = 0.1 * g.standard_normal((ncams, 3))
    cams[:, 3:6] = 0.1 * g.standard_normal((ncams, 3))
    cams[:, 6] = 1.0 + 0.1 * g.uniform(size=ncams)
    cams[:, 7:9] = 0.1 * g.standard_normal((ncams, 2))
    cams[:, 9:11] = 0.01 * g.standard_normal((ncams, 2))
    X = 0.3 * g.standard_normal((npoints, 3))
    X[:, 2] += 4.0
    obs = np.stack([g.integers(0, ncams, nobs), g.integers(0, npoints, nobs)], axis=1)
    return (cams, X, g.uniform(0.5, 1.0, nobs), 0.1 * g.standard_normal((nobs, 2)), obs)


def _lstm_args(g, layers=2, b=14, c=1024):
    return (0.5 * g.standard_normal((2 * layers, 4 * b)), 0.5 * g.standard_normal((3, b)),
            0.5 * g.standard_normal((2 * layers, b)), g.standard_normal((c, b)))


OBJECTIVES = {
    "gmm": Objective("n=1000 d=10 K=10", _gmm_args, gmm_jax),
    "ba": Objective("16 cams, 1000 pts, 4000 obs", _ba_args, ba_jax),
    "lstm": Objective("l=2 b=14 c=1024", _lstm_args, lstm_jax),
    "llsq": Objective("m=32 n=4096", lambda g: (0.5 * g.standard_normal(32), 4096), llsq_jax),
    "lse": Objective("n=100000", lambda g: (g.standard_normal(100_000),), lse_jax),
    # y[n-1] ~ 2^n / n! stays a normal float64 for n = 64
    "ode": Objective("n=64 s=1000", lambda g: (g.uniform(0.5, 1.5, 64), 1000), ode_jax),
    "kmeans": Objective("n=2000 k=16 d=8",
                        lambda g: (g.standard_normal((2000, 8)), g.standard_normal((16, 8))),
                        kmeans_jax),
    "det": Objective("ell=8", lambda g: (g.standard_normal(64), 8), det_jax),
}
ENTRIES = {e.name: e for e in gb.ENTRIES}


def annotate(args, const):
    """The corpus' rule: Const for the entry's data arguments, Active for a float, Duplicated
    with a zero shadow for a float array, an int bare."""
    out = []
    for i, a in enumerate(args):
        if i in const:
            out.append(Const(a))
        elif isinstance(a, float):
            out.append(Active(a))
        elif isinstance(a, np.ndarray) and a.dtype.kind == "f":
            out.append(Duplicated(a, np.zeros_like(a)))
        else:
            out.append(a)
    return out


def differentiated(args, const):
    return tuple(i for i, a in enumerate(args) if i not in const and (
        isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype.kind == "f")))


def our_gradient(func, anns, argnums):
    (derivs,) = autodiff(Reverse, func, Active, *anns)
    return [np.asarray(derivs[i] if isinstance(anns[i], Active) else anns[i].dval)
            for i in argnums]


def rel_error(ours, theirs) -> float:
    """The largest difference of any gradient argument relative to that argument's size."""
    err = 0.0
    for a, b in zip(ours, theirs):
        b = np.asarray(b)
        err = max(err, float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(b))), 1e-300))
    return err


def first_call(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fmt_bytes(n) -> str:
    if n is None:
        return ""
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return f"{n}B"


def run_ours(func, args, const, argnums, repeat):
    """Numba compile, first and warm autodiff calls, primal time, tape bytes, our gradient."""
    r = {}
    fresh = numba.njit(func.py_func)
    r["compile"] = first_call(lambda: fresh(*args))
    r["primal"] = median_time(lambda: func(*args), repeat)
    try:
        r["first"] = first_call(lambda: autodiff(Reverse, func, Active, *annotate(args, const)))
        anns = annotate(args, const)
        # the shadows accumulate over the repeats; only the time is used
        r["grad"] = median_time(lambda: autodiff(Reverse, func, Active, *anns), repeat)
        r["tape"] = tape_bytes(func, (Active, *anns))
        r["gradient"] = our_gradient(func, annotate(args, const), argnums)
    except Exception as exc:  # an objective the engine refuses or fails on: report it, go on
        lines = str(exc).strip().splitlines()
        r["error"] = f"{type(exc).__name__}: {lines[0] if lines else ''}"
    return r


def run_jax(jax_fn, args, argnums, repeat):
    static = tuple(i for i, a in enumerate(args) if isinstance(a, int))
    jargs = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
    primal = jax.jit(jax_fn, static_argnums=static)
    grad = jax.jit(jax.grad(jax_fn, argnums=argnums), static_argnums=static)
    r = {"first": first_call(lambda: jax.block_until_ready(grad(*jargs)))}
    r["primal"] = median_time(lambda: jax.block_until_ready(primal(*jargs)), repeat)
    r["grad"] = median_time(lambda: jax.block_until_ready(grad(*jargs)), repeat)
    r["gradient"] = grad(*jargs)
    return r


COLUMNS = [  # (header, width)
    ("objective", 9), ("size", 28), ("primal", 9), ("grad", 9), ("g/p", 6),
    ("jax pri", 9), ("jax grad", 9), ("jax g/p", 7), ("compile", 8), ("1st AD", 8),
    ("1st/cmp", 7), ("jax 1st", 8), ("tape", 8), ("inputs", 8), ("agree", 5),
]


def row(cells) -> str:
    out = []
    for (head, width), cell in zip(COLUMNS, cells):
        out.append(f"{cell:<{width}}" if head in ("objective", "size", "agree") else f"{cell:>{width}}")
    return " ".join(out)


def ms(t):
    return "" if t is None else f"{t * 1e3:.3f}ms"


def sec(t):
    return "" if t is None else f"{t:.2f}s"


def ratio(a, b):
    return "" if a is None or b is None else f"{a / b:.2f}"


def warm_up() -> None:
    """Pay each system's one-time start-up (Numba's first compile, the engine's own imports and
    runtime, JAX's backend) on a tiny function, so that the first-call columns measure the
    objective alone."""
    def tiny(x):
        return x * x
    numba.njit(tiny)(1.0)
    autodiff(Reverse, tiny, Active, Active(1.0))
    if jax is not None:
        jax.jit(jax.grad(tiny))(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=list(OBJECTIVES))
    opts = parser.parse_args()
    # a fresh cache, so that the first autodiff call generates and compiles its code
    loader.set_cache_dir(tempfile.mkdtemp(prefix="adtriad-bench-objectives-"))
    warm_up()

    header = row([h for h, _ in COLUMNS])
    print(header)
    print("-" * len(header))
    ours_ratios, jax_ratios, failed = [], [], []
    for name in opts.only or OBJECTIVES:
        obj = OBJECTIVES[name]
        entry = ENTRIES[name]
        args = obj.make_args(np.random.default_rng(0))
        argnums = differentiated(args, entry.const)
        ours = run_ours(entry.function, args, entry.const, argnums, opts.repeat)
        theirs = run_jax(obj.jax_fn, args, argnums, opts.repeat) if jax is not None else {}

        agree = ""
        if "gradient" in ours and "gradient" in theirs:
            agree = "yes" if rel_error(ours["gradient"], theirs["gradient"]) <= 1e-8 else "no"
        if "grad" in ours and theirs:  # the means compare the same objectives
            ours_ratios.append(ours["grad"] / ours["primal"])
            jax_ratios.append(theirs["grad"] / theirs["primal"])
        inputs = sum(a.nbytes if isinstance(a, np.ndarray) else 8 for a in args)
        line = row([name, obj.size, ms(ours["primal"]), ms(ours.get("grad")),
                    ratio(ours.get("grad"), ours["primal"]), ms(theirs.get("primal")),
                    ms(theirs.get("grad")), ratio(theirs.get("grad"), theirs.get("primal")),
                    sec(ours["compile"]), sec(ours.get("first")),
                    ratio(ours.get("first"), ours["compile"]), sec(theirs.get("first")),
                    fmt_bytes(ours.get("tape")), fmt_bytes(inputs), agree])
        if "error" in ours:
            failed.append(name)
            line += "  " + ours["error"]
        print(line, flush=True)

    def geomean(xs):
        return f"{math.exp(sum(map(math.log, xs)) / len(xs)):.2f}" if xs else "n/a"

    print()
    print(f"geometric mean of grad/primal over the {len(ours_ratios)} objectives both "
          f"differentiate: ours {geomean(ours_ratios)}, JAX {geomean(jax_ratios)}")
    if failed:
        print("autodiff failed on: " + ", ".join(failed))
    print("Columns: primal/grad = warm @njit primal and warm autodiff(Reverse, ...) call (Python "
          "call layer included); jax pri/jax grad = jax.jit(f) and jax.jit(jax.grad(f)), float64, "
          "CPU; g/p = grad/primal; compile = first call of a fresh numba.njit(f.py_func); 1st AD = "
          "first autodiff call (generation + Numba compile, empty cache); 1st/cmp = their ratio; "
          "jax 1st = first jit(grad) call (trace + XLA compile); tape = peak tape bytes of a reverse "
          "call; inputs = bytes of the primal's arguments; agree = our gradient equals JAX's to "
          "1e-8 relative (largest difference over an argument / that argument's largest entry).")


if __name__ == "__main__":
    main()
