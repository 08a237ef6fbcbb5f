"""``triad mcp``: the triad as a Model Context Protocol server over stdio.

Contract:

* :func:`build_server` returns an MCP server (the ``mcp`` package, an optional extra:
  ``pip install 'adtriad[mcp]'``) with these tools; each has a typed input schema and a
  structured output (``structuredContent`` matching its ``outputSchema``):

  - ``differentiate``: a function's source, its entry name, the mode, activities and inputs →
    the derivatives (per argument), primal and tangent, and on request the generated
    derivative source. The autodiff agent does the work.
  - ``verify``: a kernel (built-in name, ``module:function``/``file.py:function`` or inline
    source), its arguments and a master seed → the tempering agent's verdict on that round
    (every check, the round seed, GF(3) coherence).
  - ``run_scenario``: a scenario file or inline YAML → the run report of ``triad run``.
  - ``sweep_start`` / ``sweep_status``: scenarios × seeds run in a background thread; the start
    returns an id at once; the status call answers with the counts so far and, given
    ``wait_seconds``, sends the protocol's progress notifications (``notifications/progress``
    for the call's progress token) until the sweep ends or the wait is over.
  - ``list_kernels``: the built-in kernels, their parameters and what they compute.
  - ``fuzz``: generated programs from a seed, differentiated in the given modes and checked
    against dual numbers (``triad fuzz``'s checks, in this process) → counts per class and
    mode, refusals grouped, and the failures shrunk.

* Bad arguments come back as tool errors (``isError: true``, as MCP asks for input errors)
  whose text names the argument and what is wrong; requests that break the protocol itself are
  answered with JSON-RPC errors by the SDK. An engine refusal (``ADError``) and an agent's
  failure are tool errors too.
* :func:`serve` runs the server on stdin/stdout. From its start, nothing but MCP messages
  reaches the real stdout: file descriptor 1 is pointed at stderr (so stray ``print``\\ s,
  engine output and child processes write there), ``sys.stdout`` is stderr, and the protocol
  uses a private duplicate of the original stdout. Logs go to stderr.
* Scenarios run on the ``local`` backend by default (in this process, no Ray start-up); a tool
  call may ask for ``ray``. Engine work is serialised (:data:`adtriad.facade.ENGINE_LOCK`) and
  runs in worker threads, so the server keeps answering (pings, sweep status) meanwhile.
* The server runs the code it is sent (kernel sources are imported) with the server's
  privileges: serve trusted clients only (stdio serves the process that started it).
"""

import inspect
import itertools
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from io import TextIOWrapper
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from adtriad import __version__
from adtriad.agents.report import ErrorInfo, RoundReport, RunReport
from adtriad.agents.scenario import Argument, CheckName, KernelSpec, ScenarioTolerance
from adtriad.facade import ENGINE_LOCK, Triad, scenario_from_yaml
from adtriad.protocol import (AUTODIFF_MODES, FORWARD_MODES, SHADOWED_ACTIVITIES, U64, Activity,
                              CheckResult, Mode)

__all__ = [
    "DifferentiateResult",
    "KernelInfo",
    "KernelList",
    "SweepStarted",
    "SweepStatus",
    "VerifyResult",
    "build_server",
    "sdk_missing",
    "serve",
]

BackendName = Literal["local", "ray"]
MAX_WAIT = 600.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


# -- inputs -----------------------------------------------------------------------------------

class TypedArray(_Model):
    """An array with an explicit dtype: ``{"values": [[1, 2], [3, 4]], "dtype": "float32"}``."""

    values: list[Any]
    """The elements, as nested lists."""
    dtype: Literal["float32", "float64", "int32", "int64"] = "float64"
    """The NumPy dtype."""


InputValue = float | int | bool | list[Any] | TypedArray
"""A number (an int stays an int unless its argument is differentiated), a nested list (a
float64 array), or a :class:`TypedArray`."""

OutputValue = float | int | bool | list[Any]
"""A number, or an array as nested lists."""


# -- outputs ----------------------------------------------------------------------------------

