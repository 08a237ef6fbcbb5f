"""One program checked in each mode against the dual-number oracle, with finite differences as referee.

Contract: :func:`check_program` takes a :class:`~adtriad.agents.fuzz.generator.Program` (source,
parameters, int values, input seed) and returns a :class:`Verdict`. It

1. runs ``f`` as plain Python (decorators dropped; real ``math`` and NumPy) at inputs drawn from
   the program's seed, redrawing where Python raises, and compiles it with ``numba.njit``: a
   program Numba rejects or that disagrees with Python is ``invalid`` (the generator's fault);
2. runs it again over dual numbers (:mod:`adtriad.agents.fuzz.dual`) with random tangents ``t``
   on every float input, for the exact directional derivative of the result and of the final
   contents of every array; a program the oracle cannot evaluate is ``oracle``;
3. differentiates it with the engine in each mode, every float scalar active and every array
   ``Duplicated``, and classifies the mode as ``ok``, ``refused`` (an ``ADError``), ``crash``
   (any other exception), ``primal`` (the primal a mode returns differs from Python's),
   ``state`` (an array's final contents differ from Python's), ``wrong`` or ``nondiff``.
   Forward modes are compared directly (the result's tangent and every array's shadow).
   Reverse modes are seeded with random cotangents ``w`` on the arrays' shadows and compared by
   ``Σ ∂·t`` against ``tangent(result) + Σ ⟨w, tangent(array)⟩``.

A derivative that differs from the oracle is ``wrong`` only when central differences in
float64 (Richardson-extrapolated) agree with the oracle; when they agree with neither, the
point is within a step of a branch switch or a kink, and the mode is ``nondiff`` (not a
failure). Differences that agree with the engine against the oracle mark the oracle wrong
(``oracle``): the dual numbers have a bug.

Nothing here imports the engine's generators: the engine is reached only through
``engine.autodiff`` and its annotation classes (``engine`` defaults to ``adtriad.ad_core``; a
test passes a stand-in with a planted bug).
"""

from __future__ import annotations

import ast
import atexit
import functools
import importlib
import math
import shutil
import tempfile
import traceback
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from adtriad.agents.fuzz.dual import dual_namespace, duals, tangent_of, value_of
from adtriad.agents.fuzz.generator import Program
from adtriad.agents.sourcefile import load_kernel
from adtriad.protocol import AUTODIFF_MODES, FORWARD_MODES

__all__ = ["MODES", "MODE_CLASSES", "ModeResult", "Verdict", "check_program", "python_function"]

# Every mode one autodiff call runs, reverse ones first (the order of a run's units).
MODES = tuple(sorted(AUTODIFF_MODES, key=lambda m: (m in FORWARD_MODES, len(m))))
# Worst first: a program's status is the worst of its modes'.
MODE_CLASSES = ("oracle", "crash", "wrong", "state", "primal", "refused", "nondiff", "ok")
RTOL = 1e-7  # engine against oracle: both exact up to rounding
FD_RTOL = 1e-5  # finite differences against either
INPUT_TRIES = 6


@dataclass
class ModeResult:
    status: str
    detail: str = ""
    engine: list[float] = field(default_factory=list)  # the compared numbers, engine side
    oracle: list[float] = field(default_factory=list)
    differences: list[float] | None = None


@dataclass
class Verdict:
    """``status``: ``invalid``, ``oracle``, or the worst of :data:`MODE_CLASSES` over the modes."""

    status: str
    modes: dict[str, ModeResult] = field(default_factory=dict)
    detail: str = ""
    inputs: list[Any] = field(default_factory=list)

    def settle(self) -> None:
        """Status and detail from the modes' results (after they are set or changed)."""
        self.status = min((r.status for r in self.modes.values()), key=MODE_CLASSES.index, default="ok")
        self.detail = "\n".join(f"{m}: {r.status}" + (f": {r.detail}" if r.detail else "")
                                for m, r in self.modes.items())

    def key(self) -> tuple:
        """What a smaller program must still show to count as the same failure."""
        failing = tuple(sorted((m, r.status, _gist(r)) for m, r in self.modes.items() if r.status == self.status))
        return (self.status, failing)


