"""Every element-wise rule of ``derivatives.ELEMENTWISE``, checked against finite differences.

The test is driven by the table itself: for every key and every operand count in
``derivatives.ARITY[key]`` a small function applying that one operation is generated, written to
a real ``.py`` file (the engine reads source files; they go beside the engine's cache, so that their paths, which
are part of the cache key, stay the same from run to run) and checked by ``check_grads`` in Reverse and
Forward mode with every float operand active, in float64:

* operators (``+``, ``-``, ``*``, ``/``, ``%``, ``//``, ``**``, ``u-``, ``u+``): a scalar version
  (``return a + b``) and an array version (``return np.sum(a + b)``);
* ``math.*`` and the builtins (``abs``, ``min``, ``max``, ``float``, ``round``): a scalar
  version; the ones Python makes return an int (``math.floor``, ``math.ceil``, ``math.trunc``,
  ``round``) are wrapped in ``float(...)``;
* ``np.*``: an array version (``return np.sum(np.sin(a))``), except the scalar constructors
  ``np.float64`` and ``np.float32``.

Inputs are picked inside each function's domain and away from its kinks (``DOMAINS``). The
piecewise-constant rules (floor, ceil, trunc, rint, round, sign, ``//``) are also checked to give
exactly zero in both modes.

A key added to the table is tested automatically. A key whose function cannot be built (an
unknown kind of key, a NumPy name that does not exist) makes its test fail; only the keys in
``EXCLUDED`` are left out, each with its reason. Keys the engine gets wrong today are listed in
``KNOWN_FAILURES`` and run as strict xfails.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest

from adtriad.ad_core import Active, Duplicated, Forward, Reverse, autodiff, derivatives
from adtriad.ad_core import loader
from adtriad.ad_core.testing import check_grads

MODES = ("Reverse", "Forward")

# Keys left out, with the reason. Keep this small: a key here is not tested at all.
EXCLUDED: dict[str, str] = {}

# (key, form, operand count) the engine gets wrong today (strict xfail: fixing one is noticed).
KNOWN_FAILURES: dict[tuple[str, str, int], str] = {}

OPERATORS = {
    "+": ("{0} + {1}", "add"), "-": ("{0} - {1}", "sub"), "*": ("{0} * {1}", "mul"),
    "/": ("{0} / {1}", "div"), "%": ("{0} % {1}", "mod"), "//": ("{0} // {1}", "floordiv"),
    "**": ("{0} ** {1}", "pow"), "u-": ("-{0}", "neg"), "u+": ("+{0}", "pos"),
}
BUILTINS = {"abs", "min", "max", "float", "round"}
SCALAR_NUMPY = {"np.float64", "np.float32"}  # NumPy scalar constructors: applied to a float
INT_RESULT = {"math.floor", "math.ceil", "math.trunc", "round"}  # Python returns an int
PIECEWISE_CONSTANT = {"math.floor", "math.ceil", "math.trunc", "np.floor", "np.ceil", "np.trunc",
                      "np.rint", "round", "np.sign", "//"}
TOLERANCES = {"np.float32": {"rtol": 1e-3, "atol": 1e-4}}  # the result is rounded to float32


# ----------------------------------------------------------------------------------------------
# Operand values: (scalar, array) pairs, inside the domain and away from kinks by far more than
# the finite-difference step (1e-3 relative, 4-point).


@dataclass(frozen=True)
class Values:
    scalar: object
    array: tuple
    kind: str = "float"  # "float" (active), "int" or "bool" (passed as they are)


REAL = Values(0.7, (0.3, -0.7, 1.2, -1.9))
REAL2 = Values(-1.3, (0.9, -1.5, 0.4, -0.2))  # differs from REAL everywhere (min, max, ...)
POSITIVE = Values(1.7, (0.4, 1.3, 2.6, 0.9))
UNIT = Values(0.4, (0.3, -0.6, 0.8, -0.2))  # inside (-1, 1)
ABOVE_ONE = Values(1.6, (1.3, 2.5, 1.8, 4.0))
GAMMA = Values(1.7, (0.7, 1.5, 2.3, 3.1))
FRACTIONAL = Values(1.3, (1.3, -2.2, 0.4, -0.7))  # away from integers and half-integers
DIVIDEND = Values(5.3, (5.3, -4.1, 2.9, -3.5))  # with DIVISOR: quotients away from integers
DIVISOR = Values(1.7, (1.7, 1.3, -0.9, -1.6))
MASK = Values(True, (True, False, False, True), "bool")
EXPONENT = Values(3, (3, -2, 1, 0), "int")

_UNARY_DOMAINS = {
    POSITIVE: "math.log np.log math.log2 np.log2 math.log10 np.log10 math.log1p np.log1p "
              "math.sqrt np.sqrt",
    UNIT: "math.asin np.arcsin np.asin math.acos np.arccos np.acos math.atanh np.arctanh np.atanh",
    ABOVE_ONE: "math.acosh np.arccosh np.acosh",
    GAMMA: "math.gamma math.lgamma",
    FRACTIONAL: " ".join(sorted(PIECEWISE_CONSTANT - {"//"})),
}
DOMAINS: dict[tuple[str, int], tuple[Values, ...]] = {
    (key, 1): (values,) for values, keys in _UNARY_DOMAINS.items() for key in keys.split()
}
DOMAINS.update({
    ("math.ldexp", 2): (REAL, EXPONENT),
    ("np.where", 3): (MASK, REAL, REAL2),
})
for _key in ("**", "math.pow", "np.power", "np.pow", "np.float_power"):
    DOMAINS[(_key, 2)] = (POSITIVE, REAL2)  # an active exponent needs a positive base
for _key in ("%", "//", "np.fmod", "np.mod", "np.remainder"):
    DOMAINS[(_key, 2)] = (DIVIDEND, DIVISOR)


def domain(key: str, n: int) -> tuple[Values, ...]:
    return DOMAINS.get((key, n), (REAL, REAL2, POSITIVE)[:n])


# ----------------------------------------------------------------------------------------------
# Building the functions


def forms(key: str) -> tuple[str, ...]:
    """'scalar' and/or 'array': the versions of ``key`` that are built."""
    if key in OPERATORS:
        return ("scalar", "array")
    if key.startswith("math.") or key in BUILTINS or key in SCALAR_NUMPY:
        return ("scalar",)
    if key.startswith("np."):
        return ("array",)
    raise KeyError(f"no way to build a function for the rule key {key!r}: teach test_rule_table.py")


def expression(key: str, operands: list[str]) -> str:
    if key in OPERATORS:
        template = OPERATORS[key][0]
        if template.count("{") != len(operands):
            raise KeyError(f"operator {key!r} written for {template.count('{')} operands, not {len(operands)}")
        return template.format(*operands)
    expr = f"{key}({', '.join(operands)})"
    return f"float({expr})" if key in INT_RESULT else expr


def safe_name(key: str) -> str:
    return OPERATORS[key][1] if key in OPERATORS else key.replace(".", "_")


def source(key: str, form: str, n: int) -> tuple[str, str]:
    """(function name, module source) of the function applying ``key`` to ``n`` operands."""
    name = f"rule_{safe_name(key)}_{form}_{n}"
    operands = list("abc"[:n])
    body = expression(key, operands)
    if form == "array":
        body = f"np.sum({body})"
    text = f"""\
        import math

        import numpy as np


        def {name}({', '.join(operands)}):
            return {body}
        """
    return name, textwrap.dedent(text)


def arguments(key: str, form: str, n: int) -> list:
    """Plain argument values."""
    out = []
    for v in domain(key, n):
        if form == "scalar":
            out.append(float(v.scalar) if v.kind == "float" else v.scalar)
        else:
            dtype = {"float": np.float64, "int": np.int64, "bool": np.bool_}[v.kind]
            out.append(np.array(v.array, dtype=dtype))
    return out


def annotate(values: list) -> list:
    out = []
    for v in values:
        if isinstance(v, float):
            out.append(Active(v))
        elif isinstance(v, np.ndarray) and v.dtype.kind == "f":
            out.append(Duplicated(v.copy(), np.zeros_like(v)))
        else:
            out.append(v)
    return out


def cases() -> list:
    out = []
    for key in derivatives.ELEMENTWISE:
        if key in EXCLUDED:
            continue
        try:
            key_forms = forms(key)
        except KeyError:
            key_forms = ("unbuildable",)  # the test fails, naming the key
        for form in key_forms:
            for n in derivatives.ARITY.get(key, (None,)):
                marks = ()
                if (key, form, n) in KNOWN_FAILURES:
                    marks = pytest.mark.xfail(strict=True, raises=AssertionError,
                                              reason=KNOWN_FAILURES[(key, form, n)])
                out.append(pytest.param(key, form, n, id=f"{key}-{form}-{n}", marks=marks))
    return out


@pytest.fixture(scope="module")
def rule_dir():
    """Where the generated functions are written. The path is part of the engine's cache key, so
    it stays the same from run to run (beside the engine's cache) and a second run compiles
    nothing."""
    path = loader.cache_dir().parent / "rule_table"
    path.mkdir(parents=True, exist_ok=True)
    yield path
    for name in [n for n in sys.modules if n.startswith("rule_")]:
        if str(getattr(sys.modules[name], "__file__", "")).startswith(str(path)):
            del sys.modules[name]


def build(rule_dir, key: str, form: str, n):
    if form == "unbuildable":
        forms(key)  # raises, naming the key
    assert n is not None, f"derivatives.ARITY has no entry for {key!r}"
    name, text = source(key, form, n)
    return _load(rule_dir, name, text)


def _load(rule_dir, name: str, text: str):
    path = rule_dir / f"{name}.py"
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return getattr(mod, name)


# ----------------------------------------------------------------------------------------------
# Groups: by default the keys of one form and operand count are checked GROUP at a time, in
# one function with separate parameters per key (so each key's derivative is still checked on
# its own arguments) -- a Numba compile per group instead of per key keeps the suite's time;
# ADTRIAD_EXHAUSTIVE=1 checks every key in a function of its own.

EXHAUSTIVE = os.environ.get("ADTRIAD_EXHAUSTIVE", "").strip().lower() in ("1", "true", "yes")
GROUP = 8


def groups() -> list:
    """(group id, [(key, form, n), ...]): keys with the same form, operand count and
    tolerance, piecewise-constant keys apart (their derivatives are also checked to be 0)."""
    buckets: dict = {}
    for param in cases():
        key, form, n = param.values
        if form == "unbuildable" or param.marks:
            continue  # checked one by one (and failing, or xfailing) by test_rule
        kind = (form, n, key in PIECEWISE_CONSTANT, repr(TOLERANCES.get(key, {})))
        buckets.setdefault(kind, []).append((key, form, n))
    out = []
    for (form, n, flat, _), members in sorted(buckets.items()):
        for start in range(0, len(members), GROUP):
            chunk = members[start:start + GROUP]
            out.append(pytest.param(chunk, id=f"{form}-{n}{'-flat' if flat else ''}-{start // GROUP}"))
    return out


def build_group(rule_dir, chunk):
    name = f"rule_group_{hashlib.sha256(repr(chunk).encode()).hexdigest()[:12]}"
    params, terms = [], []
    for i, (key, form, n) in enumerate(chunk):
        operands = [f"{v}{i}" for v in "abc"[:n]]
        params += operands
        body = expression(key, operands)
        terms.append(f"np.sum({body})" if form == "array" else body)
    weights = [f"{1.0 + 0.25 * i!r} * ({t})" for i, t in enumerate(terms)]
    text = textwrap.dedent(f"""\
        import math

        import numpy as np


        def {name}({', '.join(params)}):
            return {' + '.join(weights)}
        """)
    return _load(rule_dir, name, text)


@pytest.mark.skipif(EXHAUSTIVE, reason="every key runs by itself in test_rule")
@pytest.mark.filterwarnings("ignore:.*piecewise constant")
@pytest.mark.parametrize("chunk", groups())
def test_rule_group(rule_dir, chunk):
    f = build_group(rule_dir, chunk)
    values = [v for key, form, n in chunk for v in arguments(key, form, n)]
    assert np.all(np.isfinite(f(*values))), f"{chunk}: inputs outside the domain"
    check_grads(f, *annotate(values), modes=MODES, **TOLERANCES.get(chunk[0][0], {}))
    if chunk[0][0] in PIECEWISE_CONSTANT:
        _assert_zero_derivative(f, values)


# ----------------------------------------------------------------------------------------------
# The tests


def _grouped(param) -> bool:
    return not EXHAUSTIVE and param.values[1] != "unbuildable" and not param.marks


@pytest.mark.filterwarnings("ignore:.*piecewise constant")  # float(math.floor(a)) and the like
@pytest.mark.parametrize("key, form, n", [p for p in cases() if not _grouped(p)]
                         or [pytest.param(None, None, None, marks=pytest.mark.skip(
                             reason="every key runs in a group (ADTRIAD_EXHAUSTIVE=1: alone)"))])
def test_rule(rule_dir, key, form, n):
    f = build(rule_dir, key, form, n)
    values = arguments(key, form, n)
    primal = f(*values)
    assert np.all(np.isfinite(primal)), f"{key}: the inputs {values} are outside the domain"
    check_grads(f, *annotate(values), modes=MODES, **TOLERANCES.get(key, {}))
    if key in PIECEWISE_CONSTANT:
        _assert_zero_derivative(f, values)


def _assert_zero_derivative(f, values):
    rev = annotate(values)
    (derivs,) = autodiff(Reverse, f, Active, *rev)
    for v, a, d in zip(values, rev, derivs):
        if isinstance(v, float):
            assert d == 0.0, f"Reverse: derivative {d!r}, expected exactly 0"
        elif isinstance(a, Duplicated):
            assert np.all(a.dval == 0.0), f"Reverse: shadow {a.dval!r}, expected exactly 0"
    fwd = [Duplicated(v, 1.0) if isinstance(v, float)
           else Duplicated(v.copy(), np.ones_like(v)) if isinstance(v, np.ndarray) and v.dtype.kind == "f"
           else v for v in values]
    (dret,) = autodiff(Forward, f, *fwd)
    assert dret == 0.0, f"Forward: tangent {dret!r}, expected exactly 0"


def test_every_key_is_tested_or_excluded():
    """The parametrization covers the whole table; exclusions name keys that still exist."""
    tested = {p.values[0] for p in cases()}
    assert tested | set(EXCLUDED) == set(derivatives.ELEMENTWISE)
    assert set(EXCLUDED) <= set(derivatives.ELEMENTWISE), "EXCLUDED names a key the table no longer has"
    stale = {k for k in KNOWN_FAILURES if k[0] not in derivatives.ELEMENTWISE}
    assert not stale, f"KNOWN_FAILURES names keys the table no longer has: {sorted(stale)}"
    assert set(derivatives.ARITY) >= set(derivatives.ELEMENTWISE)


def test_domains_name_existing_keys():
    """A misspelt key in DOMAINS would silently fall back to the default inputs."""
    unknown = sorted({k for k, _ in DOMAINS} - set(derivatives.ELEMENTWISE))
    assert not unknown, f"DOMAINS names keys the table does not have: {unknown}"
    assert PIECEWISE_CONSTANT <= set(derivatives.ELEMENTWISE)


def test_singular_keys_name_existing_elementwise_rules():
    """A misspelt key in SINGULAR would leave that rule's infinite partials unguarded."""
    assert derivatives.SINGULAR <= set(derivatives.ELEMENTWISE)
    assert derivatives.singular("**", [None, -1.5]) and not derivatives.singular("**", [None, 2])
    assert derivatives.singular("/", [None, None]) and not derivatives.singular("/", [None, 2.0])
    assert not derivatives.singular("*", [None, None])
