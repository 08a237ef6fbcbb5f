"""The sweep runner: schedules a sweep's units on triad actors across a Ray cluster.

Contract:

* :func:`run_sweep` runs every unit of the plan that the ledger has no result for, and records
  each result in the ledger as it arrives (the driver keeps only the units in flight). It joins
  the cluster at ``address`` (or ``$RAY_ADDRESS``, as inside ``ray job submit``), else the Ray
  already initialised in this process, else starts a local instance and stops it at the end.
* Triads: one :class:`~adtriad.agents.sweep.triad.SweepTriad` actor per GPU when the cluster
  has GPUs (each in its own bundle ``{CPU: 1, GPU: 1}`` of a ``SPREAD`` placement group), else
  one per CPU (``num_cpus=1``, spread over the nodes); ``spec.triads`` caps or sets the number.
  Actors restart when they die (``max_restarts=-1``, no task retries: the runner decides what
  runs again). A triad takes work once it answers a ping, so start-up and restarts never count
  against a unit's deadline.
* Backpressure: each triad has at most ``spec.per_triad`` units queued; the runner blocks in
  ``ray.wait`` on the units in flight and the pending pings (never ``ray.get`` on anything not
  ready) and tops the queues up as results arrive.
* Faults: a unit's outcome of ``passed``, ``failed`` or ``error`` is a result and is recorded
  once. When a triad dies, the unit it was running gets an incident — ``dead_worker`` (the
  process died: blamed on the unit), ``lost_node`` (its node went away: not blamed) or, when
  Ray only says the triad is unreachable, the verdict waits for the triad's next answer: from a
  new process it is ``dead_worker``, from the same one ``unreachable`` (not blamed), and with
  no answer within :data:`SUSPECT_S` seconds ``lost_node`` or ``unreachable``. The units queued
  behind it go back to the queue unblamed. A unit running past
  ``spec.unit_timeout_s`` gets a ``timeout`` incident (blamed) and its triad is killed and
  restarted. A unit blamed ``spec.quarantine_after`` times is recorded ``quarantined``; one with
  more than ``spec.retries`` incidents in all is recorded ``lost``; otherwise it is retried
  first. Incidents are in the ledger, so the counts survive a driver restart.
* If no triad is up for ``stall_s`` seconds while work remains (the cluster lost every node
  that could host one), the run stops early; what is missing stays missing for ``--resume``.
* ``on_progress(SweepProgress)`` is called after every recorded result and incident.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


from adtriad import __version__
from adtriad.agents.capabilities import missing as missing_features
from adtriad.agents.scenario import Scenario
from adtriad.agents.sweep.ledger import Ledger
from adtriad.agents.sweep.spec import SweepSpec, WorkUnit, count_units, plan_units
from adtriad.agents.sweep.triad import SweepTriad
from adtriad.config import TriadConfig
from adtriad.logs import get_logger

__all__ = ["SweepOutcome", "SweepProgress", "TriadPlan", "plan_triads", "run_sweep", "run_units"]

log = get_logger("adtriad.sweep")

BLAMED = ("dead_worker", "timeout")
"""Incident kinds that count towards quarantine."""
SUSPECT_S = 20.0
"""How long an unreachable triad may take to answer again before its unit is retried unblamed
(an answer from a new process blames the unit: its worker died)."""


@dataclass(frozen=True)
class TriadPlan:
    """How many triads, and whether each holds a GPU."""

    count: int
    gpu: bool


def plan_triads(resources: dict[str, float], wanted: int | None = None,
                todo: int | None = None) -> TriadPlan:
    """One triad per GPU when there are GPUs, else one per CPU; ``wanted`` sets the number.

    Examples:
        >>> plan_triads({"CPU": 16.0, "GPU": 4.0})
        TriadPlan(count=4, gpu=True)
        >>> plan_triads({"CPU": 3.0}, todo=2)
        TriadPlan(count=2, gpu=False)
    """
    gpus = int(resources.get("GPU", 0))
    count = wanted or (gpus if gpus else max(1, int(resources.get("CPU", 1))))
    if todo is not None:
        count = max(1, min(count, todo))
    return TriadPlan(count=count, gpu=gpus > 0)


@dataclass
class SweepProgress:
    """Counters of the run in progress."""

    total: int
    """Units this run has to do."""
    done: int = 0
    """Units recorded by this run."""
    failures: int = 0
    """Recorded units that did not pass (failed, error, quarantined, lost)."""
    incidents: int = 0
    """Infrastructure incidents so far."""
    triads_up: int = 0
    """Triads answering now."""
    last: str = ""
    """The label of the last unit recorded."""


@dataclass
class SweepOutcome:
    """What a run did; the verdict over the whole ledger is the report's."""

    planned: int
    """Units in the plan."""
    todo: int
    """Units this run had to do (the plan minus the ledger's results)."""
    recorded: int
    """Units this run recorded."""
    skipped: dict[str, str]
    """Scenario name → why it was not run (a required engine feature is missing)."""
    triads: int
    """Triads started."""
    gpu: bool
    """Whether each triad held a GPU."""
    seconds: float
    """Wall time."""
    stopped_early: bool = False
    """True when the run gave up with work left (no triad could be placed)."""