class DifferentiateResult(_Model):
    """What ``differentiate`` returns."""

    entry: str
    """The function differentiated."""
    mode: Mode
    """The mode it was differentiated in."""
    activities: dict[str, Activity]
    """The activity used for each argument, in call order (defaults filled in)."""
    derivatives: dict[str, OutputValue | None]
    """Per argument: the derivative of an ``Active`` one, the shadow after the call of a
    shadowed one (the accumulated adjoint in reverse modes, the tangent in forward modes; batched
    shadows stacked along a leading axis), ``null`` for a ``Const`` one."""
    primal: OutputValue | None = None
    """The function's result, where the mode computes it."""
    tangent: OutputValue | None = None
    """Forward modes: the tangent of the result."""
    derivative_source: str | None = None
    """The generated derivative code, when asked for."""
    seconds: float
    """Wall time of the call."""


class VerifyResult(_Model):
    """The tempering agent's verdict on one round."""

    round_id: str
    """``<name>/<mode>/0``."""
    round_seed: U64
    """The round's seed, spawned from the master seed."""
    status: Literal["passed", "failed", "error", "skipped"]
    """``passed``, ``failed`` (a check failed), ``error`` (an agent could not do its part) or
    ``skipped`` (an engine feature the kernel needs has not landed)."""
    passed: bool
    """True when every check passed."""
    coherent: bool
    """Whether the round's message log is GF(3)-coherent."""
    checks: list[CheckResult] = []
    """Every check of the verdict (oracle comparisons with their errors and tolerances)."""
    error: ErrorInfo | None = None
    """What stopped the round, if it did not reach a verdict."""
    detail: str = ""
    """Why the round was skipped, or the coherence violations."""
    seconds: float
    """Wall time of the call."""


class FuzzResult(_Model):
    """What a fuzzing run found: programs per class and per mode, refusals grouped, the
    failures (wrong, crash, primal or state mismatch) with their shrunk source."""

    programs: int
    counts: dict[str, int]
    modes: dict[str, dict[str, int]]
    refusals: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    seconds: float


class KernelInfo(_Model):
    """One built-in kernel."""

    name: str
    """Its name (``kernel: {builtin: NAME}`` in a scenario, ``{"builtin": NAME}`` in verify)."""
    parameters: list[str]
    """Its parameters, in call order."""
    description: str
    """What it computes."""
    source: str
    """The function's source."""


class KernelList(_Model):
    """What ``list_kernels`` returns."""

    kernels: list[KernelInfo]
    """The built-in kernels."""


class SweepStarted(_Model):
    """What ``sweep_start`` returns."""

    sweep_id: str
    """Pass it to ``sweep_status``."""
    scenarios: list[str]
    """The scenarios' names, in order."""
    seeds: int
    """Rounds per scenario and mode."""
    backend: BackendName
    """Where the rounds run."""


class SweepRound(_Model):
    """One finished round of a sweep."""

    round_id: str
    """``<scenario>/<mode>/<index>``."""
    seed: U64
    """The round's seed."""
    status: Literal["passed", "failed", "error"]
    """Its status."""
    coherent: bool
    """Whether its message log is GF(3)-coherent."""


class SweepStatus(_Model):
    """What ``sweep_status`` returns."""

    sweep_id: str
    """The sweep."""
    state: Literal["running", "finished", "failed"]
    """``finished`` once every round ran (whatever their outcome); ``failed`` when the sweep
    itself could not go on (see ``error``)."""
    done: int
    """Rounds finished so far."""
    total: int | None
    """Rounds to run (``null`` until counted)."""
    passed: int
    """Rounds that passed."""
    failed: int
    """Rounds with a failed check."""
    errors: int
    """Rounds an agent could not finish."""
    rounds: list[SweepRound] = []
    """The finished rounds, in the order they finished."""
    report: RunReport | None = None
    """The full run report, once finished."""
    error: str | None = None
    """Why the sweep failed, when it did."""
    seconds: float
    """Time since the sweep started (its whole length once it ended)."""


# -- conversions ---------------------------------------------------------------------------

def sdk_missing() -> str | None:
    """Why the MCP SDK cannot be used here, or ``None`` when it can."""
    try:
        import mcp  # noqa: F401
    except ImportError:
        return "triad mcp needs the MCP SDK (the 'mcp' package): pip install 'adtriad[mcp]'"
    return None


def _tool_error() -> type[Exception]:
    try:
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError:  # mcp 1.x
        from mcp.server.fastmcp.exceptions import ToolError
    return ToolError


