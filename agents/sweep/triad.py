"""One triad that runs sweep units: the three agents in one process, one round per call.

Contract: :class:`SweepTriad` holds a tempering, a kernel and an autodiff agent as plain
objects (the same round steps, verdict and GF(3) judgement as ``triad run``'s in-process
backend) and :meth:`SweepTriad.run_unit` runs one unit — a scenario, a mode, a round index and
an activity combination — and returns a small plain dict (``status``, ``coherent``, the worst
errors, seconds, the node it ran on, and ``detail``: the round's report as JSON data). A
gradient mismatch or an agent's error is a result, never an exception; only the process dying
(or being stopped) loses a unit. The class knows nothing of Ray except, optionally, the node it
runs on; the sweep runner wraps it in an actor (one per GPU or CPU).
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from adtriad.agents.orchestrator import LocalBackend
from adtriad.agents.rounds import Round, run_round
from adtriad.agents.scenario import Scenario
from adtriad.agents.sweep.spec import unit_scenario
from adtriad.config import TriadConfig

__all__ = ["SweepTriad", "where_am_i"]


def where_am_i() -> dict[str, Any]:
    """``{"node", "pid", "gpus"}`` of this process (the Ray node id when inside Ray)."""
    node, gpus = socket.gethostname(), []
    try:
        import ray

        if ray.is_initialized():
            ctx = ray.get_runtime_context()
            node = ctx.get_node_id()
            gpus = [str(g) for g in ray.get_gpu_ids()]
    except Exception:  # Ray absent or not a worker: the host name will do
        pass
    return {"node": node, "pid": os.getpid(), "gpus": gpus}


class SweepTriad:
    """The triad in one process (see the module contract)."""

    def __init__(self, cfg: TriadConfig) -> None:
        self.cfg = cfg
        self.backend = LocalBackend(cfg)
        self.here = where_am_i()

    def ping(self) -> dict[str, Any]:
        """Where this triad runs (answers once the triad is up)."""
        return self.here

    def run_unit(self, scenario: Scenario, mode: str, index: int,
                 activities: tuple[tuple[str, str], ...]) -> dict[str, Any]:
        """Run one unit and return its result (see the module contract)."""
        sc = unit_scenario(scenario, mode, dict(activities))
        t0 = time.perf_counter()
        report = run_round(self.backend, Round(sc, mode, index), self.cfg.roles.trits)
        errs = [c for c in report.checks if c.max_rel_err is not None]
        worst = max(errs, key=lambda c: c.max_rel_err) if errs else None
        return {
            "status": report.status,
            "coherent": report.coherence.coherent,
            "max_abs_err": max((c.max_abs_err for c in errs if c.max_abs_err is not None),
                               default=None),
            "max_rel_err": worst.max_rel_err if worst else None,
            "seconds": time.perf_counter() - t0,
            "node": self.here["node"],
            "detail": report.model_dump(mode="json"),
        }
