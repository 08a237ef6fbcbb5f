"""A corpus of small differentiable functions in Numba's nopython subset.

In the spirit of Tangent's ``tests/functions.py``: every function is small, and its argument
names say what kind of value each argument is:

========================  ======================================================================
name                      kind
========================  ======================================================================
``x``, ``y``, ``z``       float scalar (Active or Const)
``a``, ``b``, ``M``, ``W``  float array (Duplicated or Const); ``M`` and ``W`` are 2-D
``out``, ``out2``, ``u``  float array the function writes (always Duplicated): ``out*`` are
                          outputs, ``u`` is updated in place (its entry value is an input)
``n``, ``m``, ``k``,      int (never active); ``n``/``m`` are usually trip counts
``lo``, ``hi``, ``step``
``flag``                  bool (never active)
========================  ======================================================================

Each function is registered with :func:`corpus`, which records how to make its inputs: the
domain of each float argument (kept away from kinks and branch switches by more than the
finite-difference step), the shapes of arrays (an entry may name an int argument), the dtype,
and ``cases``: named variants (trip counts 0, 1 and n; branches) that override ints, bools,
domains, shapes or exact values. ``CORPUS`` maps names to :class:`Spec`;
``Spec.make_args(case)`` builds a reproducible argument list.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numba
import numpy as np

SCALAR_NAMES = frozenset({"x", "y", "z"})
INT_NAMES = frozenset({"n", "m", "k", "lo", "hi", "step"})
BOOL_NAMES = frozenset({"flag"})
WRITTEN_NAMES = frozenset({"out", "out2", "u"})


def kind_of(name: str) -> str:
    """'scalar', 'array', 'written', 'int' or 'bool', from an argument name."""
    if name in SCALAR_NAMES:
        return "scalar"
    if name in INT_NAMES:
        return "int"
    if name in BOOL_NAMES:
        return "bool"
    if name in WRITTEN_NAMES:
        return "written"
    return "array"


@dataclass(frozen=True)
class Spec:
    """How to call one corpus function."""

    name: str
    func: Callable
    params: tuple[str, ...]
    domains: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    cases: dict = field(default_factory=dict)
    dtype: Any = np.float64
    nopython: bool = True  # compiles as it stands with numba.njit (False: calls plain defs)
    tol: dict = field(default_factory=dict)

    def kinds(self) -> dict[str, str]:
        return {p: kind_of(p) for p in self.params}

    @property
    def float_params(self) -> tuple[str, ...]:
        """Float arguments whose activity can be chosen (scalars and read-only arrays)."""
        return tuple(p for p in self.params if kind_of(p) in ("scalar", "array"))

    @property
    def written_params(self) -> tuple[str, ...]:
        return tuple(p for p in self.params if kind_of(p) == "written")

    @property
    def case_names(self) -> tuple[str, ...]:
        return tuple(self.cases) or ("",)

    @property
    def main_case(self) -> str:
        return self.case_names[-1]

    def make_args(self, case: str = "") -> list:
        """Reproducible arguments for ``case`` (seeded by the function and case names)."""
        over = dict(self.cases.get(case, {})) if case else {}
        domains = {**self.domains, **over.pop("domains", {})}
        shapes = {**self.shapes, **over.pop("shapes", {})}
        values = {**self.values, **over.pop("values", {})}
        rng = np.random.default_rng(zlib.crc32(f"{self.name}/{case}".encode()))
        ints = {}
        for p in self.params:
            if kind_of(p) == "int":
                if p not in over and p not in values:
                    raise KeyError(f"{self.name}: no value for int argument {p!r}")
                ints[p] = int(over.get(p, values.get(p)))
        args = []
        for p in self.params:
            kind = kind_of(p)
            if kind == "int":
                args.append(ints[p])
            elif kind == "bool":
                args.append(bool(over.get(p, values.get(p, True))))
            elif p in values:
                v = values[p]
                args.append(np.array(v, dtype=self.dtype) if kind != "scalar" else self.dtype(v))
            else:
                dom = domains.get(p, (-1.0, 1.0))
                if kind == "scalar":
                    args.append(self.dtype(_draw(rng, dom, ())))
                else:
                    shape = tuple(ints[s] if isinstance(s, str) else s for s in shapes.get(p, (5,)))
                    args.append(np.asarray(_draw(rng, dom, shape), dtype=self.dtype))
        return args


def _draw(rng, dom, shape):
    if dom[0] == "pm":  # |value| in (lo, hi), random sign
        _, lo, hi = dom
        mag = rng.uniform(lo, hi, shape)
        return mag * rng.choice([-1.0, 1.0], shape)
    return rng.uniform(dom[0], dom[1], shape)


CORPUS: dict[str, Spec] = {}


def corpus(func=None, *, name=None, domains=None, shapes=None, values=None, cases=None,
           dtype=np.float64, nopython=True, tol=None):
    """Register a corpus function (usable bare or with keyword arguments)."""

    def register(f):
        py = getattr(f, "py_func", f)
        fname = name or py.__name__
        params = tuple(py.__code__.co_varnames[: py.__code__.co_argcount])
        CORPUS[fname] = Spec(fname, f, params, dict(domains or {}), dict(shapes or {}),
                             dict(values or {}), dict(cases or {}), dtype, nopython, dict(tol or {}))
        return f

    return register(func) if func is not None else register


def trips(var="n", counts=(0, 1, 5)):
    """Cases for trip counts 0, 1 and n of the loop bounded by int argument ``var``."""
    return {f"{var}={c}": {var: c} for c in counts}


POS = (0.3, 3.0)
UNIT = (-0.9, 0.9)
PM = ("pm", 0.3, 1.5)

# ==============================================================================================
# The math module, one function at a time


@corpus
def math_sin(x):
    return math.sin(x)


@corpus
def math_cos(x):
    return math.cos(x)


@corpus(domains={"x": (-1.2, 1.2)})
def math_tan(x):
    return math.tan(x)


@corpus(domains={"x": UNIT})
def math_asin(x):
    return math.asin(x)


@corpus(domains={"x": UNIT})
def math_acos(x):
    return math.acos(x)


@corpus(domains={"x": (-3.0, 3.0)})
def math_atan(x):
    return math.atan(x)


@corpus(domains={"y": (0.5, 2.0)}, cases={"y>0": {}, "y<0": {"domains": {"y": (-2.0, -0.5)}}})
def math_atan2(x, y):
    return math.atan2(x, y)


@corpus(domains={"x": (-2.0, 2.0)})
def math_sinh(x):
    return math.sinh(x)


@corpus(domains={"x": (-2.0, 2.0)})
def math_cosh(x):
    return math.cosh(x)


@corpus(domains={"x": (-2.0, 2.0)})
def math_tanh(x):
    return math.tanh(x)


@corpus(domains={"x": (-2.0, 2.0)})
def math_asinh(x):
    return math.asinh(x)


@corpus(domains={"x": (1.2, 3.0)})
def math_acosh(x):
    return math.acosh(x)


@corpus(domains={"x": UNIT})
def math_atanh(x):
    return math.atanh(x)


@corpus(domains={"x": (-2.0, 2.0)})
def math_exp(x):
    return math.exp(x)


@corpus(domains={"x": (-2.0, 2.0)})
def math_exp2(x):
    return math.exp2(x)


@corpus(domains={"x": (-2.0, 2.0)})
def math_expm1(x):
    return math.expm1(x)


@corpus(domains={"x": POS})
def math_log(x):
    return math.log(x)


@corpus(domains={"x": POS})
def math_log2(x):
    return math.log2(x)


@corpus(domains={"x": POS})
def math_log10(x):
    return math.log10(x)


@corpus(domains={"x": (-0.5, 2.0)})
def math_log1p(x):
    return math.log1p(x)


@corpus(domains={"x": POS})
def math_sqrt(x):
    return math.sqrt(x)


@corpus(domains={"x": POS, "y": (-2.0, 2.0)})
def math_pow(x, y):
    return math.pow(x, y)


@corpus(domains={"x": POS, "y": (-2.0, 2.0)})
def pow_operator(x, y):
    return x**y


@corpus(domains={"x": (-2.0, 2.0)})
def pow_int_literal(x):
    return x**3


@corpus(domains={"x": ("pm", 0.5, 2.0)})
def pow_negative_int_literal(x):
    return x**-2


@corpus(domains={"x": POS})
def pow_half_literal(x):
    return x**0.5 + x**1.5


@corpus(domains={"x": (-2.0, 2.0)}, cases=trips("n", (0, 1, 3)))
def pow_int_argument(x, n):
    return x**n


@corpus(domains={"x": (-2.0, 2.0), "y": (-2.0, 2.0)})
def math_hypot(x, y):
    return math.hypot(x, y)


@corpus(domains={"x": (-2.0, 2.0)})
def math_erf(x):
    return math.erf(x)


@corpus(domains={"x": (-2.0, 2.0)})
def math_erfc(x):
    return math.erfc(x)


@corpus(domains={"x": (0.5, 3.0)})
def math_gamma(x):
    return math.gamma(x)


@corpus(domains={"x": (0.5, 3.0)})
def math_lgamma(x):
    return math.lgamma(x)


@corpus(domains={"x": ("pm", 0.2, 2.0)})
def math_fabs(x):
    return math.fabs(x) * x


@corpus(domains={"x": ("pm", 0.2, 2.0), "y": ("pm", 0.2, 2.0)})
def builtin_abs(x, y):
    return abs(x) + abs(x * y)


@corpus(cases={"x<y": {"domains": {"x": (0.1, 0.5), "y": (0.8, 1.2)}},
               "x>y": {"domains": {"x": (0.8, 1.2), "y": (0.1, 0.5)}}})
def builtin_min(x, y):
    return min(x, y) * x


@corpus(cases={"x<y": {"domains": {"x": (0.1, 0.5), "y": (0.8, 1.2)}},
               "x>y": {"domains": {"x": (0.8, 1.2), "y": (0.1, 0.5)}}})
def builtin_max(x, y):
    return max(x, y) * y


@corpus(domains={"x": ("pm", 0.3, 2.0)},
        cases={"y>0": {"domains": {"y": (0.5, 1.0)}}, "y<0": {"domains": {"y": (-1.0, -0.5)}}})
def math_copysign(x, y):
    return math.copysign(x, y) * y


@corpus(domains={"x": (1.2, 1.8), "y": (-2.0, 2.0)})
def math_floor(x, y):
    return math.floor(x) * y + x * y


@corpus(domains={"x": (-1.8, -1.2), "y": (-2.0, 2.0)})
def math_ceil(x, y):
    return math.ceil(x) * y + x * x


@corpus(domains={"x": (-2.8, -2.2), "y": (-2.0, 2.0)})
def math_trunc(x, y):
    return math.trunc(x) * y * x


@corpus(domains={"x": (2.1, 2.4), "y": (0.9, 1.0)})
def float_modulo(x, y):
    return x % y


@corpus
def math_degrees_radians(x, y):
    return math.degrees(x) * math.radians(y)


@corpus(domains={"y": (0.5, 2.0)})
def arithmetic_operators(x, y):
    return -x * y + x / y - (x - y) + (+x) * 2.0


@corpus
def composite_sin_cos_exp(x, y):
    return math.sin(x) * math.cos(y) + math.exp(x * y)


@corpus(domains={"x": (-2.0, 2.0)})
def test4_polynomial(x):
    return x**3 - 2 * x**2 + x


@corpus
def augmented_assignment(x, y):
    z = x
    z += y
    z *= x
    z -= y * y
    z /= 1.0 + y * y
    return z


@corpus
def tuple_pack_unpack(x, y):
    p = (x * y, x + y)
    s, t = p
    return s * t + p[0]


square_plus_sine = lambda x, y: x * x * y + math.sin(x)  # noqa: E731
corpus(square_plus_sine, name="lambda_one_line")


# ==============================================================================================
# Loops


@corpus(cases=trips("n"))
def for_range_n(a, n):
    s = 0.0
    for i in range(n):
        s += a[i] * a[i]
    return s


@corpus(cases={"0 trips": {"lo": 2, "hi": 2}, "1 trip": {"lo": 2, "hi": 3}, "4 trips": {"lo": 1, "hi": 5}})
def for_range_lo_hi(a, x, lo, hi):
    s = 0.0
    for i in range(lo, hi):
        s += math.sin(a[i] * x)
    return s


@corpus(shapes={"a": (6,)}, values={"step": 2},
        cases={"0 trips": {"lo": 3, "hi": 3}, "1 trip": {"lo": 1, "hi": 2}, "3 trips": {"lo": 0, "hi": 6}})
def for_range_step(a, x, lo, hi, step):
    s = 1.0
    for i in range(lo, hi, step):
        s = s * x + a[i] * a[i]
    return s


@corpus(cases=trips("n"))
def for_range_negative_step(a, x, n):
    s = 0.0
    for i in range(n - 1, -1, -1):
        s = s * x + a[i]
    return s


@corpus(values={"step": -2},
        cases={"0 trips": {"hi": 0, "lo": 0}, "1 trip": {"hi": 3, "lo": 2}, "3 trips": {"hi": 4, "lo": -1}})
def for_range_step_argument_negative(a, hi, lo, step):
    s = 0.0
    for i in range(hi, lo, step):
        s += math.exp(a[i]) * (i + 1)
    return s


@corpus(cases={"len 0": {"shapes": {"a": (0,)}}, "len 1": {"shapes": {"a": (1,)}},
               "len 5": {"shapes": {"a": (5,)}}})
def for_len_of_array(a):
    s = 0.0
    for i in range(len(a)):
        s += math.cos(a[i]) * a[i]
    return s


@corpus(cases=trips("n"))
def while_counter(a, x, n):
    s = 0.0
    i = 0
    while i < n:
        s += a[i] * x
        i += 1
    return s * x


@corpus(domains={"x": (1.30, 1.33)})
def while_float_condition(x):
    s = 1.0
    k = 0
    while s < 10.0:
        s = s * x
        k += 1
    return s + k


@corpus(cases=trips("n"))
def while_true_break(a, n):
    s = 0.0
    i = 0
    while True:
        if i >= n:
            break
        s += math.exp(a[i])
        i += 1
    return s


@corpus(cases={"x>1": {"domains": {"x": (1.5, 2.0)}}, "0<x<1": {"domains": {"x": (0.2, 0.8)}},
               "x<0": {"domains": {"x": (-2.0, -0.5)}}})
def if_elif_else(x, y):
    if x > 1.0:
        r = x * y
    elif x > 0.0:
        r = math.sin(x) * y * y
    else:
        r = -x * x
    return r


@corpus(domains={"a": PM}, cases=trips("n"))
def if_in_loop(a, x, n):
    s = 0.0
    for i in range(n):
        if a[i] > 0.0:
            s += a[i] * a[i] * x
        else:
            s -= math.sin(a[i])
    return s


@corpus(values={"n": 5}, cases={"k=0": {"k": 0}, "k=1": {"k": 1}, "k=3": {"k": 3}, "no break": {"k": 9}})
def break_on_index(a, x, n, k):
    s = 0.0
    for i in range(n):
        if i == k:
            break
        s += a[i] * x
    return s + x


@corpus(values={"a": [0.5, 1.2, 0.8, -0.7, 0.9]},
        cases={"breaks": {}, "first": {"values": {"a": [-0.5, 1.2, 0.8, 0.7, 0.9]}},
               "never": {"values": {"a": [0.5, 1.2, 0.8, 0.7, 0.9]}}})
def break_on_value(a, x):
    s = 0.0
    for i in range(a.shape[0]):
        if a[i] < 0.0:
            break
        s += a[i] ** 2 * x
    return s


@corpus(cases=trips("n"))
def continue_on_index(a, n):
    s = 0.0
    for i in range(n):
        if i % 2 == 1:
            continue
        s += math.sin(a[i]) * a[i]
    return s


@corpus(values={"a": [0.5, -1.2, 0.8, -0.7, 0.9]})
def continue_on_value(a, x):
    s = 0.0
    for i in range(a.shape[0]):
        if a[i] < 0.0:
            continue
        s += x * a[i] ** 3
    return s


@corpus(cases={"x>0": {"domains": {"x": (0.3, 2.0)}}, "x<0": {"domains": {"x": (-2.0, -0.3)}}})
def early_return(x, y):
    if x > 0.0:
        return x * y
    return x * x


@corpus(values={"n": 5}, cases={"k=0": {"k": 0}, "k=2": {"k": 2}, "no return": {"k": 9}})
def early_return_in_loop(a, x, n, k):
    s = 0.0
    for i in range(n):
        s += a[i] * x
        if i == k:
            return s * s
    return s


@corpus(values={"a": [0.5, 1.2, -0.8, 0.7, 0.9]},
        cases={"returns": {}, "never": {"values": {"a": [0.5, 1.2, 0.8, 0.7, 0.9]}}})
def early_return_on_value(a, x):
    s = 0.0
    for i in range(a.shape[0]):
        s = s * x + a[i]
        if a[i] < 0.0:
            return s
    return -s


@corpus(shapes={"a": (4,), "b": (3,)},
        cases={"n=0": {"n": 0, "m": 3}, "m=0": {"n": 4, "m": 0}, "1x1": {"n": 1, "m": 1}, "4x3": {"n": 4, "m": 3}})
def nested_loops(a, b, x, n, m):
    s = 0.0
    for i in range(n):
        for j in range(m):
            s += a[i] * b[j] * x
    return s


@corpus(cases=trips("n"))
def nested_triangular(a, n):
    s = 0.0
    for i in range(n):
        for j in range(i):
            s += a[i] * a[j] * (j + 1)
    return s


@corpus(cases=trips("n", (0, 1, 4)))
def nested_while_in_for(a, n):
    s = 0.0
    for i in range(n):
        j = i
        while j > 0:
            s += math.sin(a[i] * a[j - 1])
            j -= 1
    return s


# ==============================================================================================
# Overwrites and in-place updates


@corpus(domains={"x": (0.5, 0.9)}, cases=trips("n", (0, 1, 4)))
def scalar_overwrite_loop(x, a, n):
    for i in range(n):
        x = x * x
        x = x + 0.1 * a[i]
    return x


@corpus
def scalar_overwrite_straight(x, y):
    x = x * 2.0
    x = math.sin(x)
    x = x * y + x
    return x * x


@corpus
def array_overwrite_on_copy(a):
    b = a.copy()
    b[0] = b[0] * b[0]
    b[0] = math.sin(b[0]) + b[1]
    b[1] = b[0] * b[1]
    return b[0] + b[1] + b[2]


@corpus(domains={"a": ("pm", 0.5, 1.5)}, cases=trips("n"))
def cumulative_product_on_copy(a, n):
    b = a.copy()
    for i in range(1, n):
        b[i] = b[i - 1] * b[i]
    return np.sum(b)


@corpus
def in_place_square_then_read(u, x):
    for i in range(u.shape[0]):
        u[i] = u[i] * u[i]
    return np.sum(u) * x


@corpus(domains={"x": (0.2, 0.6)}, cases=trips("n", (0, 1, 3)))
def in_place_sweeps(u, x, n):
    for t in range(n):
        for i in range(u.shape[0] - 1):
            u[i] = u[i] + x * u[i + 1]
    return u[0]


@corpus
def in_place_backward_chain(u):
    for i in range(u.shape[0] - 1, 0, -1):
        u[i] = u[i] * u[i - 1]
    return None


@corpus
def in_place_scalar_read_after_write(u, x):
    u[0] = u[1] * x
    u[1] = u[0] * u[0] + u[2]
    return u[0] + u[1]


# ==============================================================================================
# Functions that write output arrays and return None (f!(y, x) style)


@corpus
def write_square(out, a):
    for i in range(a.shape[0]):
        out[i] = a[i] * a[i]


@corpus(shapes={"out": (2,), "a": (2,)})
def write_seed_f(out, a):
    out[0] = a[0] ** 2 + a[1]
    out[1] = a[0] * a[1]
    return None


@corpus
def write_axpy(out, a, x):
    for i in range(a.shape[0]):
        out[i] += x * a[i]


@corpus(cases=trips("n"))
def write_exp_scaled(out, a, x, n):
    for i in range(n):
        out[i] = math.exp(x * a[i])


@corpus
def write_two_outputs(out, out2, a, b):
    for i in range(a.shape[0]):
        out[i] = a[i] * b[i]
        out2[i] = a[i] + b[i] * b[i]


@corpus
def write_cumulative_sum(out, a):
    out[0] = a[0]
    for i in range(1, a.shape[0]):
        out[i] = out[i - 1] + a[i]


@corpus
def write_slices(out, a, x):
    out[1:] = a[:-1] * x
    out[0] = x


@corpus(shapes={"out": (3,), "M": (3, 4), "a": (4,)})
def write_matvec(out, M, a):
    for i in range(M.shape[0]):
        s = 0.0
        for j in range(M.shape[1]):
            s += M[i, j] * a[j]
        out[i] = s


@corpus
def write_then_return(out, a):
    for i in range(a.shape[0]):
        out[i] = math.tanh(a[i])
    return np.sum(out * out)


@corpus(shapes={"out": (5, 5), "M": (5, 5)})
def write_stencil_2d(out, M, x):
    for i in range(1, M.shape[0] - 1):
        for j in range(1, M.shape[1] - 1):
            out[i, j] = x * (M[i - 1, j] + M[i + 1, j] + M[i, j - 1] + M[i, j + 1] - 4.0 * M[i, j])


# ==============================================================================================
# Sorting (on a copy), then a weighted sum


@corpus(values={"a": [0.3, -1.2, 2.1, 0.9, -0.4, 1.5]})
def bubble_sort_weighted(a):
    b = a.copy()
    n = b.shape[0]
    for i in range(n):
        for j in range(n - 1 - i):
            if b[j] > b[j + 1]:
                t = b[j]
                b[j] = b[j + 1]
                b[j + 1] = t
    s = 0.0
    for j in range(n):
        s += (j + 1) * b[j]
    return s


@corpus(values={"a": [0.3, -1.2, 2.1, 0.9, -0.4, 1.5]})
def insertion_sort_weighted(a):
    b = a.copy()
    for i in range(1, b.shape[0]):
        key = b[i]
        j = i - 1
        while j >= 0 and b[j] > key:
            b[j + 1] = b[j]
            j -= 1
        b[j + 1] = key
    s = 0.0
    for j in range(b.shape[0]):
        s += (j + 1) * b[j] * b[j]
    return s


# ==============================================================================================
# Calls to other corpus functions: plain def and numba.njit, two levels deep


@corpus(domains={"x": (-2.0, 2.0), "y": (-2.0, 2.0)}, nopython=False)
def call_plain(x, y):
    return test4_polynomial(x) * y + test4_polynomial(y)


@corpus(nopython=False)
def call_two_levels(x, y):
    return call_plain(x, y) + math_sin(x) * composite_sin_cos_exp(y, x)


@corpus
@numba.njit
def njit_square_sin(x):
    return x * x * math.sin(x)


@corpus
@numba.njit
def njit_calls_njit(x, y):
    return njit_square_sin(x) * y + njit_square_sin(y)


@corpus
@numba.njit
def njit_two_levels(x, y):
    return njit_calls_njit(x, y) * x - njit_square_sin(y * x)


@corpus(cases=trips("n"), nopython=False)
def plain_calls_njit_with_arrays(a, x, n):
    return njit_weighted_loop(a, x, n) + for_range_n(a, n) * x


@corpus(cases=trips("n"))
@numba.njit
def njit_weighted_loop(a, x, n):
    s = 0.0
    for i in range(n):
        s += a[i] * x ** (i + 1)
    return s


@corpus(nopython=False)
def call_writer_then_reduce(a, x):
    out = np.zeros_like(a)
    out2 = np.zeros_like(a)
    write_axpy(out, a, x)
    write_square(out2, out)
    return np.sum(out2)


# ==============================================================================================
# Ints and bools mixed in


@corpus(values={"n": 5}, cases={"flag": {"flag": True}, "no flag": {"flag": False}})
def ints_and_bools(x, a, n, flag):
    s = 0.0
    for i in range(n):
        if flag:
            s += a[i] * x
        else:
            s -= a[i] * a[i]
    k = n * 2 + 1
    return s * k


@corpus(cases=trips("n", (1, 2, 5)))
def int_index_arithmetic(a, x, n):
    s = 0.0
    for i in range(n):
        j = (i * 3) % n
        s += a[j] * x * i
    return s


@corpus(cases={"x>y": {"domains": {"x": (1.0, 2.0), "y": (-1.0, 0.5)}},
               "x<y": {"domains": {"x": (-1.0, 0.5), "y": (1.0, 2.0)}}})
def bool_from_comparison(x, y):
    b = x > y
    if b:
        return x * y
    return x + y * y


@corpus(domains={"x": (0.4, 0.6)}, shapes={"a": (3,)})
def int_cast_index(x, a):
    k = int(x * 3.0)
    return a[k] * x + k


# ==============================================================================================
# NumPy whole-array expressions and array creation


@corpus
def np_sum_expression(a, b, x):
    return np.sum(a * b + x * a * a)


@corpus
def np_tanh_sum(a):
    return np.sum(np.tanh(a))


@corpus
def np_exp_sin(a, b):
    return np.sum(np.exp(a) * np.sin(b))


@corpus(domains={"a": POS})
def np_cos_sqrt_log(a):
    return np.sum(np.cos(a) + np.sqrt(a) * np.log(a))


@corpus
def np_mean(a):
    return np.mean(a * a) + np.mean(a)


@corpus
def np_dot(a, b):
    return np.dot(a, b)


@corpus
def np_matmul_vectors(a, b):
    return (a * a) @ b


@corpus(values={"a": [0.5, -1.0, 2.0, 0.1, -0.3], "b": [-0.5, 1.0, 1.0, 0.6, -0.9]})
def np_maximum_minimum(a, b):
    return np.sum(np.maximum(a, b) * np.minimum(a, b) + np.maximum(a, 0.0))


@corpus(domains={"a": PM})
def np_where(a, b):
    return np.sum(np.where(a > 0.0, a * b, b * b))


@corpus(cases=trips("n"))
def np_zeros_then_fill(a, x, n):
    c = np.zeros(n)
    for i in range(n):
        c[i] = a[i] * x
    return np.sum(c * c)


@corpus
def np_empty_like_fill(a, x):
    c = np.empty_like(a)
    for i in range(a.shape[0]):
        c[i] = math.sin(a[i]) * x
    return np.sum(c)


@corpus
def np_zeros_like_accumulate(a, b):
    c = np.zeros_like(a)
    for i in range(a.shape[0]):
        c[i] += a[i] * b[i]
        c[i] += a[i]
    return np.sum(c * b)


@corpus
def np_copy_in_place_ops(a, x):
    c = np.copy(a)
    c *= c
    c += x
    return np.sum(c * a)


@corpus
def np_broadcast_scalar(a, b, x):
    return np.sum((a + x) * b - x)


@corpus(shapes={"M": (3, 4)})
def np_2d_whole_array(M):
    return np.sum(M * M) + np.sum(np.exp(M))


@corpus
def np_slice_read(a, b):
    return np.sum(a[1:4] * b[0:3])


@corpus
def np_norm(a):
    return math.sqrt(np.sum(a * a))


# ==============================================================================================
# 2-D arrays with nested loops


@corpus(shapes={"M": (3, 4), "a": (4,)})
def matvec_sum_squares(M, a):
    r = np.zeros(M.shape[0])
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            r[i] += M[i, j] * a[j]
    return np.sum(r * r)


@corpus(shapes={"M": (5, 5)})
def stencil_2d_energy(M):
    s = 0.0
    for i in range(1, M.shape[0] - 1):
        for j in range(1, M.shape[1] - 1):
            lap = M[i - 1, j] + M[i + 1, j] + M[i, j - 1] + M[i, j + 1] - 4.0 * M[i, j]
            s += lap * lap
    return s


@corpus(shapes={"M": (3, 3)})
def matrix_trace_of_square(M):
    s = 0.0
    for i in range(M.shape[0]):
        for k in range(M.shape[1]):
            s += M[i, k] * M[k, i]
    return s


# ==============================================================================================
# Simulations: heat equation, recurrences


@corpus(shapes={"u": (8,)}, domains={"x": (0.1, 0.3)}, cases=trips("n"))
def heat_1d_in_place(u, x, n):
    for t in range(n):
        prev = u[0]
        for i in range(1, u.shape[0] - 1):
            cur = u[i]
            u[i] = cur + x * (prev - 2.0 * cur + u[i + 1])
            prev = cur


@corpus(shapes={"a": (8,)}, domains={"x": (0.1, 0.3)}, cases=trips("n"))
def heat_1d_energy(a, x, n):
    u = a.copy()
    for t in range(n):
        prev = u[0]
        for i in range(1, u.shape[0] - 1):
            cur = u[i]
            u[i] = cur + x * (prev - 2.0 * cur + u[i + 1])
            prev = cur
    return np.sum(u * u)


@corpus(cases=trips("n"))
def rnn_scalar(a, x, y, n):
    h = 0.0
    for t in range(n):
        h = math.tanh(x * h + y * a[t])
    return h


@corpus(shapes={"W": (3, 3), "b": (3,), "a": (4,)}, cases=trips("n", (0, 1, 4)))
def rnn_vector(W, b, a, n):
    m = W.shape[0]
    h = np.zeros(m)
    for t in range(n):
        hn = np.empty(m)
        for i in range(m):
            acc = b[i] * a[t]
            for j in range(m):
                acc += W[i, j] * h[j]
            hn[i] = math.tanh(acc)
        h = hn
    return np.sum(h * h)


@corpus(shapes={"W": (3, 3), "b": (3,), "a": (4,)}, cases=trips("n", (0, 1, 4)))
def rnn_vector_state_matrix(W, b, a, n):
    m = W.shape[0]
    H = np.zeros((n + 1, m))
    for t in range(n):
        for i in range(m):
            acc = b[i] * a[t]
            for j in range(m):
                acc += W[i, j] * H[t, j]
            H[t + 1, i] = math.tanh(acc)
    s = 0.0
    for i in range(m):
        s += H[n, i] * H[n, i]
    return s


@corpus(domains={"a": ("pm", 0.5, 1.5)}, cases=trips("n"))
def product_loop(a, n):
    p = 1.0
    for i in range(n):
        p *= a[i]
    return p


@corpus
def horner(a, x):
    s = 0.0
    for i in range(a.shape[0]):
        s = s * x + a[i]
    return s


@corpus(shapes={"a": (4,), "b": (3,)})
def polynomial_at_points(a, b):
    total = 0.0
    for j in range(b.shape[0]):
        s = 0.0
        for i in range(a.shape[0]):
            s = s * b[j] + a[i]
        total += s * s
    return total


@corpus
def logsumexp(a):
    mx = a[0]
    for i in range(1, a.shape[0]):
        if a[i] > mx:
            mx = a[i]
    s = 0.0
    for i in range(a.shape[0]):
        s += math.exp(a[i] - mx)
    return mx + math.log(s)


@corpus(values={"k": 2})
def softmax_cross_entropy(a, k):
    s = 0.0
    for i in range(a.shape[0]):
        s += math.exp(a[i])
    return math.log(s) - a[k]


@corpus(domains={"x": (-0.9, 0.9)}, cases=trips("n", (0, 1, 6)))
def geometric_series(x, n):
    s = 0.0
    p = 1.0
    for i in range(n):
        s += p
        p *= x
    return s


# ==============================================================================================
# float32 variants


@corpus(dtype=np.float32)
def f32_sin_times(x, y):
    return math.sin(x) * y


@corpus(dtype=np.float32)
def f32_sum_squares(a):
    return np.sum(a * a)


@corpus(dtype=np.float32, cases=trips("n"))
def f32_loop(a, x, n):
    s = a[0] * 0
    for i in range(n):
        s += a[i] * x
    return s


@corpus(dtype=np.float32)
def f32_writer(out, a, x):
    for i in range(a.shape[0]):
        out[i] = a[i] * x * x


@corpus(dtype=np.float32, shapes={"u": (8,)}, domains={"x": (0.1, 0.3)}, cases=trips("n", (0, 1, 4)))
def f32_heat_in_place(u, x, n):
    for t in range(n):
        prev = u[0]
        for i in range(1, u.shape[0] - 1):
            cur = u[i]
            u[i] = cur + x * (prev - 2 * cur + u[i + 1])
            prev = cur


# Array values made inside loops and branches, rebound, and views in loops (reverse mode
# saves them whole, or takes views again); loops over arrays, enumerate and zip; defaults.
@corpus(shapes={"W": (3, 3), "b": (3,), "a": (3,)}, cases=trips("n", (0, 1, 3)))
def rnn_whole_arrays(W, b, a, n):
    h = a
    for t in range(n):
        hn = np.tanh(np.dot(W, h) + b)
        h = hn
    return np.sum(h * h)


@corpus(shapes={"u": (7,), "out": (7,)}, domains={"x": (0.1, 0.3)}, cases=trips("n", (0, 1, 3)))
def jacobi_slices(u, out, x, n):
    for t in range(n):
        out[1:-1] = x * (u[:-2] + u[1:-1] + u[2:])
        u[1:-1] = x * (out[:-2] + out[1:-1] + out[2:])
    return np.sum(u * u) + np.sum(np.sin(out))


@corpus(shapes={"M": (5, 3), "a": (3,), "b": (5,)}, domains={"x": (0.01, 0.05)},
        cases=trips("n", (0, 1, 3)))
def gradient_descent_in_place(a, M, b, x, n):
    w = a.copy()
    for it in range(n):
        w -= x * np.dot(M.T, np.dot(M, w) - b)
    return np.sum(w * w)


@numba.njit
def _row_energy(p, a):
    return np.sum(p * a) ** 2


@corpus(shapes={"M": (4, 3), "a": (3,)}, cases=trips("n", (0, 1, 4)))
def rows_to_helper(M, a, n):
    s = 0.0
    for k in range(n):
        s += _row_energy(M[k], a)
    return s


@corpus(shapes={"a": (3,)}, values={"flag": True}, cases={"then": {"flag": True},
                                                         "else": {"flag": False}})
def array_made_in_branch(a, x, flag):
    if flag:
        t = np.empty(3)
        t[0] = a[0] * x
        t[1] = a[1]
        t[2] = a[2] * a[2]
    else:
        t = a * x
    return np.sum(t * t)


@corpus(shapes={"a": (4,)}, cases=trips("n", (0, 1, 3)))
def temporary_per_iteration(a, x, n):
    s = 0.0
    for i in range(n):
        tmp = np.zeros(a.shape[0])
        for j in range(a.shape[0]):
            tmp[j] = a[j] * (i + x) + a[j] ** 2
        s += np.sum(np.sin(tmp))
    return s


@corpus(shapes={"a": (4,)}, cases=trips("n", (0, 1, 3)))
def rebound_parameter(a, n):
    for i in range(n):
        a = np.sin(a) * 1.5
    return np.sum(a)


@corpus(shapes={"a": (3,)})
def early_return_array(a, x):
    if x < -2.0:
        return 0.0
    y = a * x
    return np.sum(y * y)


@corpus(shapes={"M": (3, 2), "a": (4,), "b": (3,)})
def loops_over_arrays(M, a, b, x):
    s = 0.0
    for row in M:
        s += np.sum(np.sin(row))
    for i, v in enumerate(a):
        s += v * (i + x)
    for p, q in zip(a, b):
        s += p * q
    for i in numba.prange(b.shape[0]):
        s += b[i] ** 2
    return s


def _scaled(a, c=2.0, *, power=2):
    return np.sum(a ** power) * c


@corpus(shapes={"a": (3,)}, nopython=False)
def defaults_and_keywords(a, x):
    return _scaled(a) + _scaled(a, power=3, c=x) + _scaled(a, x)


@corpus(shapes={"a": (6,), "M": (3, 2)})
def gathers(a, M, x):
    m = a > 0.0
    idx = np.array([0, 2, 2, 1])
    return np.sum(a[m] ** 2) + np.sum(a[idx] * x) + np.sum(np.sin(M[np.array([1, 1, 0])]))


@numba.njit
def _call_and_put(a, b, x):
    d = (np.log(a / b) + x) / 0.3
    call = a * np.tanh(d) - b * np.exp(-x)
    put = b * np.exp(-x) - a * np.tanh(-d)
    return call, put


@corpus(shapes={"a": (4,), "b": (4,)}, domains={"a": (0.5, 1.5), "b": (0.5, 1.5)},
        cases=trips("n", (0, 1, 2)))
def tuple_returned_by_callee(a, b, x, n):
    c, p = _call_and_put(a, b, x)
    total = np.sum(c * c) + 2.0 * np.sum(p)
    for i in range(n):
        c2, p2 = _call_and_put(a * (i + 1.0), b, x)
        total += np.sum(c2) - np.sum(p2)
    return total


@numba.vectorize(nopython=True)
def _suppressed_square(value, threshold):
    if np.abs(value) >= threshold:
        return value * value
    return 0.0


@corpus(shapes={"a": (5,), "M": (3, 2)}, domains={"x": (0.05, 0.15)})
def vectorize_calls(a, M, x):
    return np.sum(_suppressed_square(a, x)) + np.sum(np.sin(_suppressed_square(M, 0.2))) \
        + _suppressed_square(a[0], x) * 2.0


@numba.stencil
def _five_point(a, x):
    return x * (a[0, 1] + a[-1, 0] - 4.0 * a[0, 0]) + a[1, 0] * a[0, -1]


@numba.njit
def _smooth_into(a, x, out):
    _five_point(a, x, out=out)


@corpus(shapes={"M": (4, 5), "out": (4, 5)})
@numba.njit  # a stencil called from Python is set up again at each call (about 0.4 s)
def stencil_calls(M, out, x):
    _smooth_into(M, x, out)
    return np.sum(_five_point(M, 0.5) ** 2) + np.sum(out * out)


@corpus(shapes={"a": (3,), "b": (3,), "M": (2, 3)}, cases=trips("n", (0, 1, 3)))
def joined_arrays(a, b, M, x, n):
    """NumPy joins of tuples of arrays, and a name bound to a view then to a new array,
    inside a loop."""
    s = np.sum(np.concatenate((a, b * x)) ** 2)
    for i in range(n):
        rows = np.vstack((a, b))
        both = np.hstack((rows, M * x))
        cols = np.column_stack((a, M[1]))
        piled = np.stack((a, b), axis=1)
        row = M[i % 2]
        s += np.sum(both * np.concatenate((M, rows), axis=-1)) + np.sum(cols * piled) \
            + np.sum(row)
        row = np.sin(row) * x
        s += np.sum(row * row)
    return s


@corpus(shapes={"p": (4,)})
def masked_singular_partials(p):
    """Square roots of zero (the diagonal of pairwise distances) masked out downstream: their
    infinite partial meets a zero cotangent or tangent."""
    d = p.reshape(4, 1) - p.reshape(1, 4)
    r = np.sqrt(d * d)
    s = np.sum(np.triu(r, 1)) + np.sum(np.where(r > 0.0, r, 0.0) ** 1.5)
    for i in range(4):
        for j in range(4):
            e = math.sqrt((p[i] - p[j]) ** 2)
            s += e * (i != j)
    return s


@corpus(shapes={"a": (6,), "b": (6,)}, cases=trips("n", (0, 1, 3)))
def masked_stores(a, b, x, n):
    """Stores through boolean masks (``c[c > 0.5] = 0.25``), in and out of a loop."""
    c = a * x
    c[c > 0.5] = 0.25
    m = b < 0.0
    c[m] = b[m] * x
    s = np.sum(c * c)
    for i in range(n):
        d = np.sin(a) * (i + 1.0)
        d[d > 0.4] = np.cos(d[d > 0.4])
        s += np.sum(d * b)
    return s


@corpus(shapes={"a": (2, 3), "b": (4,)}, cases=trips("n", (0, 1, 3)))
def index_loops(a, b, x, n):
    """Loops over ``np.ndindex``, ``np.ndenumerate`` and ``.flat``, and indices held in
    tuples (``a[i]`` with ``i = (r, c)``), with a trip count of n."""
    s = 0.0
    for i in np.ndindex(a.shape):
        s += np.sin(a[i]) * x
    for r, c in np.ndindex(n, a.shape[1]):
        s += a[r % 2, c] ** 2
    out = np.empty(a.shape[:1])
    for j in np.ndindex(out.shape):
        out[j] = a[j].sum() * x
    for at, v in np.ndenumerate(out):
        s += v * v * (at[0] + 1.0)
    for v in b[:n].flat:
        s += v * x
    idx = (1, 2)
    a[idx] = a[idx] * a[0, 0]
    return s + a[1, 2] * b[0]


@corpus(shapes={"a": (5,)}, cases=trips("n", (0, 1, 3)))
def local_lambdas(a, x, n):
    """Lambdas bound once in the function and called, reading the function's variables at
    the call (``scale`` changes between calls), one calling another."""
    scale = x
    sq = lambda t: t * t * scale  # noqa: E731
    both = lambda u, v: sq(u) + np.sin(v)  # noqa: E731
    s = 0.0
    for i in range(n):
        s += both(a[i], x)
        scale = scale * 0.5
    return s + np.sum(sq(a))


@numba.guvectorize(["void(float64[:], float64[:], float64[:])"], "(n),()->(n)")
def _scaled_running_sum(a, scale, out):
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * scale[0]
        out[i] = acc


@numba.guvectorize(["void(float64[:], float64[:])"], "(n)->()")
def _sum_of_squares(a, out):
    out[0] = 0.0
    for i in range(a.shape[0]):
        out[0] += a[i] * a[i]


@corpus(shapes={"a": (5,), "M": (2, 3)}, cases=trips("n", (0, 1, 3)))
def guvectorized_calls(a, M, x, n):
    """@guvectorize functions on core-rank arguments (a scalar core input x, a scalar
    output) and on the rows of a matrix (loop dimensions), the results read n times."""
    r = _scaled_running_sum(a, x)
    s = _sum_of_squares(r)
    for i in range(n):
        s += r[i] * x
    rows = _sum_of_squares(_scaled_running_sum(M, x))
    return s + rows[0] * rows[1]


@corpus(shapes={"a": (6,)}, cases=trips("n", (0, 1, 20)))
def number_lists(a, x, n):
    """Lists of numbers: appends under a condition in a loop of n trips (past the first
    capacity at n=20), comprehensions with a condition and two loops, a loop over a list,
    negative and stored indices, len, sum, np.sum and np.array of them."""
    grown = []
    for i in range(n):
        v = a[i % 6] * x
        if v > 0.3:
            grown.append(v * v)
    squares = [t * t * x for t in a if t > 0.2]
    pairs = [s * t for s in a[:2] for t in squares]
    s = sum(squares) + np.sum(np.array(pairs)) * len(grown)
    for k, v in enumerate(grown):
        s += v * (k + 1.0)
    if len(grown) > 1:
        grown[0] = grown[-1] * x
        s += grown[0] + grown[-2]
    return s + sum([np.sin(t) for t in a]) + np.sum(grown) + np.sum([x, 1, x * x])