def _to_array(name: str, value: Any, what: str):
    import numpy as np

    if isinstance(value, TypedArray):
        data, dtype = value.values, value.dtype
    else:
        data, dtype = value, "float64"
    try:
        out = np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what}.{name}: not a rectangular {dtype} array ({err})") from None
    return np.ascontiguousarray(out)


def _value(name: str, value: Any, activity: str, what: str = "inputs") -> Any:
    if isinstance(value, list | TypedArray):
        return _to_array(name, value, what)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and activity != "Const":
        return float(value)
    return value


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _shadow(name: str, given: Any, value: Any, forward: bool, activity: str) -> Any:
    import numpy as np

    if activity.startswith("Batch"):
        if given is None:
            raise ValueError(f"shadows.{name}: {activity} needs its shadows, stacked along a "
                             "new leading axis (one row per direction)")
        return _to_array(name, given, "shadows")
    if given is None:
        given = 1.0 if forward else 0.0
    if isinstance(value, np.ndarray):
        if isinstance(given, list | TypedArray):
            out = _to_array(name, given, "shadows").astype(value.dtype)
            if out.shape != value.shape:
                raise ValueError(f"shadows.{name}: shape {list(out.shape)} is not the input's "
                                 f"{list(value.shape)}")
            return out
        return np.full(value.shape, given, dtype=value.dtype)
    if isinstance(given, list | TypedArray):
        raise ValueError(f"shadows.{name}: the input is a scalar, so its shadow is a number")
    return float(given)


def _default_activity(value: Any, forward: bool) -> str:
    import numpy as np

    if isinstance(value, np.ndarray):
        return "Duplicated" if value.dtype.kind == "f" else "Const"
    if isinstance(value, float):
        return "Duplicated" if forward else "Active"
    return "Const"


class _Differentiator:
    """The autodiff agent behind the ``differentiate`` tool."""

    def __init__(self, triad: Triad) -> None:
        self.triad = triad
        self._agent = None
        self._count = itertools.count()

    @property
    def agent(self):
        if self._agent is None:
            from adtriad.agents import AutodiffAgent

            engine = self.triad.config.engine
            self._agent = AutodiffAgent(cache_dir=str(engine.cache_dir),
                                        checkpoint_memory=engine.checkpoint_memory)
        return self._agent

    def __call__(self, source: str, entry: str, inputs: dict[str, Any], mode: str,
                 activities: dict[str, str] | None, shadows: dict[str, Any] | None,
                 return_activity: str | None, want_source: bool) -> DifferentiateResult:
        import numba

        from adtriad import ad_core
        from adtriad.agents.sourcefile import load_kernel
        from adtriad.protocol import KernelPayload, Role, TriadMessage

        start = time.perf_counter()
        if not entry.isidentifier():
            raise ValueError(f"entry: {entry!r} is not a Python identifier")
        with ENGINE_LOCK:
            try:
                func = load_kernel(source, entry, self.agent.kernel_dir)
            except SyntaxError as err:
                raise ValueError(f"source: not valid Python (line {err.lineno}: {err.msg})") \
                    from None
            except AttributeError:
                raise ValueError(f"entry: the source defines no function {entry!r}") from None
            except Exception as err:
                raise ValueError(f"source: importing it raised {type(err).__name__}: {err}") \
                    from None
            params = _parameters(func, entry)
            if set(inputs) != set(params):
                raise ValueError(
                    f"inputs: {entry}({', '.join(params)}) takes {', '.join(params) or 'nothing'}"
                    f"; got {', '.join(inputs) or 'nothing'}")
            acts = dict(activities or {})
            unknown = sorted(set(acts) - set(params))
            if unknown:
                raise ValueError(f"activities: {', '.join(unknown)} not a parameter of "
                                 f"{entry}({', '.join(params)})")
            forward = mode in FORWARD_MODES
            values, act_all = {}, {}
            for name in params:
                raw = inputs[name]
                probe = _value(name, raw, "Const")
                act = acts.get(name) or _default_activity(probe, forward)
                act_all[name] = act
                values[name] = _value(name, raw, act)
            extra = sorted(set(shadows or {}) - {n for n, a in act_all.items() if a in SHADOWED_ACTIVITIES})
            if extra:
                raise ValueError(f"shadows: {', '.join(extra)} is not a shadowed (Duplicated-like) "
                                 "argument")
            shadow_values = {n: _shadow(n, (shadows or {}).get(n), values[n], forward, a)
                             for n, a in act_all.items() if a in SHADOWED_ACTIVITIES}
            payload = KernelPayload(name=entry, source=source, entry=entry, mode=mode,
                                    activities=act_all, return_activity=return_activity,
                                    inputs=values, shadows=shadow_values)
            msg = TriadMessage(sender=Role.gpu_kernels, to=Role.autodiff, payload=payload, seed=0,
                               round_id=f"mcp/differentiate/{next(self._count)}")
            reply = self.agent.differentiate(msg)
            if reply.payload.kind == "error":
                p = reply.payload
                raise ValueError(f"{p.error_type}: {p.message}")
            text = None
            if want_source:
                argtypes = [numba.typeof(values[n]) for n in params]
                const = [n for n in params if act_all[n] == "Const"]
                try:
                    text = ad_core.derivative_source(func, getattr(ad_core, mode), argtypes, const)
                except ad_core.ADError as err:
                    raise ValueError(f"ADError: {err}") from None
        g = reply.payload
        return DifferentiateResult(
            entry=entry, mode=mode, activities=act_all,
            derivatives={n: _jsonable(v) for n, v in g.derivatives.items()},
            primal=_jsonable(g.primal), tangent=_jsonable(g.tangent), derivative_source=text,
            seconds=time.perf_counter() - start)


