"""The tempering agent's oracles: each turns a comparison into a protocol ``CheckResult``.

Contract (every function is pure NumPy and never raises for a wrong derivative; it reports):

* :func:`compare` — element-wise ``|got - expected| <= atol + rtol·|expected|`` in float64,
  with the largest absolute and relative errors, the worst index (``()`` for a scalar) and the
  tolerance; NaN where the expectation is finite fails.
* :func:`finite_differences` — the engine's derivatives against ``adtriad.ad_core.testing``'s
  4-point central differences in float64. Reverse modes compare ``(∂F/∂x)ᵀ·c`` (``c``: 1 for
  an ``Active`` float result, 0 for a ``Const`` one, and each shadowed array's initial shadow
  for its final value) with each ``Active`` derivative and each final shadow; forward modes
  compare ``J·t`` with the result tangent and each shadowed array's final shadow.
* :func:`dot_product` — ``<J·t, c> == <t, Jᵀ·c>`` from a forward and a reverse run of the
  engine on the same inputs with random ``t`` and ``c``; the tolerance is relative to the sum
  of the terms' magnitudes.
* :func:`dual_numbers` — the engine's results against the kernel's source run by the Python
  interpreter over dual numbers (:mod:`adtriad.agents.fuzz.dual`: exact directional
  derivatives, no step size, no code shared with the engine). Forward modes compare the
  result's tangent and each shadowed array's final shadow with the duals' along the shadows
  the kernel agent drew; reverse modes compare ``Σ ∂·t`` (``Active`` derivatives and final
  shadows, along a random ``t``) with ``c·tangent(result) + Σ <initial shadow, tangent(final
  array)>``, judged like the dot product. It gives no check where it does not apply: batched or
  mixed activities, an array result in reverse mode, a ``numba.cuda`` kernel, more than
  :data:`DUAL_LIMIT` input elements (object arrays are slow), or a source the dual interpreter
  cannot run (a call it does not know raises rather than dropping a tangent).
* :func:`analytic` — each expectation (a safe NumPy expression over the inputs and the initial
  shadows ``shadow_<name>``) against the engine's result it names.
* :func:`reproducible` — a second run from the same seed gave bit-identical inputs and results.

Tolerances come from ``tolerance_for(dtype)``, a callable giving a protocol ``Tolerance``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from adtriad.agents.autodiff import from_message_value
from adtriad.agents.expressions import evaluate
from adtriad.protocol import CheckResult, KernelPayload, Tolerance

__all__ = ["DUAL_LIMIT", "analytic", "compare", "dot_product", "dual_numbers",
           "finite_differences", "reproducible"]

TolFor = Callable[[Any], Tolerance]
_ARRAY_SHADOWED = ("Duplicated", "DuplicatedNoNeed")
DUAL_LIMIT = 4096
"""Most input elements :func:`dual_numbers` evaluates (each one a Python object)."""


def _dtype(value: Any) -> np.dtype:
    if isinstance(value, np.ndarray | np.generic) and np.asarray(value).dtype.kind in "fc":
        return np.asarray(value).dtype
    return np.dtype(np.float64)


def compare(name: str, got: Any, expected: Any, tol: Tolerance, detail: str = "") -> CheckResult:
    """Compare ``got`` with ``expected`` element-wise (see the module contract)."""
    if got is None:
        return CheckResult(name=name, passed=False, tolerance=tol,
                           detail=f"no result to compare{': ' + detail if detail else ''}")
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        if g.size == e.size == 1:
            g = g.reshape(e.shape)
        else:
            try:
                e = np.broadcast_to(e, g.shape)
            except ValueError:
                return CheckResult(name=name, passed=False, tolerance=tol,
                                   detail=f"shape {g.shape} differs from the expected {e.shape}")
    err = np.abs(g - e)
    err = np.where(np.isnan(g) & np.isnan(e), 0.0, np.where(np.isnan(err), np.inf, err))
    bound = tol.atol + tol.rtol * np.abs(e)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(err == 0, 0.0, err / np.abs(e))
    excess = err - bound
    worst = np.unravel_index(int(np.argmax(excess)), err.shape) if err.size else ()
    worst = tuple(int(i) for i in worst)
    passed = bool(np.all(err <= bound))
    max_abs = float(np.max(err)) if err.size else 0.0
    max_rel = float(np.max(rel)) if err.size else 0.0
    if not passed:
        off = int(np.count_nonzero(err > bound))
        detail = (f"{off} of {err.size} element(s) off; worst{worst or ''}: got {g[worst]!r}, "
                  f"expected {e[worst]!r}" + (f"; {detail}" if detail else ""))
    return CheckResult(name=name, passed=passed, max_abs_err=max_abs, max_rel_err=max_rel,
                       worst_index=worst, tolerance=tol, detail=detail)


def _plain(k: KernelPayload) -> tuple[list, dict]:
    args = [from_message_value(k.inputs[n]) for n in k.activities]
    shadows = {n: from_message_value(s) for n, s in k.shadows.items()}
    return args, shadows


def result_kind(value: Any) -> str:
    """``none``, ``float`` or ``array``: what a kernel returned."""
    if value is None:
        return "none"
    return "array" if isinstance(value, np.ndarray) and value.ndim else "float"


def finite_differences(f, k: KernelPayload, derivatives: Mapping[str, Any], tangent: Any,
                       ret_kind: str, tol_for: TolFor) -> list[CheckResult]:
    """The engine's results against finite differences (see the module contract)."""
    from adtriad.ad_core import testing

    acts = list(k.activities.values())
    if "MixedDuplicated" in acts:
        return [CheckResult(name="finite_differences", passed=False,
                            detail="the finite-difference oracle does not handle "
                                   "MixedDuplicated yet")]
    if any(a.startswith("Batch") for a in acts):
        return _batched(f, k, derivatives, tangent, ret_kind, tol_for)
    args, shadows = _plain(k)
    names = list(k.activities)
    arrays = [i for i, a in enumerate(acts)
              if a in _ARRAY_SHADOWED and isinstance(args[i], np.ndarray)]
    out = []
    if k.mode.startswith("Reverse"):
        wrt = [i for i, a in enumerate(acts) if a == "Active"] + arrays
        if not wrt:
            return []
        cots = []
        if ret_kind == "float":
            cots.append(0.0 if k.return_activity == "Const" else 1.0)
        cots += [shadows[names[i]] for i in arrays]
        ref = testing.finite_difference_gradient(f, args, wrt, cotangents=cots, outputs=arrays)
        for i, r in zip(wrt, ref, strict=True):
            got = derivatives.get(names[i])
            out.append(compare(f"finite_differences[{names[i]}]", got, r, tol_for(_dtype(got))))
        return out
    wrt = [i for i, a in enumerate(acts) if a in _ARRAY_SHADOWED]
    if not wrt:
        return []
    tangents = [shadows[names[i]] for i in wrt]
    ref = list(testing.finite_difference_jvp(f, args, wrt, tangents, outputs=arrays))
    if ret_kind != "none":
        r = ref.pop(0)
        if k.return_activity != "Const":
            out.append(compare("finite_differences[tangent]", tangent, r, tol_for(_dtype(tangent))))
    for i, r in zip(arrays, ref, strict=True):
        got = derivatives.get(names[i])
        out.append(compare(f"finite_differences[{names[i]}]", got, r, tol_for(_dtype(got))))
    return out