def _gist(result: ModeResult) -> str:
    if result.status in ("refused", "crash"):
        line = result.detail.strip().splitlines()[-1] if result.detail.strip() else ""
        return line.split(":")[0]
    return ""


# ----------------------------------------------------------------------------------------------
# The program as plain Python, under any namespace of math / numpy / numba


_MODULES = ("math", "numpy", "numba", "cmath")


class _Unimport(ast.NodeTransformer):
    """Drops decorators; ``import numpy as np`` becomes ``np = __modules__['numpy']``."""

    def visit_FunctionDef(self, node):
        node.decorator_list = []
        self.generic_visit(node)
        return node

    def visit_Import(self, node):
        out = []
        for alias in node.names:
            root = alias.name.split(".")[0]
            if root not in _MODULES:
                return node
            target = alias.asname or root
            value: ast.expr = _module(root)
            if alias.asname:
                for part in alias.name.split(".")[1:]:
                    value = ast.Attribute(value, part, ast.Load())
            out.append(ast.Assign([ast.Name(target, ast.Store())], value))
        return [ast.copy_location(n, node) for n in out]

    def visit_ImportFrom(self, node):
        root = (node.module or "").split(".")[0]
        if root not in _MODULES or node.level:
            return node
        value: ast.expr = _module(root)
        for part in node.module.split(".")[1:]:
            value = ast.Attribute(value, part, ast.Load())
        return [ast.copy_location(ast.Assign([ast.Name(a.asname or a.name, ast.Store())],
                                             ast.Attribute(value, a.name, ast.Load())), node)
                for a in node.names]


def _module(name: str) -> ast.expr:
    return ast.Subscript(ast.Name("__modules__", ast.Load()), ast.Constant(name), ast.Load())


def _plain_namespace() -> dict[str, Any]:
    identity = lambda *a, **k: (a[0] if a and callable(a[0]) and not k else (lambda f: f))  # noqa: E731
    return {"math": math, "numpy": np, "np": np, "cmath": importlib.import_module("cmath"),
            "numba": types.SimpleNamespace(njit=identity, jit=identity, prange=range)}


def python_function(source: str, entry: str = "f", dual: bool = False) -> Callable:
    """``entry`` of ``source`` run by the Python interpreter: over floats (``dual=False``) or
    over dual numbers, with ``math``, ``numpy`` and ``numba`` bound to :func:`dual_namespace`."""
    tree = _Unimport().visit(ast.parse(source))
    ast.fix_missing_locations(tree)
    code = compile(tree, "<program as Python>", "exec")
    modules = dual_namespace() if dual else _plain_namespace()
    ns: dict[str, Any] = {"__modules__": modules, "__name__": "adtriad_fuzz_program"}
    exec(code, ns)
    return ns[entry]


# ----------------------------------------------------------------------------------------------
# Inputs and reference runs


def _inputs(program: Program, rng: np.random.Generator) -> list[Any]:
    vals: list[Any] = [float(rng.uniform(-1.5, 1.5)) for _ in program.floats]
    vals += [rng.uniform(-1.0, 1.0, length) for _, length in program.arrays]
    return vals


def _copies(vals: Sequence[Any]) -> list[Any]:
    return [v.copy() if isinstance(v, np.ndarray) else v for v in vals]


def _run(fn: Callable, vals: Sequence[Any], ints: Sequence[int]) -> tuple[Any, list[Any]]:
    """(result, final contents of the array arguments)."""
    args = _copies(vals)
    result = fn(*args, *ints)
    return result, [a for a in args if isinstance(a, np.ndarray)]


def _is_result(r: Any) -> bool:
    return r is None or (isinstance(r, (float, np.floating)) and math.isfinite(r) and abs(r) < 1e8)


def _scalar(r: Any) -> float:
    return 0.0 if r is None else float(r)


def _same(a: Any, b: Any, tol: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(b)))


def _close(got: np.ndarray, want: np.ndarray, rtol: float) -> bool:
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    return bool(np.all(np.isfinite(got))) and bool(np.all(np.abs(got - want) <= rtol * scale))


# ----------------------------------------------------------------------------------------------
# The check