def _parameters(func: Any, entry: str) -> list[str]:
    from adtriad.ad_core.source import python_function

    try:
        py = python_function(func)
    except Exception:
        py = func
    try:
        sig = inspect.signature(py)
    except (TypeError, ValueError):
        raise ValueError(f"entry: {entry!r} is not a Python function") from None
    return list(sig.parameters)


# -- sweeps -----------------------------------------------------------------------------------

@dataclass
class _Sweep:
    sweep_id: str
    scenarios: list[Any]
    seeds: int
    backend: str
    started: float = field(default_factory=time.perf_counter)
    ended: float | None = None
    total: int | None = None
    rounds: list[RoundReport] = field(default_factory=list)
    report: RunReport | None = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self) -> SweepStatus:
        with self.lock:
            rounds = list(self.rounds)
            state = "failed" if self.error else ("finished" if self.report else "running")
            end = self.ended if self.ended is not None else time.perf_counter()
            return SweepStatus(
                sweep_id=self.sweep_id, state=state, done=len(rounds), total=self.total,
                passed=sum(r.status == "passed" for r in rounds),
                failed=sum(r.status == "failed" for r in rounds),
                errors=sum(r.status == "error" for r in rounds),
                rounds=[SweepRound(round_id=r.round_id, seed=r.seed, status=r.status,
                                   coherent=r.coherence.coherent) for r in rounds],
                report=self.report, error=self.error, seconds=end - self.started)


def _merge(reports: list[RunReport], backend: str, seconds: float) -> RunReport:
    scenarios = tuple(s for r in reports for s in r.scenarios)
    rounds = [x for s in scenarios for x in s.rounds]
    passed = all(x.status == "passed" for x in rounds)
    coherent = all(x.coherence.coherent for x in rounds)
    counts = {k: sum(s.status == k for s in scenarios)
              for k in ("passed", "failed", "error", "skipped")}
    return RunReport(version=__version__, backend=backend, passed=passed, coherent=coherent,
                     exit_code=0 if passed and coherent else 1, counts=counts, seconds=seconds,
                     scenarios=scenarios)


