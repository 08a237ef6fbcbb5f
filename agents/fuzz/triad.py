"""One fuzzing triad: the kernel agent's generated program, the autodiff agent's derivatives and the
tempering agent's verdict, one program per call.

Contract: a :class:`FuzzJob` says what to generate (the run's seed, program sizes, modes) and
how hard to look (the tempered-search and shrink budgets); program ``k`` of a job is the same on
every machine (:meth:`FuzzJob.program`). :meth:`FuzzTriad.run_unit` has the signature the sweep
runner calls (``job, mode, index, activities``) and returns a plain dict: ``status`` in the
ledger's vocabulary (``passed`` for ok and non-differentiable points, ``failed`` for a wrong
derivative, primal, final state or oracle disagreement and for a crash, ``error`` for a refusal
or a program the generator got wrong), and ``detail`` with the fuzzer's own class per program
and per mode, the refusal or crash messages, the program's features, its source when it did
not pass, and for a wrong or crashing program the shrunk program. A failure of the engine is a
result, never an exception; only the process dying loses a unit (the runner then retries or
quarantines it).

Every mode the fuzzer's own check finds ``ok`` is then run once more as the triad's round
(:func:`program_scenario`): the kernel message carries the program's source and inputs, the
autodiff agent differentiates it, the tempering agent judges it with the dual-number oracle
(``dual_numbers``), and the round's log is judged for GF(3) coherence. A round that does not pass
coherently turns the mode ``wrong`` (its verdict failed), ``refused`` (an ``ADError``) or
``crash`` (any other error); ``coherent`` is whether every such round was; ``detail["triad"]``
has each round's status, coherence and checks.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from pydantic import (BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat,
                      PositiveInt, field_validator)

import numpy as np

from adtriad.agents.fuzz.check import MODES, ModeResult, Verdict, check_program
from adtriad.agents.fuzz.features import features, maxent_program
from adtriad.agents.fuzz.generator import Program
from adtriad.agents.loading import scenario_from_data
from adtriad.agents.report import RoundReport
from adtriad.agents.scenario import Scenario
from adtriad.protocol import FORWARD_MODES
from adtriad.agents.fuzz.search import tempered_search
from adtriad.agents.fuzz.shrink import shrink

__all__ = ["FuzzJob", "FuzzTriad", "LEDGER_STATUS", "SHRUNK", "program_scenario"]

LEDGER_STATUS = {"ok": "passed", "nondiff": "passed", "refused": "error", "invalid": "error",
                 "wrong": "failed", "crash": "failed", "primal": "failed", "state": "failed",
                 "oracle": "failed"}
SHRUNK = ("wrong", "crash", "primal", "state", "oracle")
"""Classes whose programs are shrunk and kept as regression tests."""


class FuzzJob(BaseModel):
    """What a fuzzing run generates and checks (the part of ``triad fuzz``'s flags that makes
    its programs; the same job gives the same programs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="fuzz", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    seed: NonNegativeInt = 0
    programs: PositiveInt = 100
    min_statements: PositiveInt = 5
    max_statements: PositiveInt = 20
    modes: tuple[str, ...] = MODES
    """The two WithPrimal modes cost nothing more: they run the same compiled derivative."""
    search_evaluations: NonNegativeInt = 24
    """Input points the tempered search may try per program that passes (0: no search)."""
    shrink_s: NonNegativeFloat = 120.0
    unit_timeout_s: PositiveFloat = 900.0
    retries: NonNegativeInt = 3
    quarantine_after: PositiveInt = 2
    triads: PositiveInt | None = None
    per_triad: PositiveInt = 1

    @field_validator("modes")
    @classmethod
    def _known_modes_in_order(cls, modes: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [m for m in modes if m not in MODES]
        if unknown or not modes:
            raise ValueError(f"modes must be among {', '.join(MODES)}; got {', '.join(unknown) or 'none'}")
        return tuple(m for m in MODES if m in modes)  # one job, however the modes are listed

    def model_post_init(self, _: Any) -> None:
        if self.min_statements > self.max_statements:
            raise ValueError("min_statements is larger than max_statements")

    def program(self, index: int) -> Program:
        """Program ``index`` of this job."""
        return maxent_program(self.seed * 1_000_003 + index, self.min_statements, self.max_statements)


def _mode_details(verdict: Verdict) -> dict[str, Any]:
    return {m: {"class": r.status, "message": r.detail.strip().splitlines()[-1][:500] if r.detail.strip() else ""}
            for m, r in verdict.modes.items()}


def program_scenario(program: Program, inputs: Sequence[Any], mode: str, seed: int) -> Scenario:
    """``program`` at ``inputs`` (its float inputs, as a check drew them) as a one-mode scenario
    checked by the dual-number oracle: float scalars ``Active`` (reverse) or ``Duplicated``
    (forward), arrays ``Duplicated`` with random cotangents or tangents drawn from ``seed``,
    ints ``Const``."""
    rng = np.random.default_rng(seed)
    forward = mode in FORWARD_MODES
    arguments: dict[str, Any] = {}
    n = len(program.floats)
    for name, value in zip(program.floats, inputs[:n]):
        arguments[name] = ({"activity": "Duplicated", "value": float(value),
                            "tangent": float(rng.standard_normal())} if forward
                           else {"activity": "Active", "value": float(value)})
    for (name, _), value in zip(program.arrays, inputs[n:]):
        direction = rng.standard_normal(np.size(value)).tolist()
        arguments[name] = {"activity": "Duplicated", "value": np.asarray(value, float).tolist(),
                           "tangent" if forward else "shadow": direction}
    for name, value in zip(program.ints, program.int_values):
        arguments[name] = {"activity": "Const", "value": int(value)}
    data = {"name": "fuzz", "kernel": {"source": program.source, "entry": "f"}, "mode": mode,
            "arguments": arguments, "checks": ["dual_numbers"], "master_seed": seed}
    return scenario_from_data(data, "<generated program>")


def _triad_class(report: RoundReport) -> str:
    if report.status == "passed" and report.coherence.coherent:
        return "ok"
    if report.error is not None:
        return "refused" if report.error.error_type == "ADError" else "crash"
    return "wrong"


def _triad_why(report: RoundReport) -> str:
    if report.error is not None:
        return f"the triad's round: {report.error.agent} agent: {report.error.error_type}: {report.error.message}"
    failed = [f"{c.name}: {c.detail}" for c in report.checks if not c.passed]
    return "the triad's round: " + ("; ".join(failed) or report.coherence.summary())


class FuzzTriad:
    """The three agents' parts of a fuzzing round, in one process (see the module contract)."""

    def __init__(self, cfg: Any = None) -> None:
        from adtriad.agents.sweep.triad import where_am_i

        self.cfg = cfg
        self.here = where_am_i()
        self._backend: Any = None
        self._trits: Any = None
        if cfg is not None:  # the engine as the configuration sets it: cache, checkpointing
            from adtriad.ad_core import api, loader

            loader.set_cache_dir(Path(cfg.engine.cache_dir).expanduser() / "generated")
            if cfg.engine.checkpoint_memory is not None:
                api.checkpointing(cfg.engine.checkpoint_memory)

    def ping(self) -> dict[str, Any]:
        return self.here

    def triad_round(self, program: Program, inputs: Sequence[Any], mode: str, seed: int) -> RoundReport:
        """The program's round through the three agents (see the module contract)."""
        from adtriad.agents.orchestrator import LocalBackend
        from adtriad.agents.rounds import Round, run_round

        if self._backend is None:
            cfg = self.cfg
            if cfg is None:  # the agents on the engine's cache as it is set
                from adtriad.ad_core import loader
                from adtriad.config import TriadConfig

                cfg = TriadConfig.model_validate({"engine": {"cache_dir": str(loader.cache_dir().parent)}})
            self._backend, self._trits = LocalBackend(cfg), cfg.roles.trits
        scenario = program_scenario(program, inputs, mode, seed)
        return run_round(self._backend, Round(scenario, mode, 0), self._trits)

    def _judge_by_triad(self, program: Program, verdict: Verdict, index: int) -> dict[str, Any]:
        rounds: dict[str, Any] = {}
        if verdict.status not in ("ok", "nondiff"):  # a failing program is shrunk, not judged again
            return rounds
        for mode, result in verdict.modes.items():
            if result.status != "ok":
                continue
            report = self.triad_round(program, verdict.inputs, mode, index)
            rounds[mode] = {"status": report.status, "coherent": report.coherence.coherent,
                            "checks": [c.name for c in report.checks if c.passed]}
            judged = _triad_class(report)
            if judged != "ok":
                verdict.modes[mode] = ModeResult(judged, _triad_why(report))
        if rounds:
            verdict.settle()
        return rounds

    def classify(self, program: Program, modes: Sequence[str], index: int) -> tuple[Verdict, dict[str, Any]]:
        """The fuzzer's check of ``program``, its ``ok`` modes judged again by the triad's round."""
        verdict = check_program(program, modes)
        return verdict, self._judge_by_triad(program, verdict, index)

    def run_unit(self, job: FuzzJob, mode: str, index: int, activities: tuple = ()) -> dict[str, Any]:
        t0 = time.perf_counter()
        program = job.program(index)
        modes = tuple(m for m in mode.split(",") if m) or job.modes
        verdict = check_program(program, modes)
        searched = None
        if verdict.status == "ok" and job.search_evaluations:
            searched = tempered_search(program, modes, job.search_evaluations, seed=index)
            if searched.verdict is not None and searched.verdict.status != "ok":
                verdict = searched.verdict
                program = searched.program
        triad = self._judge_by_triad(program, verdict, index)
        detail: dict[str, Any] = {
            "class": verdict.status, "modes": _mode_details(verdict), "features": list(features(program)),
            "program_index": index, "why": verdict.detail[:4000] if verdict.status not in ("ok",) else "",
            "triad": triad,
        }
        if searched is not None:
            detail["search"] = {"evaluations": searched.evaluations, "worst": searched.worst}
        if verdict.status != "ok":
            detail["program"] = asdict(program)
        if verdict.status in SHRUNK and job.shrink_s > 0:
            key = verdict.key()
            small, tried = shrink(program, lambda p: self.classify(p, modes, index)[0].key() == key,
                                  job.shrink_s)
            detail["shrunk"] = {"program": asdict(small), "tried": tried,
                                "lines": [len(program.source.splitlines()), len(small.source.splitlines())]}
        coherent = verdict.status in ("ok", "nondiff") and all(r["coherent"] for r in triad.values())
        return {"status": LEDGER_STATUS[verdict.status], "coherent": coherent,
                "seconds": time.perf_counter() - t0, "node": self.here["node"], "detail": detail}
