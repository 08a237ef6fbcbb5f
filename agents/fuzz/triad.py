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
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import (BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat,
                      PositiveInt, field_validator)

from adtriad.agents.fuzz.check import MODES, Verdict, check_program
from adtriad.agents.fuzz.features import features, maxent_program
from adtriad.agents.fuzz.generator import Program
from adtriad.agents.fuzz.search import tempered_search
from adtriad.agents.fuzz.shrink import shrink

__all__ = ["FuzzJob", "FuzzTriad", "LEDGER_STATUS", "SHRUNK"]

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


class FuzzTriad:
    """The three agents' parts of a fuzzing round, in one process (see the module contract)."""

    def __init__(self, cfg: Any = None) -> None:
        from adtriad.agents.sweep.triad import where_am_i

        self.cfg = cfg
        self.here = where_am_i()
        if cfg is not None:  # the engine as the configuration sets it: cache, checkpointing
            from adtriad.ad_core import api, loader

            loader.set_cache_dir(Path(cfg.engine.cache_dir).expanduser() / "generated")
            if cfg.engine.checkpoint_memory is not None:
                api.checkpointing(cfg.engine.checkpoint_memory)

    def ping(self) -> dict[str, Any]:
        return self.here

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
        detail: dict[str, Any] = {
            "class": verdict.status, "modes": _mode_details(verdict), "features": list(features(program)),
            "program_index": index, "why": verdict.detail[:4000] if verdict.status not in ("ok",) else "",
        }
        if searched is not None:
            detail["search"] = {"evaluations": searched.evaluations, "worst": searched.worst}
        if verdict.status != "ok":
            detail["program"] = asdict(program)
        if verdict.status in SHRUNK and job.shrink_s > 0:
            key = verdict.key()
            small, tried = shrink(program, lambda p: check_program(p, modes).key() == key, job.shrink_s)
            detail["shrunk"] = {"program": asdict(small), "tried": tried,
                                "lines": [len(program.source.splitlines()), len(small.source.splitlines())]}
        return {"status": LEDGER_STATUS[verdict.status], "coherent": verdict.status in ("ok", "nondiff"),
                "seconds": time.perf_counter() - t0, "node": self.here["node"], "detail": detail}