@dataclass
class _Flight:
    ref: Any
    unit: WorkUnit
    slot: _Slot


@dataclass
class _Slot:
    index: int
    actor: Any
    queue: deque = field(default_factory=deque)
    up: bool = False
    ping: Any = None
    ping_at: float | None = None
    node: str | None = None
    pid: int | None = None
    suspect: tuple | None = None  # (unit, message, pid before, since): blame decided later
    head_since: float = 0.0


class _Runner:
    def __init__(self, ray, cfg: Any, spec: Any, ledger: Ledger, refs: list, cls,
                 options, progress: SweepProgress, on_progress, stall_s: float,
                 deadline: float | None = None) -> None:
        from ray import exceptions

        self.cfg = cfg
        self.ray, self.spec, self.ledger = ray, spec, ledger
        self.refs, self.cls, self.options = refs, cls, options
        self.progress, self.on_progress, self.stall_s = progress, on_progress, stall_s
        self.deadline = deadline  # time.monotonic() after which no new unit starts
        self.infra = (exceptions.RayActorError, exceptions.WorkerCrashedError,
                      exceptions.ObjectLostError, exceptions.OwnerDiedError)
        self.unavailable = exceptions.ActorUnavailableError
        self.task_error = exceptions.RayTaskError
        self.inflight: dict[Any, _Flight] = {}
        self.pings: dict[Any, _Slot] = {}
        self.retry: deque[WorkUnit] = deque()
        self.strikes = ledger.incident_counts()
        self.slots: list[_Slot] = []

    # -- triads ---------------------------------------------------------------------------------

    def start(self, count: int) -> None:
        for i in range(count):
            slot = _Slot(i, self.cls.options(**self.options(i)).remote(self.cfg))
            self.slots.append(slot)
            self._ping(slot)

    def _ping(self, slot: _Slot) -> None:
        slot.up, slot.ping_at = False, None
        slot.ping = slot.actor.ping.remote()
        self.pings[slot.ping] = slot

    def _pinged(self, ref) -> None:
        slot = self.pings.pop(ref)
        slot.ping = None
        try:
            here = self.ray.get(ref)
        except self.unavailable:
            slot.ping_at = time.monotonic() + 1.0  # unreachable or restarting: ask again soon
            return
        except self.infra as err:  # gone for good: a fresh actor takes the slot
            log.warning("triad gone, replacing it", triad=slot.index, error=str(err)[:200])
            self._settle(slot, "dead_worker")
            slot.actor = self.cls.options(**self.options(slot.index)).remote(self.cfg)
            self._ping(slot)
            return
        if slot.suspect is not None:  # a new process means the old one died
            self._settle(slot, "dead_worker" if here["pid"] != slot.suspect[2] else "unreachable")
        slot.up, slot.node, slot.pid = True, here["node"], here["pid"]
        slot.head_since = time.monotonic()
        log.debug("triad up", triad=slot.index, **here)

    def _settle(self, slot: _Slot, kind: str) -> None:
        """Decide the blame of a unit whose triad became unreachable while running it."""
        if slot.suspect is None:
            return
        unit, message, _, _ = slot.suspect
        slot.suspect = None
        self._blame(slot, unit, kind, message)

    def _check_suspects(self, now: float) -> None:
        for slot in self.slots:
            if slot.suspect is not None and now - slot.suspect[3] > SUSPECT_S:
                self._settle(slot, "lost_node" if not self._alive(slot) else "unreachable")

    # -- the loop -------------------------------------------------------------------------------

    def run(self, todo) -> bool:
        """Drive every unit of ``todo`` to a result; False when it stopped early."""
        exhausted, last_up = False, time.monotonic()
        while True:
            if self.deadline is not None and time.monotonic() >= self.deadline and not exhausted:
                exhausted = True  # out of time: finish what is in flight, start nothing new
                self.retry.clear()
                log.info("time is up; finishing the units in flight")
            for slot in self.slots:
                while slot.up and len(slot.queue) < self.spec.per_triad:
                    unit = self.retry.popleft() if self.retry else None
                    if unit is None and not exhausted:
                        unit = next(todo, None)
                        exhausted = unit is None
                    if unit is None:
                        break
                    self._submit(slot, unit)
            suspects = any(slot.suspect is not None for slot in self.slots)
            if not self.inflight and not self.retry and exhausted and not suspects:
                return True
            now = time.monotonic()
            for slot in self.slots:
                if slot.ping_at is not None and now >= slot.ping_at:
                    self._ping(slot)
            up = sum(s.up for s in self.slots)
            self.progress.triads_up = up
            if up:
                last_up = now
            elif now - last_up > self.stall_s:
                log.error("no triad could be placed; stopping", waited_s=round(now - last_up))
                return False
            waitables = list(self.inflight) + list(self.pings)
            timeout = self._next_deadline(now)
            if not waitables:
                time.sleep(timeout)
                continue
            ready, _ = self.ray.wait(waitables, num_returns=1, timeout=timeout)
            if ready:
                ready, _ = self.ray.wait(waitables, num_returns=len(waitables), timeout=0)
            for ref in ready:
                if ref in self.pings:
                    self._pinged(ref)
                elif ref in self.inflight:
                    self._finished(self.inflight[ref])
            self._check_deadlines(time.monotonic())
            self._check_suspects(time.monotonic())

    def _submit(self, slot: _Slot, unit: WorkUnit) -> None:
        if not slot.queue:
            slot.head_since = time.monotonic()
        ref = slot.actor.run_unit.remote(self.refs[unit.scenario_index], unit.mode,
                                         unit.seed_index, unit.activities)
        flight = _Flight(ref, unit, slot)
        slot.queue.append(flight)
        self.inflight[ref] = flight

    def _next_deadline(self, now: float) -> float:
        heads = [s.head_since + self.spec.unit_timeout_s for s in self.slots if s.queue and s.up]
        heads += [s.ping_at for s in self.slots if s.ping_at is not None]
        return max(0.05, min([1.0] + [d - now for d in heads]))

    def _check_deadlines(self, now: float) -> None:
        for slot in self.slots:
            if slot.up and slot.queue and now - slot.head_since > self.spec.unit_timeout_s:
                head = slot.queue[0]
                log.warning("unit timed out; restarting its triad", unit=head.unit.label,
                            triad=slot.index, timeout_s=self.spec.unit_timeout_s)
                try:
                    self.ray.kill(slot.actor, no_restart=False)
                except Exception:  # already dead: the restart is under way
                    pass
                self._down(slot, head, "timeout",
                           f"ran past {self.spec.unit_timeout_s:g} s; its triad was restarted")

    def _finished(self, flight: _Flight) -> None:
        slot = flight.slot
        try:
            result = self.ray.get(flight.ref)
        except self.infra as err:
            self._died(slot, err)
            return
        except self.task_error as err:  # the runner itself raised: a result, not a fault
            result = {"status": "error", "coherent": False, "seconds": 0.0, "node": slot.node,
                      "detail": {"error": str(err)[:4000]}}
        self._take(flight)
        self._record(flight.unit, result)

    def _take(self, flight: _Flight) -> None:
        slot = flight.slot
        del self.inflight[flight.ref]
        was_head = slot.queue and slot.queue[0] is flight
        slot.queue.remove(flight)
        if was_head:
            slot.head_since = time.monotonic()

    def _died(self, slot: _Slot, err: BaseException) -> None:
        """The triad of ``slot`` died: record what finished before, blame what was running."""
        culprit = None
        for flight in list(slot.queue):
            ready, _ = self.ray.wait([flight.ref], timeout=0)
            if not ready:
                culprit = flight
                break
            try:
                result = self.ray.get(flight.ref)
            except Exception:
                culprit = flight
                break
            self._take(flight)
            self._record(flight.unit, result)
        if culprit is None:
            return
        kind = self._classify(err, slot)
        self._down(slot, culprit, kind, str(err).strip().splitlines()[0][:300] if str(err)
                   else type(err).__name__)

    def _alive(self, slot: _Slot) -> bool:
        try:
            alive = {n["NodeID"] for n in self.ray.nodes() if n.get("Alive")}
        except Exception:  # cannot tell: assume the node is there
            return True
        return not slot.node or slot.node in alive

    def _classify(self, err: BaseException, slot: _Slot) -> str | None:
        """``dead_worker``, ``lost_node``, or None when it cannot be told yet (unreachable)."""
        text = str(err).lower()
        if "node" in text and any(w in text for w in ("died", "dead", "removed", "lost")):
            if "worker process" not in text:
                return "lost_node"
        if not self._alive(slot):
            return "lost_node"
        return None if isinstance(err, self.unavailable) else "dead_worker"

    def _down(self, slot: _Slot, culprit: _Flight, kind: str | None, message: str) -> None:
        """Take ``slot`` out of service; blame ``culprit`` by ``kind`` (None: once it answers)."""
        queued = list(slot.queue)
        for flight in queued:
            self.inflight.pop(flight.ref, None)
        slot.queue.clear()
        for flight in reversed(queued):
            if flight is not culprit:
                self.retry.appendleft(flight.unit)
        self._ping(slot)
        if kind is None:
            slot.suspect = (culprit.unit, message, slot.pid, time.monotonic())
            return
        self._blame(slot, culprit.unit, kind, message)

    def _blame(self, slot: _Slot, unit: WorkUnit, kind: str, message: str) -> None:
        self.ledger.incident(unit.unit_id, kind, message, slot.node)
        counts = self.strikes.setdefault(unit.unit_id, {})
        counts[kind] = counts.get(kind, 0) + 1
        blamed = sum(counts.get(k, 0) for k in BLAMED)
        total = sum(counts.values())
        self.progress.incidents += 1
        log.warning("infrastructure failure", unit=unit.label, kind=kind, blamed=blamed,
                    incidents=total, triad=slot.index)
        if blamed >= self.spec.quarantine_after:
            self._record(unit, self._final("quarantined", unit, counts))
        elif total > self.spec.retries:
            self._record(unit, self._final("lost", unit, counts))
        else:
            self.retry.appendleft(unit)
        if self.on_progress is not None:
            self.on_progress(self.progress)

    def _final(self, status: str, unit: WorkUnit, counts: dict[str, int]) -> dict[str, Any]:
        why = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        return {"status": status, "coherent": False, "seconds": 0.0, "node": None,
                "detail": {"incidents": counts, "reason": f"{status} after {why}"}}

    def _record(self, unit: WorkUnit, result: dict[str, Any]) -> None:
        counts = self.strikes.pop(unit.unit_id, {})
        row = {
            "unit_id": unit.unit_id, "scenario": unit.scenario, "kernel": unit.kernel,
            "mode": unit.mode, "activities": ",".join(f"{n}:{a}" for n, a in unit.activities),
            "seed_index": unit.seed_index, "seed": unit.seed, "status": result["status"],
            "coherent": result["coherent"], "max_abs_err": result.get("max_abs_err"),
            "max_rel_err": result.get("max_rel_err"), "seconds": result["seconds"],
            "attempts": 1 + sum(counts.values()), "node": result.get("node"),
            "detail": result.get("detail"),
        }
        if self.ledger.record(row):
            self.progress.done += 1
            self.progress.failures += result["status"] != "passed"
            self.progress.last = unit.label
        if self.on_progress is not None:
            self.on_progress(self.progress)

    def close(self) -> None:
        for slot in self.slots:
            try:
                self.ray.kill(slot.actor, no_restart=True)
            except Exception:  # already gone
                pass


