"""The test suite's side of the random programs: a Hypothesis strategy, and a harness that checks a program with ``check_grads``.

The programs come from :mod:`adtriad.agents.fuzz.generator`; :func:`programs` draws the
generator's choices from Hypothesis (which then shrinks them towards short, simple programs).

The harness (:func:`run_program`) writes the module to a real file (the engine reads source with
``inspect.getsource``), imports it, checks that ``numba.njit`` compiles the primal and agrees with
Python, draws inputs away from branch switches (see :func:`stable_inputs`) and calls
``check_grads`` in the requested modes, classifying the result per mode as ``ok``, ``refused``
(an ``ADError``), ``wrong`` (a mismatch) or ``crash`` (any other exception).
"""

from __future__ import annotations

import ast
import atexit
import importlib
import importlib.util
import itertools
import math
import operator
import os
import re
import shutil
import sys
import tempfile
import traceback
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from adtriad.agents.fuzz.generator import NMAX, Chooser, Program, generate, random_program

__all__ = [
    "Program",
    "Outcome",
    "programs",
    "random_program",
    "generate",
    "run_program",
    "run_source",
    "load_module",
    "stable_inputs",
]


class DrawChooser(Chooser):
    def __init__(self, draw: Callable):
        from hypothesis import strategies as st

        self.draw = draw
        self.st = st

    def integer(self, lo: int, hi: int) -> int:
        return lo if lo == hi else self.draw(self.st.integers(lo, hi))


def programs(min_statements: int = 5, max_statements: int = 20, numpy: bool = True):
    """A Hypothesis strategy of :class:`Program` (shrinks towards short, simple programs)."""
    from hypothesis import strategies as st

    @st.composite
    def _programs(draw):
        return generate(DrawChooser(draw), min_statements, max_statements, numpy)

    return _programs()


# ----------------------------------------------------------------------------------------------
# Loading: a real file (the engine reads the source) imported under a unique name

_DIR: str | None = None
_COUNT = itertools.count()


def _dir() -> str:
    global _DIR
    if _DIR is None:
        _DIR = tempfile.mkdtemp(prefix="adtriad-programs-")
        atexit.register(shutil.rmtree, _DIR, True)
    return _DIR


def load_module(source: str):
    """Write ``source`` to a new .py file and import it (a fresh module every call)."""
    name = f"adtriad_prog_{os.getpid()}_{next(_COUNT)}_{zlib.crc32(source.encode()):08x}"
    path = os.path.join(_dir(), name + ".py")
    with open(path, "w") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


# ----------------------------------------------------------------------------------------------
# Branch traces: the same program run as plain Python, recording every comparison's outcome


class _Instrument(ast.NodeTransformer):
    def __init__(self):
        self.k = 0

    def visit_FunctionDef(self, node):
        node.decorator_list = []
        self.generic_visit(node)
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        self.k += 1
        args: list[ast.expr] = [ast.Constant(self.k), node.left]
        for op, right in zip(node.ops, node.comparators):
            args += [ast.Constant(type(op).__name__), right]
        return ast.copy_location(ast.Call(ast.Name("_cmp_", ast.Load()), args, []), node)

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in ("min", "max") and len(node.args) == 2:
            self.k += 1
            new = ast.Call(ast.Name("_minmax_", ast.Load()),
                           [ast.Constant(self.k), ast.Constant(node.func.id), *node.args], [])
            return ast.copy_location(new, node)
        return node


_OPS = {"Lt": operator.lt, "Gt": operator.gt, "LtE": operator.le, "GtE": operator.ge,
        "Eq": operator.eq, "NotEq": operator.ne}


class _Trace:
    def __init__(self):
        self.outcomes: list[tuple[int, bool]] = []

    def cmp(self, k, left, *rest):
        result = True
        for op, right in zip(rest[0::2], rest[1::2]):
            r = bool(_OPS[op](left, right))
            self.outcomes.append((k, r))
            result = result and r
            left = right
        return result

    def minmax(self, k, which, u, v):
        self.outcomes.append((k, bool(u > v)))
        return max(u, v) if which == "max" else min(u, v)


