"""The run report: what ``triad run`` prints and writes with ``--json``.

Contract: :class:`RunReport` is a pydantic model holding, per scenario, its status (``passed``,
``failed``, ``error`` or ``skipped`` with the reason) and, per round, the seed, the checks (the
protocol's ``CheckResult``: max abs/rel error, worst index, tolerance), the error that stopped
it (which agent, what, where), the GF(3) coherence verdict of its message log and how many
attempts it took. ``RunReport.model_validate_json(report.model_dump_json())`` round-trips.
``exit_code`` is 0 when every round passed and is coherent (skips allowed), else 1.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, NonNegativeFloat, NonNegativeInt

from adtriad.protocol import U64, CheckResult, CoherenceReport

__all__ = ["ErrorInfo", "RoundReport", "RunReport", "ScenarioReport"]

RoundStatus = Literal["passed", "failed", "error"]
ScenarioStatus = Literal["passed", "failed", "error", "skipped"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ErrorInfo(_Model):
    """Why a round stopped before its verdict."""

    agent: str
    """The role whose agent failed (``tempering``, ``gpu_kernels``, ``autodiff``)."""
    error_type: str
    """Class name of the error."""
    message: str
    """The error's message."""
    where: str = ""
    """What was being done."""


class RoundReport(_Model):
    """One round: one seed, one mode."""

    round_id: str
    """``<scenario>/<mode>/<index>``."""
    mode: str
    """The differentiation mode."""
    index: NonNegativeInt
    """Position of the round among the scenario's seeds."""
    seed: U64
    """The round's seed (spawned from the scenario's master seed)."""
    status: RoundStatus
    """``passed``, ``failed`` (a check failed) or ``error`` (an agent could not do its part)."""
    checks: tuple[CheckResult, ...] = ()
    """Every check of the verdict."""
    error: ErrorInfo | None = None
    """What stopped the round, when it did not reach a verdict."""
    coherence: CoherenceReport
    """The GF(3) coherence verdict of the round's message log."""
    attempts: NonNegativeInt = 1
    """2 when an actor died and the round was run again."""
    seconds: NonNegativeFloat = 0.0
    """Wall time from submission to verdict (rounds overlap on Ray)."""


class ScenarioReport(_Model):
    """One scenario file."""

    name: str
    """The scenario's name."""
    path: str | None = None
    """The file it was read from."""
    status: ScenarioStatus
    """The worst of its rounds' statuses, or ``skipped``."""
    skipped_reason: str | None = None
    """Why it was not run (an engine feature it requires has not landed)."""
    rounds: tuple[RoundReport, ...] = ()
    """Its rounds, in order."""


class RunReport(_Model):
    """A whole ``triad run``."""

    version: str
    """adtriad's version."""
    backend: Literal["ray", "local"]
    """Where the agents ran."""
    passed: bool
    """True when no round failed or errored."""
    coherent: bool
    """True when every round's message log is GF(3)-coherent."""
    exit_code: Literal[0, 1]
    """What ``triad run`` exits with."""
    counts: dict[str, int]
    """Scenarios by status."""
    seconds: NonNegativeFloat
    """Wall time of the run (Ray start-up included)."""
    timings: dict[str, NonNegativeFloat] = {}
    """Where that time went, in seconds: ``ray_init`` (joining or starting Ray), ``actors``
    (until the three agents answer), ``rounds``, ``stop`` (``ray`` backend); ``rounds`` only
    for ``local``."""
    scenarios: tuple[ScenarioReport, ...]
    """Every scenario, in the order given."""

    def failed_checks(self) -> list[tuple[str, CheckResult]]:
        """``(round id, check)`` for every failed check."""
        return [(r.round_id, c) for s in self.scenarios for r in s.rounds
                for c in r.checks if not c.passed]