def _batched(f, k: KernelPayload, derivatives, tangent, ret_kind, tol_for) -> list[CheckResult]:
    """One finite-difference comparison per direction of a batched call."""
    width = max(len(k.shadows[n]) for n, a in k.activities.items() if a.startswith("Batch"))
    out = []
    for i in range(width):
        acts = {n: a.removeprefix("Batch") for n, a in k.activities.items()}
        rows = {n: (s[i] if k.activities[n].startswith("Batch") else s)
                for n, s in k.shadows.items()}
        derivs = {n: (None if d is None or acts[n] == "Const" else np.asarray(d)[i])
                  for n, d in derivatives.items()}
        row = k.model_copy(update={"activities": acts, "shadows": rows})
        t = None if tangent is None else np.asarray(tangent)[i]
        for c in finite_differences(f, row, derivs, t, ret_kind, tol_for):
            out.append(c.model_copy(update={"name": c.name.replace("]", f", {i}]")}))
    return out


def dot_product(fwd_k: KernelPayload, fwd: Any, rev_k: KernelPayload, rev: Any,
                ret_kind: str, tol: Tolerance) -> CheckResult:
    """``<J·t, c> == <t, Jᵀ·c>`` from a forward and a reverse gradients payload."""
    lhs_terms, rhs_terms = [], []
    if ret_kind == "float":
        lhs_terms.append(float(np.asarray(fwd.tangent, dtype=np.float64)))  # c_ret = 1
    for name, act in rev_k.activities.items():
        if act == "Active":
            t = float(np.asarray(fwd_k.shadows[name], dtype=np.float64))
            rhs_terms.append(t * float(np.asarray(rev.derivatives[name], dtype=np.float64)))
        elif act in _ARRAY_SHADOWED:
            c = np.asarray(rev_k.shadows[name], dtype=np.float64)
            t = np.asarray(fwd_k.shadows[name], dtype=np.float64)
            lhs_terms.append(float(np.sum(np.asarray(fwd.derivatives[name], np.float64) * c)))
            rhs_terms.append(float(np.sum(t * np.asarray(rev.derivatives[name], np.float64))))
    lhs, rhs = sum(lhs_terms), sum(rhs_terms)
    scale = sum(map(abs, lhs_terms)) + sum(map(abs, rhs_terms))
    err = abs(lhs - rhs)
    bound = tol.atol + tol.rtol * scale
    passed = bool(np.isfinite(lhs) and np.isfinite(rhs) and err <= bound)
    detail = f"<J·t, c> = {lhs!r}, <t, Jᵀ·c> = {rhs!r}"
    return CheckResult(name="dot_product", passed=passed, max_abs_err=err,
                       max_rel_err=err / scale if scale else 0.0, worst_index=(),
                       tolerance=tol, detail=detail)