def traced(source: str) -> Callable:
    """``f`` as plain Python; ``traced(src)(*args)`` returns (result, comparison outcomes)."""
    tree = _Instrument().visit(ast.parse(source))
    ast.fix_missing_locations(tree)
    code = compile(tree, "<traced program>", "exec")

    def run(*args):
        trace = _Trace()
        ns: dict[str, Any] = {"_cmp_": trace.cmp, "_minmax_": trace.minmax}
        exec(code, ns)
        res = ns["f"](*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
        return res, tuple(trace.outcomes)

    return run


def _float_inputs(program: Program, rng: np.random.Generator) -> list:
    vals: list[Any] = [float(rng.uniform(-1.5, 1.5)) for _ in program.floats]
    vals += [rng.uniform(-1.0, 1.0, L) for _, L in program.arrays]
    return vals


def _perturbed(vals: list, k: int, j: int | None, step: float, direction=None) -> list:
    out = [v.copy() if isinstance(v, np.ndarray) else v for v in vals]
    if direction is not None:
        for i, d in enumerate(direction):
            out[i] = out[i] + step * d
        return out
    if isinstance(out[k], np.ndarray):
        out[k][j] += step
    else:
        out[k] += step
    return out


def stable_inputs(program: Program, tries: int = 12, run: Callable | None = None) -> list | None:
    """Float inputs at which no comparison changes outcome within the finite-difference stencil.

    The checker's finite differences move each input element by up to 2h (h = 1e-3·max(1, |x|))
    for gradients, and all elements at once along random directions for tangents. Inputs are
    redrawn (from ``program.input_seed``) until the program's comparison outcomes are the same at
    the point and at ±1, ±2, ±3 such steps along every element and along 8 random directions.
    None when no such point was found, or the program fails in plain Python at every try.
    """
    run = run or traced(program.source)
    ints = list(program.int_values)
    rng = np.random.default_rng(program.input_seed)
    for _ in range(tries):
        vals = _float_inputs(program, rng)
        try:
            res, base = run(*vals, *ints)
            if not isinstance(res, float) or not math.isfinite(res) or abs(res) > 1e6:
                continue
            ok = True
            for k, v in enumerate(vals):
                for j in range(v.size if isinstance(v, np.ndarray) else 1):
                    x = float(v[j]) if isinstance(v, np.ndarray) else v
                    h = 1e-3 * max(1.0, abs(x))
                    for m in (-3, -2, -1, 1, 2, 3):
                        if run(*_perturbed(vals, k, j, m * h), *ints)[1] != base:
                            ok = False
                            break
                    if not ok:
                        break
                if not ok:
                    break
            if ok:
                xmax = max(float(np.max(np.abs(v))) if isinstance(v, np.ndarray) else abs(v) for v in vals)
                for _ in range(8):
                    d = [rng.standard_normal(v.shape) if isinstance(v, np.ndarray) else float(rng.standard_normal())
                         for v in vals]
                    tmax = max(float(np.max(np.abs(t))) if isinstance(t, np.ndarray) else abs(t) for t in d)
                    h = 1e-3 * max(1.0, xmax) / tmax
                    if any(run(*_perturbed(vals, 0, None, m * h, d), *ints)[1] != base for m in (-3, -2, -1, 1, 2, 3)):
                        ok = False
                        break
            if ok:
                return vals
        except Exception:  # a domain error, a bad index, a name a shrunk program lost...
            continue
    return None


# ----------------------------------------------------------------------------------------------
# Running one program through check_grads


class _RecordingEngine:
    """``adtriad.ad_core`` with every exception out of ``autodiff`` recorded by mode."""

    def __init__(self):
        self._engine = importlib.import_module("adtriad.ad_core")
        self.raised: dict[str, BaseException] = {}

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def autodiff(self, mode, *args, **kwargs):
        try:
            return self._engine.autodiff(mode, *args, **kwargs)
        except Exception as exc:
            for name in ("Reverse", "ReverseWithPrimal", "Forward", "ForwardWithPrimal"):
                if mode is getattr(self._engine, name, None):
                    self.raised[name] = exc
                    break
            else:
                self.raised[repr(mode)] = exc
            raise


@dataclass
class Outcome:
    """What happened to one program. ``status``: invalid, tie, ok, refused, wrong or crash."""

    status: str
    modes: dict[str, str] = field(default_factory=dict)  # mode -> ok / refused / wrong / crash
    detail: str = ""  # why invalid, the mismatch lines, or the exception
    refusals: dict[str, str] = field(default_factory=dict)  # mode -> first line of the ADError
    exceptions: dict[str, str] = field(default_factory=dict)  # mode -> formatted traceback
    args: list = field(default_factory=list)

    def key(self) -> tuple:
        """What a shrunk program must still show to count as the same failure."""
        if self.status == "crash":
            first = {m: _first_line_tb(self.exceptions.get(m, "")) for m, s in self.modes.items() if s == "crash"}
            return ("crash", tuple(sorted((m, d.split(":")[0]) for m, d in first.items())))
        if self.status == "wrong":
            return ("wrong", tuple(sorted(m for m, s in self.modes.items() if s == "wrong")))
        if self.status == "refused":
            return ("refused", tuple(sorted((m, normalized_message(r)) for m, r in self.refusals.items())))
        return (self.status,)


def normalized_message(line: str) -> str:
    """A message without file, line and column, and with the engine's numbered names unnumbered
    (so that the same refusal of two versions of a program compares equal)."""
    line = re.sub(r"\S*\.py:\d+(:\d+)?: ", "", line)
    return re.sub(r"\b(_ad\w*?)\d+\b", r"\1N", line)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def call_repr(program: Program, args: list) -> str:
    """The check_grads call a reproduction needs, with the inputs written out."""
    parts = []
    for name, v in zip(program.params, list(args) + list(program.int_values)):
        if name in program.floats:
            parts.append(f"Active({v!r})")
        elif isinstance(v, np.ndarray):
            parts.append(f"Duplicated(np.array({v.tolist()!r}), np.zeros({v.size}))")
        else:
            parts.append(repr(v))
    return "check_grads(f, " + ", ".join(parts) + ", modes=(\"Reverse\", \"Forward\"))"


def run_program(program: Program, modes: Sequence[str] = ("Reverse", "Forward")) -> Outcome:
    """Check one program with the engine (see the module docstring for the classification)."""
    import numba

    from adtriad.ad_core import ADTypeWarning
    from adtriad.ad_core.errors import ADError
    from adtriad.ad_core.testing import GradCheckError, check_grads

    try:
        run = traced(program.source)
        mod = load_module(program.source)
    except Exception as exc:  # the generator wrote something Python rejects
        return Outcome("invalid", detail=f"python: {_first_line(exc)}")
    args = stable_inputs(program, run=run)
    if args is None:
        return Outcome("tie", detail="no input away from a branch switch (or Python fails everywhere)")
    ints = list(program.int_values)
    f = mod.f
    try:
        jitted = f if hasattr(f, "py_func") else numba.njit(f)
        got = jitted(*[a.copy() if isinstance(a, np.ndarray) else a for a in args], *ints)
    except Exception as exc:
        return Outcome("invalid", detail=f"numba.njit: {_first_line(exc)}", args=args)
    want = run(*args, *ints)[0]
    if not (isinstance(got, float) and abs(got - want) <= 1e-9 * max(1.0, abs(want))):
        return Outcome("invalid", detail=f"numba gives {got!r}, Python {want!r}", args=args)

    engine = _RecordingEngine()
    annotated = [engine.Active(v) for v in args[: len(program.floats)]]
    annotated += [engine.Duplicated(v.copy(), np.zeros_like(v)) for v in args[len(program.floats):]]
    failures: list[str] = []
    outside: BaseException | None = None
    try:
        with warnings.catch_warnings():  # e.g. "len(a) drops the derivative": true and harmless here
            warnings.simplefilter("ignore", ADTypeWarning)
            check_grads(f, *annotated, *ints, modes=tuple(modes), engine=engine)
    except GradCheckError as err:
        failures = err.failures
    except Exception as exc:  # the checker itself failed: not the engine's mode calls
        outside = exc
    out = Outcome("ok", args=args)
    for mode in modes:
        exc = engine.raised.get(mode)
        if exc is not None:
            if isinstance(exc, ADError):
                out.modes[mode] = "refused"
                out.refusals[mode] = _first_line(exc)
            else:
                out.modes[mode] = "crash"
                out.exceptions[mode] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        elif any(line.startswith(f"[{mode}]") for line in failures):
            out.modes[mode] = "wrong"
        else:
            out.modes[mode] = "ok"
    if any(line.startswith("[dot product") for line in failures):
        out.modes["dot product"] = "wrong"
    mismatch = [line for line in failures if " the engine raised " not in line]
    if outside is not None:
        out.modes["check_grads"] = "crash"
        out.exceptions["check_grads"] = "".join(traceback.format_exception(type(outside), outside,
                                                                           outside.__traceback__))
    states = set(out.modes.values())
    out.status = ("crash" if "crash" in states else "wrong" if "wrong" in states
                  else "refused" if "refused" in states else "ok")
    lines = [f"{m}: {s}" for m, s in out.modes.items()]
    lines += [f"  {m} refused: {r}" for m, r in out.refusals.items()]
    lines += [f"  {m} raised: {_first_line_tb(t)}" for m, t in out.exceptions.items()]
    lines += [f"  {line}" for line in mismatch]
    out.detail = "\n".join(lines)
    return out


def _first_line_tb(tb: str) -> str:
    """The exception line of a formatted traceback (the last line starting with a name and ':')."""
    lines = [ln for ln in tb.strip().splitlines() if ln and not ln.startswith(" ")]
    for ln in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Warning|Exit)\b", ln):
            return ln
    return lines[-1] if lines else ""


def run_source(source: str, floats: Sequence[str], arrays: Sequence[tuple[str, int]], ints: Sequence[str],
               int_values: Sequence[int], input_seed: int = 0, modes=("Reverse", "Forward")) -> Outcome:
    """:func:`run_program` for hand-written source (regression tests)."""
    prog = Program(source, tuple(floats), tuple(tuple(a) for a in arrays), tuple(ints), tuple(int_values),
                   input_seed)
    return run_program(prog, modes)
