"""Tangent's test functions (``tangent_functions.py``) run through ``check_grads``.

For every function the harness builds arguments from the parameter names the way Tangent's own
tests do (``tests/conftest.py`` there: ``a``, ``b``, ``c`` floats, ``x`` a float vector, ``n`` a
small int; ``rnn``, ``logistic_regression``, ``bilinear`` and the dict/tuple functions get the
shapes and values of their dedicated tests), annotates them (a float is ``Active``, a float
array ``Duplicated(x, np.zeros_like(x))``, an int bare; only ``logistic_regression``'s data,
``input`` and the 0/1 ``label``, are ``Const``, as Tangent differentiates its ``W`` and ``b``
alone) and calls::

    check_grads(f, *annotated_args, modes=("Reverse", "Forward"))

Each (function, mode) is classified:

``correct``
    the check passed;
``refused``
    the engine raised an :class:`~adtriad.ad_core.ADError` (its message is kept);
``wrong``
    ``check_grads`` reported a mismatch (finite differences, the primal, the final state of an
    array, or the forward/reverse dot-product test) without the engine raising: a silently
    wrong derivative;
``crash``
    any other exception escaped the engine (a raw Numba or Python error);
``not-applicable``
    the plain-Python primal fails or returns something ``check_grads`` cannot differentiate
    (a tuple), or no point is left where the function is finite and smooth (see below); the
    reason is kept.

``check_grads`` reports the exception of each mode as a failure line and chains only the first
one as ``__cause__``; to see the exception object of *each* mode, the harness passes
``check_grads`` an ``engine`` that forwards to ``adtriad.ad_core`` and records what
``autodiff`` raised per mode.

Each function is checked at up to ten points built from the values of Tangent's conftest.py
(the scalars -2 ... 2, ``n`` in 1..3, vectors of 3, 5 and 10 elements); a point is left out where
the primal is not finite or where finite differences are no reference (a branch switch or kink
within the step, seen as differences with two step sizes that disagree). The status of a mode
is the worst over the points (crash > wrong > refused > correct); a function with no point left
is not applicable.
"""

from __future__ import annotations

import inspect
import pathlib
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import tangent_functions  # noqa: E402
from tangent_functions import (  # noqa: E402
    dict_saxpy, dict_wrapper, nested_dict, passthru_unpack, unpacking_args_saxpy,
)

from adtriad import ad_core  # noqa: E402
from adtriad.ad_core import ADError, Active, Const, Duplicated  # noqa: E402
from adtriad.ad_core.testing import (  # noqa: E402
    REVERSE_MODES, GradCheckError, check_grads, finite_difference_jvp,
)

MODES = ("Reverse", "Forward")
STATUSES = ("correct", "refused", "wrong", "crash", "not-applicable")
_RANK = {"correct": 0, "refused": 1, "wrong": 2, "crash": 3}

# The values of Tangent's conftest.py: ten scalars, n in 1..3, vectors of 3, 5 and 10 elements,
# square matrices. Point k gives a, b, c the scalars k, k+3 and k+7 (mod 10), and cycles n, x.
SCALARS = (-2.0, -1.5, -1.0, -0.5, -0.1, 0.1, 0.5, 1.0, 1.5, 2.0)
NPOINTS = len(SCALARS)
INTS = {"n": (1, 2, 3), "i": (0, 1, 2)}
VECTORS = tuple(np.random.default_rng(k).standard_normal(size) for k, size in enumerate((3, 5, 10)))
SQUARE = tuple(np.random.default_rng(10 + k).standard_normal(shape)
               for k, shape in enumerate(((1, 1), (3, 3), (5, 5))))


def _scalar(param: str, k: int) -> float:
    return SCALARS[(k + {"a": 0, "b": 3, "c": 7}[param]) % NPOINTS]


