"""The gradient checker is itself tested: it passes correct derivatives and catches wrong ones.

None of these tests needs the AD engine. ``check_grads`` is driven through a small hand-written
engine (``_FakeEngine``) that follows API.md's calling conventions and derivative semantics, with
switches that break it in the ways a real engine could be wrong.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adtriad.ad_core.testing import (
    ALL_MODES,
    GradCheckError,
    GradCheckReport,
    check_derivative,
    check_grads,
    finite_difference_gradient,
    finite_difference_jvp,
)

# ----------------------------------------------------------------------------------------------
# finite differences against closed forms


@pytest.mark.parametrize(
    "f, df, x",
    [
        (math.sin, math.cos, 0.7),
        (math.exp, math.exp, -1.3),
        (math.log, lambda x: 1.0 / x, 0.4),
        (math.sqrt, lambda x: 0.5 / math.sqrt(x), 2.5),
        (math.tanh, lambda x: 1.0 - math.tanh(x) ** 2, 0.3),
        (lambda x: x**5 - 3 * x, lambda x: 5 * x**4 - 3, 1.7),
        (math.atan, lambda x: 1.0 / (1 + x * x), -2.0),
        (lambda x: 1e6 * x * x, lambda x: 2e6 * x, 300.0),
    ],
)
def test_fd_scalar_matches_closed_form(f, df, x):
    (g,) = finite_difference_gradient(f, [x])
    assert isinstance(g, float)
    assert g == pytest.approx(df(x), rel=1e-9, abs=1e-9)


def test_fd_two_scalars_and_wrt_subset():
    f = lambda x, y, n: x * y**3 + n
    gx, gy = finite_difference_gradient(f, [2.0, 1.5, 4], wrt=(0, 1))
    assert gx == pytest.approx(1.5**3, rel=1e-10)
    assert gy == pytest.approx(3 * 2.0 * 1.5**2, rel=1e-10)
    (gy_only,) = finite_difference_gradient(f, [2.0, 1.5, 4], wrt=1)
    assert gy_only == pytest.approx(gy, rel=1e-12)


def test_fd_default_wrt_skips_ints_and_bools():
    f = lambda x, n, flag, a: x * n + (np.sum(a) if flag else 0.0)
    grads = finite_difference_gradient(f, [1.0, 3, True, np.ones(2)])
    assert len(grads) == 2
    assert grads[0] == pytest.approx(3.0)
    np.testing.assert_allclose(grads[1], [1.0, 1.0], rtol=1e-10)


def test_fd_array_gradient_per_element():
    a = np.array([0.5, -1.0, 2.0])
    b = np.array([1.0, 2.0, 3.0])
    f = lambda a, b: float(np.sum(np.sin(a) * b * b))
    ga, gb = finite_difference_gradient(f, [a, b])
    np.testing.assert_allclose(ga, np.cos(a) * b * b, rtol=1e-9)
    np.testing.assert_allclose(gb, 2 * np.sin(a) * b, rtol=1e-9)


def test_fd_2d_array():
    m = np.arange(6.0).reshape(2, 3) / 5.0
    (g,) = finite_difference_gradient(lambda m: float(np.sum(m**3)), [m])
    assert g.shape == (2, 3)
    np.testing.assert_allclose(g, 3 * m**2, rtol=1e-9, atol=1e-12)


def test_fd_float32_inputs_are_differenced_in_float64():
    a = np.array([0.1, 0.2, 0.3], dtype=np.float32)
    (g,) = finite_difference_gradient(lambda a: float(np.sum(np.exp(a))), [a])
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, np.exp(a.astype(np.float64)), rtol=1e-10)
    (gx,) = finite_difference_gradient(lambda x: x * x, [np.float32(1.5)])
    assert gx == pytest.approx(3.0, rel=1e-10)


def test_fd_does_not_modify_inputs_of_a_mutating_function():
    def square_in_place(u):
        for i in range(u.shape[0]):
            u[i] = u[i] * u[i]
        return float(np.sum(u))

    u = np.array([1.0, 2.0, 3.0])
    (g,) = finite_difference_gradient(square_in_place, [u])
    np.testing.assert_array_equal(u, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(g, 2 * u, rtol=1e-10)


def test_fd_output_array_with_cotangents():
    def f(out, a):  # out[0] = a0^2 + a1, out[1] = a0 a1 (the seed's f!)
        out[0] = a[0] ** 2 + a[1]
        out[1] = a[0] * a[1]

    a = np.array([2.0, 3.0])
    out = np.array([7.0, -5.0])
    c = np.array([1.0, 0.0])
    g_out, g_a = finite_difference_gradient(f, [out, a], wrt=(0, 1), cotangents=(c,), outputs=(0,))
    np.testing.assert_allclose(g_a, [2 * a[0], 1.0], rtol=1e-10)
    np.testing.assert_allclose(g_out, [0.0, 0.0], atol=1e-12)  # overwritten: the seed is consumed
    (jy, ja) = (None, None)
    (jy,) = finite_difference_jvp(f, [out, a], (1,), [np.array([1.0, 0.0])], outputs=(0,))
    np.testing.assert_allclose(jy, [2 * a[0], a[1]], rtol=1e-10)


def test_fd_read_only_output_passes_its_cotangent_through():
    # An array that f only reads, counted as an output: (∂F/∂a)ᵀc = grad + c (Enzyme's +=).
    a = np.array([1.0, -2.0])
    c_ret, c_a = 2.0, np.array([0.25, 0.5])
    (g,) = finite_difference_gradient(lambda a: float(np.sum(a**2)), [a], cotangents=(c_ret, c_a), outputs=(0,))
    np.testing.assert_allclose(g, c_ret * 2 * a + c_a, rtol=1e-10)


def test_fd_jvp_of_scalar_and_array_result():
    (t,) = finite_difference_jvp(lambda x, y: math.sin(x) * y, [0.3, 2.0], (0, 1), [1.0, -1.0])
    assert t == pytest.approx(math.cos(0.3) * 2.0 - math.sin(0.3), rel=1e-10)
    a = np.array([0.1, 0.2])
    (ta,) = finite_difference_jvp(lambda a: np.exp(a), [a], (0,), [np.array([1.0, 2.0])])
    np.testing.assert_allclose(ta, np.exp(a) * [1.0, 2.0], rtol=1e-10)


def test_fd_zero_tangent_gives_zero():
    (t,) = finite_difference_jvp(lambda x: x**3, [2.0], (0,), [0.0])
    assert t == 0.0


def test_fd_rejects_non_float_wrt():
    with pytest.raises(TypeError, match="argument 1"):
        finite_difference_gradient(lambda x, n: x * n, [1.0, 3], wrt=(1,))


@settings(max_examples=25, deadline=None)
@given(
    coeffs=st.lists(st.floats(-3, 3), min_size=1, max_size=6),
    x=st.floats(-2, 2),
)
def test_fd_polynomial_property(coeffs, x):
    def p(x):
        s = 0.0
        for c in coeffs:
            s = s * x + c
        return s

    def dp(x):
        n = len(coeffs) - 1
        return sum(c * (n - k) * x ** (n - k - 1) for k, c in enumerate(coeffs) if n - k > 0)

    (g,) = finite_difference_gradient(p, [x])
    assert g == pytest.approx(dp(x), rel=1e-7, abs=1e-7)


# ----------------------------------------------------------------------------------------------
# check_derivative: hand-written derivatives


def _f_vec(a, x):
    return float(x * np.sum(a**2) + np.prod(a))


def _grad_vec(a, x):
    prod_except = np.array([np.prod(np.delete(a, i)) for i in range(a.size)])
    return 2 * x * a + prod_except, float(np.sum(a**2))


A0 = np.array([0.5, -1.5, 2.0, 0.75])


def test_check_derivative_passes_correct_grad():
    report = check_derivative(_f_vec, [A0, 1.3], grad=_grad_vec)
    assert isinstance(report, GradCheckReport) and report.ok
    assert report.modes == ("grad",)
    assert len(report.checks) == 2
    assert "checks passed" in str(report)


@pytest.mark.parametrize(
    "wrong, where",
    [
        (lambda a, x: (2 * _grad_vec(a, x)[0], _grad_vec(a, x)[1]), "argument 0 'a'"),  # factor
        (lambda a, x: (_grad_vec(a, x)[0], -_grad_vec(a, x)[1]), "argument 1 'x'"),  # sign
        (lambda a, x: (_grad_vec(a, x)[0] + np.eye(4)[2] * 1e-3, _grad_vec(a, x)[1]), "index (2,)"),  # one element
    ],
    ids=["factor", "sign", "one-element"],
)
def test_check_derivative_catches_wrong_grad(wrong, where):
    with pytest.raises(AssertionError) as info:
        check_derivative(_f_vec, [A0, 1.3], grad=wrong)
    msg = str(info.value)
    assert isinstance(info.value, GradCheckError)
    assert "[grad]" in msg and where in msg
    assert "max abs err" in msg and "max rel err" in msg and "worst" in msg


def test_check_derivative_one_element_message_points_at_it():
    wrong = lambda a, x: (_grad_vec(a, x)[0] + np.eye(4)[1] * 0.5, _grad_vec(a, x)[1])
    with pytest.raises(GradCheckError) as info:
        check_derivative(_f_vec, [A0, 1.3], grad=wrong)
    assert "worst at index (1,)" in str(info.value)
    assert "1 of 4 element(s) off" in str(info.value)
    assert len(info.value.failures) == 1


def test_check_derivative_wrong_count():
    with pytest.raises(GradCheckError, match="returned 1 derivatives for 2"):
        check_derivative(_f_vec, [A0, 1.3], grad=lambda a, x: (_grad_vec(a, x)[0],))


def _writer(out, a, x):  # out[i] = x a[i]^2 + a[i+1] (cyclic): a non-symmetric Jacobian
    n = a.shape[0]
    for i in range(n):
        out[i] = x * a[i] ** 2 + a[(i + 1) % n]


def _writer_jvp(args, tangents):
    out, a, x = args
    ta, tx = tangents
    return (tx * a**2 + 2 * x * a * ta + np.roll(ta, -1),)


def _writer_vjp(args, cotangents):
    out, a, x = args
    (c,) = cotangents
    return 2 * x * a * c + np.roll(c, 1), float(np.sum(c * a**2))


def _writer_vjp_transposed_wrong(args, cotangents):
    out, a, x = args
    (c,) = cotangents
    return 2 * x * a * c + np.roll(c, -1), float(np.sum(c * a**2))


def test_check_derivative_jvp_vjp_on_an_output_array():
    args = [np.zeros(4), A0.copy(), 0.7]
    report = check_derivative(_writer, args, wrt=(1, 2), outputs=(0,), jvp=_writer_jvp, vjp=_writer_vjp)
    assert report.modes == ("jvp", "vjp")
    assert any(c.kind == "dot product" for c in report.checks)


def test_check_derivative_catches_a_transposed_vjp():
    args = [np.zeros(4), A0.copy(), 0.7]
    with pytest.raises(GradCheckError, match=r"\[vjp\] argument 1 'a'"):
        check_derivative(_writer, args, wrt=(1, 2), outputs=(0,), jvp=_writer_jvp, vjp=_writer_vjp_transposed_wrong)


def test_dot_product_test_catches_what_a_loose_fd_tolerance_misses():
    args = [np.zeros(4), A0.copy(), 0.7]
    with pytest.raises(GradCheckError) as info:
        check_derivative(_writer, args, wrt=(1, 2), outputs=(0,), jvp=_writer_jvp,
                         vjp=_writer_vjp_transposed_wrong, rtol=100.0, atol=100.0)
    assert len(info.value.failures) == 1
    assert "[dot product jvp/vjp]" in str(info.value)


def test_check_derivative_catches_wrong_jvp_sign():
    args = [np.zeros(4), A0.copy(), 0.7]
    wrong = lambda args, t: (-_writer_jvp(args, t)[0],)
    with pytest.raises(GradCheckError, match=r"\[jvp\] output 0 'out'"):
        check_derivative(_writer, args, wrt=(1, 2), outputs=(0,), jvp=wrong)


def test_check_derivative_gives_fresh_copies():
    seen = []

    def grad(u):
        seen.append(u.copy())
        u[:] = -1.0  # mutating the copy must not leak into later calls
        return (2 * seen[-1],)

    u = np.array([1.0, 2.0])
    check_derivative(lambda u: float(np.sum(u * u)), [u], grad=grad)
    np.testing.assert_array_equal(u, [1.0, 2.0])


# ----------------------------------------------------------------------------------------------
# check_grads, driven through a hand-written engine


class Const(NamedTuple):
    val: Any


class Active(NamedTuple):
    val: Any


class Duplicated(NamedTuple):
    val: Any
    dval: Any


class _Mode:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


class _Rule(NamedTuple):
    """Derivatives of one function from its entry values.

    forward(entry, tangents) -> (dret, {i: tangent of final array i}) for written arrays;
    reverse(entry, seed, shadows) -> ({i: dscalar}, {i: new shadow}) with += semantics.
    """

    forward: Any
    reverse: Any


def f1(x, a):
    return x * float(np.sum(a**2))


def _f1_forward(e, t):
    x, a = e
    return t.get(0, 0.0) * np.sum(a**2) + x * np.sum(2 * a * t.get(1, 0.0)), {}


def _f1_reverse(e, seed, sh):
    x, a = e
    new = {1: sh[1] + seed * 2 * x * a} if 1 in sh else {}
    return {0: seed * float(np.sum(a**2))}, new


def f2(out, a, x):
    for i in range(a.shape[0]):
        out[i] = x * a[i] ** 2


def _f2_forward(e, t):
    out, a, x = e
    return None, {0: t.get(2, 0.0) * a**2 + 2 * x * a * t.get(1, 0.0)}


def _f2_reverse(e, seed, sh):
    out, a, x = e
    c = sh[0].copy()
    new = {0: np.zeros_like(c)}
    if 1 in sh:
        new[1] = sh[1] + 2 * x * a * c
    return {2: float(np.sum(c * a**2))}, new


def f3(u, x):
    for i in range(u.shape[0]):
        u[i] = math.sin(u[i]) * x
    return float(np.sum(u))


def _f3_forward(e, t):
    u, x = e
    tu = np.cos(u) * x * t[0] + np.sin(u) * t.get(1, 0.0)
    return float(np.sum(tu)), {0: tu}


def _f3_reverse(e, seed, sh):
    u, x = e
    c = sh[0] + seed
    return {1: float(np.sum(c * np.sin(u)))}, {0: np.cos(u) * x * c}


RULES = {f1: _Rule(_f1_forward, _f1_reverse), f2: _Rule(_f2_forward, _f2_reverse), f3: _Rule(_f3_forward, _f3_reverse)}


class _FakeEngine:
    """API.md's autodiff/autodiff_thunk for the functions in RULES; ``broken`` names one bug."""

    Const, Active, Duplicated = Const, Active, Duplicated

    def __init__(self, broken: str | None = None):
        self.broken = broken
        for name in ALL_MODES:
            setattr(self, name, _Mode(name))

    def _split_args(self, anns):
        vals = [a.val if isinstance(a, (Const, Active, Duplicated)) else a for a in anns]
        return vals, [np.copy(v) if isinstance(v, np.ndarray) else v for v in vals]

    def _forward(self, f, anns, with_primal):
        vals, entry = self._split_args(anns)
        tangents = {i: a.dval for i, a in enumerate(anns) if isinstance(a, Duplicated)}
        ret = f(*vals)  # primal, in place
        dret, written = RULES[f].forward(entry, tangents)
        for i, t in written.items():
            if self.broken == "forward-shadow-not-written":
                continue
            anns[i].dval[...] = t
        if self.broken == "forward-sign" and dret is not None:
            dret = -dret
        if ret is None:
            return (None,) if with_primal else ()
        if self.broken == "primal" and with_primal:
            ret = ret + 1.0
        return (ret, dret) if with_primal else (dret,)

    def _reverse(self, f, anns, entry, seed):
        shadows = {i: a.dval for i, a in enumerate(anns) if isinstance(a, Duplicated)}
        scal, new = RULES[f].reverse(entry, seed, {i: s.copy() for i, s in shadows.items()})
        for i, s in new.items():
            if self.broken == "reverse-assigns" and f is f1:
                s = s - shadows[i]  # forgets the +=
            if self.broken == "reverse-no-zero" and f is f2 and i == 0:
                continue
            if self.broken == "reverse-one-element" and i == 1:
                s = s.copy()
                s[2] += 0.01
            shadows[i][...] = s
        if self.broken == "reverse-factor":
            scal = {i: 2 * v for i, v in scal.items()}
        derivs = tuple(scal.get(i) if isinstance(a, Active) else None for i, a in enumerate(anns))
        if self.broken == "reverse-none-for-const":
            derivs = tuple(0.0 if d is None else d for d in derivs)
        return derivs

    def autodiff(self, mode, f, ret_activity, *anns):
        if mode.name.startswith("Forward"):
            return self._forward(f, list(anns), mode.name == "ForwardWithPrimal")
        vals, entry = self._split_args(anns)
        ret = f(*vals)
        derivs = self._reverse(f, anns, entry, 1.0 if ret is not None else 0.0)
        return (ret, derivs) if mode.name == "ReverseWithPrimal" else (derivs,)

    def autodiff_thunk(self, mode, fconst, ret_activity, *classes):
        assert mode.name == "ReverseSplitWithPrimal"
        f = fconst.val

        def forward(fc, *anns):
            vals, entry = self._split_args(anns)
            ret = f(*vals)
            return {"entry": entry}, ret, None

        def reverse(fc, *rest):
            *anns, dret, tape = rest
            seed = 0.0 if dret is None else dret
            if self.broken == "split-ignores-dret" and dret is not None:
                seed = 1.0
            return (self._reverse(f, anns, tape["entry"], seed),)

        return forward, reverse


