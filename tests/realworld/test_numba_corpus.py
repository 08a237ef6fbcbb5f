"""A fast slice of the Numba corpus: never a wrong derivative, never a raw crash.

``benchmarks/numba_corpus.py`` runs all of ``numba_corpus/`` (public Numba code: NPBench's
kernels, numba/numba-examples, Numba's documentation examples, the GradBench evals written in
Numba) and prints the table; this file keeps a slice across the sources and constructs in the
test suite. Each (entry, mode) must be ``correct``, ``refused`` (an ADError with a message)
or not applicable; ``wrong`` and ``crash`` fail (cases that are wrong or crash today are
strict xfails in ``KNOWN``). Entries in ``MUST_BE_CORRECT`` must be ``correct`` in both
modes, so that coverage cannot slide back. The slice checks two points per entry.

``test_every_primal_runs`` runs every entry's plain primal without differentiating it: in a
subprocess with ``NUMBA_DISABLE_JIT=1`` (so that it costs no compilation), except the entries
in ``NEEDS_JIT`` (stencils, which only run compiled). ``test_every_primal_compiles`` runs
every primal compiled by Numba; it takes minutes and runs only with ``NUMBA_CORPUS_COMPILE=1``.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

import numba_corpus
import numba_corpus_harness as N

HERE = pathlib.Path(__file__).resolve().parent

FAST = [
    # npbench
    "jacobi_1d",            # slice stencil in a time loop, arrays written in place
    "trisolv",              # forward substitution writing x[i] from a slice product
    "bicg",                 # a tuple of arrays returned
    # numba-examples
    "cnd_numba",            # @jit scalar function, math.fabs, math.exp, a branch
    "lj_potential_scalar",  # row views passed to calls, ** 0.5, nested loops
    "move_mean",            # @guvectorize (n),()->(n) on the rows of a matrix
    # numba docs
    "hypot",                # @jit calling @jit
    "do_sum",               # for x in A
    "do_sum_parallel",      # parallel=True, prange reduction
    "inner_func_nb",        # explicit signature, nogil, output argument
    "stencil_test",         # numba.stencil(lambda ...) inside a parallel=True function
    # gradbench (written in Numba)
    "lse",                  # np.max, log-sum-exp
    "kmeans",               # running minimum in a branch
    "lstm",                 # np.concatenate of a tuple, a callee returning a tuple of arrays
]

# Correct in both modes today: must stay so.
MUST_BE_CORRECT = [
    "jacobi_1d", "trisolv", "cnd_numba", "lj_potential_scalar", "hypot", "do_sum",
    "do_sum_parallel", "inner_func_nb", "lse", "kmeans", "lstm", "bicg", "stencil_test",
    "move_mean",
]

# (entry, mode) -> why it is wrong or crashes today. Strict: a fix makes the test fail until
# its line is removed.
KNOWN: dict[tuple[str, str], str] = {}

# Entries whose primal runs only compiled (Numba's @stencil has no interpreted form).
NEEDS_JIT = ["runWaveStencil", "kernel1_stencil", "stencil_test"]


@functools.lru_cache(maxsize=None)
def outcomes(name: str) -> dict:
    return N.run_entry(N.entries()[name], npoints=2)


def _params():
    for name in FAST:
        for mode in N.MODES:
            marks = ()
            if (name, mode) in KNOWN:
                marks = pytest.mark.xfail(strict=True, raises=AssertionError, reason=KNOWN[(name, mode)])
            yield pytest.param(name, mode, id=f"{name}-{mode}", marks=marks)


@pytest.mark.parametrize("name, mode", list(_params()))
def test_never_wrong_never_crash(name, mode):
    o = outcomes(name)[mode]
    assert o.status in ("correct", "refused", "not-applicable"), (
        f"{name} [{mode}] is {o.status}: {o.call} at ({o.point})\n{o.detail or o.message}")
    if o.status == "refused":
        assert o.message.strip(), "a refusal must say why"
    if name in MUST_BE_CORRECT:
        assert o.status == "correct", (
            f"{name} [{mode}] was correct and is now {o.status}: {o.call}\n{o.message}")


def test_slice_names_exist():
    names = set(N.entries())
    assert not sorted(set(FAST) - names), "FAST names an entry that is not in the corpus"
    assert set(MUST_BE_CORRECT) <= set(FAST)
    assert {n for n, _ in KNOWN} <= set(FAST)
    assert set(NEEDS_JIT) <= names


def test_corpus_records():
    """Names are unique, every entry names its source and gives consistent points."""
    entries = N.entries()
    assert 70 <= len(entries) <= 110
    assert {e.group for e in entries.values()} == set(numba_corpus.GROUPS)
    for name, e in entries.items():
        assert e.source and ":" in e.source, name
        c = N.case(e, npoints=2)
        assert all(len(p) == len(c.kinds) for p in c.points), name
        assert all(i < len(c.kinds) for i in e.const), name
        assert any(k in ("active", "dup") for k in c.kinds), f"{name}: nothing to differentiate"


_PRIMALS = r"""
import json, sys, warnings
import numpy as np
sys.path.insert(0, sys.argv[1])
import numba_corpus
skip = set(json.loads(sys.argv[2]))
bad = {}
warnings.simplefilter("ignore")
for name, e in numba_corpus.entries().items():
    if name in skip:
        continue
    try:
        out = e.function(*e.make_args(0))
        if out is not None and not np.all(np.isfinite(np.asarray(out, dtype=float))):
            bad[name] = "not finite"
    except Exception as exc:
        bad[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps(bad))
"""


def test_every_primal_runs():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    proc = subprocess.run([sys.executable, "-c", _PRIMALS, str(HERE), json.dumps(NEEDS_JIT)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    bad = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not bad, bad
    entries = N.entries()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in NEEDS_JIT:
            e = entries[name]
            out = e.function(*e.make_args(0))
            assert out is None or np.all(np.isfinite(out)), name


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("NUMBA_CORPUS_COMPILE"),
                    reason="minutes of Numba compilation; set NUMBA_CORPUS_COMPILE=1 to run")
def test_every_primal_compiles():
    """Every primal runs compiled by Numba (minutes: each kernel compiles)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, e in N.entries().items():
            out = e.function(*e.make_args(0))
            assert out is None or np.all(np.isfinite(np.asarray(out, dtype=float))), name
