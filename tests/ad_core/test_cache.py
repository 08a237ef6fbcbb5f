"""Derivative code is written to the cache directory and reused by a second process without
regenerating or recompiling it; a changed function never reuses a stale entry."""

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