def check_program(program: Program, modes: Sequence[str] = MODES, engine: Any = None,
                  rtol: float = RTOL) -> Verdict:
    """Check ``program`` in each of ``modes`` (see the module docstring)."""
    engine = engine or importlib.import_module("adtriad.ad_core")
    ints = list(program.int_values)
    try:
        subject = _subject(program.source)
    except Exception as exc:
        return Verdict("invalid", detail=f"python: {_first_line(exc)}")
    plain, dual_f, compiled = subject.plain, subject.dual, subject.compiled

    rng = np.random.default_rng(program.input_seed)
    draws = ([_given(program.inputs)] if program.inputs is not None
             else (_inputs(program, rng) for _ in range(INPUT_TRIES)))
    for vals in draws:
        try:
            want, want_arrays = _run(plain, vals, ints)
        except Exception:  # a domain error at this point: draw another
            continue
        if _is_result(want):
            break
    else:
        return Verdict("invalid", detail="Python raises or overflows at every input drawn")

    try:
        got, got_arrays = _run(subject.jitted(), vals, ints)
    except Exception as exc:
        return Verdict("invalid", detail=f"numba.njit: {_first_line(exc)}", inputs=vals)
    if not (_same(got, want) and all(np.allclose(g, w, rtol=1e-9, atol=1e-12)
                                     for g, w in zip(got_arrays, want_arrays))):
        return Verdict("invalid", detail=f"numba gives {got!r}, Python {want!r}", inputs=vals)

    tangents = [float(rng.standard_normal()) if not isinstance(v, np.ndarray) else rng.standard_normal(v.shape)
                for v in vals]
    seeds = [rng.standard_normal(v.shape) for v in vals if isinstance(v, np.ndarray)]
    try:
        d_result, d_arrays = _run(dual_f, [duals(v, t) for v, t in zip(vals, tangents)], ints)
        d_value, d_values = value_of(d_result), [value_of(a) for a in d_arrays]
    except Exception as exc:
        return Verdict("oracle", detail=f"the dual-number oracle cannot run this program: {_first_line(exc)}",
                       inputs=vals)
    if not (_same(d_value, want, 1e-12) and all(np.allclose(d, w, rtol=1e-12, atol=1e-14)
                                                 for d, w in zip(d_values, want_arrays))):
        return Verdict("oracle", detail=f"dual values {d_value!r} differ from Python's {want!r}", inputs=vals)
    oracle = _Oracle(plain, vals, ints, tangents, seeds, want, want_arrays,
                     forward=np.concatenate([[tangent_of(d_result)]] + [tangent_of(a) for a in d_arrays]),
                     reverse=tangent_of(d_result) + sum(float(np.dot(w, tangent_of(a)))
                                                        for w, a in zip(seeds, d_arrays)))

    verdict = Verdict("ok", inputs=vals)
    for mode in modes:
        verdict.modes[mode] = _check_mode(engine, mode, compiled, program, oracle, rtol)
    verdict.settle()
    return verdict


def _given(inputs: tuple) -> list[Any]:
    return [np.array(v, dtype=np.float64) if isinstance(v, (tuple, list)) else float(v) for v in inputs]


class _Subject:
    """A program's three runnable forms: plain Python, Python over duals, and the imported module's
    function (the engine reads its source file), with Numba's compilation made once."""

    def __init__(self, source: str):
        self.plain = python_function(source)
        self.dual = python_function(source, dual=True)
        self.compiled = load_kernel(source, "f", _directory())
        self._jitted = None

    def jitted(self) -> Callable:
        if self._jitted is None:
            import numba

            f = self.compiled
            self._jitted = f if hasattr(f, "py_func") else numba.njit(f)
        return self._jitted


@functools.lru_cache(maxsize=32)
def _subject(source: str) -> _Subject:
    return _Subject(source)


