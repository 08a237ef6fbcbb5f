"""One round of the triad: its typed record, its steps, its report — shared by every runner.

Contract:

* A round is seed (tempering) → kernel (gpu_kernels) → gradients (autodiff) → verdict
  (tempering), with side requests the scenario's checks ask for: the dot-product probes (a
  Forward and a Reverse kernel message from tempering, each differentiated by autodiff) and the
  round asked again with the same seed (kernel and gradients once more). :class:`RoundMessages`
  holds them by name, as messages or as a backend's handles to them; :data:`SIDE_REQUESTS`
  names the side requests in the order the verifier asks for them.
* :func:`round_steps` is the round as steps, each submitting one agent call through a backend
  (``backend.submit(role, method, *args)`` returning a handle): a runner may run them in order
  (:func:`run_round`, the in-process triad of ``triad run --backend local`` and of a sweep
  worker) or phase by phase across many rounds (the Ray backend of ``triad run``), so that the
  agents work on different rounds at once. The message handlers of :mod:`adtriad.facade` drive
  the same record by messages.
* :func:`round_report` judges a finished round: its log (seed, kernel, gradients, verdict, cut
  at the first error) by :func:`adtriad.protocol.check_round` with the configured trits, and its
  status (``passed``, ``failed``, ``error``) with the error's agent and place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

from adtriad.agents.report import ErrorInfo, RoundReport
from adtriad.agents.scenario import Scenario
from adtriad.protocol import Role, check_round

__all__ = ["SIDE_REQUESTS", "Round", "RoundMessages", "SideRequest", "round_report",
           "round_steps", "run_round"]

T, K, A = Role.tempering, Role.gpu_kernels, Role.autodiff


@dataclass
class RoundMessages:
    """The messages of one round by name (or a backend's handles to them; None: not sent)."""

    seed: Any = None
    kernel: Any = None
    gradients: Any = None
    probe_forward: Any = None
    gradients_forward: Any = None
    probe_reverse: Any = None
    gradients_reverse: Any = None
    kernel_again: Any = None
    gradients_again: Any = None
    verdict: Any = None

    def log(self) -> list[Any]:
        """The round's own messages, in order: what :func:`check_round` judges."""
        return [self.seed, self.kernel, self.gradients, self.verdict]

    def side(self) -> list[Any]:
        """The side requests and their answers, in the order ``TemperingAgent.verify`` takes."""
        return [self.probe_forward, self.gradients_forward, self.probe_reverse,
                self.gradients_reverse, self.kernel_again, self.gradients_again]

    def clear(self) -> None:
        for f in fields(self):
            setattr(self, f.name, None)


class SideRequest(NamedTuple):
    """A side request: the check asking for it, its round-id suffix, where the request and its
    answer are kept, and the probe's mode (None: the round asked again)."""

    check: str
    suffix: str
    asked: str
    answered: str
    probe_mode: str | None


SIDE_REQUESTS = (
    SideRequest("dot_product", ":probe-Forward", "probe_forward", "gradients_forward", "Forward"),
    SideRequest("dot_product", ":probe-Reverse", "probe_reverse", "gradients_reverse", "Reverse"),
    SideRequest("reproducible", ":again", "kernel_again", "gradients_again", None),
)


@dataclass
class Round:
    """One round to run: which scenario, mode and index, its messages, and its attempts."""

    scenario: Scenario
    mode: str
    index: int
    messages: RoundMessages = field(default_factory=RoundMessages)
    attempts: int = 0
    started: float = 0.0

    @property
    def round_id(self) -> str:
        return f"{self.scenario.name}/{self.mode}/{self.index}"


def round_steps(backend: Any, r: Round) -> list[Callable[[], None]]:
    """The round's steps (see the module contract); the last one submits the verdict."""
    sc, m = r.scenario, r.messages
    dot = "dot_product" in sc.checks
    again = "reproducible" in sc.checks

    def open_round():
        r.attempts += 1
        r.started = time.perf_counter()
        m.clear()
        m.seed = backend.submit(T, "open_round", sc.name, sc.master_seed, r.index, r.mode)

    def provide():
        m.kernel = backend.submit(K, "provide", m.seed, sc, r.mode)

    def differentiate():
        m.gradients = backend.submit(A, "differentiate", m.kernel)

    def probe():
        if dot:
            m.probe_forward = backend.submit(T, "probe", m.kernel, "Forward")
            m.probe_reverse = backend.submit(T, "probe", m.kernel, "Reverse")

    def differentiate_probes_and_provide_again():
        if dot:
            m.gradients_forward = backend.submit(A, "differentiate", m.probe_forward)
            m.gradients_reverse = backend.submit(A, "differentiate", m.probe_reverse)
        if again:
            m.kernel_again = backend.submit(K, "provide", m.seed, sc, r.mode)

    def differentiate_again():
        if again:
            m.gradients_again = backend.submit(A, "differentiate", m.kernel_again)

    def verify():
        m.verdict = backend.submit(T, "verify", m.seed, m.kernel, m.gradients, *m.side(), sc)

    return [open_round, provide, differentiate, probe, differentiate_probes_and_provide_again,
            differentiate_again, verify]


def round_report(r: Round, log: list[Any], trits: Any, infra: BaseException | None = None,
                 role: Role | None = None) -> RoundReport:
    """The report of a finished round from its log (messages; see the module contract).
    ``infra``: the infrastructure failure (a dead actor) that ended it, and ``role`` whose."""
    logged = []
    for msg in log:
        if msg is None:
            break
        logged.append(msg)
        if msg.payload.kind == "error":
            break
    coherence = check_round(logged, trits)
    verdict = logged[-1].payload if logged and logged[-1].payload.kind == "verdict" else None
    error = None
    if infra is not None:
        error = ErrorInfo(agent=(role.value if role else "unknown"),
                          error_type=type(infra).__name__, message=str(infra)[:2000],
                          where=f"the actor died on each of {r.attempts} attempt(s)")
    elif logged and logged[-1].payload.kind == "error":
        p = logged[-1].payload
        error = ErrorInfo(agent=logged[-1].sender.value, error_type=p.error_type,
                          message=p.message, where=p.where)
    elif verdict is None:
        error = ErrorInfo(agent="tempering", error_type="NoVerdict",
                          message="the round ended without a verdict")
    status = "error" if error else ("passed" if verdict.passed else "failed")
    return RoundReport(
        round_id=r.round_id, mode=r.mode, index=r.index, seed=logged[0].seed if logged else 0,
        status=status, checks=verdict.checks if verdict else (), error=error,
        coherence=coherence, attempts=r.attempts,
        seconds=max(0.0, time.perf_counter() - r.started),
    )


def run_round(backend: Any, r: Round, trits: Any) -> RoundReport:
    """Run ``r`` start to finish on an in-process backend (handles are the messages)."""
    for step in round_steps(backend, r):
        step()
    return round_report(r, r.messages.log(), trits)