def dual_numbers(k: KernelPayload, derivatives: Mapping[str, Any], tangent: Any, ret_kind: str,
                 tol_for: TolFor, rng: np.random.Generator) -> list[CheckResult]:
    """The engine's results against dual numbers (see the module contract)."""
    from adtriad.agents.fuzz.check import python_function
    from adtriad.agents.fuzz.dual import duals, tangent_of

    acts = k.activities
    reverse = k.mode.startswith("Reverse")
    args, shadows = _plain(k)
    if (k.launch is not None or (reverse and ret_kind == "array")
            or any(a.startswith("Batch") or a == "MixedDuplicated" for a in acts.values())
            or sum(np.size(v) for v in args if isinstance(v, np.ndarray)) > DUAL_LIMIT):
        return []
    names = list(acts)
    arrays = [n for n, v in zip(names, args) if acts[n] in _ARRAY_SHADOWED and _floats(v)
              and isinstance(v, np.ndarray)]
    if reverse:  # a direction of our own over everything the adjoint covers
        direction = {n: rng.standard_normal(np.shape(v)) for n, v in zip(names, args)
                     if _floats(v) and (acts[n] == "Active" or n in arrays)}
    else:  # the kernel agent's tangents
        direction = {n: np.broadcast_to(np.asarray(shadows[n], np.float64), np.shape(v))
                     for n, v in zip(names, args) if _floats(v) and acts[n] in _ARRAY_SHADOWED}
    inputs = [duals(v, direction.get(n, np.zeros(np.shape(v)))) if _floats(v)
              else (v.copy() if isinstance(v, np.ndarray) else v) for n, v in zip(names, args)]
    try:
        f = python_function(k.source, k.entry, dual=True)
        with np.errstate(all="ignore"):
            result = f(*inputs)
        d_result = tangent_of(result)
        finals = {n: tangent_of(d) for n, d in zip(names, inputs) if n in arrays}
    except Exception:  # beyond what the dual interpreter runs: the other oracles still do
        return []
    single = any(np.asarray(v).dtype == np.float32 for v in args)
    tol = tol_for(np.float32 if single else np.float64)
    if not reverse:
        out = []
        if ret_kind != "none" and k.return_activity != "Const":
            out.append(compare("dual_numbers[tangent]", tangent, d_result, tol_for(_dtype(tangent))))
        for n in arrays:
            got = derivatives.get(n)
            out.append(compare(f"dual_numbers[{n}]", got, finals[n], tol_for(_dtype(got))))
        return out
    engine_terms = [float(np.sum(np.asarray(derivatives[n], np.float64) * t))
                    for n, t in direction.items() if derivatives.get(n) is not None]
    seeded = 0.0 if ret_kind != "float" or k.return_activity == "Const" else 1.0
    oracle_terms = [seeded * float(d_result)]
    oracle_terms += [float(np.sum(np.asarray(shadows[n], np.float64) * finals[n])) for n in arrays]
    lhs, rhs = sum(engine_terms), sum(oracle_terms)
    scale = sum(map(abs, engine_terms)) + sum(map(abs, oracle_terms))
    err = abs(lhs - rhs)
    passed = bool(np.isfinite(lhs) and len(engine_terms) == len(direction)
                  and err <= tol.atol + tol.rtol * scale)
    return [CheckResult(name="dual_numbers", passed=passed, max_abs_err=err,
                        max_rel_err=err / scale if scale else 0.0, worst_index=(), tolerance=tol,
                        detail=f"engine Σ ∂·t = {lhs!r}, dual numbers {rhs!r}")]