def _connect(cfg: TriadConfig, address: str | None):
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    address = address or cfg.ray.address or os.environ.get("RAY_ADDRESS")
    if address is None and ray.is_initialized():
        return ray, False
    if address is not None:
        ray.init(address=address, namespace=cfg.ray.namespace, log_to_driver=False,
                 configure_logging=False)
    else:
        ray.init(**cfg.ray.init_kwargs(), log_to_driver=False, configure_logging=False)
    return ray, True


def run_sweep(spec: SweepSpec, scenarios: Sequence[Scenario], cfg: TriadConfig, ledger: Ledger,
              *, address: str | None = None,
              on_progress: Callable[[SweepProgress], None] | None = None,
              on_start: Callable[[SweepProgress, TriadPlan], None] | None = None,
              stall_s: float | None = None) -> SweepOutcome:
    """Run the units of ``spec`` the ledger lacks (see the module contract)."""
    start = time.perf_counter()
    skipped: dict[str, str] = {}
    runnable = []
    for sc in scenarios:
        lacking = missing_features(sc.requires)
        if lacking:
            skipped[sc.name] = "; ".join(f"requires {k}: {v}" for k, v in lacking.items())
            log.warning("scenario skipped", scenario=sc.name, reason=skipped[sc.name])
        else:
            runnable.append(sc)
    planned = count_units(spec, runnable)
    todo_n = sum(1 for _ in ledger.missing(plan_units(spec, runnable, cfg)))
    ledger.set_meta(name=spec.name, version=__version__, planned=planned,
                    spec=spec.model_dump(mode="json"), skipped=skipped,
                    scenarios=[sc.name for sc in runnable])
    ledger.start_run(planned, todo_n)
    progress = SweepProgress(total=todo_n)
    if todo_n == 0:
        ledger.finish_run()
        return SweepOutcome(planned, 0, 0, skipped, 0, False, time.perf_counter() - start)
    count, gpu, finished = run_units(
        spec, runnable, lambda: ledger.missing(plan_units(spec, runnable, cfg)), todo_n, cfg, ledger,
        progress, address=address, on_progress=on_progress, on_start=on_start, stall_s=stall_s)
    ledger.finish_run()
    return SweepOutcome(planned, todo_n, progress.done, skipped, count, gpu,
                        time.perf_counter() - start, stopped_early=not finished)


