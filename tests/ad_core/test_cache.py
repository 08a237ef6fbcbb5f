"""Derivative code is written to the cache directory and reused by a second process without
regenerating or recompiling it; a changed function never reuses a stale entry."""

import math
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import sys, json
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    from adtriad.ad_core import autodiff, Reverse, Active, Duplicated, build
    if sys.argv[2] == "forbid-generation":
        def refuse(*a, **k):
            raise AssertionError("regenerated")
        build.Builder.spec_for = refuse
    from target import f
    x = np.array([1.0, 2.0, 3.0]); dx = np.zeros(3)
    (d,) = autodiff(Reverse, f, Active, Active(1.5), Duplicated(x, dx))
    module = list(build._LOADED.values())[-1]
    hits = sum(len(fn.stats.cache_hits) for fn in (module.augmented, module.adjoint))
    misses = sum(len(fn.stats.cache_misses) for fn in (module.augmented, module.adjoint))
    print(json.dumps({"da": d[0], "dx": dx.tolist(), "hits": hits, "misses": misses,
                      "file": module.__file__}))
""")

SOURCE_V1 = """
def f(a, x):
    s = 0.0
    for i in range(x.shape[0]):
        s += a * x[i] * x[i]
    return s
"""

SOURCE_V2 = SOURCE_V1.replace("a * x[i] * x[i]", "a * a * x[i]")


def run(tmp_path, mode):
    env = dict(os.environ, TRIAD_ENGINE__CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "src"), mode],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    import json
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_second_process_loads_from_cache(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "target.py").write_text(SOURCE_V1)
    first = run(tmp_path, "generate")
    assert first["misses"] == 2 and first["hits"] == 0
    assert first["da"] == pytest.approx(14.0)
    assert first["dx"] == pytest.approx([3.0, 6.0, 9.0])
    second = run(tmp_path, "forbid-generation")
    assert second["hits"] == 2 and second["misses"] == 0
    assert second["file"] == first["file"]
    assert second["da"] == first["da"] and second["dx"] == first["dx"]

    (tmp_path / "src" / "target.py").write_text(SOURCE_V2)
    changed = run(tmp_path, "generate")
    assert changed["file"] != first["file"]
    assert changed["da"] == pytest.approx(2 * 1.5 * 6.0)
    assert changed["dx"] == pytest.approx([2.25, 2.25, 2.25])


DECORATED_SCRIPT = textwrap.dedent("""
    import sys, json
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    from adtriad.ad_core import autodiff, Forward, Reverse, Active, Duplicated
    from target import f
    a = np.array([0.5, 1.0, 1.5]); M = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    da = np.zeros(3); dM = np.zeros((2, 3))
    (d,) = autodiff(Reverse, f, Active, Duplicated(a, da), Duplicated(M, dM), Active(0.7))
    (t,) = autodiff(Forward, f, Duplicated(a, np.ones(3)), M, Duplicated(0.7, 1.0))
    print(json.dumps({"da": da.tolist(), "dM": dM.tolist(), "dx": d[2], "t": t}))
""")

DECORATED_SOURCE = """
import numba
import numpy as np


@numba.vectorize
def square(u, x):
    return x * u * u


@numba.guvectorize(["(float64[:], float64, float64[:])"], "(n),()->(n)")
def scaled(u, w, out):
    for i in range(u.shape[0]):
        out[i] = w * u[i]


def f(a, M, x):
    return np.sum(square(a, x)) + np.sum(np.sin(square(M, 0.2))) + np.sum(scaled(a, x))
"""


@pytest.mark.slow
def test_a_second_process_loads_derivatives_calling_vectorized_functions(tmp_path):
    # the wrappers of @vectorize/@guvectorize functions must belong to an importable module:
    # a cached caller loaded in a new process imports the module Numba recorded for them
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "target.py").write_text(DECORATED_SOURCE)
    env = dict(os.environ, TRIAD_ENGINE__CACHE_DIR=str(tmp_path / "cache"))
    outs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", DECORATED_SCRIPT, str(tmp_path / "src")],
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outs.append(proc.stdout.strip().splitlines()[-1])
    assert outs[0] == outs[1]
    import json
    got = json.loads(outs[0])
    a, M, x = [0.5, 1.0, 1.5], [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], 0.7
    assert got["da"] == pytest.approx([2 * x * u + x for u in a])
    assert sum(got["dM"], []) == pytest.approx([math.cos(0.2 * m * m) * 0.4 * m for row in M for m in row])
    assert got["dx"] == pytest.approx(sum(u * u for u in a) + sum(a))
    assert got["t"] == pytest.approx(sum(2 * x * u + x for u in a) + got["dx"])
