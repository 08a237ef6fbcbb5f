"""The tempering agent (tempering, −1): seeds the rounds and closes the loop by verifying them.

Contract:

* :meth:`TemperingAgent.open_round` sends the seed message of round ``index`` (the round's seed
  is spawned from the master seed, :func:`adtriad.agents.seeds.round_seed`); the round id is
  ``<scenario>/<mode>/<index>``.
* :meth:`TemperingAgent.probe` makes the kernel messages of the dot-product test: the round's
  kernel and inputs in ``Forward`` with random tangents, or in ``Reverse`` with random
  cotangents (drawn from the round's seed, independently of the inputs). It returns ``None``
  where the test does not apply (no differentiable argument, batched or mixed activities, or an
  array result in reverse mode). Probe messages go tempering → autodiff with the round id
  ``<round id>:probe-<mode>``; they are not part of the judged round.
* :meth:`TemperingAgent.verify` runs the scenario's oracles (:mod:`adtriad.agents.oracles`)
  on the round's gradients, the probes' answers and the round asked again, and sends the
  verdict; it returns ``None`` when the round already failed (no kernel or no gradients).
* Tolerances are the configured ones for the result's dtype, or the scenario's override.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from adtriad.agents import oracles
from adtriad.agents.autodiff import from_message_value
from adtriad.agents.base import guarded, is_error, send
from adtriad.agents.kernel import as_message_value
from adtriad.agents.scenario import Scenario
from adtriad.agents.seeds import probe_rng, round_seed
from adtriad.agents.sourcefile import launched, load_kernel
from adtriad.config import Tolerances
from adtriad.protocol import (
    CheckResult,
    KernelPayload,
    Role,
    SeedPayload,
    Tolerance,
    TriadMessage,
    VerdictPayload,
)

__all__ = ["TemperingAgent"]

_PROBES = {"Forward": 0, "Reverse": 1}
_DUAL_DIRECTION = 2  # probe_rng purpose of the dual-number check's direction


class TemperingAgent:
    """Seeds and verifies rounds (role ``tempering``)."""

    role = Role.tempering

    def __init__(self, tolerances: Tolerances | None = None,
                 cache_dir: str | Path | None = None) -> None:
        self.tolerances = tolerances or Tolerances()
        base = Path(cache_dir).expanduser() if cache_dir else Path.home() / ".cache" / "adtriad"
        self.kernel_dir = base / "kernels"
        self._kinds: dict[tuple[str, str], str] = {}

    def open_round(self, scenario: str, master_seed: int, index: int, mode: str) -> TriadMessage:
        """The seed message of round ``index``."""
        payload = SeedPayload(master_seed=master_seed, round_index=index, scenario=scenario)
        return send(self.role, Role.gpu_kernels, payload, seed=round_seed(master_seed, index),
                    round_id=f"{scenario}/{mode}/{index}")

    # -- helpers --------------------------------------------------------------------------

    def _function(self, k: KernelPayload):
        return launched(load_kernel(k.source, k.entry, self.kernel_dir, k.path, k.line, k.column), k.launch)

    def _result_kind(self, msg: TriadMessage) -> str:
        key = (msg.round_id, msg.payload.entry)
        if key not in self._kinds:
            k = msg.payload
            args = [from_message_value(k.inputs[n]) for n in k.activities]
            self._kinds[key] = oracles.result_kind(self._function(k)(*args))
        return self._kinds[key]

    def _tol_for(self, scenario: Scenario):
        def tol_for(dtype: Any) -> Tolerance:
            if scenario.tolerance is not None:
                return Tolerance(rtol=scenario.tolerance.rtol, atol=scenario.tolerance.atol)
            t = self.tolerances.for_dtype(dtype)
            return Tolerance(rtol=t.rtol, atol=t.atol)
        return tol_for

    # -- the dot-product probes ------------------------------------------------------------

    @guarded(to=Role.autodiff)
    def probe(self, kernel_msg: TriadMessage, mode: str) -> TriadMessage | None:
        """A probe kernel message for the dot-product test, or ``None`` where it does not apply."""
        k = kernel_msg.payload
        acts = dict(k.activities)
        if any(a.startswith("Batch") or a == "MixedDuplicated" for a in acts.values()):
            return None
        kind = self._result_kind(kernel_msg)
        if mode == "Reverse" and kind == "array":
            return None
        rng = probe_rng(kernel_msg.seed, _PROBES[mode])
        shadows, any_active = {}, False
        for name, act in k.activities.items():
            value = from_message_value(k.inputs[name])
            if act == "Const":
                continue
            any_active = True
            scalar = not isinstance(value, np.ndarray)
            if mode == "Reverse":
                acts[name] = "Active" if scalar else "Duplicated"
            else:
                acts[name] = "Duplicated"
            if mode == "Forward" or not scalar:
                draw = rng.standard_normal(np.shape(value))
                shadows[name] = as_message_value(
                    type(value)(draw) if isinstance(value, np.generic)
                    else float(draw) if scalar else draw.astype(value.dtype))
        if not any_active:
            return None
        payload = k.model_copy(update={"mode": mode, "activities": acts, "shadows": shadows,
                                       "return_activity": None})
        payload = KernelPayload.model_validate(payload.model_dump())
        return send(self.role, Role.autodiff, payload, kernel_msg,
                    round_id=f"{kernel_msg.round_id}:probe-{mode}")

    # -- the verdict -----------------------------------------------------------------------

    @guarded(to=Role.autodiff)
    def verify(self, seed_msg: TriadMessage, kernel_msg: TriadMessage | None,
               grads_msg: TriadMessage | None, fwd_probe: TriadMessage | None,
               fwd_grads: TriadMessage | None, rev_probe: TriadMessage | None,
               rev_grads: TriadMessage | None, kernel_again: TriadMessage | None,
               grads_again: TriadMessage | None, scenario: Scenario) -> TriadMessage | None:
        """Run the oracles and send the verdict (``None`` when the round already failed)."""
        if is_error(kernel_msg) or is_error(grads_msg):
            return None
        k, g = kernel_msg.payload, grads_msg.payload
        tol_for = self._tol_for(scenario)
        checks: list[CheckResult] = []
        wanted = set(scenario.checks)
        kind = self._result_kind(kernel_msg)
        if "finite_differences" in wanted:
            checks += oracles.finite_differences(self._function(k), k, g.derivatives, g.tangent,
                                                 kind, tol_for)
        if "dot_product" in wanted and fwd_probe is not None and rev_probe is not None:
            checks.append(self._dot(fwd_probe, fwd_grads, rev_probe, rev_grads, kind, tol_for))
        if "dual_numbers" in wanted:
            checks += oracles.dual_numbers(k, g.derivatives, g.tangent, kind, tol_for,
                                           probe_rng(seed_msg.seed, _DUAL_DIRECTION))
        expect = scenario.expectations_for(k.mode)
        if "analytic" in wanted and expect:
            checks += oracles.analytic(expect, k, g, tol_for)
        if "reproducible" in wanted:
            checks.append(oracles.reproducible(
                k, g, getattr(kernel_again, "payload", None), getattr(grads_again, "payload", None)))
        if not checks:
            checks.append(CheckResult(name="no_checks", passed=False,
                                      detail="no oracle applies to this round"))
        verdict = VerdictPayload(passed=all(c.passed for c in checks), checks=tuple(checks))
        return send(self.role, Role.autodiff, verdict, seed_msg)

    def _dot(self, fk, fg, rk, rg, kind, tol_for) -> CheckResult:
        for label, probe, answer in (("forward", fk, fg), ("reverse", rk, rg)):
            if probe is None or is_error(probe) or is_error(answer):
                why = getattr(getattr(answer or probe, "payload", None), "message", "no probe")
                return CheckResult(name="dot_product", passed=False,
                                   detail=f"the {label} probe failed: {why}")
        dtypes = [np.asarray(from_message_value(v)).dtype for v in fk.payload.inputs.values()]
        single = any(d == np.float32 for d in dtypes)
        tol = tol_for(np.float32 if single else np.float64)
        return oracles.dot_product(fk.payload, fg.payload, rk.payload, rg.payload, kind, tol)