def run_units(spec: Any, payloads: Sequence[Any], todo: Callable[[], Any], todo_n: int, cfg: Any,
              ledger: Ledger, progress: SweepProgress, *, triad: type = SweepTriad,
              use_gpus: bool = True, address: str | None = None,
              on_progress: Callable[[SweepProgress], None] | None = None,
              on_start: Callable[[SweepProgress, TriadPlan], None] | None = None,
              stall_s: float | None = None, deadline: float | None = None) -> tuple[int, bool, bool]:
    """Run the units ``todo()`` yields on actors of ``triad`` and record each result.

    The engine of :func:`run_sweep`, for any unit source: ``payloads[unit.scenario_index]`` is put
    in Ray's object store once and passed to ``triad.run_unit(payload, unit.mode,
    unit.seed_index, unit.activities)``, which returns the result dict the ledger records.
    ``spec`` gives ``triads``, ``per_triad``, ``unit_timeout_s``, ``retries`` and
    ``quarantine_after``. ``use_gpus``: one triad per GPU where the cluster has GPUs (else, and
    when False, one per CPU). ``deadline`` (``time.monotonic()``): start no unit after it.
    Returns (triads started, whether they held GPUs, whether every unit was run).
    """
    ray, started = _connect(cfg, address)
    runner = None
    pg = None
    try:
        resources = ray.cluster_resources()
        if not use_gpus:
            resources = {k: v for k, v in resources.items() if k != "GPU"}
        plan = plan_triads(resources, spec.triads, todo_n)
        if on_start is not None:
            on_start(progress, plan)
        cls = ray.remote(triad)
        base = {"max_restarts": -1, "max_task_retries": 0, "num_cpus": 1}
        if plan.gpu:
            from ray.util.placement_group import placement_group
            from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

            pg = placement_group([{"CPU": 1, "GPU": 1}] * plan.count, strategy="SPREAD")

            def options(i: int) -> dict[str, Any]:
                return {**base, "num_gpus": 1, "scheduling_strategy":
                        PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=i)}
        else:
            def options(i: int) -> dict[str, Any]:
                return {**base, "scheduling_strategy": "SPREAD"}
        log.info("run starting", name=spec.name, todo=todo_n, triads=plan.count, gpu=plan.gpu)
        refs = [ray.put(p) for p in payloads]
        runner = _Runner(ray, cfg, spec, ledger, refs, cls, options,
                         progress, on_progress,
                         stall_s if stall_s is not None else max(300.0, spec.unit_timeout_s),
                         deadline)
        runner.start(plan.count)
        finished = runner.run(iter(todo()))
        return plan.count, plan.gpu, finished
    finally:
        if runner is not None:
            runner.close()
        if pg is not None:
            from ray.util.placement_group import remove_placement_group

            remove_placement_group(pg)
        if started:
            ray.shutdown()