@dataclass
class _Oracle:
    plain: Callable
    vals: list[Any]
    ints: list[int]
    tangents: list[Any]
    seeds: list[np.ndarray]
    result: Any
    arrays: list[np.ndarray]
    forward: np.ndarray  # tangent of the result, then of every array's final contents
    reverse: float  # tangent(result) + Σ <seed, tangent(array)>

    def along(self, s: float) -> tuple[Any, list[np.ndarray]]:
        moved = [v + s * t for v, t in zip(self.vals, self.tangents)]
        return _run(self.plain, moved, self.ints)

    def differences(self, reverse: bool) -> np.ndarray | None:
        """d/ds at s = 0 of what the mode computes, by central differences (None: Python raised)."""
        def g(s: float) -> np.ndarray:
            r, arrays = self.along(s)
            if reverse:
                return np.array([_scalar(r) + sum(float(np.dot(w, a)) for w, a in zip(self.seeds, arrays))])
            return np.concatenate([[_scalar(r)]] + list(arrays))

        size = max([float(np.max(np.abs(v), initial=0.0)) for v in self.vals] + [1.0])
        h = 1e-3 * size
        try:
            d1 = (g(h) - g(-h)) / (2 * h)
            d2 = (g(h / 2) - g(-h / 2)) / h
        except Exception:
            return None
        return (4 * d2 - d1) / 3


def _check_mode(engine: Any, mode: str, f: Callable, program: Program, oracle: _Oracle, rtol: float) -> ModeResult:
    ADError = importlib.import_module("adtriad.ad_core.errors").ADError
    reverse = mode.startswith("Reverse")
    n_floats = len(program.floats)
    args: list[Any] = []
    for k, v in enumerate(oracle.vals):
        if k < n_floats:
            args.append(engine.Active(v) if reverse else engine.Duplicated(v, oracle.tangents[k]))
    shadows = [(w if reverse else t).copy() for w, t in zip(oracle.seeds, oracle.tangents[n_floats:])]
    primals = [v.copy() for v in oracle.vals[n_floats:]]
    args += [engine.Duplicated(p, s) for p, s in zip(primals, shadows)]
    try:
        with warnings.catch_warnings():  # e.g. "len(a) drops the derivative": true and harmless here
            warnings.simplefilter("ignore")
            out = engine.autodiff(getattr(engine, mode), f, *args, *oracle.ints)
    except ADError as exc:
        return ModeResult("refused", _first_line(exc))
    except Exception as exc:
        return ModeResult("crash", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))

    if mode.endswith("WithPrimal") and not _same(out[0], oracle.result):
        return ModeResult("primal", f"the engine's primal {out[0]!r}, Python's {oracle.result!r}")
    for name_len, p, want in zip(program.arrays, primals, oracle.arrays):
        if not np.allclose(p, want, rtol=1e-9, atol=1e-12):
            return ModeResult("state", f"{name_len[0]} after the call is {p.tolist()}, Python leaves {want.tolist()}")
    try:
        if reverse:
            derivs = out[-1]
            got = np.array([sum(float(derivs[k]) * oracle.tangents[k] for k in range(n_floats))
                            + sum(float(np.dot(s, t)) for s, t in zip(shadows, oracle.tangents[n_floats:]))])
            want = np.array([oracle.reverse])
        else:
            dret = out[-1] if oracle.result is not None else 0.0
            got = np.concatenate([[float(dret)]] + shadows)
            want = oracle.forward
    except Exception as exc:
        return ModeResult("crash", f"the engine returned {out!r}: {_first_line(exc)}")
    if _close(got, want, rtol):
        return ModeResult("ok", engine=got.tolist(), oracle=want.tolist())
    fd = oracle.differences(reverse)
    numbers = dict(engine=got.tolist(), oracle=want.tolist(), differences=None if fd is None else fd.tolist())
    if fd is not None and _close(fd, want, FD_RTOL):
        return ModeResult("wrong", _mismatch(got, want, "engine", "oracle"), **numbers)
    if fd is not None and _close(fd, got, FD_RTOL):
        return ModeResult("oracle", _mismatch(got, want, "engine and differences", "dual numbers"), **numbers)
    return ModeResult("nondiff", "differences agree with neither: a branch switch or kink within a step", **numbers)


def _mismatch(got: np.ndarray, want: np.ndarray, a: str, b: str) -> str:
    k = int(np.argmax(np.abs(got - want)))
    where = "the result" if k == 0 else f"entry {k}"
    return f"{where}: {a} {got[k]!r}, {b} {want[k]!r}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


_DIR: Path | None = None


def _directory() -> Path:
    """Where this process writes the programs' module files (the engine reads real source)."""
    global _DIR
    if _DIR is None:
        _DIR = Path(tempfile.mkdtemp(prefix="adtriad-fuzz-"))
        atexit.register(shutil.rmtree, _DIR, True)
    return _DIR
