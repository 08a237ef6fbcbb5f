"""Gradient checking for ``adtriad.ad_core``: the one checker every test uses.

Contract
--------
Everything here is plain NumPy. The checker takes a callable and its arguments and knows nothing
of how derivatives are produced; the reference it compares against is always computed in
float64 by 4-point central finite differences,
``(-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h``, on fresh float64 copies of the inputs.

*The function's outputs.* A function ``f(*args)`` may return a float, an array or ``None``, and
may write into its array arguments. The differentiated map is always::

    F : (float inputs at entry)  ->  (the returned value, if any; the final value of each
                                      "output" array argument)

``check_grads`` takes every ``Duplicated`` array as an output, which is exactly Enzyme's (and
API.md's) shadow semantics: in reverse mode a shadow holds the cotangent of the array's final
value on entry and ``(∂F/∂x)ᵀ·c`` for its entry value on exit (an array that ``f`` only reads
therefore gets the gradient *added* to its shadow; an array that ``f`` overwrites gets its shadow
consumed); in forward mode a shadow holds the tangent of the entry value and receives the tangent
of the final value.

*Every call is independent.* The function may mutate its arguments and reverse mode adds into
shadows, so each evaluation (finite differences, each mode of the engine) receives fresh copies
of every input and every shadow.

Public functions
----------------
``finite_difference_jvp(f, args, wrt, tangents, outputs=(), eps=None)``
    the directional derivative of F along ``tangents``.
``finite_difference_gradient(f, args, wrt, cotangents=None, outputs=(), eps=None)``
    ``(∂F/∂x)ᵀ·c``, one entry per argument in ``wrt`` (the plain gradient of a float-valued
    ``f`` when ``cotangents`` is omitted).
``check_derivative(f, args, wrt=None, grad=None, jvp=None, vjp=None, outputs=(), ...)``
    checks hand-written derivative functions against finite differences and against each other
    (the dot-product test); needs no AD engine.
``check_grads(f, *annotated_args, modes=..., engine=None, ...)``
    runs ``autodiff`` in ``Reverse``, ``ReverseWithPrimal``, ``Forward``, ``ForwardWithPrimal``
    and the split mode of ``autodiff_thunk(ReverseSplitWithPrimal, ...)``, wherever they apply,
    and checks each against finite differences, the primal against a direct call, and forward
    against reverse with the dot-product test ``<J·t, c> == <t, Jᵀ·c>`` for random tangents
    ``t`` and cotangents ``c``.

Both checkers raise :class:`GradCheckError` (an ``AssertionError``) naming the mode, the
argument, the largest absolute and relative error and the worst index, and otherwise return a
:class:`GradCheckReport`.

Examples
--------
>>> import math
>>> check_derivative(math.sin, [0.3], grad=lambda x: (math.cos(x),)).ok
True
>>> [round(g, 9) for g in finite_difference_gradient(lambda x, y: x * y * y, [2.0, 3.0], wrt=(0, 1))]
[9.0, 12.0]
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "ALL_MODES",
    "FORWARD_MODES",
    "REVERSE_MODES",
    "GradCheckError",
    "GradCheckReport",
    "Check",
    "check_derivative",
    "check_grads",
    "finite_difference_gradient",
    "finite_difference_jvp",
]

REVERSE_MODES = ("Reverse", "ReverseWithPrimal", "ReverseSplitWithPrimal")
FORWARD_MODES = ("Forward", "ForwardWithPrimal")
ALL_MODES = ("Reverse", "ReverseWithPrimal", "Forward", "ForwardWithPrimal", "ReverseSplitWithPrimal")

DEFAULT_EPS = 1e-3
# (rtol, atol) against finite differences, rtol of the dot-product test, rtol of the primal.
_TOLERANCES = {
    np.dtype(np.float64): (1e-5, 1e-7, 1e-9, 1e-9),
    np.dtype(np.float32): (2e-3, 2e-4, 1e-4, 1e-4),
}


# ----------------------------------------------------------------------------------------------
# Reports and errors


@dataclass(frozen=True)
class Check:
    """One comparison that passed: what was compared, in which mode, and how closely."""

    mode: str
    kind: str  # "finite differences", "primal", "dot product", "structure"
    argument: str
    max_abs_err: float = 0.0
    max_rel_err: float = 0.0


@dataclass
class GradCheckReport:
    """What a successful check compared. ``ok`` is always True (failures raise)."""

    function: str
    modes: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return True

    def __str__(self) -> str:
        lines = [f"{self.function}: {len(self.checks)} checks passed in {', '.join(self.modes)}"]
        for mode, why in self.skipped.items():
            lines.append(f"  skipped {mode}: {why}")
        for c in self.checks:
            lines.append(
                f"  [{c.mode}] {c.kind} {c.argument}: max abs err {c.max_abs_err:.2e},"
                f" max rel err {c.max_rel_err:.2e}"
            )
        return "\n".join(lines)


class GradCheckError(AssertionError):
    """A derivative disagreed with its reference. ``failures`` lists one line per mismatch."""

    def __init__(self, function: str, failures: list[str]):
        self.function = function
        self.failures = list(failures)
        head = f"gradient check of {function!r} failed: {len(failures)} mismatch(es)"
        super().__init__("\n  ".join([head, *failures]))


# ----------------------------------------------------------------------------------------------
# Values: copies, float64 views, flattening


def _is_float_scalar(v: Any) -> bool:
    return isinstance(v, (float, np.floating)) and not isinstance(v, bool)


def _is_float_array(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.dtype.kind == "f"


def _is_differentiable(v: Any) -> bool:
    return _is_float_scalar(v) or _is_float_array(v)


def _copy(v: Any) -> Any:
    """A deep copy that keeps dtypes (arrays copied, tuples and namedtuples rebuilt)."""
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, tuple):
        items = [_copy(x) for x in v]
        return type(v)(*items) if hasattr(v, "_fields") else tuple(items)
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


def _as64(v: Any) -> Any:
    """A deep copy with every float scalar and float array in float64."""
    if _is_float_array(v):
        return v.astype(np.float64, copy=True)
    if isinstance(v, np.ndarray):
        return v.copy()
    if _is_float_scalar(v):
        return float(v)
    if isinstance(v, tuple):
        items = [_as64(x) for x in v]
        return type(v)(*items) if hasattr(v, "_fields") else tuple(items)
    if isinstance(v, list):
        return [_as64(x) for x in v]
    return v


def _arr64(v: Any) -> np.ndarray:
    return np.array(v, dtype=np.float64)


def _unarr(x: np.ndarray, like: Any) -> Any:
    """A float for a scalar-like template, an array otherwise."""
    if _is_float_scalar(like) or (isinstance(like, np.ndarray) and like.ndim == 0 and not _is_float_array(like)):
        return float(x)
    return np.array(x, dtype=np.float64)


def _fname(f: Callable) -> str:
    f = getattr(f, "py_func", f)
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def _arg_names(f: Callable, nargs: int) -> list[str]:
    try:
        params = list(inspect.signature(getattr(f, "py_func", f)).parameters)
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"arg{i}" for i in range(nargs)]


def _dtype_of(values: Sequence[Any]) -> np.dtype:
    """float32 when any differentiable value is float32, else float64."""
    for v in values:
        if isinstance(v, (np.float32, np.float16)) or (_is_float_array(v) and v.dtype.itemsize < 8):
            return np.dtype(np.float32)
    return np.dtype(np.float64)


# ----------------------------------------------------------------------------------------------
# Finite differences


def _normalize_wrt(args: Sequence[Any], wrt: Any) -> tuple[int, ...]:
    if wrt is None:
        wrt = tuple(i for i, a in enumerate(args) if _is_differentiable(a))
    elif isinstance(wrt, (int, np.integer)):
        wrt = (int(wrt),)
    wrt = tuple(int(i) for i in wrt)
    for i in wrt:
        if not _is_differentiable(args[i]):
            raise TypeError(
                f"argument {i} ({type(args[i]).__name__}) is not a float scalar or float array; "
                "only those can be differentiated"
            )
    return wrt


def _observe(f: Callable, args: Sequence[Any], outputs: Sequence[int]) -> tuple[bool, list[np.ndarray]]:
    """Call f on fresh copies; return (has_result, [result?, final outputs...]) in float64."""
    call = [_copy(a) for a in args]
    ret = f(*call)
    slots = []
    if ret is not None:
        if not (_is_float_scalar(ret) or _is_float_array(ret) or isinstance(ret, (int, np.integer))):
            raise TypeError(f"{_fname(f)} returned {type(ret).__name__}; expected a float, a float array or None")
        slots.append(_arr64(ret))
    for i in outputs:
        slots.append(_arr64(call[i]))
    return ret is not None, slots


def _shifted(args: Sequence[Any], wrt: Sequence[int], direction: Sequence[np.ndarray], step: float) -> list:
    out = list(args)
    for i, d in zip(wrt, direction):
        if _is_float_scalar(args[i]):
            out[i] = float(args[i]) + step * float(d)
        else:
            out[i] = args[i] + step * d
    return out


def _four_point(f: Callable, args: Sequence[Any], wrt, direction, h: float, outputs) -> tuple[bool, list[np.ndarray]]:
    has_ret, p2 = _observe(f, _shifted(args, wrt, direction, 2 * h), outputs)
    _, p1 = _observe(f, _shifted(args, wrt, direction, h), outputs)
    _, m1 = _observe(f, _shifted(args, wrt, direction, -h), outputs)
    _, m2 = _observe(f, _shifted(args, wrt, direction, -2 * h), outputs)
    return has_ret, [(-a + 8 * b - 8 * c + d) / (12 * h) for a, b, c, d in zip(p2, p1, m1, m2)]


def _fd_jvp_slots(f, args64, wrt, tangents, outputs, eps):
    direction = [_arr64(t) for t in tangents]
    tmax = max((float(np.max(np.abs(d))) for d in direction if d.size), default=0.0)
    if tmax == 0.0:
        has_ret, base = _observe(f, args64, outputs)
        return has_ret, [np.zeros_like(s) for s in base]
    xmax = max((float(np.max(np.abs(_arr64(args64[i])))) for i in wrt if np.size(args64[i])), default=0.0)
    h = eps * max(1.0, xmax) / tmax
    return _four_point(f, args64, wrt, direction, h, outputs)


def finite_difference_jvp(
    f: Callable,
    args: Sequence[Any],
    wrt: Any,
    tangents: Sequence[Any],
    *,
    outputs: Sequence[int] = (),
    eps: float | None = None,
) -> tuple:
    """The directional derivative of ``f``'s outputs along ``tangents``, by 4-point differences.

    Args:
        f: the function; it may return a float, an array or None and may write its arguments.
        args: its arguments (plain values; copied to float64, never modified).
        wrt: indices of the arguments the tangents belong to (float scalars or float arrays).
        tangents: one tangent per index in ``wrt`` (a float, or an array of the argument's shape).
        outputs: indices of array arguments whose final values count as outputs.
        eps: relative step (default 1e-3), scaled by the size of the inputs and tangents.

    Returns:
        A tuple: the tangent of the result (when ``f`` returns something), then the tangent of
        the final value of each argument in ``outputs``.

    Examples:
        >>> [round(t, 9) for t in finite_difference_jvp(lambda x, y: x * y, [2.0, 3.0], (0, 1), [1.0, 0.0])]
        [3.0]
    """
    wrt = _normalize_wrt(args, wrt)
    if len(tangents) != len(wrt):
        raise ValueError(f"{len(tangents)} tangents for {len(wrt)} arguments in wrt")
    args64 = [_as64(a) for a in args]
    has_ret, slots = _fd_jvp_slots(f, args64, wrt, tangents, tuple(outputs), eps or DEFAULT_EPS)
    return tuple(float(s) if s.ndim == 0 else s for s in slots)


def _fd_jacobian(f, args64, wrt, outputs, eps):
    """For each wrt argument, a list over output slots of arrays of shape slot.shape + arg.shape."""
    has_ret, base = _observe(f, args64, outputs)
    jac = []
    for i in wrt:
        x = _arr64(args64[i])
        cols = [np.zeros(s.shape + x.shape) for s in base]
        for idx in np.ndindex(*x.shape):
            direction = []
            for j in wrt:
                d = np.zeros(np.shape(args64[j]))
                if j == i:
                    d[idx] = 1.0
                direction.append(d)
            h = eps * max(1.0, abs(float(x[idx])))
            _, d_slots = _four_point(f, args64, wrt, direction, h, outputs)
            for c, ds in zip(cols, d_slots):
                c[(Ellipsis,) + idx] = ds
        jac.append(cols)
    return has_ret, base, jac


def _contract(jac_cols: list[np.ndarray], cotangents: Sequence[np.ndarray]) -> np.ndarray:
    total = None
    for col, c in zip(jac_cols, cotangents):
        c = _arr64(c)
        term = np.tensordot(c, col, axes=c.ndim)
        total = term if total is None else total + term
    return total


def finite_difference_gradient(
    f: Callable,
    args: Sequence[Any],
    wrt: Any = None,
    *,
    cotangents: Sequence[Any] | None = None,
    outputs: Sequence[int] = (),
    eps: float | None = None,
) -> tuple:
    """``(∂F/∂x)ᵀ·c`` for each argument in ``wrt``, by 4-point differences per element.

    Args:
        f: the function (see :func:`finite_difference_jvp`).
        args: its arguments (plain values; copied to float64, never modified).
        wrt: index or indices of the arguments to differentiate (default: every float argument).
        cotangents: one per output slot — the result (if any), then each of ``outputs``. Omitted:
            ``f`` must return a float and have no ``outputs``; the plain gradient is returned.
        outputs: indices of array arguments whose final values count as outputs.
        eps: relative step per element (default 1e-3, times ``max(1, |x_i|)``).

    Returns:
        A tuple with one entry per index in ``wrt``: a float for a scalar, a float64 array of the
        argument's shape for an array.

    Examples:
        >>> import numpy as np
        >>> g, = finite_difference_gradient(lambda a: float(np.sum(a ** 2)), [np.array([1.0, 2.0])])
        >>> np.round(g, 8)
        array([2., 4.])
    """
    wrt = _normalize_wrt(args, wrt)
    args64 = [_as64(a) for a in args]
    outputs = tuple(outputs)
    has_ret, base, jac = _fd_jacobian(f, args64, wrt, outputs, eps or DEFAULT_EPS)
    if cotangents is None:
        if not has_ret or outputs or base[0].ndim != 0:
            raise ValueError("cotangents are required unless f returns a float and outputs is empty")
        cotangents = (1.0,)
    if len(cotangents) != len(base):
        raise ValueError(f"{len(cotangents)} cotangents for {len(base)} output slots")
    return tuple(_unarr(_contract(cols, cotangents), args[i]) for i, cols in zip(wrt, jac))


# ----------------------------------------------------------------------------------------------
# Comparison


class _Collector:
    def __init__(self, function: str):
        self.function = function
        self.failures: list[str] = []
        self.checks: list[Check] = []
        self.cause: BaseException | None = None

    def raised(self, mode: str, exc: BaseException) -> None:
        self.fail(mode, f"the engine raised {type(exc).__name__}: {exc}")
        if self.cause is None:
            self.cause = exc

    def fail(self, mode: str, msg: str) -> None:
        self.failures.append(f"[{mode}] {msg}")

    def compare(self, mode, kind, argument, got, expected, rtol, atol) -> None:
        try:
            g = np.array(got, dtype=np.float64)
        except (TypeError, ValueError):
            self.fail(mode, f"{argument}: got {type(got).__name__} {got!r}, expected a number/array")
            return
        e = np.array(expected, dtype=np.float64)
        if g.shape != e.shape:
            if g.size == 1 and e.size == 1:
                g = g.reshape(e.shape)
            else:
                self.fail(mode, f"{argument}: shape {g.shape} differs from the expected {e.shape}")
                return
        err = np.abs(g - e)
        err = np.where(np.isnan(g) != np.isnan(e), np.inf, np.where(np.isnan(g) & np.isnan(e), 0.0, err))
        rel = err / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
        max_abs = float(np.max(err)) if err.size else 0.0
        max_rel = float(np.max(np.where(e == 0, np.where(err == 0, 0.0, np.inf), rel))) if err.size else 0.0
        bad = err > atol + rtol * np.abs(e)
        if np.any(bad):
            excess = np.where(bad, err - (atol + rtol * np.abs(e)), -np.inf)
            worst = np.unravel_index(int(np.argmax(excess)), err.shape) if err.ndim else ()
            where = f" at index {tuple(int(i) for i in worst)}" if err.ndim else ""
            self.fail(
                mode,
                f"{argument} vs {kind}: max abs err {max_abs:.3e}, max rel err {max_rel:.3e}"
                f" (rtol={rtol:g}, atol={atol:g}); worst{where}: got {g[worst]!r}, expected {e[worst]!r}"
                f"; {int(np.count_nonzero(bad))} of {bad.size} element(s) off",
            )
        else:
            self.checks.append(Check(mode, kind, argument, max_abs, min(max_rel, float("inf"))))

    def dot(self, label: str, lhs_terms: list[float], rhs_terms: list[float], rtol: float) -> None:
        lhs, rhs = float(sum(lhs_terms)), float(sum(rhs_terms))
        scale = sum(abs(t) for t in lhs_terms) + sum(abs(t) for t in rhs_terms)
        err = abs(lhs - rhs)
        tol = rtol * scale + 1e-300
        if not np.isfinite(lhs) or not np.isfinite(rhs) or err > tol:
            self.fail(
                f"dot product {label}",
                f"<J·t, c> = {lhs!r} but <t, Jᵀ·c> = {rhs!r}: abs err {err:.3e},"
                f" rel err {err / max(scale, 1e-300):.3e} (rtol={rtol:g} of the summed |terms|)",
            )
        else:
            self.checks.append(Check(label, "dot product", "<J·t, c> == <t, Jᵀ·c>", err, err / max(scale, 1e-300)))

    def raise_if_failed(self) -> None:
        if self.failures:
            raise GradCheckError(self.function, self.failures) from self.cause


def _dot_terms(a_list, b_list) -> list[float]:
    return [float(np.sum(_arr64(a) * _arr64(b))) for a, b in zip(a_list, b_list)]


def _random_like(rng: np.random.Generator, v: Any) -> Any:
    if _is_float_scalar(v):
        return float(rng.standard_normal())
    return rng.standard_normal(np.shape(v)).astype(v.dtype)


def _tolerances(dtype, rtol, atol, dot_rtol):
    r, a, d, p = _TOLERANCES[np.dtype(dtype)]
    return (r if rtol is None else rtol), (a if atol is None else atol), (d if dot_rtol is None else dot_rtol), p


# ----------------------------------------------------------------------------------------------
# Hand-written derivatives


def check_derivative(
    f: Callable,
    args: Sequence[Any],
    wrt: Any = None,
    *,
    grad: Callable | None = None,
    jvp: Callable | None = None,
    vjp: Callable | None = None,
    outputs: Sequence[int] = (),
    rtol: float | None = None,
    atol: float | None = None,
    dot_rtol: float | None = None,
    eps: float | None = None,
    seed: int = 0,
) -> GradCheckReport:
    """Check user-supplied derivative functions of ``f`` against finite differences.

    Args:
        f: the function; plain arguments (no annotations).
        args: its arguments.
        wrt: indices of the differentiated arguments (default: every float argument).
        grad: ``grad(*args) -> tuple`` with one derivative per ``wrt`` entry, for a float-valued f.
        jvp: ``jvp(args, tangents) -> tuple`` of output tangents (result first when f returns
            one, then each of ``outputs``); a single non-tuple value stands for a 1-tuple.
        vjp: ``vjp(args, cotangents) -> tuple`` with one entry per ``wrt`` argument, where
            ``cotangents`` has one entry per output slot as for ``jvp``.
        outputs: indices of array arguments whose final values count as outputs.
        rtol, atol: tolerance against finite differences (default by dtype).
        dot_rtol: tolerance of the dot-product test, run when both ``jvp`` and ``vjp`` are given.
        eps: relative finite-difference step.
        seed: seeds the random tangents and cotangents.

    Every call of ``f``, ``grad``, ``jvp`` and ``vjp`` receives fresh copies of ``args``.

    Returns:
        A :class:`GradCheckReport`; raises :class:`GradCheckError` on any mismatch.

    Examples:
        >>> import numpy as np
        >>> f = lambda a: float(np.sum(a ** 3))
        >>> check_derivative(f, [np.array([1.0, 2.0])], grad=lambda a: (3 * a ** 2,)).ok
        True
    """
    args = list(args)
    wrt = _normalize_wrt(args, wrt)
    outputs = tuple(outputs)
    names = _arg_names(f, len(args))
    rtol, atol, dot_rtol, _ = _tolerances(_dtype_of([args[i] for i in wrt]), rtol, atol, dot_rtol)
    eps = eps or DEFAULT_EPS
    rng = np.random.default_rng(seed)
    col = _Collector(_fname(f))
    args64 = [_as64(a) for a in args]
    has_ret, base, jac = _fd_jacobian(f, args64, wrt, outputs, eps)
    modes = []

    if grad is not None:
        modes.append("grad")
        got = grad(*[_copy(a) for a in args])
        got = got if isinstance(got, tuple) else (got,)
        expected = [_contract(cols, [1.0] + [np.zeros_like(b) for b in base[1:]]) for cols in jac]
        if len(got) != len(wrt):
            col.fail("grad", f"returned {len(got)} derivatives for {len(wrt)} arguments")
        else:
            for i, g, e in zip(wrt, got, expected):
                col.compare("grad", "finite differences", f"argument {i} {names[i]!r}", g, e, rtol, atol)

    tangents = [_random_like(rng, args[i]) for i in wrt]
    cotangents = [rng.standard_normal(b.shape) for b in base]
    lhs = rhs = None
    if jvp is not None:
        modes.append("jvp")
        got = jvp([_copy(a) for a in args], tuple(_copy(t) for t in tangents))
        got = got if isinstance(got, tuple) else (got,)
        expected = [sum(np.tensordot(c, _arr64(t), axes=np.ndim(t)) for c, t in zip(cols, tangents))
                    for cols in zip(*jac)] if jac else [np.zeros_like(b) for b in base]
        labels = (["result"] if has_ret else []) + [f"output {i} {names[i]!r}" for i in outputs]
        if len(got) != len(base):
            col.fail("jvp", f"returned {len(got)} tangents for {len(base)} outputs ({', '.join(labels)})")
        else:
            for lab, g, e in zip(labels, got, expected):
                col.compare("jvp", "finite differences", lab, g, e, rtol, atol)
            lhs = _dot_terms(got, cotangents)
    if vjp is not None:
        modes.append("vjp")
        cots = tuple(float(c) if c.ndim == 0 else c.copy() for c in cotangents)
        got = vjp([_copy(a) for a in args], cots)
        got = got if isinstance(got, tuple) else (got,)
        if len(got) != len(wrt):
            col.fail("vjp", f"returned {len(got)} derivatives for {len(wrt)} arguments")
        else:
            for i, g, cols in zip(wrt, got, jac):
                col.compare("vjp", "finite differences", f"argument {i} {names[i]!r}", g,
                            _contract(cols, cotangents), rtol, atol)
            rhs = _dot_terms(tangents, got)
    if lhs is not None and rhs is not None:
        col.dot("jvp/vjp", lhs, rhs, dot_rtol)
    col.raise_if_failed()
    return GradCheckReport(col.function, tuple(modes), {}, col.checks)


# ----------------------------------------------------------------------------------------------
# The engine


@dataclass
class _Arg:
    index: int
    name: str
    kind: str  # "bare", "const", "active" (float scalar), "dup" (float array)
    value: Any


def _field(obj: Any, attr: str, index: int) -> Any:
    if hasattr(obj, attr):
        return getattr(obj, attr)
    return obj[index]


def _parse(engine, f, raw_args) -> list[_Arg]:
    names = _arg_names(f, len(raw_args))
    parsed = []
    dup_classes = tuple(getattr(engine, n) for n in ("Duplicated", "DuplicatedNoNeed") if hasattr(engine, n))
    for i, a in enumerate(raw_args):
        name = names[i]
        if isinstance(a, engine.Active):
            v = _field(a, "val", 0)
            if not _is_float_scalar(v):
                raise TypeError(f"argument {i} {name!r}: Active needs a float scalar, got {type(v).__name__}")
            parsed.append(_Arg(i, name, "active", v))
        elif dup_classes and isinstance(a, dup_classes):
            v = _field(a, "val", 0)
            if _is_float_scalar(v):
                parsed.append(_Arg(i, name, "active", v))
            elif _is_float_array(v):
                parsed.append(_Arg(i, name, "dup", v))
            else:
                raise TypeError(f"argument {i} {name!r}: Duplicated needs a float scalar or array, got {type(v).__name__}")
        elif isinstance(a, engine.Const):
            parsed.append(_Arg(i, name, "const", _field(a, "val", 0)))
        elif type(a).__name__ in ("BatchDuplicated", "BatchDuplicatedNoNeed", "MixedDuplicated"):
            raise TypeError(f"argument {i} {name!r}: check_grads does not handle {type(a).__name__}")
        else:
            parsed.append(_Arg(i, name, "bare", a))
    return parsed


def _result_kind(ret: Any) -> str:
    if ret is None:
        return "none"
    if _is_float_scalar(ret):
        return "float"
    if _is_float_array(ret):
        return "array"
    raise TypeError(f"the function returned {type(ret).__name__}; check_grads needs a float, a float array or None")


class _EngineRun:
    """One check_grads call: reference values, random directions, and the per-mode runners."""

    def __init__(self, engine, f, parsed, *, rtol, atol, dot_rtol, eps, seed, check_state):
        self.engine, self.f, self.args = engine, f, parsed
        self.values = [a.value for a in parsed]
        self.wrt = tuple(a.index for a in parsed if a.kind in ("active", "dup"))
        self.outputs = tuple(a.index for a in parsed if a.kind == "dup")
        dtype = _dtype_of([self.values[i] for i in self.wrt])
        self.rtol, self.atol, self.dot_rtol, self.prtol = _tolerances(dtype, rtol, atol, dot_rtol)
        self.check_state = check_state
        self.col = _Collector(_fname(f))
        # The primal, in the inputs' own dtypes.
        call = [_copy(v) for v in self.values]
        self.ret = f(*call)
        self.ret_kind = _result_kind(self.ret)
        self.final = call
        # The reference, in float64.
        eps = eps or DEFAULT_EPS
        args64 = [_as64(v) for v in self.values]
        _, self.base, self.jac = _fd_jacobian(f, args64, self.wrt, self.outputs, eps)
        rng = np.random.default_rng(seed)
        self.tangent = {i: _random_like(rng, self.values[i]) for i in self.wrt}
        self.cot_out = {i: rng.standard_normal(np.shape(self.values[i])).astype(self.values[i].dtype)
                        for i in self.outputs}
        self.dret_split = float(rng.uniform(0.5, 2.0)) * (1 if rng.random() < 0.5 else -1)
        # Forward reference: tangents of every output slot.
        if self.wrt:
            self.jvp_ref = [sum(np.tensordot(c, _arr64(self.tangent[i]), axes=np.ndim(self.tangent[i]))
                                for c, i in zip(cols, self.wrt)) for cols in zip(*self.jac)]
        else:
            self.jvp_ref = [np.zeros_like(b) for b in self.base]
        self.forward_result = None  # (dret or None, {i: final shadow}) from a forward mode
        self.reverse_results = []  # (label, c_ret, {i: derivative})

    # -- helpers --
    def _cotangents(self, c_ret):
        slots = [np.array(c_ret, dtype=np.float64)] if self.ret_kind != "none" else []
        return slots + [_arr64(self.cot_out[i]) for i in self.outputs]

    def _grad_ref(self, c_ret):
        cots = self._cotangents(c_ret)
        return {i: _contract(cols, cots) for i, cols in zip(self.wrt, self.jac)}

    def _build(self, forward: bool):
        """Fresh annotations (and the live shadow arrays) for one engine call."""
        e = self.engine
        anns, shadows, primals = [], {}, {}
        for a in self.args:
            v = _copy(a.value)
            if isinstance(v, np.ndarray):
                primals[a.index] = v
            if a.kind == "bare":
                anns.append(v)
            elif a.kind == "const":
                anns.append(e.Const(v))
            elif a.kind == "active":
                anns.append(e.Duplicated(v, _copy(self.tangent[a.index])) if forward else e.Active(v))
            else:
                s = _copy(self.tangent[a.index] if forward else self.cot_out[a.index])
                shadows[a.index] = s
                anns.append(e.Duplicated(v, s))
        return anns, shadows, primals

    def _classes(self):
        e = self.engine
        return [e.Active if a.kind == "active" else e.Duplicated if a.kind == "dup" else e.Const for a in self.args]

    def _check_primal(self, mode, primal):
        if self.ret_kind == "none":
            if primal is not None:
                self.col.fail(mode, f"primal: the function returns None but the engine gave {primal!r}")
            return
        self.col.compare(mode, "direct call", "primal result", primal, _arr64(self.ret), self.prtol, self.prtol)

    def _check_state(self, mode, primals):
        if not self.check_state:
            return
        for i, arr in primals.items():
            if self.args[i].kind == "bare" or not _is_float_array(arr):
                continue
            self.col.compare(mode, "direct call", f"final primal value of argument {i} {self.args[i].name!r}",
                             arr, _arr64(self.final[i]), self.prtol, self.prtol)

    def _check_derivs(self, mode, derivs, shadows, c_ret):
        ref = self._grad_ref(c_ret)
        n = len(self.args)
        if not isinstance(derivs, tuple) or len(derivs) != n:
            self.col.fail(mode, f"derivs must be a tuple with one entry per argument ({n}), got {derivs!r}")
            return None
        got = {}
        for a in self.args:
            if a.kind == "active":
                if derivs[a.index] is None:
                    self.col.fail(mode, f"argument {a.index} {a.name!r} is Active but its derivative is None")
                    continue
                got[a.index] = derivs[a.index]
                self.col.compare(mode, "finite differences", f"argument {a.index} {a.name!r} (Active)",
                                 derivs[a.index], ref[a.index], self.rtol, self.atol)
            else:
                if derivs[a.index] is not None:
                    self.col.fail(mode, f"argument {a.index} {a.name!r} is not Active but its derivative is "
                                        f"{derivs[a.index]!r} instead of None")
                if a.kind == "dup":
                    got[a.index] = shadows[a.index]
                    self.col.compare(mode, "finite differences", f"argument {a.index} {a.name!r} (Duplicated shadow)",
                                     shadows[a.index], ref[a.index], self.rtol, self.atol)
        return got

    # -- modes --
    def reverse(self, with_primal: bool):
        e = self.engine
        mode = "ReverseWithPrimal" if with_primal else "Reverse"
        anns, shadows, primals = self._build(forward=False)
        ret_act = e.Active if self.ret_kind == "float" else e.Const
        out = e.autodiff(getattr(e, mode), self.f, ret_act, *anns)
        want = 2 if with_primal else 1
        if not isinstance(out, tuple) or len(out) != want:
            self.col.fail(mode, f"autodiff must return a {want}-tuple, got {out!r}")
            return
        if with_primal:
            self._check_primal(mode, out[0])
        got = self._check_derivs(mode, out[-1], shadows, 1.0)
        self._check_state(mode, primals)
        if got is not None:
            self.reverse_results.append((mode, 1.0, got))

    def split(self):
        e = self.engine
        mode = "ReverseSplitWithPrimal"
        ret_act = e.Active if self.ret_kind == "float" else e.Const
        fwd, rev = e.autodiff_thunk(e.ReverseSplitWithPrimal, e.Const(self.f), ret_act, *self._classes())
        anns, shadows, primals = self._build(forward=False)
        res = fwd(e.Const(self.f), *anns)
        if not isinstance(res, tuple) or len(res) != 3:
            self.col.fail(mode, f"the forward thunk must return (tape, primal, shadow), got {res!r}")
            return
        tape, primal, _shadow = res
        self._check_primal(mode, primal)
        c_ret = self.dret_split if self.ret_kind == "float" else None
        out = rev(e.Const(self.f), *anns, c_ret, tape)
        if not isinstance(out, tuple) or len(out) != 1:
            self.col.fail(mode, f"the reverse thunk must return (derivs,), got {out!r}")
            return
        got = self._check_derivs(mode, out[0], shadows, 0.0 if c_ret is None else c_ret)
        self._check_state(mode, primals)
        if got is not None:
            self.reverse_results.append((mode, 0.0 if c_ret is None else c_ret, got))

    def forward(self, with_primal: bool):
        e = self.engine
        mode = "ForwardWithPrimal" if with_primal else "Forward"
        anns, shadows, primals = self._build(forward=True)
        ret_act = e.Const if self.ret_kind == "none" else e.Duplicated
        out = e.autodiff(getattr(e, mode), self.f, ret_act, *anns)
        if not isinstance(out, tuple):
            self.col.fail(mode, f"autodiff must return a tuple, got {out!r}")
            return
        if self.ret_kind == "none":
            if with_primal:
                if len(out) > 2 or any(o is not None for o in out):
                    self.col.fail(mode, f"the function returns None: expected (None,) or (), got {out!r}")
                    return
            elif out != ():
                self.col.fail(mode, f"the function returns None: expected (), got {out!r}")
                return
            dret = None
        else:
            want = 2 if with_primal else 1
            if len(out) != want:
                self.col.fail(mode, f"autodiff must return a {want}-tuple, got {out!r}")
                return
            if with_primal:
                self._check_primal(mode, out[0])
            dret = out[-1]
            self.col.compare(mode, "finite differences", "tangent of the result", dret, self.jvp_ref[0],
                             self.rtol, self.atol)
        off = 0 if self.ret_kind == "none" else 1
        for k, i in enumerate(self.outputs):
            self.col.compare(mode, "finite differences",
                             f"argument {i} {self.args[i].name!r} (Duplicated shadow: tangent of its final value)",
                             shadows[i], self.jvp_ref[off + k], self.rtol, self.atol)
        self._check_state(mode, primals)
        if self.forward_result is None:
            self.forward_result = (mode, dret, dict(shadows))

    def dot_products(self):
        if self.forward_result is None:
            return
        fmode, dret, fshadows = self.forward_result
        for rmode, c_ret, got in self.reverse_results:
            lhs = []
            if self.ret_kind == "float":
                lhs.append(float(c_ret) * float(dret))
            lhs += [float(np.sum(_arr64(fshadows[i]) * _arr64(self.cot_out[i]))) for i in self.outputs]
            rhs = [float(np.sum(_arr64(self.tangent[i]) * _arr64(got[i]))) for i in self.wrt if i in got]
            self.col.dot(f"{fmode}/{rmode}", lhs, rhs, self.dot_rtol)


def check_grads(
    f: Callable,
    *args: Any,
    modes: Sequence[str] = ALL_MODES,
    rtol: float | None = None,
    atol: float | None = None,
    dot_rtol: float | None = None,
    eps: float | None = None,
    seed: int = 0,
    check_state: bool = True,
    engine: Any = None,
) -> GradCheckReport:
    """Differentiate ``f`` with the engine in every applicable mode and check each result.

    Args:
        f: the function (plain ``def``, lambda or ``numba.njit`` dispatcher).
        *args: its arguments in API.md's annotation style: ``Active(x)`` for a float scalar,
            ``Duplicated(a, da)`` for a float array (or a float scalar), ``Const(v)`` or a bare
            value for the rest. Only the shapes and dtypes of the given shadows matter: the
            checker draws its own random tangents and cotangents.
        modes: any of ``Reverse``, ``ReverseWithPrimal``, ``Forward``, ``ForwardWithPrimal``,
            ``ReverseSplitWithPrimal``. Reverse modes are skipped when ``f`` returns an array.
            An active scalar is passed as ``Active(x)`` in reverse modes and as
            ``Duplicated(x, t)`` in forward modes.
        rtol, atol: tolerance against finite differences (by default 1e-5/1e-7 in float64 and
            2e-3/2e-4 when any differentiated input is float32).
        dot_rtol: tolerance of the dot-product test, relative to the sum of the |terms|.
        eps: relative finite-difference step (default 1e-3).
        seed: seeds the random tangents and cotangents.
        check_state: also compare the primal arrays after each call with a direct call of ``f``.
        engine: the namespace providing ``autodiff``, ``autodiff_thunk``, the modes and the
            annotations (default ``adtriad.ad_core``).

    What is checked, with fresh copies of every input and shadow for every call:
        * reverse modes: ``Active`` derivatives and the final ``Duplicated`` shadows against
          finite differences of ``1·result + Σ <shadow seed, final array>`` (the split mode uses
          a random result cotangent); ``None`` for every other argument;
        * forward modes: the result tangent and the final shadows against finite differences
          along the tangents;
        * ``*WithPrimal``: the primal against a direct call;
        * every forward result against every reverse result: ``<J·t, c> == <t, Jᵀ·c>``.

    Returns:
        A :class:`GradCheckReport`; raises :class:`GradCheckError` listing every mismatch.
    """
    engine = engine if engine is not None else importlib.import_module("adtriad.ad_core")
    unknown = [m for m in modes if m not in ALL_MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {unknown}; choose from {ALL_MODES}")
    parsed = _parse(engine, f, args)
    run = _EngineRun(engine, f, parsed, rtol=rtol, atol=atol, dot_rtol=dot_rtol, eps=eps, seed=seed,
                     check_state=check_state)
    skipped = {}
    done = []
    for mode in modes:
        if mode in REVERSE_MODES and run.ret_kind == "array":
            skipped[mode] = "the function returns an array (reverse modes need a float or None result)"
            continue
        try:
            if mode == "Reverse":
                run.reverse(False)
            elif mode == "ReverseWithPrimal":
                run.reverse(True)
            elif mode == "Forward":
                run.forward(False)
            elif mode == "ForwardWithPrimal":
                run.forward(True)
            else:
                run.split()
        except Exception as exc:  # reported with the mode; the first one is chained as the cause
            run.col.raised(mode, exc)
        done.append(mode)
    run.dot_products()
    run.col.raise_if_failed()
    return GradCheckReport(run.col.function, tuple(done), skipped, run.col.checks)
