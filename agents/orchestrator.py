"""The orchestrator: runs scenarios through the three agents, in-process or on Ray.

Contract:

* :func:`run_scenarios` runs every round of every scenario (``seeds`` rounds per mode, each
  with a seed spawned from the scenario's master seed) and returns a
  :class:`~adtriad.agents.report.RunReport`. A scenario whose required engine features have
  not landed is skipped with the reason (:mod:`adtriad.agents.capabilities`).
* A round (:mod:`adtriad.agents.rounds`: its record, steps and report) is seed (tempering) →
  kernel (gpu_kernels) → gradients (autodiff) → verdict (tempering), with the dot-product
  probes and the round asked again (same seed) on the side; its log is judged by
  :func:`adtriad.protocol.check_round` with the configured trits.
* ``backend="local"`` runs plain agent objects in this process, round after round.
  ``backend="ray"`` runs them as Ray actors (``num_cpus=0``, ``max_restarts`` from the
  configuration, no task retries), joining ``ray.address`` when set, else the Ray already
  initialised in this process, else a local instance it starts quietly and stops at the end.
  Rounds are submitted phase by phase so that the agents work on different rounds at once;
  calls pass object references, never ``ray.get`` in a loop of dependent calls.
* An agent that raises fails its round with an error message naming it; the run continues. An
  actor that dies is restarted by Ray and each round it took down is run once more; a second
  failure is reported as the round's error.
* ``on_round(report, done, total)`` is called as rounds finish (for progress displays).
* The report's ``timings`` say where the wall time went (Ray's start, the agents' start,
  the rounds, the stop); ``benchmarks/startup.py`` prints them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from adtriad import __version__
from adtriad.agents.autodiff import AutodiffAgent
from adtriad.agents.capabilities import missing
from adtriad.agents.kernel import KernelAgent
from adtriad.agents.report import RoundReport, RunReport, ScenarioReport
from adtriad.agents.rounds import Round, round_report, round_steps
from adtriad.agents.scenario import Scenario
from adtriad.agents.tempering import TemperingAgent
from adtriad.config import TriadConfig
from adtriad.logs import get_logger
from adtriad.protocol import Role

__all__ = ["LocalBackend", "RayBackend", "run_scenarios"]

log = get_logger("adtriad.agents")
T, K, A = Role.tempering, Role.gpu_kernels, Role.autodiff


def _agents(cfg: TriadConfig) -> dict[Role, tuple[type, dict[str, Any]]]:
    cache = str(cfg.engine.cache_dir)
    return {
        T: (TemperingAgent, {"tolerances": cfg.tolerances, "cache_dir": cache}),
        K: (KernelAgent, {}),
        A: (AutodiffAgent, {"cache_dir": cache,
                            "checkpoint_memory": cfg.engine.checkpoint_memory}),
    }


class LocalBackend:
    """Plain agent objects in this process; a handle is the call's result."""

    name = "local"
    infra_errors: tuple[type[BaseException], ...] = ()
    phase_major = False

    def __init__(self, cfg: TriadConfig) -> None:
        self.agents = {role: cls(**kw) for role, (cls, kw) in _agents(cfg).items()}
        self.timings: dict[str, float] = {}

    def submit(self, role: Role, method: str, *args: Any) -> Any:
        return getattr(self.agents[role], method)(*args)

    def get(self, handles: list) -> list:
        return list(handles)

    def as_completed(self, handles: list) -> list[int]:
        return list(range(len(handles)))

    def role_of(self, err: BaseException) -> Role | None:
        return None

    def close(self) -> None:
        pass


class RayBackend:
    """The agents as Ray actors; a handle is an ``ObjectRef``."""

    name = "ray"
    phase_major = True

    def __init__(self, cfg: TriadConfig) -> None:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        import ray
        from ray import exceptions

        self.ray = ray
        self.infra_errors = (exceptions.RayActorError, exceptions.WorkerCrashedError,
                             exceptions.ObjectLostError)
        self.started = False
        t0 = time.perf_counter()
        if cfg.ray.address is not None or not ray.is_initialized():
            kwargs = cfg.ray.init_kwargs()
            ray.init(**kwargs, log_to_driver=False, configure_logging=False)
            self.started = True
        t1 = time.perf_counter()
        opts = {"num_cpus": 0, "max_restarts": cfg.ray.max_restarts, "max_task_retries": 0}
        # created at once: the three workers start and import in parallel
        self.actors = {role: ray.remote(cls).options(**opts).remote(**kw)
                       for role, (cls, kw) in _agents(cfg).items()}
        self._ids = {actor._actor_id.hex(): role for role, actor in self.actors.items()}
        try:
            ray.get([actor.__ray_ready__.remote() for actor in self.actors.values()])
        except BaseException:  # an agent that cannot start: leave no Ray behind
            self.close()
            raise
        self.timings = {"ray_init": t1 - t0, "actors": time.perf_counter() - t1}

    def submit(self, role: Role, method: str, *args: Any) -> Any:
        return getattr(self.actors[role], method).remote(*args)

    def get(self, handles: list) -> list:
        return self.ray.get(handles)

    def as_completed(self, handles: list):
        index = {h: i for i, h in enumerate(handles)}
        pending = list(handles)
        while pending:
            ready, pending = self.ray.wait(pending, num_returns=1)
            yield index[ready[0]]

    def role_of(self, err: BaseException) -> Role | None:
        actor = getattr(err, "actor_id", None)
        return self._ids.get(actor) if isinstance(actor, str) else None

    def close(self) -> None:
        if self.started:  # stopping the instance stops its actors
            self.ray.shutdown()
            return
        for actor in self.actors.values():  # a cluster we joined keeps running
            try:
                self.ray.kill(actor)
            except Exception:  # already gone
                pass