class _Sweeps:
    """Sweeps running in background threads, by id."""

    def __init__(self, triad_for: Callable[[str], Triad]) -> None:
        self.triad_for = triad_for
        self.sweeps: dict[str, _Sweep] = {}

    def start(self, scenarios: list[Any], seeds: int, backend: str) -> _Sweep:
        sweep = _Sweep(sweep_id=uuid.uuid4().hex[:12], scenarios=scenarios, seeds=seeds,
                       backend=backend)
        self.sweeps[sweep.sweep_id] = sweep
        threading.Thread(target=self._run, args=(sweep,), name=f"sweep-{sweep.sweep_id}",
                         daemon=True).start()
        return sweep

    async def wait(self, sweep_id: str, wait_seconds: float, report_progress) -> SweepStatus:
        """The sweep's status once it ends or ``wait_seconds`` pass, reporting progress (done of
        total, the last round) through ``report_progress`` meanwhile."""
        import anyio

        sweep = self.sweeps.get(sweep_id)
        if sweep is None:
            known = ", ".join(self.sweeps) or "none started"
            raise _tool_error()(f"sweep_id: no sweep {sweep_id!r} (known: {known})")
        deadline = time.monotonic() + wait_seconds
        reported = -1
        while True:
            status = sweep.status()
            if wait_seconds and status.done != reported:
                reported = status.done
                last = status.rounds[-1].round_id if status.rounds else "starting"
                await report_progress(status.done, status.total, last)
            if status.state != "running" or time.monotonic() >= deadline:
                return status
            await anyio.sleep(0.1)

    def _run(self, sweep: _Sweep) -> None:
        from adtriad.agents.capabilities import missing

        def on_round(report: RoundReport, done: int, total: int) -> None:
            with sweep.lock:
                sweep.rounds.append(report)

        try:
            triad = self.triad_for(sweep.backend)
            with ENGINE_LOCK:  # the capability probes call the engine
                sweep.total = sum(0 if missing(sc.requires) else len(sc.modes) * sweep.seeds
                                  for sc in sweep.scenarios)
            if sweep.backend == "local":  # one scenario at a time: other calls get the engine
                reports = [triad.run(sc, seeds=sweep.seeds, on_round=on_round)
                           for sc in sweep.scenarios]
            else:
                reports = [triad.run(sweep.scenarios, seeds=sweep.seeds, on_round=on_round)]
            report = _merge(reports, sweep.backend, time.perf_counter() - sweep.started)
            with sweep.lock:
                sweep.report, sweep.ended = report, time.perf_counter()
        except Exception as err:  # reported through sweep_status
            with sweep.lock:
                sweep.error, sweep.ended = f"{type(err).__name__}: {err}", time.perf_counter()


# -- the server -------------------------------------------------------------------------------

def _kernels() -> KernelList:
    from adtriad.agents import builtin_kernels
    from adtriad.agents.registry import BUILTINS

    out = []
    for name, entry in BUILTINS.items():
        func = getattr(builtin_kernels, entry)
        out.append(KernelInfo(name=name, parameters=list(inspect.signature(func).parameters),
                              description=inspect.getdoc(func) or "",
                              source=inspect.getsource(func)))
    return KernelList(kernels=out)


INSTRUCTIONS = """\
adtriad differentiates loop-heavy numeric Python (the subset Numba compiles) in Enzyme's modes \
(Forward, ForwardWithPrimal, Reverse, ReverseWithPrimal, ReverseSplitWithPrimal) and verifies \
gradients with a triad of agents: tempering (seeds, verifies), gpu_kernels (kernels, inputs) and \
autodiff (differentiates). Tools: differentiate (source + entry + inputs -> derivatives), verify \
(a kernel + a seed -> the verdict of independent oracles), run_scenario (a scenario YAML -> the \
run report), sweep_start/sweep_status (long sweeps, with progress), list_kernels."""


def verify_round(triad: Triad, kernel: KernelSpec, arguments: dict[str, Argument], seed: int,
                 mode: str, return_activity: str | None, expect: dict[str, str] | None,
                 checks: list[str] | None, tolerance: ScenarioTolerance | None) -> VerifyResult:
    """One round of the triad on a kernel: the ``verify`` tool's work."""
    from adtriad.agents.loading import scenario_from_data

    start = time.perf_counter()
    data: dict[str, Any] = {
        "name": "verify", "kernel": _kernel_dict(kernel), "modes": [mode],
        "arguments": {n: a.model_dump(exclude_none=True) for n, a in arguments.items()},
        "master_seed": seed, "seeds": 1,
    }
    for key, value in (("return_activity", return_activity), ("expect", expect),
                       ("checks", checks),
                       ("tolerance", tolerance.model_dump() if tolerance else None)):
        if value is not None:
            data[key] = value
    sc = scenario_from_data(data, "verify", Path.cwd())
    (rep,) = triad.run(sc).scenarios
    if rep.status == "skipped":
        return VerifyResult(round_id=f"verify/{mode}/0", round_seed=0, status="skipped",
                            passed=False, coherent=False, detail=rep.skipped_reason or "",
                            seconds=time.perf_counter() - start)
    (r,) = rep.rounds
    return VerifyResult(
        round_id=r.round_id, round_seed=r.seed, status=r.status,
        passed=r.status == "passed", coherent=r.coherence.coherent,
        checks=list(r.checks), error=r.error,
        detail="" if r.coherence.coherent else r.coherence.summary(),
        seconds=time.perf_counter() - start)


