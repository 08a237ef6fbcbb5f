"""After a reverse call every array holds what the primal left in it (Enzyme's contract): the
adjoint sweep may put old values back into an array to read them, and the caller then puts
the final values back; arrays whose old values nothing reads are left as the primal wrote
them. Each kernel writes memory a different way; the oracle is the plain Python primal on
copies."""

import numpy as np
import pytest

from adtriad.ad_core import (Active, Const, Duplicated, ReverseSplitWithPrimal,
                             ReverseWithPrimal, autodiff, autodiff_thunk, checkpointed)


def axpy_in_place(y, a, x):  # y's old value is never read: nothing taped or put back
    for i in range(x.shape[0]):
        y[i] += a * x[i]
    return np.sum(y)


def squares_in_place(y, x):  # y[i]'s old value is read by its adjoint: taped, put back
    for i in range(x.shape[0]):
        y[i] = y[i] * y[i] + x[i]
    return np.sum(y)


def through_a_view(y, x):
    tail = y[1:]
    for i in range(tail.shape[0]):
        tail[i] = tail[i] * x[i]
    return np.sum(y)


def _scale(v, c):
    for i in range(v.shape[0]):
        v[i] *= c


def by_a_callee(y, c):
    _scale(y, c)
    _scale(y, c)
    return np.sum(y)


def stepped(u, tmp, c):
    n = u.shape[0]
    for t in range(5):
        for i in range(1, n - 1):
            tmp[i] = u[i] + c * (u[i - 1] - 2.0 * u[i] + u[i + 1]) * u[i]
        for i in range(1, n - 1):
            u[i] = tmp[i]
    return np.sum(u * u)


def _inputs(rng):
    return rng.uniform(0.5, 1.5, 7), rng.uniform(0.5, 1.5, 7)


CASES = {
    "store nobody reads": (axpy_in_place, lambda y, x: (y, 0.7, x), (True, False, True)),
    "store read back": (squares_in_place, lambda y, x: (y, x), (True, True)),
    "store through a view": (through_a_view, lambda y, x: (y, x), (True, True)),
    "store by a callee": (by_a_callee, lambda y, x: (y, 1.3), (True, False)),
    "time loop": (stepped, lambda y, x: (y, np.zeros_like(x), 0.1), (True, True, False)),
}


def annotate(args, shadowed):
    return [Duplicated(a, np.zeros_like(a)) if isinstance(a, np.ndarray) and dup
            else Active(a) if isinstance(a, float) else Const(a)
            for a, dup in zip(args, shadowed)]


def primal_state(f, args):
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    result = f(*copies)
    return result, [c for c in copies if isinstance(c, np.ndarray)]


@pytest.mark.parametrize("mode", ["Reverse", "checkpointed", "split"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_arrays_hold_what_the_primal_left_after_a_reverse_call(case, mode):
    f, make, shadowed = CASES[case]
    args = make(*_inputs(np.random.default_rng(3)))
    expected_result, expected_arrays = primal_state(f, args)
    anns = annotate(args, shadowed)
    if mode == "split":
        forward, reverse = autodiff_thunk(ReverseSplitWithPrimal, Const(f), Active,
                                          *(type(a) for a in anns))
        tape, result, _ = forward(Const(f), *anns)
        reverse(Const(f), *anns, 1.0, tape)
    else:
        how = ReverseWithPrimal if mode == "Reverse" else \
            checkpointed(ReverseWithPrimal, 2 * 7 * 8)  # one snapshot of the time loop
        result, _ = autodiff(how, f, Active, *anns)
    assert result == pytest.approx(expected_result, rel=1e-12)
    arrays = [a.val for a in anns if isinstance(a.val, np.ndarray)]
    for got, want in zip(arrays, expected_arrays):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
