"""In-process embedding of the triad: :class:`Triad`, and message handlers for a host's own loop.

Contract:

* ``Triad(backend="local" | "ray").run(scenario)`` runs scenarios (a path, a
  :class:`~adtriad.agents.Scenario`, or a list of them) through the orchestrator and returns the
  :class:`~adtriad.agents.RunReport`, exactly as ``triad run`` does. ``backend="local"`` runs the
  agents as plain objects in this process and never imports or starts Ray; ``backend="ray"``
  runs them as Ray actors (joining ``address``, a Ray already initialised here, or a local
  instance it starts and stops). :meth:`Triad.arun` is the same call for an asyncio loop: the
  work runs in the Triad's own worker thread, the loop stays free.
* ``Triad().agents(scenario, mode)`` gives the three agents as message handlers, one per
  :class:`~adtriad.protocol.Role`: ``handler.handle(msg)`` takes a
  :class:`~adtriad.protocol.TriadMessage` (or its JSON text) and returns the reply message or
  ``None``; ``await handler.ahandle(msg)`` does the same from a foreign event loop, in the
  Triad's worker thread. A handler answers only messages addressed to its role, so a host may
  hand every message to every handler (a bus). The tempering agent, the verifier, also keeps
  the kernel message of each round it opened, so it must see every message of its rounds (on
  a bus it does). :meth:`TemperingHandler.open_round` starts a round.
* A round driven by messages: seed (tempering → gpu_kernels), kernel (gpu_kernels → autodiff),
  gradients (autodiff → tempering), then the tempering agent's side requests, each answered
  before the next is sent: the dot-product probes (kernel messages tempering → autodiff, round
  ids ``<round>:probe-Forward`` / ``<round>:probe-Reverse``) and the round asked again (a seed
  message with round id ``<round>:again``); finally the verdict (tempering → autodiff). The
  messages whose ``round_id`` is the round's own are the round's log, which
  :func:`adtriad.protocol.check_round` judges.
* Work that touches the AD engine in this process is serialised by one process-wide lock
  (:data:`ENGINE_LOCK`), so handlers, runs and the MCP server may share a process.
* A JSON message that does not validate raises ``pydantic.ValidationError`` naming the field;
  it never reaches an agent. An agent's own failure comes back as an error message.

Example: a host loop that drives the three agents by messages alone.

    >>> import asyncio
    >>> from adtriad import Triad
    >>> from adtriad.protocol import check_round
    >>> async def host(path):
    ...     with Triad(backend="local") as triad:
    ...         agents = triad.agents(path)              # Role -> handler
    ...         bus = [agents["tempering"].open_round(0)]
    ...         log = []
    ...         while bus:
    ...             msg = bus.pop(0)
    ...             log.append(msg)
    ...             for handler in agents.values():      # only msg.to answers
    ...                 reply = await handler.ahandle(msg)
    ...                 if reply is not None:
    ...                     bus.append(reply)
    ...     round_log = [m for m in log if m.round_id == log[0].round_id]
    ...     return round_log[-1].payload.passed, check_round(round_log).coherent
    >>> asyncio.run(host("scenarios/test1_reverse_scalar.yaml"))  # doctest: +SKIP
    (True, True)
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from adtriad.protocol import ErrorPayload, Role, TriadMessage

if TYPE_CHECKING:
    from adtriad.agents import RoundReport, RunReport, Scenario
    from adtriad.config import TriadConfig

__all__ = [
    "ENGINE_LOCK",
    "AgentHandler",
    "AutodiffHandler",
    "KernelHandler",
    "TemperingHandler",
    "Triad",
    "parse_message",
    "round_log",
    "scenario_from_yaml",
]

ENGINE_LOCK = threading.RLock()
"""Held while the AD engine works in this process (its caches are per process)."""

Backend = Literal["local", "ray"]


def parse_message(msg: TriadMessage | str | bytes | dict) -> TriadMessage:
    """``msg`` as a :class:`TriadMessage`: JSON text, bytes or a decoded JSON object are
    validated (``pydantic.ValidationError`` names the bad field); a message passes through."""
    if isinstance(msg, TriadMessage):
        return msg
    if isinstance(msg, dict):
        import json

        msg = json.dumps(msg)
    if isinstance(msg, str | bytes | bytearray):
        return TriadMessage.model_validate_json(msg)
    raise TypeError(f"expected a TriadMessage or its JSON, got {type(msg).__name__}")


def scenario_from_yaml(text: str, label: str = "<inline>") -> Scenario:
    """A scenario from YAML text, validated and resolved as a scenario file is.

    Errors are :class:`~adtriad.agents.ScenarioError`\\ s that say ``<label>:LINE: FIELD: ...``.
    A ``ref: file.py:function`` in the text is relative to the working directory;
    ``module:function``, ``builtin`` and inline ``source`` work as in a file.
    """
    from adtriad.agents.loading import scenario_from_text

    return scenario_from_text(text, label)


def _load(item: Any) -> Scenario:
    from adtriad.agents import Scenario, load_scenario

    if isinstance(item, Scenario):
        return item
    if isinstance(item, str | Path):
        return load_scenario(item)
    raise TypeError(f"a scenario is a path or a Scenario, got {type(item).__name__}")


def _load_all(scenarios: Any) -> list[Scenario]:
    from adtriad.agents import Scenario, ScenarioError

    if isinstance(scenarios, str | Path | Scenario):
        return [_load(scenarios)]
    loaded, problems = [], []
    for item in scenarios:
        try:
            loaded.append(_load(item))
        except ScenarioError as err:
            problems.append(str(err))
    if problems:
        raise ScenarioError("\n".join(problems))
    return loaded


class Triad:
    """The triad, embedded: run scenarios, or drive the agents message by message.

    Args:
        backend: ``"local"`` (plain objects in this process, no Ray) or ``"ray"`` (actors).
        config: a :class:`~adtriad.config.TriadConfig`, a YAML config file, or ``None`` for
            the layered defaults (``$TRIAD_CONFIG``, ``TRIAD_*`` variables).
        address: a Ray cluster to join (``backend="ray"`` only).

    Examples:
        >>> Triad(backend="local").backend
        'local'
    """

    def __init__(self, backend: Backend = "local", *,
                 config: TriadConfig | str | Path | None = None,
                 address: str | None = None) -> None:
        if backend not in ("local", "ray"):
            raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
        from adtriad.config import TriadConfig, load_config

        cfg = config if isinstance(config, TriadConfig) else load_config(config)
        if address is not None:
            cfg = cfg.model_copy(update={"ray": cfg.ray.model_copy(update={"address": address})})
        self.backend: Backend = backend
        self.config: TriadConfig = cfg
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    # -- running scenarios ------------------------------------------------------------------

    def run(self, scenarios: Any, *, seeds: int | None = None,
            on_round: Callable[[RoundReport, int, int], None] | None = None) -> RunReport:
        """Run ``scenarios`` (a path, a Scenario, or an iterable of them) and return the report.

        ``seeds`` overrides each scenario's rounds per mode; ``on_round(report, done, total)``
        is called as rounds finish. Raises :class:`~adtriad.agents.ScenarioError` for a bad file.
        """
        from adtriad.agents import run_scenarios

        loaded = _load_all(scenarios)
        if self.backend == "local":
            with ENGINE_LOCK:
                return run_scenarios(loaded, self.config, backend="local", seeds=seeds,
                                     on_round=on_round)
        return run_scenarios(loaded, self.config, backend="ray", seeds=seeds, on_round=on_round)

    async def arun(self, scenarios: Any, *, seeds: int | None = None,
                   on_round: Callable[[RoundReport, int, int], None] | None = None) -> RunReport:
        """:meth:`run` for an asyncio loop (runs in this Triad's worker thread)."""
        call = functools.partial(self.run, scenarios, seeds=seeds, on_round=on_round)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    # -- message handlers -------------------------------------------------------------------

    def agents(self, scenario: Any, mode: str | None = None) -> dict[Role, AgentHandler]:
        """The three agents of rounds of ``scenario`` in ``mode`` (default: its first mode).

        Returns a dict ``Role -> handler`` (``Role`` is a ``str`` enum, so ``"tempering"``
        works as a key). The handlers run in this process whatever the backend.
        """
        from adtriad.agents import AutodiffAgent, KernelAgent, TemperingAgent

        sc = _load(scenario)
        mode = mode or sc.modes[0]
        if mode not in sc.modes:
            raise ValueError(f"scenario {sc.name!r} runs in {', '.join(sc.modes)}, not {mode!r}")
        cache = str(self.config.engine.cache_dir)
        return {
            Role.tempering: TemperingHandler(
                TemperingAgent(tolerances=self.config.tolerances, cache_dir=cache), sc, mode,
                self),
            Role.gpu_kernels: KernelHandler(KernelAgent(), sc, mode, self),
            Role.autodiff: AutodiffHandler(AutodiffAgent(
                cache_dir=cache, checkpoint_memory=self.config.engine.checkpoint_memory), self),
        }

    # -- the worker thread ------------------------------------------------------------------

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The one worker thread that async calls run in (made on first use)."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adtriad")
            return self._executor

    def close(self) -> None:
        """Stop the worker thread (waits for the call in progress)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def __enter__(self) -> Triad:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Triad(backend={self.backend!r})"


class AgentHandler:
    """One agent as a message handler: ``handle(msg) -> reply | None`` (see the module)."""

    role: Role

    def __init__(self, triad: Triad) -> None:
        self._triad = triad

    def handle(self, msg: TriadMessage | str | bytes | dict) -> TriadMessage | None:
        """The reply to ``msg``, or ``None`` when this agent has nothing to say to it."""
        msg = parse_message(msg)
        with ENGINE_LOCK:
            return self._handle(msg)

    __call__ = handle

    async def ahandle(self, msg: TriadMessage | str | bytes | dict) -> TriadMessage | None:
        """:meth:`handle` from an asyncio loop, run in the Triad's worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._triad.executor, self.handle, msg)

    def _handle(self, msg: TriadMessage) -> TriadMessage | None:  # pragma: no cover
        raise NotImplementedError

    def _refuse(self, msg: TriadMessage, to: Role, error_type: str, text: str) -> TriadMessage:
        payload = ErrorPayload(error_type=error_type, message=text,
                               where=f"{self.role.value} agent")
        return TriadMessage(sender=self.role, to=to, payload=payload, seed=msg.seed,
                            round_id=msg.round_id)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.role.value}>"


