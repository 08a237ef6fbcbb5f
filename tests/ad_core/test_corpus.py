"""Every corpus function through every mode, checked by ``adtriad.ad_core.testing.check_grads``.

Parametrized over corpus function × activity combination × mode × case (trip counts 0, 1 and n;
branch variants). The activity combinations are: everything active (float scalars ``Active``,
float arrays ``Duplicated``), and each float argument in turn ``Const`` with the rest active;
ints and bools are never active; arrays the function writes are always ``Duplicated``.

The default selection keeps compile time in check (each derivative costs a Numba compile):
everything-active runs all five modes (``Reverse``, ``ReverseWithPrimal``, ``Forward``,
``ForwardWithPrimal``, split ``ReverseSplitWithPrimal``) on the main case and ``Reverse`` and
``Forward`` on the other cases (same types, so no new compile); each-one-``Const`` runs
``Forward`` on the main case, and ``Reverse`` too for every third such combination (a reverse
derivative costs several times a forward one to compile). ``ADTRIAD_EXHAUSTIVE=1`` runs every
subset of activities in every mode and case, and also checks that every corpus function
compiles by itself with ``numba.njit`` and agrees with plain Python.
"""

from __future__ import annotations

import itertools
import json
import os
import sys

import numba
import numpy as np
import pytest

from functions import CORPUS, Spec, kind_of

from adtriad.ad_core.testing import ALL_MODES, check_grads

EXHAUSTIVE = os.environ.get("ADTRIAD_EXHAUSTIVE", "").strip().lower() in ("1", "true", "yes")
BASIC_MODES = ("Reverse", "Forward")

# Functions the engine refuses (with an ADError, never a wrong derivative) in reverse mode
# today; strict xfail, so a case that starts passing is noticed.
KNOWN_GAPS: dict = {}


def _const_sets(spec: Spec) -> list[tuple[str, frozenset]]:
    floats = spec.float_params
    if EXHAUSTIVE:
        sets = [frozenset(c) for r in range(len(floats) + 1) for c in itertools.combinations(floats, r)]
    else:
        sets = [frozenset()] + [frozenset({p}) for p in floats]
    out = []
    for s in sets:
        if len(s) == len(floats) and not spec.written_params:
            continue  # nothing to differentiate
        label = "active" if not s else "const-" + "-".join(p for p in floats if p in s)
        out.append((label, s))
    return out


def _cases():
    rotation = 0
    for spec in CORPUS.values():
        for label, consts in _const_sets(spec):
            if consts:
                rotation += 1
            for case in spec.case_names:
                main = case == spec.main_case
                if EXHAUSTIVE:
                    modes = ALL_MODES
                elif not consts:
                    modes = ALL_MODES if main else BASIC_MODES
                elif main:  # forward is cheap to compile; reverse on every third combination
                    modes = ("Forward", "Reverse") if rotation % 3 == 1 else ("Forward",)
                else:
                    modes = ()
                for mode in modes:
                    ident = "-".join(x for x in (spec.name, label, mode, case.replace(" ", "_")) if x)
                    marks = ()
                    if spec.name in KNOWN_GAPS and mode.startswith("Reverse"):
                        marks = pytest.mark.xfail(strict=True, raises=AssertionError,
                                                  reason=KNOWN_GAPS[spec.name])
                    yield pytest.param(spec.name, consts, mode, case, id=ident, marks=marks)


CASES = list(_cases())


def annotate(spec: Spec, args: list, consts: frozenset) -> list:
    """Wrap arguments in annotations: Active/Duplicated unless named in ``consts``."""
    from adtriad.ad_core import Active, Const, Duplicated

    out = []
    for p, v in zip(spec.params, args):
        kind = kind_of(p)
        if kind in ("int", "bool"):
            out.append(v)
        elif p in consts:
            out.append(Const(v))
        elif kind == "scalar":
            out.append(Active(v))
        else:
            out.append(Duplicated(v, np.zeros_like(v)))
    return out


@pytest.mark.parametrize("name, consts, mode, case", CASES)
def test_corpus(name, consts, mode, case):
    spec = CORPUS[name]
    args = spec.make_args(case)
    check_grads(spec.func, *annotate(spec, args, consts), modes=(mode,), **spec.tol)


@pytest.mark.skipif(not EXHAUSTIVE, reason="compiles the whole corpus again; set ADTRIAD_EXHAUSTIVE=1")
@pytest.mark.parametrize("name", sorted(n for n, s in CORPUS.items() if s.nopython))
def test_corpus_function_is_nopython(name):
    """The corpus is in Numba's nopython subset: each function compiles and agrees with Python."""
    spec = CORPUS[name]
    compiled = spec.func if isinstance(spec.func, numba.core.dispatcher.Dispatcher) else numba.njit(spec.func)
    py = getattr(spec.func, "py_func", spec.func)
    for case in spec.case_names:
        a_py, a_nb = spec.make_args(case), spec.make_args(case)
        r_py, r_nb = py(*a_py), compiled(*a_nb)
        rtol = 1e-5 if spec.dtype == np.float32 else 1e-12
        if r_py is None:
            assert r_nb is None
        else:
            np.testing.assert_allclose(r_nb, r_py, rtol=rtol, atol=rtol)
        for x, y in zip(a_py, a_nb):
            if isinstance(x, np.ndarray):
                np.testing.assert_allclose(y, x, rtol=rtol, atol=rtol)


def test_corpus_size_and_coverage():
    assert len(CORPUS) >= 80
    assert len(CASES) >= 3 * len(CORPUS)
    kinds = {kind_of(p) for s in CORPUS.values() for p in s.params}
    assert kinds == {"scalar", "array", "written", "int", "bool"}
    assert any(s.dtype == np.float32 for s in CORPUS.values())
    assert any(isinstance(s.func, numba.core.dispatcher.Dispatcher) for s in CORPUS.values())


def _warm(units_path: str, progress_path: str) -> None:
    """Compile the derivatives of the given units, from the last backwards, until the test run
    (which writes the index of the unit it is at into ``progress_path``) catches up."""
    from adtriad.ad_core import Forward, Reverse, autodiff
    from adtriad.ad_core import Active, Duplicated

    with open(units_path) as fh:
        units = json.load(fh)
    parent = os.getppid()
    for i in range(len(units) - 1, -1, -1):
        if os.getppid() != parent:  # the test run is gone
            return
        try:
            with open(progress_path) as fh:
                reached = int(fh.read() or 0)
        except (OSError, ValueError):
            reached = 0
        if i <= reached + 1:
            return
        name, consts, direction = units[i]
        spec = CORPUS[name]
        anns = annotate(spec, spec.make_args(spec.main_case), frozenset(consts))
        if direction == "forward":
            anns = [Duplicated(a.val, type(a.val)(1.0)) if isinstance(a, Active) else a for a in anns]
        try:
            autodiff(Forward if direction == "forward" else Reverse, spec.func, *anns)
        except Exception:  # the test itself reports it
            pass


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--warm":
    _warm(sys.argv[2], sys.argv[3])