def _rand(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------------------------
# Wrappers for the functions Tangent's tests call with a tuple or a dict (check_grads passes
# float scalars and arrays): they build the argument as Tangent's tests do.


def call_unpacking_args_saxpy(a, b, c):
    return unpacking_args_saxpy((a, b, c))


def call_dict_saxpy(a, b, c):
    return dict_saxpy(dict(a=a, b=b, c=c))


def call_dict_wrapper(a, b, c):
    return dict_wrapper((a, b, c))


def call_passthru_unpack(a, b, c):
    return passthru_unpack((a, b, c))


def call_nested_dict(a, b):
    return nested_dict(dict(i=dict(j=a, k=b)))


# ----------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class Case:
    """How one Tangent function is called."""

    name: str  # the function's name in tangent_functions.py
    func: Callable  # what check_grads differentiates: the function itself or a wrapper above
    call: str  # a readable call, e.g. "saxpy(a, b, c)"
    points: tuple  # tuples of plain argument values
    kinds: tuple  # per argument: "active" (float), "dup" (float array), "const", "bare" (int)

    def annotated(self, values: tuple) -> list:
        out = []
        for v, k in zip(values, self.kinds):
            if k == "active":
                out.append(Active(v))
            elif k == "dup":
                out.append(Duplicated(v.copy(), np.zeros_like(v)))
            elif k == "const":
                out.append(Const(v.copy() if isinstance(v, np.ndarray) else v))
            else:
                out.append(v)
        return out


def _kind(v: Any) -> str:
    if isinstance(v, float):
        return "active"
    if isinstance(v, np.ndarray):
        return "dup"
    return "bare"


def _generic_points(name: str, params: list[str]) -> tuple:
    points = []
    for k in range(NPOINTS):
        vals = []
        for p in params:
            if p in ("a", "b", "c"):
                vals.append(_scalar(p, k))
            elif p in INTS:
                vals.append(INTS[p][k % len(INTS[p])])
            elif p == "x":
                vals.append(VECTORS[k % len(VECTORS)].copy())
            elif p == "sqm":
                vals.append(SQUARE[k % len(SQUARE)].copy())
            else:
                raise KeyError(f"{name}: no rule for an argument named {p!r}; add one to corpus_harness.py")
        points.append(tuple(vals))
    # Functions of arrays only: one point per distinct array.
    if not any(p in ("a", "b", "c") or p in INTS for p in params):
        points = points[:max(len(VECTORS), len(SQUARE))]
    return tuple(points)


def _special() -> dict[str, tuple[Callable, str, tuple, tuple | None]]:
    """name -> (function to check, call text, points, kinds or None for the default)."""
    label = np.zeros(5)
    label[1] = 1
    abc = tuple((_scalar("a", k), _scalar("b", k), _scalar("c", k)) for k in range(NPOINTS))
    ab = tuple(t[:2] for t in abc)
    return {
        # Shapes of Tangent's test_rnn, test_logistic_regression and test_bilinear.
        "rnn": (tangent_functions.rnn, "rnn(inputs (3,2), W (2,3))",
                ((_rand(1, 3, 2), _rand(2, 2, 3)), (_rand(3, 3, 2), _rand(4, 2, 3))), None),
        "logistic_regression": (
            tangent_functions.logistic_regression,
            "logistic_regression(Const(input (3,)), Const(label (5,) one-hot), W (3,5), b (5,))",
            ((np.abs(_rand(5, 3)), label, _rand(6, 3, 5), _rand(7, 5)),
             (np.abs(_rand(8, 3)), label[::-1].copy(), _rand(9, 3, 5), _rand(10, 5))),
            ("const", "const", "dup", "dup")),
        "bilinear": (tangent_functions.bilinear, "bilinear(x (1,3), h (1,3), U (3,3), W (3,3), b (1,3))",
                     tuple(tuple(_rand(s + j, *shape) for j, shape in
                                 enumerate([(1, 3), (1, 3), (3, 3), (3, 3), (1, 3)])) for s in (11, 21)),
                     None),
        # Called with a tuple or a dict, as in Tangent's tests.
        "unpacking_args_saxpy": (call_unpacking_args_saxpy, "unpacking_args_saxpy((a, b, c))", abc, None),
        "dict_saxpy": (call_dict_saxpy, "dict_saxpy(dict(a=a, b=b, c=c))", abc, None),
        "dict_wrapper": (call_dict_wrapper, "dict_wrapper((a, b, c))", abc, None),
        "passthru_unpack": (call_passthru_unpack, "passthru_unpack((a, b, c))", abc, None),
        "nested_dict": (call_nested_dict, "nested_dict(dict(i=dict(j=a, k=b)))", ab, None),
    }


def function_names() -> list[str]:
    """Every function of tangent_functions.py, in the file's order."""
    return [n for n, f in vars(tangent_functions).items()
            if inspect.isfunction(f) and f.__module__ == tangent_functions.__name__]


def cases() -> dict[str, Case]:
    special = _special()
    out = {}
    for name in function_names():
        f = getattr(tangent_functions, name)
        params = list(inspect.signature(f).parameters)
        if name in special:
            func, call, points, kinds = special[name]
        else:
            func, call, points, kinds = f, f"{name}({', '.join(params)})", _generic_points(name, params), None
        if kinds is None:
            kinds = tuple(_kind(v) for v in points[0])
        out[name] = Case(name, func, call, tuple(points), tuple(kinds))
    return out


# ----------------------------------------------------------------------------------------------
# Running and classifying


@dataclass
class Outcome:
    """The status of one (function, mode)."""

    function: str
    mode: str
    status: str
    message: str = ""  # the exception's text, the first mismatch, or the reason when n/a
    detail: str = ""  # the full text
    call: str = ""
    point: str = ""  # the argument values of the worst point
    exception: str = ""  # the exception's type name (refused, crash)
    checked: int = 0  # how many points were checked

    @property
    def first_line(self) -> str:
        return self.message.splitlines()[0] if self.message else ""


class _RecordingEngine:
    """``adtriad.ad_core`` for check_grads, recording what ``autodiff`` raises in each mode."""

    def __init__(self):
        self.raised: dict[str, BaseException] = {}
        self._names = {id(getattr(ad_core, m)): m for m in ("Reverse", "ReverseWithPrimal", "Forward",
                                                            "ForwardWithPrimal", "ReverseSplitWithPrimal")}

    def __getattr__(self, name):
        return getattr(ad_core, name)

    def autodiff(self, mode, *rest, **kw):
        try:
            return ad_core.autodiff(mode, *rest, **kw)
        except Exception as exc:
            self.raised.setdefault(self._names.get(id(mode), str(mode)), exc)
            raise


def _fmt(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return np.array2string(v, precision=3, separator=", ").replace("\n", "")
    return repr(v)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _plain(text: str) -> str:
    """Text without terminal colour codes (Numba colours its error messages)."""
    return _ANSI.sub("", text)


def first_line(text: str) -> str:
    """The first non-blank line of ``text`` (empty when there is none)."""
    return text.strip().splitlines()[0] if text.strip() else ""


def _primal_problem(case: Case, values: tuple) -> str | None:
    """Why the plain-Python primal cannot be differentiated at ``values`` (None if it can)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ret = case.func(*[v.copy() if isinstance(v, np.ndarray) else v for v in values])
    except Exception as exc:
        return f"the plain-Python primal raises {type(exc).__name__}: {first_line(str(exc))}"
    if isinstance(ret, tuple):
        return "returns a tuple; check_grads differentiates a float, a float array or None"
    if ret is None:
        return None
    arr = np.asarray(ret)
    if arr.dtype.kind != "f":
        return f"returns {type(ret).__name__}, not a float"
    if not np.all(np.isfinite(arr)):
        return "the primal is not finite here"
    return None


def _kink(case: Case, values: tuple) -> str | None:
    """Why finite differences are no reference at ``values`` (None if they are): the function
    switches branch or has a kink within the step, or its derivative is not finite there. Seen
    as differences with steps 1e-3 and 1e-5 (relative) that disagree."""
    wrt = [i for i, k in enumerate(case.kinds) if k in ("active", "dup")]
    if not wrt:
        return None
    outputs = tuple(i for i, k in enumerate(case.kinds) if k == "dup")
    rng = np.random.default_rng(0)
    tangents = [float(rng.standard_normal()) if case.kinds[i] == "active" else rng.standard_normal(values[i].shape)
                for i in wrt]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        coarse = finite_difference_jvp(case.func, values, wrt, tangents, outputs=outputs, eps=1e-3)
        fine = finite_difference_jvp(case.func, values, wrt, tangents, outputs=outputs, eps=1e-5)
    for c, f in zip(coarse, fine):
        c, f = np.asarray(c, dtype=float), np.asarray(f, dtype=float)
        if not (np.all(np.isfinite(c)) and np.all(np.isfinite(f))):
            return "the derivative is not finite here"
        if np.any(np.abs(c - f) > 1e-4 * (1.0 + np.abs(f))):
            return "a branch switch or kink lies within the finite-difference step"
    return None


def _classify(case: Case, values: tuple) -> dict[str, Outcome]:
    point = ", ".join(_fmt(v) for v in values)
    eng = _RecordingEngine()
    out = {m: Outcome(case.name, m, "correct", call=case.call, point=point) for m in MODES}
    ret = case.func(*[v.copy() if isinstance(v, np.ndarray) else v for v in values])
    if isinstance(ret, np.ndarray):  # check_grads skips reverse modes for an array result
        for m in MODES:
            if m in REVERSE_MODES:
                why = "returns an array; reverse modes need a float or None result"
                out[m] = Outcome(case.name, m, "not-applicable", why, why, case.call, point)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = check_grads(case.func, *case.annotated(values), modes=MODES, engine=eng)
        for m, why in report.skipped.items():
            out[m] = Outcome(case.name, m, "not-applicable", why, why, case.call, point)
    except GradCheckError as err:
        dot_lines = [line for line in err.failures if line.startswith("[dot product")]
        for m in MODES:
            lines = [line[len(m) + 3:] for line in err.failures if line.startswith(f"[{m}] ")]
            exc = eng.raised.get(m)
            if exc is not None:
                status = "refused" if isinstance(exc, ADError) else "crash"
                out[m] = Outcome(case.name, m, status, _plain(str(exc)) or type(exc).__name__,
                                 _plain("\n".join(lines)), case.call, point, type(exc).__name__)
            elif any(line.startswith("the engine raised") for line in lines):
                # An exception outside autodiff (the checker choking on what the engine returned).
                line = next(x for x in lines if x.startswith("the engine raised"))
                out[m] = Outcome(case.name, m, "crash", _plain(line), _plain("\n".join(lines)), case.call,
                                 point, line.split()[3].rstrip(":"))
            elif lines:
                out[m] = Outcome(case.name, m, "wrong", lines[0], "\n".join(lines), case.call, point)
        if dot_lines and all(o.status == "correct" for o in out.values()):
            for m in MODES:
                out[m] = Outcome(case.name, m, "wrong", dot_lines[0], "\n".join(dot_lines), case.call, point)
    except Exception as exc:  # before any mode ran: the checker's own primal or differences
        why = f"check_grads could not set up the check: {type(exc).__name__}: {first_line(str(exc))}"
        return {m: Outcome(case.name, m, "not-applicable", why, str(exc), case.call, point) for m in MODES}
    return out


def run_case(case: Case) -> dict[str, Outcome]:
    """The status of each mode for one function: the worst over its points."""
    best: dict[str, Outcome] = {}
    reasons = []
    checked = 0
    for values in case.points:
        why = _primal_problem(case, values) or _kink(case, values)
        if why is not None:
            reasons.append(f"{why} (at {', '.join(_fmt(v) for v in values)})")
            continue
        checked += 1
        for m, o in _classify(case, values).items():
            if o.status == "not-applicable":
                reasons.append(o.message)
                continue
            if m not in best or _RANK[o.status] > _RANK[best[m].status]:
                best[m] = o
    for m in MODES:
        if m not in best:
            best[m] = Outcome(case.name, m, "not-applicable", reasons[0] if reasons else "no point to check",
                              "\n".join(reasons), case.call)
        best[m].checked = checked
    return best


@dataclass
class Result:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def run(names=None, progress: Callable[[str, dict, float], None] | None = None) -> Result:
    """Run every case (or the named ones) and return their outcomes."""
    all_cases = cases()
    result = Result()
    for name in (names or list(all_cases)):
        t0 = time.perf_counter()
        per_mode = run_case(all_cases[name])
        dt = time.perf_counter() - t0
        result.seconds[name] = dt
        result.outcomes.extend(per_mode[m] for m in MODES)
        if progress is not None:
            progress(name, per_mode, dt)
    return result
