"""The dual-number oracle against closed forms and finite differences, and its refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adtriad.agents.fuzz.check import python_function
from adtriad.agents.fuzz.dual import MATH, Dual, dual_namespace, duals, tangent_of, value_of

POINTS = {"acosh": 1.7, "asin": 0.3, "acos": -0.4, "atanh": 0.2, "log": 0.8, "log2": 1.3,
          "log10": 2.2, "log1p": 0.6, "sqrt": 1.9}


def central(f, x: float, h: float = 1e-5) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("name", sorted(MATH))
def test_every_math_function_has_the_tangent_of_finite_differences(name):
    x = POINTS.get(name, 0.37)
    m = dual_namespace()["math"]
    d = getattr(m, name)(Dual(x, 2.0))
    fn = getattr(math, name)
    assert d.value == fn(x)
    assert d.tangent == pytest.approx(2.0 * central(fn, x), rel=1e-7)


@pytest.mark.parametrize("expr, closed_form", [
    (lambda u, v: u * v + u / v - v, lambda u, v: (v + 1 / v, u - u / v**2 - 1)),
    (lambda u, v: u ** 3 - 2.0 ** v, lambda u, v: (3 * u**2, -(2.0**v) * math.log(2.0))),
    (lambda u, v: u ** v, lambda u, v: (v * u ** (v - 1), u**v * math.log(u))),
    (lambda u, v: abs(u - v) - (-u), lambda u, v: (math.copysign(1, u - v) + 1, -math.copysign(1, u - v))),
    (lambda u, v: 1.0 - u + (3.0 / v), lambda u, v: (-1.0, -3.0 / v**2)),
])
def test_arithmetic_against_closed_forms(expr, closed_form):
    u, v = 1.3, 0.7
    du, dv = closed_form(u, v)
    assert expr(Dual(u, 1.0), Dual(v, 0.0)).tangent == pytest.approx(du, rel=1e-12)
    assert expr(Dual(u, 0.0), Dual(v, 1.0)).tangent == pytest.approx(dv, rel=1e-12)
    assert expr(Dual(u, 1.0), Dual(v, 0.0)).value == pytest.approx(expr(u, v), rel=1e-15)


def test_two_argument_functions_against_closed_forms():
    m = dual_namespace()["math"]
    y, x = 0.4, -1.1
    r2 = x * x + y * y
    assert m.atan2(Dual(y, 1.0), x).tangent == pytest.approx(x / r2)
    assert m.atan2(y, Dual(x, 1.0)).tangent == pytest.approx(-y / r2)
    assert m.hypot(Dual(x, 1.0), y).tangent == pytest.approx(x / math.sqrt(r2))
    assert m.pow(Dual(1.5, 1.0), 3.0).tangent == pytest.approx(3 * 1.5**2)
    assert m.copysign(Dual(2.0, 1.0), -1.0).tangent == -1.0


def test_comparisons_and_min_max_look_at_the_value():
    a, b = Dual(0.5, 100.0), Dual(0.7, -100.0)
    assert a < b and b > 0.6 and not (a >= b) and 0.4 < a < 0.6
    assert max(a, b) is b and min(a, 0.9) is a
    assert dual_namespace()["math"].isfinite(a)


def test_numpy_over_object_arrays_of_duals_and_plain_numbers():
    npd = dual_namespace()["np"]
    v = np.array([0.2, -0.4, 0.9])
    t = np.array([1.0, 0.5, -2.0])
    a = duals(v, t)
    z = npd.zeros(3)
    z[1] = a[2] * 2.0  # an object array holding plain floats and a Dual
    cases = [
        (npd.sum(npd.sin(a) * v), float(np.sum(np.cos(v) * t * v))),
        (npd.dot(a, a), float(2 * np.dot(v, t))),
        (a @ v, float(t @ v)),
        (npd.mean(np.tanh(a)), float(np.mean((1 - np.tanh(v) ** 2) * t))),
        (npd.sum(z), 2.0 * t[2]),
        (npd.max(a), t[2]),
        (np.float64(3.0) * a[0], 3.0 * t[0]),
        (npd.sum(np.abs(a)), float(np.sum(np.sign(v) * t))),
    ]
    for got, want in cases:
        assert isinstance(got, Dual)
        assert got.tangent == pytest.approx(want, rel=1e-12)
    assert tangent_of(z).tolist() == [0.0, 2.0 * t[2], 0.0]
    assert value_of(z).dtype == np.float64
    assert npd.zeros(3, dtype=np.int64).dtype == np.int64


def test_nothing_turns_a_dual_into_a_float_silently():
    d = Dual(0.3, 1.0)
    for convert in (float, int, np.float64, lambda u: np.array([u], dtype=np.float64), lambda u: range(u)):
        with pytest.raises(TypeError):
            convert(d)


def test_a_program_runs_over_duals_with_its_imports_and_decorators_replaced():
    source = (
        "import math\nimport numba\nimport numpy as np\nfrom math import sin as s\n\n\n"
        "@numba.njit\ndef g(u):\n    return s(u) * u\n\n\n"
        "@numba.njit(cache=False)\ndef f(x, a, n):\n    z = np.zeros_like(a)\n"
        "    for i in range(n):\n        z[i] = g(a[i]) + math.exp(x)\n    return np.sum(z) + x\n"
    )
    x, a = 0.3, np.array([0.1, -0.5, 0.8])
    plain = python_function(source)(x, a.copy(), 2)
    want = sum(math.sin(u) * u + math.exp(x) for u in a[:2]) + x
    assert plain == pytest.approx(want, rel=1e-15)
    d = python_function(source, dual=True)(Dual(x, 1.0), duals(a, np.zeros(3)), 2)
    assert d.value == pytest.approx(want, rel=1e-15)
    assert d.tangent == pytest.approx(2 * math.exp(x) + 1.0, rel=1e-14)