def _floats(value: Any) -> bool:
    return np.asarray(value).dtype.kind == "f"


def analytic(expect: Mapping[str, str], k: KernelPayload, g: Any, tol_for: TolFor,
             override: Tolerance | None = None) -> list[CheckResult]:
    """Each expectation against the result it names."""
    values = {n: from_message_value(v) for n, v in k.inputs.items()}
    values.update({f"shadow_{n}": from_message_value(v) for n, v in k.shadows.items()})
    out = []
    for key, text in expect.items():
        got = {"primal": g.primal, "tangent": g.tangent}.get(key, g.derivatives.get(key))
        name = f"analytic[{key}]"
        try:
            expected = evaluate(text, values)
        except Exception as err:
            out.append(CheckResult(name=name, passed=False,
                                   detail=f"{text!r} raised {type(err).__name__}: {err}"))
            continue
        tol = override or tol_for(_dtype(got))
        out.append(compare(name, got, expected, tol, detail=f"expected {text}"))
    return out


def _diff(a: Any, b: Any) -> str | None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a_, b_ = np.asarray(a), np.asarray(b)
        if a_.dtype != b_.dtype or a_.shape != b_.shape:
            return f"{a_.dtype}{a_.shape} vs {b_.dtype}{b_.shape}"
        if a_.tobytes() != b_.tobytes():
            delta = np.abs(a_.astype(np.float64) - b_.astype(np.float64))
            return f"{int(np.count_nonzero(a_ != b_))} element(s) differ, by up to {np.max(delta):.3e}"
        return None
    same = a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)
    return None if same else f"{a!r} vs {b!r}"


def reproducible(k1: KernelPayload, g1: Any, k2: Any, g2: Any) -> CheckResult:
    """Whether the round asked again gave bit-identical inputs and results."""
    if k2 is None or k2.kind != "kernel":
        return CheckResult(name="reproducible", passed=False,
                           detail=f"the kernel agent did not answer again: {k2!r}")
    problems = []
    for field in ("source", "entry", "mode", "activities", "inputs", "shadows"):
        a, b = getattr(k1, field), getattr(k2, field)
        if isinstance(a, dict):
            for name in a:
                d = _diff(a[name], b.get(name)) if name in b else "missing"
                if d:
                    problems.append(f"{field}.{name}: {d}")
        elif a != b:
            problems.append(f"{field} differs")
    if g2 is None or g2.kind != "gradients":
        problems.append(f"the autodiff agent did not answer again: {getattr(g2, 'message', g2)}")
    else:
        for name in g1.derivatives:
            d = _diff(g1.derivatives[name], g2.derivatives.get(name))
            if d:
                problems.append(f"derivatives.{name}: {d}")
        for field in ("primal", "tangent"):
            d = _diff(getattr(g1, field), getattr(g2, field))
            if d:
                problems.append(f"{field}: {d}")
    return CheckResult(name="reproducible", passed=not problems, max_abs_err=None,
                       detail="; ".join(problems) or "same seed, bit-identical inputs and results")