def load_inline_or_files(paths: list[str] | None, texts: list[str] | None) -> list[Any]:
    """Scenarios from files and inline YAML; every problem is reported together."""
    from adtriad.agents import ScenarioError

    loaders = [(_scenario_file, p) for p in paths or []]
    loaders += [(scenario_from_yaml, t, f"yaml[{i}]") for i, t in enumerate(texts or [])]
    loaded, problems = [], []
    for load, *args in loaders:
        try:
            loaded.append(load(*args))
        except ScenarioError as err:
            problems.append(str(err))
    if problems:
        raise ScenarioError("\n".join(problems))
    return loaded


def fuzz_programs(config: Any, programs: int, seed: int, max_statements: int,
                  modes: list[str], search: int) -> FuzzResult:
    """Generate, differentiate and check ``programs`` programs: the ``fuzz`` tool's work."""
    from adtriad.agents.fuzz.command import summarize
    from adtriad.agents.fuzz.triad import FuzzJob, FuzzTriad

    start = time.perf_counter()
    job = FuzzJob(seed=seed, programs=programs, min_statements=min(5, max_statements),
                  max_statements=max_statements, modes=tuple(modes), search_evaluations=search,
                  shrink_s=30.0)
    triad = FuzzTriad(config)
    with ENGINE_LOCK:
        rows = [{"seed_index": k, **triad.run_unit(job, ",".join(job.modes), k)}
                for k in range(programs)]
    s = summarize(rows, {"name": "mcp", "planned": programs})
    return FuzzResult(programs=programs, counts={c: n for c, n in s["counts"].items() if n},
                      modes=s["modes"], refusals=s["refusals"], failures=s["failures"],
                      seconds=time.perf_counter() - start)