class KernelHandler(AgentHandler):
    """gpu_kernels: answers a seed message with the kernel message of the bound scenario."""

    role = Role.gpu_kernels

    def __init__(self, agent: Any, scenario: Scenario, mode: str, triad: Triad) -> None:
        super().__init__(triad)
        self.agent, self.scenario, self.mode = agent, scenario, mode

    def _handle(self, msg: TriadMessage) -> TriadMessage | None:
        if msg.to is not self.role or msg.payload.kind != "seed":
            return None
        named = msg.payload.scenario
        if named is not None and named != self.scenario.name:
            return self._refuse(msg, Role.autodiff, "UnknownScenario",
                                f"this kernel agent serves scenario {self.scenario.name!r}, "
                                f"not {named!r}")
        return self.agent.provide(msg, self.scenario, self.mode)


class AutodiffHandler(AgentHandler):
    """autodiff: answers a kernel message with a gradients message (any scenario)."""

    role = Role.autodiff

    def __init__(self, agent: Any, triad: Triad) -> None:
        super().__init__(triad)
        self.agent = agent

    def _handle(self, msg: TriadMessage) -> TriadMessage | None:
        if msg.to is not self.role or msg.payload.kind != "kernel":
            return None
        return self.agent.differentiate(msg)


@dataclass
class _RoundState:
    messages: Any  # the round's RoundMessages, filled as its messages pass
    pending: str | None = None  # the round-id suffix of the side request awaiting its answer
    done: bool = False