def _submit(b, rounds: list[Round]) -> None:
    plans = [round_steps(b, r) for r in rounds]
    if b.phase_major:
        for phase in range(len(plans[0]) if plans else 0):
            for plan in plans:
                plan[phase]()
    else:
        for plan in plans:
            for step in plan:
                step()


def run_scenarios(scenarios: Sequence[Scenario], cfg: TriadConfig, *, backend: str = "ray",
                  seeds: int | None = None,
                  on_round: Callable[[RoundReport, int, int], None] | None = None) -> RunReport:
    """Run ``scenarios`` through the triad; see the module contract."""
    start = time.perf_counter()
    skipped: dict[int, str] = {}
    rounds: list[Round] = []
    for i, sc in enumerate(scenarios):
        lacking = missing(sc.requires)
        if lacking:
            skipped[i] = "; ".join(f"requires {k}: {v}" for k, v in lacking.items())
            continue
        rounds += [Round(sc, mode, n) for mode in sc.modes for n in range(seeds or sc.seeds)]
    done: dict[int, RoundReport] = {}
    timings: dict[str, float] = {}
    if rounds:
        b = RayBackend(cfg) if backend == "ray" else LocalBackend(cfg)
        timings.update(b.timings)
        t0 = time.perf_counter()
        try:
            _drive(b, rounds, done, cfg, on_round)
        finally:
            t1 = time.perf_counter()
            b.close()
            timings["rounds"] = t1 - t0
            if backend == "ray":
                timings["stop"] = time.perf_counter() - t1
    reports = []
    for i, sc in enumerate(scenarios):
        if i in skipped:
            reports.append(ScenarioReport(name=sc.name, path=sc.source_path, status="skipped",
                                          skipped_reason=skipped[i]))
            continue
        mine = tuple(done[j] for j, r in enumerate(rounds) if r.scenario is sc)
        statuses = {r.status for r in mine}
        status = next((s for s in ("error", "failed") if s in statuses), "passed")
        reports.append(ScenarioReport(name=sc.name, path=sc.source_path, status=status,
                                      rounds=mine))
    all_rounds = [r for s in reports for r in s.rounds]
    passed = all(r.status == "passed" for r in all_rounds)
    coherent = all(r.coherence.coherent for r in all_rounds)
    counts = {k: sum(s.status == k for s in reports)
              for k in ("passed", "failed", "error", "skipped")}
    return RunReport(version=__version__, backend=backend, passed=passed, coherent=coherent,
                     exit_code=0 if passed and coherent else 1, counts=counts,
                     seconds=time.perf_counter() - start, timings=timings,
                     scenarios=tuple(reports))


def _drive(b, rounds: list[Round], done: dict[int, RoundReport], cfg: TriadConfig,
           on_round) -> None:
    trits = cfg.roles.trits
    todo = list(range(len(rounds)))
    for attempt in (1, 2):
        retry: list[int] = []
        batches = [todo] if b.phase_major else [[j] for j in todo]
        for batch in batches:
            _submit(b, [rounds[j] for j in batch])
            for n in b.as_completed([rounds[j].messages.verdict for j in batch]):
                j = batch[n]
                if _collect(b, rounds[j], j, done, trits, attempt):
                    retry.append(j)
                    continue
                log.debug("round", round=done[j].round_id, status=done[j].status)
                if on_round is not None:
                    on_round(done[j], len(done), len(rounds))
        todo = retry
        if not todo:
            break


def _collect(b, r: Round, j: int, done: dict[int, RoundReport], trits, attempt: int) -> bool:
    """Fetch a finished round into ``done``; True when it must be run again."""
    try:
        msgs = b.get(r.messages.log())
    except b.infra_errors as err:
        role = b.role_of(err)
        log.warning("actor died", round=r.round_id,
                    agent=role.value if role else None, attempt=attempt)
        if attempt == 1:
            return True
        done[j] = round_report(r, [], trits, infra=err, role=role)
        return False
    done[j] = round_report(r, msgs, trits)
    return False