def build_server(triad: Triad | None = None, backend: BackendName = "local"):
    """The MCP server (see the module contract); ``backend`` is the default for scenario runs."""
    try:
        from mcp.server.mcpserver import Context, MCPServer
    except ImportError:
        try:  # mcp 1.x
            from mcp.server.fastmcp import Context
            from mcp.server.fastmcp import FastMCP as MCPServer
        except ImportError:
            raise ImportError("triad mcp needs the MCP SDK: pip install 'adtriad[mcp]'") from None
    ToolError = _tool_error()

    base = triad or Triad(backend=backend)
    triads: dict[str, Triad] = {base.backend: base}

    def triad_for(name: str) -> Triad:
        if name not in triads:
            triads[name] = Triad(backend=name, config=base.config)
        return triads[name]

    differentiator = _Differentiator(base)
    sweeps = _Sweeps(triad_for)
    server = MCPServer(name="adtriad", instructions=INSTRUCTIONS)

    async def in_thread(func, *args):
        import anyio

        try:
            return await anyio.to_thread.run_sync(func, *args)
        except (ValueError, TypeError) as err:  # ScenarioError, ADError and bad input
            raise ToolError(str(err)) from None

    @server.tool(title="Differentiate a function")
    async def differentiate(
        source: Annotated[str, Field(description="Python source defining the function (the "
                                                 "subset Numba compiles); it is imported.")],
        entry: Annotated[str, Field(description="Name of the function in source.")],
        inputs: Annotated[dict[str, InputValue], Field(
            description="Value of every parameter: a number, a nested list (a float64 array) "
                        "or {values, dtype}.")],
        mode: Annotated[Mode, Field(description="Differentiation mode.")] = "Reverse",
        activities: Annotated[dict[str, Activity] | None, Field(
            description="Annotation per parameter; omitted ones: float scalars Active (reverse) "
                        "or Duplicated (forward), float arrays Duplicated, others Const.")] = None,
        shadows: Annotated[dict[str, InputValue] | None, Field(
            description="Initial shadow of shadowed parameters: the adjoint seed in reverse "
                        "modes (default 0), the tangent direction in forward modes (default 1); "
                        "a number fills an array.")] = None,
        return_activity: Annotated[Activity | None, Field(
            description="Annotation of the result; null lets the engine choose.")] = None,
        derivative_source: Annotated[bool, Field(
            description="Also return the generated derivative code.")] = False,
    ) -> DifferentiateResult:
        """Differentiate a Python function at given inputs (Enzyme-style modes and activities).

        Example: source "def f(x):\\n    return x**2 + 2*x + 1", entry "f", inputs {"x": 3.0},
        mode "Reverse" gives derivatives {"x": 8.0}.
        """
        return await in_thread(differentiator, source, entry, inputs, mode, activities, shadows,
                               return_activity, derivative_source)

    @server.tool(title="Verify a kernel's gradients")
    async def verify(
        kernel: Annotated[KernelSpec, Field(
            description='The kernel: {"builtin": "saxpy"} (see list_kernels), {"ref": '
                        '"module:function"} or {"source": "...", "entry": "f"}.')],
        arguments: Annotated[dict[str, Argument], Field(
            description="Every parameter in call order: activity, value (a number, a list, or "
                        "{draw: uniform|normal|zeros|ones|full|literal, shape, dtype, ...} drawn "
                        "from the round's seed), optional shadow (reverse) and tangent "
                        "(forward).")],
        seed: Annotated[U64, Field(description="Master seed; the round's seed is spawned from "
                                               "it.")] = 0,
        mode: Annotated[Mode, Field(description="Differentiation mode.")] = "Reverse",
        return_activity: Annotated[Activity | None, Field(
            description="Annotation of the result; null lets the engine choose.")] = None,
        expect: Annotated[dict[str, str] | None, Field(
            description="Analytic expectations: argument (or primal/tangent) -> a NumPy "
                        "expression over the inputs and shadow_<name>.")] = None,
        checks: Annotated[list[CheckName] | None, Field(
            description="Oracles to run (default: all that apply).")] = None,
        tolerance: Annotated[ScenarioTolerance | None, Field(
            description="rtol/atol for every comparison (default: per dtype).")] = None,
        backend: Annotated[BackendName | None, Field(
            description="Where the agents run (default: the server's).")] = None,
    ) -> VerifyResult:
        """Run one round of the triad on a kernel and return the tempering agent's verdict:
        finite differences, the dot-product test, analytic expectations and reproducibility."""
        return await in_thread(verify_round, triad_for(backend or base.backend), kernel,
                               arguments, seed, mode, return_activity, expect, checks, tolerance)

    @server.tool(title="Run a scenario")
    async def run_scenario(
        path: Annotated[str | None, Field(
            description="A scenario YAML file (relative to the server's working directory).")]
        = None,
        yaml: Annotated[str | None, Field(
            description="The scenario as inline YAML, instead of path.")] = None,
        seeds: Annotated[int | None, Field(
            ge=1, description="Rounds per mode (default: the scenario's).")] = None,
        backend: Annotated[BackendName | None, Field(
            description="Where the agents run (default: the server's).")] = None,
    ) -> RunReport:
        """Run a scenario through the triad (as `triad run` does) and return the run report."""
        if (path is None) == (yaml is None):
            raise ToolError("give exactly one of path (a scenario file) or yaml (inline YAML)")

        def work() -> RunReport:
            sc = scenario_from_yaml(yaml) if yaml is not None else _scenario_file(path)
            return triad_for(backend or base.backend).run(sc, seeds=seeds)

        return await in_thread(work)

    @server.tool(title="Start a sweep")
    async def sweep_start(
        paths: Annotated[list[str] | None, Field(
            description="Scenario YAML files (relative to the server's working directory).")]
        = None,
        yaml: Annotated[list[str] | None, Field(
            description="Scenarios as inline YAML documents.")] = None,
        seeds: Annotated[int, Field(ge=1, le=100_000, description="Rounds per scenario and "
                                                                  "mode.")] = 1,
        backend: Annotated[BackendName | None, Field(
            description="Where the agents run (default: the server's).")] = None,
    ) -> SweepStarted:
        """Start running scenarios x seeds in the background; returns the sweep's id at once.
        Follow it with sweep_status (with wait_seconds and a progress token for progress
        notifications)."""
        if not paths and not yaml:
            raise ToolError("give at least one scenario: paths (files) or yaml (inline)")

        loaded = await in_thread(load_inline_or_files, paths, yaml)
        name = backend or base.backend
        sweep = sweeps.start(loaded, seeds, name)
        return SweepStarted(sweep_id=sweep.sweep_id, scenarios=[s.name for s in loaded],
                            seeds=seeds, backend=name)

    @server.tool(title="Sweep status")
    async def sweep_status(
        ctx: Context,
        sweep_id: Annotated[str, Field(description="The id sweep_start returned.")],
        wait_seconds: Annotated[float, Field(
            ge=0, le=MAX_WAIT, description="Wait up to this long for the sweep to end, sending "
                                           "progress notifications meanwhile.")] = 0.0,
    ) -> SweepStatus:
        """The progress of a sweep: rounds done, their outcomes, and the report once finished."""
        return await sweeps.wait(sweep_id, wait_seconds, ctx.report_progress)

    @server.tool(title="Fuzz the engine")
    async def fuzz(
        programs: Annotated[int, Field(ge=1, le=200, description="Programs to generate and check.")] = 10,
        seed: Annotated[U64, Field(description="The run's seed (program k is the same everywhere).")] = 0,
        max_statements: Annotated[int, Field(ge=1, le=40, description="Statements in each program's f, "
                                                                        "at most.")] = 12,
        modes: Annotated[list[Mode], Field(description="Modes to check each program in.")] = list(AUTODIFF_MODES),
        search: Annotated[int, Field(ge=0, le=200, description="Input points the tempered search tries "
                                                                "per program that passes.")] = 12,
    ) -> FuzzResult:
        """Generate random programs in the subset the engine claims (loops, while, break, early
        return, array writes, helpers, math and NumPy calls), differentiate each in every mode and
        check it against dual numbers (finite differences as referee); failures come back shrunk.
        For thousands of programs on a cluster use the command line, `triad fuzz`."""
        return await in_thread(fuzz_programs, base.config, programs, seed, max_statements,
                               modes, search)

    @server.tool(title="List the built-in kernels")
    async def list_kernels() -> KernelList:
        """The built-in kernels: names, parameters, what they compute and their source."""
        return _kernels()

    _refuse_unknown_arguments(server)
    return server