class TemperingHandler(AgentHandler):
    """tempering: opens rounds, witnesses their kernel messages, and closes them with a verdict."""

    role = Role.tempering

    def __init__(self, agent: Any, scenario: Scenario, mode: str, triad: Triad) -> None:
        super().__init__(triad)
        self.agent, self.scenario, self.mode = agent, scenario, mode
        self._rounds: dict[str, _RoundState] = {}

    def open_round(self, index: int = 0) -> TriadMessage:
        """The seed message of round ``index`` (tempering → gpu_kernels)."""
        from adtriad.agents.rounds import RoundMessages

        sc = self.scenario
        msg = self.agent.open_round(sc.name, sc.master_seed, index, self.mode)
        self._rounds[msg.round_id] = _RoundState(RoundMessages(seed=msg))
        return msg

    def _split(self, round_id: str) -> tuple[_RoundState | None, Any]:
        from adtriad.agents.rounds import SIDE_REQUESTS

        for side in SIDE_REQUESTS:
            if round_id.endswith(side.suffix):
                return self._rounds.get(round_id[: -len(side.suffix)]), side
        return self._rounds.get(round_id), None

    def _handle(self, msg: TriadMessage) -> TriadMessage | None:
        state, side = self._split(msg.round_id)
        if state is None or state.done:
            return None
        m, kind = state.messages, msg.payload.kind
        if side is None:
            if kind == "kernel" or (kind == "error" and msg.sender is Role.gpu_kernels):
                m.kernel = msg
            elif msg.to is self.role and kind in ("gradients", "error"):
                m.gradients = msg
            if kind == "error":
                state.done = True  # the round failed upstream; its log ends here
                return None
            if m.gradients is None or msg.to is not self.role:
                return None
            if m.kernel is None:
                state.done = True
                return self._refuse(msg, Role.autodiff, "MissingKernel",
                                    f"the tempering agent never saw the kernel message of round "
                                    f"{msg.round_id}; deliver every message of a round to the "
                                    "tempering handler too (it is the verifier)")
            return self._next(state)
        if side.probe_mode is None and kind in ("kernel", "error") and msg.sender is Role.gpu_kernels:
            setattr(m, side.asked, msg)  # the kernel of the round asked again
            if kind == "kernel":
                return None
        if msg.to is not self.role and kind != "error":
            return None
        if state.pending != side.suffix:
            return None
        setattr(m, side.answered, msg)
        state.pending = None
        return self._next(state)

    def _next(self, state: _RoundState) -> TriadMessage | None:
        """The next side request of the round, or its verdict once every answer is in."""
        from adtriad.agents.rounds import SIDE_REQUESTS

        m = state.messages
        for side in SIDE_REQUESTS:
            if side.check not in self.scenario.checks or getattr(m, side.answered) is not None:
                continue
            if side.probe_mode is None:  # the round asked again: the same seed, a new round id
                state.pending = side.suffix
                return m.seed.model_copy(update={"round_id": m.seed.round_id + side.suffix})
            if getattr(m, side.asked) is not None:
                continue  # asked, and found not to apply
            probe = self.agent.probe(m.kernel, side.probe_mode)
            setattr(m, side.asked, probe if probe is not None else False)
            if probe is not None and probe.payload.kind == "kernel":
                state.pending = side.suffix
                return probe
        state.done = True
        side_messages = [None if x is False else x for x in m.side()]  # False: did not apply
        return self.agent.verify(m.seed, m.kernel, m.gradients, *side_messages, self.scenario)


def round_log(messages: Iterable[TriadMessage], round_id: str) -> list[TriadMessage]:
    """The messages of round ``round_id`` (its side requests left out), in order."""
    return [m for m in messages if m.round_id == round_id]

