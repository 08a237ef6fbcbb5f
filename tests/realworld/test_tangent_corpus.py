"""A fast slice of Tangent's test functions: never a wrong derivative, never a raw crash.

``benchmarks/tangent_corpus.py`` runs all of ``tangent_functions.py`` (google/tangent's
``tests/functions.py``) and prints the table; this file keeps a representative slice (straight
line code, calls, ``if``/``elif``, ``for`` and ``while`` loops, loops with branches, NumPy
element-wise functions and reductions, array reads and writes, a recurrent net) in the test
suite. Each (function, mode) must be ``correct`` or ``refused`` (an ADError); ``wrong`` and
``crash`` fail. Cases that are wrong or crash today are strict xfails in ``KNOWN``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import corpus_harness as H

from adtriad import ad_core

FAST = [
    "saxpy",                         # straight-line code, three active floats
    "saxpy_call",                    # calls to other functions
    "overwrite_if",                  # an argument overwritten in both branches
    "multiarg_if",                   # if / elif / else, nested, branch on computed values
    "overwrite_ifelse",              # elif with a reversed comparison
    "serial_for",                    # two loops with trip counts from an int argument
    "cond_iterpower1",               # a branch inside a loop
    "superfor_iterpower",            # nested loops
    "iterpower_with_call",           # a call inside a loop
    "while_big",                     # a while loop with a data-dependent trip count
    "numpy_sqrt",                    # np.sqrt in both branches
    "numpy_tan",                     # np.tan
    "gradgrad_pow",                  # ** with an active exponent, in branches
    "numpy_mean",                    # a reduction of an array
    "test_subscript2",               # an array element overwritten, then summed
    "test_subscript3",               # an array expression, an element overwritten, read again
    "slicing",                       # a slice of an array
    "active_subscript",              # a new array written element by element in a loop
    "init_array_grad_maybe_active",  # rows of a 2-D array written in a loop
    "logistic_regression",           # np.dot, np.tanh, np.log, broadcasting
    "overwrite_call",                # an array variable rebound to a float
    "test_implicit_indexing",        # for ... in an array (refused)
]

# (function, mode) -> why it is wrong or crashes today. Strict: a fix makes the test fail
# until its entry is removed.
KNOWN: dict[tuple[str, str], str] = {}


@functools.lru_cache(maxsize=None)
def outcomes(name: str) -> dict:
    return H.run_case(H.cases()[name])


def _params():
    for name in FAST:
        for mode in H.MODES:
            marks = ()
            if (name, mode) in KNOWN:
                marks = pytest.mark.xfail(strict=True, raises=AssertionError, reason=KNOWN[(name, mode)])
            yield pytest.param(name, mode, id=f"{name}-{mode}", marks=marks)


@pytest.mark.parametrize("name, mode", list(_params()))
def test_never_wrong_never_crash(name, mode):
    o = outcomes(name)[mode]
    assert o.status in ("correct", "refused"), (
        f"{name} [{mode}] is {o.status}: {o.call} at ({o.point})\n{o.detail or o.message}")
    if o.status == "refused":
        assert o.message.strip(), "a refusal must say why"


def test_slice_names_exist():
    missing = sorted(set(FAST) - set(H.function_names()))
    assert not missing, f"not in tangent_functions.py: {missing}"
    assert {n for n, _ in KNOWN} <= set(FAST)


def test_every_function_has_a_case():
    """Every copied function can be called by the harness (a new argument name would raise)."""
    cases = H.cases()
    assert list(cases) == H.function_names()
    assert len(cases) == 103
    for case in cases.values():
        assert case.points and all(len(p) == len(case.kinds) for p in case.points)


# ---- the classifier itself, on a stand-in engine (nothing is compiled) ------------------------


def _fake_autodiff(behaviour):
    real = ad_core.autodiff

    def autodiff(mode, f, *rest, **kw):
        name = "Reverse" if mode is ad_core.Reverse else "Forward"
        what = behaviour.get(name)
        if what == "refuse":
            raise ad_core.ADError("refused: cannot differentiate this")
        if what == "crash":
            raise IndexError("index 7 is out of bounds")
        out = real(mode, f, *rest, **kw)
        if what == "wrong":
            if name == "Reverse":
                return (tuple(None if d is None else 2.0 * d for d in out[0]),)
            return (2.0 * out[0],)
        return out
    return autodiff


@pytest.mark.parametrize("behaviour, expected", [
    ({}, {"Reverse": "correct", "Forward": "correct"}),
    ({"Reverse": "refuse"}, {"Reverse": "refused", "Forward": "correct"}),
    ({"Forward": "crash"}, {"Reverse": "correct", "Forward": "crash"}),
    ({"Reverse": "wrong", "Forward": "refuse"}, {"Reverse": "wrong", "Forward": "refused"}),
    ({"Reverse": "crash", "Forward": "wrong"}, {"Reverse": "crash", "Forward": "wrong"}),
])
def test_classifier(monkeypatch, behaviour, expected):
    case = H.cases()["test_binop_mul3"]
    monkeypatch.setattr(ad_core, "autodiff", _fake_autodiff(behaviour))
    got = H.run_case(case)
    assert {m: o.status for m, o in got.items()} == expected
    if behaviour.get("Forward") == "crash":
        assert got["Forward"].exception == "IndexError"
    if behaviour.get("Reverse") == "refuse":
        assert got["Reverse"].exception == "ADError" and "cannot differentiate" in got["Reverse"].message


def test_not_applicable_and_kinks():
    cases = H.cases()
    for name in ("fn_multiple_return", "cart2polar", "listcomp"):
        assert all(o.status == "not-applicable" for o in H.run_case(cases[name]).values()), name
    # while_big switches trip count at |a| = 0.1 * 2**k: Tangent's -0.1 and 0.1 are left out.
    assert H._kink(cases["while_big"], (0.1,)) is not None
    assert H._kink(cases["while_big"], (0.5 + 0.05,)) is None
    assert np.isfinite(cases["while_big"].func(0.55))