def _refuse_unknown_arguments(server: Any) -> None:
    # The SDK drops argument names a tool does not take, so a misspelled one (``activites``)
    # would be silently ignored: forbid them, in the published schema too.
    for tool in server._tool_manager.list_tools():
        model = tool.fn_metadata.arg_model
        model.model_config["extra"] = "forbid"
        model.model_rebuild(force=True)
        tool.parameters["additionalProperties"] = False


def _kernel_dict(kernel: KernelSpec) -> dict[str, Any]:
    data = kernel.model_dump(exclude_none=True)
    ref = data.get("ref")
    if ref:  # a relative file is relative to the server's working directory
        where, _, func = ref.rpartition(":")
        if where.endswith(".py") and not Path(where).is_absolute():
            data["ref"] = f"{Path(where).resolve()}:{func}"
    return data


def _scenario_file(path: str):
    from adtriad.agents import load_scenario

    return load_scenario(Path(path))


# -- stdio ------------------------------------------------------------------------------------

def _claim_stdio() -> tuple[TextIOWrapper, TextIOWrapper]:
    """Private text streams on the original stdin/stdout; fds 0/1 and ``sys.stdout`` diverted."""
    sys.stdout.flush()
    wire_in = os.dup(0)
    wire_out = os.dup(1)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = sys.stderr
    reader = TextIOWrapper(os.fdopen(wire_in, "rb"), encoding="utf-8",
                           errors="replace")
    writer = TextIOWrapper(os.fdopen(wire_out, "wb"), encoding="utf-8", write_through=True)
    return reader, writer


def _lowlevel(server: Any) -> Any:
    low = getattr(server, "_lowlevel_server", None)  # mcp 2.x
    return low if low is not None else server._mcp_server  # mcp 1.x


def serve(triad: Triad | None = None, backend: BackendName = "local") -> None:
    """Serve MCP over this process's stdin/stdout until stdin closes (see the module)."""
    import anyio
    from mcp.server.stdio import stdio_server

    reader, writer = _claim_stdio()
    server = build_server(triad, backend)

    async def main() -> None:
        async with stdio_server(anyio.wrap_file(reader), anyio.wrap_file(writer)) as (rx, tx):
            low = _lowlevel(server)
            await low.run(rx, tx, low.create_initialization_options())

    anyio.run(main)