def _f1_args():
    return Active(1.3), Duplicated(A0.copy(), np.zeros(4))


def _f2_args():
    return Duplicated(np.zeros(4), np.zeros(4)), Duplicated(A0.copy(), np.zeros(4)), Active(0.7)


def _f3_args():
    return Duplicated(A0.copy(), np.zeros(4)), Active(0.9)


CASES = {"f1": (f1, _f1_args), "f2": (f2, _f2_args), "f3": (f3, _f3_args)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_grads_passes_a_correct_engine(name):
    f, make = CASES[name]
    report = check_grads(f, *make(), engine=_FakeEngine())
    assert report.modes == ALL_MODES
    kinds = {c.kind for c in report.checks}
    assert {"finite differences", "dot product"} <= kinds
    assert sum(c.kind == "dot product" for c in report.checks) == 3  # Forward vs each reverse mode


def test_check_grads_with_consts_and_subsets_of_modes():
    eng = _FakeEngine()
    check_grads(f1, Const(1.3), Duplicated(A0.copy(), np.zeros(4)), engine=eng)
    check_grads(f1, Active(1.3), Const(A0.copy()), engine=eng)
    check_grads(f2, Duplicated(np.zeros(4), np.zeros(4)), Const(A0.copy()), Active(0.7), engine=eng)
    report = check_grads(f3, *_f3_args(), engine=eng, modes=("Reverse",))
    assert report.modes == ("Reverse",)


@pytest.mark.parametrize(
    "broken, name, expect",
    [
        ("reverse-assigns", "f1", r"\[Reverse\] argument 1 'a' \(Duplicated shadow\)"),
        ("reverse-factor", "f1", r"\[Reverse\] argument 0 'x' \(Active\)"),
        ("reverse-one-element", "f1", r"worst at index \(2,\)"),
        ("reverse-no-zero", "f2", r"\[Reverse\] argument 0 'out'"),
        ("forward-sign", "f3", r"\[Forward\] tangent of the result"),
        ("forward-shadow-not-written", "f2", r"\[Forward\] argument 0 'out'"),
        ("split-ignores-dret", "f1", r"\[ReverseSplitWithPrimal\] argument 0 'x'"),
        ("primal", "f3", r"\[ReverseWithPrimal\]|\[ForwardWithPrimal\] primal result"),
        ("reverse-none-for-const", "f2", r"argument 1 'a' is not Active but its derivative is"),
    ],
)
def test_check_grads_catches_a_broken_engine(broken, name, expect):
    f, make = CASES[name]
    with pytest.raises(GradCheckError, match=expect):
        check_grads(f, *make(), engine=_FakeEngine(broken))


def test_check_grads_dot_product_alone_catches_an_inconsistent_pair():
    with pytest.raises(GradCheckError, match=r"dot product Forward/Reverse"):
        check_grads(f3, *_f3_args(), engine=_FakeEngine("forward-sign"), rtol=1e3, atol=1e3)


def test_check_grads_reports_engine_exceptions_with_the_mode():
    class Raising(_FakeEngine):
        def autodiff(self, mode, f, ret_activity, *anns):
            if mode.name == "Forward":
                raise ValueError("cannot differentiate this")
            return super().autodiff(mode, f, ret_activity, *anns)

    with pytest.raises(GradCheckError, match=r"\[Forward\] the engine raised ValueError: cannot") as info:
        check_grads(f1, *_f1_args(), engine=Raising())
    assert isinstance(info.value.__cause__, ValueError)


def test_check_grads_does_not_touch_the_callers_arrays():
    a, da = A0.copy(), np.full(4, 7.0)
    check_grads(f3, Duplicated(a, da), Active(0.9), engine=_FakeEngine())
    np.testing.assert_array_equal(a, A0)
    np.testing.assert_array_equal(da, 7.0)


def test_check_grads_float32_tolerances():
    a32 = A0.astype(np.float32)
    check_grads(f1, Active(np.float32(1.3)), Duplicated(a32, np.zeros(4, np.float32)), engine=_FakeEngine())
