"""Sweep specifications and their work units: which rounds a verification sweep runs.

Contract:

* A sweep is scenarios × seeds × modes × activity combinations, described by a YAML file
  validated by :class:`SweepSpec` (:func:`load_sweep`; every problem raises
  :class:`~adtriad.agents.loading.ScenarioError` as ``FILE:LINE: FIELD: message``) or built
  from command-line flags (:meth:`SweepSpec.from_flags`). Scenario paths in a sweep file are
  relative to that file.
* ``seeds`` is a count (indices ``0..N-1``) or ``{start, count}``; each index is a round of the
  scenario's master seed (:func:`adtriad.agents.seeds.round_seed`). ``modes`` replaces every
  scenario's own modes when given. ``activities`` is ``as_written`` (the file's), ``all`` (each
  float argument Const or differentiable, at least one differentiable: ``2^n - 1``
  combinations) or an explicit list of ``{argument: activity}`` overrides.
* :func:`plan_units` yields :class:`WorkUnit` s lazily, seed-major (every scenario, mode and
  combination of seed 0, then seed 1, ...); :func:`count_units` counts them without building
  them. A unit's id (:func:`unit_id`) is a content hash of the scenario (with its kernel
  source), the seed, the mode, the activities, the settings that decide a verdict (tolerances,
  trits) and adtriad's version: the same unit always gets the same id, any change of content
  gets a new one.
* :func:`unit_scenario` is the one-mode scenario a unit runs: written activities replaced,
  shadows and tangents of arguments made ``Const`` dropped, and expectations that name a
  ``Const`` argument (or its shadow) dropped. Expectations not keyed by a mode hold in the
  direction (forward or reverse) of the modes the scenario was written for: a sweep running
  a reverse-mode scenario forward drops them, since an argument's expected adjoint is not its
  tangent (a mode-keyed entry says what holds in another direction).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    model_validator,
)

from adtriad import __version__
from adtriad.agents.loading import (ScenarioError, field_name, line_of, load_scenarios,
                                    read_yaml_mapping, yaml_positions)
from adtriad.agents.scenario import Draw, Scenario
from adtriad.agents.seeds import round_seed
from adtriad.paths import UnreadableFile, read_user_text
from adtriad.protocol import FORWARD_MODES, Activity, Mode

__all__ = [
    "SeedRange",
    "SweepSpec",
    "WorkUnit",
    "activity_combinations",
    "count_units",
    "is_sweep_file",
    "load_sweep",
    "plan_units",
    "scenario_digest",
    "plan_digest",
    "unit_id",
    "unit_scenario",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class SeedRange(_Model):
    """Round indices ``start .. start + count - 1`` of every scenario's master seed."""

    start: NonNegativeInt = 0
    """The first round index."""
    count: PositiveInt
    """How many rounds."""


class SweepSpec(_Model):
    """A verification sweep: what to run and how hard to try."""

    name: str = Field(default="sweep", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    """The sweep's name (default ledger file ``.triad/<name>.sweep.db``)."""
    description: str = ""
    """What it is for, for people."""
    scenarios: tuple[str, ...] = Field(min_length=1)
    """Scenario files (relative to the sweep file)."""
    seeds: SeedRange = SeedRange(count=1)
    """Round indices per scenario and mode (a count, or ``{start, count}``)."""
    modes: tuple[Mode, ...] | None = None
    """Modes to run every scenario in; null keeps each scenario's own."""
    activities: Literal["as_written", "all"] | tuple[dict[str, Activity], ...] = "as_written"
    """``as_written``, ``all`` combinations, or a list of per-argument overrides."""
    unit_timeout_s: PositiveFloat = 600.0
    """A unit running longer than this is stopped (its triad restarted) and retried."""
    retries: NonNegativeInt = 3
    """Infrastructure failures (dead worker, lost node, timeout) retried per unit."""
    quarantine_after: PositiveInt = 2
    """A unit that kills its worker (crash or timeout) this many times is quarantined."""
    triads: PositiveInt | None = None
    """Triads to start; null: one per GPU of the cluster, else one per CPU."""
    per_triad: PositiveInt = 2
    """Units queued on each triad at once (in flight: ``triads × per_triad``)."""

    @model_validator(mode="before")
    @classmethod
    def _seed_count(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("seeds"), int) and not isinstance(
                data.get("seeds"), bool):
            data = dict(data)
            data["seeds"] = {"start": 0, "count": data["seeds"]}
        return data

    @classmethod
    def from_flags(cls, scenarios: Sequence[str | Path], **flags: Any) -> SweepSpec:
        """A spec from scenario paths and flags (``None`` flags keep the defaults)."""
        data = {k: v for k, v in flags.items() if v is not None}
        data["scenarios"] = [str(p) for p in scenarios]
        return cls.model_validate(data)

    def with_flags(self, **flags: Any) -> SweepSpec:
        """This spec with the given flags (``None`` ones ignored) replacing its fields."""
        data = self.model_dump()
        data.update({k: v for k, v in flags.items() if v is not None})
        return type(self).model_validate(data)


def is_sweep_file(path: str | Path) -> bool:
    """True when ``path`` is a YAML mapping with a top-level ``scenarios`` key."""
    try:
        data = yaml.safe_load(read_user_text(path))
    except (UnreadableFile, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "scenarios" in data


def load_sweep(path: str | Path) -> tuple[SweepSpec, list[Scenario]]:
    """Read and validate a sweep file and the scenarios it names (see the module contract)."""
    path = Path(path)
    data, node = read_yaml_mapping(path, "sweep")
    positions = yaml_positions(node)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        lines = []
        for e in err.errors():
            if any(isinstance(p, str) and p.startswith("literal[") for p in e["loc"]) and not \
                    isinstance(e["input"], str):
                continue  # the other member of a "word or list" union says what is wrong
            loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and (
                "[" in p or "(" in p or p in ("str", "int", "tuple"))))
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"{path}:{line_of(positions, loc)}: {field_name(loc)}: {msg}")
        raise ScenarioError("\n".join(dict.fromkeys(lines))) from None
    files = [p if Path(p).is_absolute() else str(path.parent / p) for p in spec.scenarios]
    for i, f in enumerate(files):
        if not Path(f).is_file():
            raise ScenarioError(f"{path}:{line_of(positions, ('scenarios', i))}: scenarios.{i}: "
                                f"no such scenario file {f}")
    scenarios = load_scenarios(files)
    _check_overrides(spec, scenarios, path, positions)
    return spec.model_copy(update={"scenarios": tuple(files)}), scenarios


def _check_overrides(spec: SweepSpec, scenarios: Sequence[Scenario], path: Path | None = None,
                     positions: dict | None = None) -> None:
    if not isinstance(spec.activities, tuple):
        return
    for i, override in enumerate(spec.activities):
        where = f"{path}:{line_of(positions, ('activities', i))}: " if path else ""
        if not any(set(override) <= set(sc.arguments) for sc in scenarios):
            known = sorted({a for sc in scenarios for a in sc.arguments})
            raise ScenarioError(f"{where}activities.{i}: no scenario has all of the arguments "
                                f"{', '.join(override)} (arguments: {', '.join(known)})")
        for sc in scenarios:
            arrays = [n for n, act in override.items()
                      if act == "Active" and n in sc.arguments and not _is_scalar(sc.arguments[n].value)]
            if arrays:
                raise ScenarioError(f"{where}activities.{i}: {arrays[0]} is an array in {sc.name}, "
                                    "and Active cannot annotate an array; write Duplicated")


def check_spec(spec: SweepSpec, scenarios: Sequence[Scenario]) -> None:
    """Raise :class:`ScenarioError` when an activity override fits no scenario or makes an array Active."""
    _check_overrides(spec, scenarios)


# -- activities --------------------------------------------------------------------------------


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, list) and (not isinstance(value, Draw) or value.shape == ())


def _is_float(value: Any) -> bool:
    if isinstance(value, Draw):
        return value.dtype.startswith("float")
    return not isinstance(value, int) or isinstance(value, float)


def activity_combinations(scenario: Scenario, activities: Any) -> list[dict[str, str]]:
    """The written-activity mappings a scenario is swept over (see the module contract)."""
    written = {n: a.activity for n, a in scenario.arguments.items()}
    if activities == "as_written":
        return [written]
    if activities == "all":
        choices = []
        for name, arg in scenario.arguments.items():
            if not _is_float(arg.value) or arg.activity.startswith(("Batch", "Mixed")):
                choices.append((arg.activity,))
                continue
            on = arg.activity if arg.activity != "Const" else (
                "Active" if _is_scalar(arg.value) else "Duplicated")
            choices.append((on, "Const"))
        out = []
        for combo in itertools.product(*choices):
            acts = dict(zip(written, combo, strict=True))
            if any(a != "Const" for a in acts.values()):
                out.append(acts)
        return out or [written]
    return [{**written, **o} for o in activities if set(o) <= set(written)]


def unit_scenario(scenario: Scenario, mode: str, activities: dict[str, str]) -> Scenario:
    """The one-mode scenario of a unit (see the module contract)."""
    args = {}
    for name, arg in scenario.arguments.items():
        act = activities.get(name, arg.activity)
        if act == arg.activity:
            args[name] = arg
        elif act == "Const":
            args[name] = arg.model_copy(update={"activity": act, "shadow": None,
                                                "tangent": None, "width": None})
        else:
            args[name] = arg.model_copy(update={"activity": act})
    const = {n for n, a in args.items() if a.activity == "Const"}
    changed = const - {n for n, a in scenario.arguments.items() if a.activity == "Const"}

    def keeps(target: str, text: str) -> bool:
        if target in changed:
            return False
        return not any(re.search(rf"\bshadow_{re.escape(n)}\b", text) for n in changed)

    forward = mode in FORWARD_MODES
    same_direction = any((m in FORWARD_MODES) == forward for m in scenario.modes)
    expect: dict[str, Any] = {}
    for key, value in scenario.expect.items():
        if isinstance(value, dict):
            inner = {k: v for k, v in value.items() if keeps(k, v)}
            if inner:
                expect[key] = inner
        elif same_direction and keeps(key, value):
            expect[key] = value
    return scenario.model_copy(update={"modes": (mode,), "arguments": args, "expect": expect})


# -- units -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkUnit:
    """One round of one scenario: a seed, a mode, an activity combination."""

    unit_id: str
    scenario_index: int
    scenario: str
    kernel: str
    mode: str
    seed_index: int
    seed: int
    activities: tuple[tuple[str, str], ...]

    @property
    def label(self) -> str:
        """``<scenario>/<mode>/<seed index>[<activities>]``."""
        acts = ",".join(f"{n}:{a}" for n, a in self.activities)
        return f"{self.scenario}/{self.mode}/{self.seed_index}[{acts}]"


def scenario_digest(scenario: Scenario, verdict: dict[str, Any] | None = None) -> str:
    """A digest of a scenario's content, its kernel source and the verdict settings."""
    content = scenario.model_dump(mode="json", exclude={"source_path", "seeds", "modes"})
    source = (scenario.kernel.source or "").encode("utf-8")
    blob = {"scenario": content, "kernel": hashlib.sha256(source).hexdigest(),
            "verdict": verdict or {}}
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()


def unit_id(digest: str, seed_index: int, seed: int, mode: str,
            activities: dict[str, str] | Sequence[tuple[str, str]],
            version: str = __version__) -> str:
    """The content-hash id of a unit (32 hex digits)."""
    acts = list(activities.items()) if isinstance(activities, dict) else list(activities)
    blob = json.dumps([digest, int(seed_index), str(seed), mode, acts, version])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _verdict_settings(cfg: Any) -> dict[str, Any]:
    if cfg is None:
        return {}
    return {"tolerances": cfg.tolerances.model_dump(mode="json"),
            "trits": {k.value: v for k, v in cfg.roles.trits.items()}}


def _axes(spec: SweepSpec, scenarios: Sequence[Scenario], verdict: dict[str, Any] | None = None):
    seen = set()
    for i, sc in enumerate(scenarios):
        digest = scenario_digest(sc, verdict)
        if digest in seen:
            continue  # the same scenario twice is one set of units
        seen.add(digest)
        combos = []
        for acts in activity_combinations(sc, spec.activities):
            if acts not in combos:
                combos.append(acts)
        yield i, sc, tuple(dict.fromkeys(spec.modes or sc.modes)), combos, digest


def count_units(spec: SweepSpec, scenarios: Sequence[Scenario]) -> int:
    """How many units :func:`plan_units` yields."""
    return spec.seeds.count * sum(len(m) * len(c) for _, _, m, c, _ in _axes(spec, scenarios))


def plan_digest(spec: SweepSpec, scenarios: Sequence[Scenario], cfg: Any = None) -> str:
    """A digest of the set of units planned: equal exactly when two plans run the same units."""
    ids = sorted(u.unit_id for u in plan_units(spec, scenarios, cfg))
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def plan_units(spec: SweepSpec, scenarios: Sequence[Scenario], cfg: Any = None,
               version: str = __version__) -> Iterator[WorkUnit]:
    """Yield the sweep's units, seed-major (see the module contract)."""
    axes = list(_axes(spec, scenarios, _verdict_settings(cfg)))
    for index in range(spec.seeds.start, spec.seeds.start + spec.seeds.count):
        for i, sc, modes, combos, digest in axes:
            seed = round_seed(sc.master_seed, index)
            kernel = sc.kernel.name or sc.kernel.entry or sc.name
            for mode in modes:
                for acts in combos:
                    yield WorkUnit(unit_id(digest, index, seed, mode, acts, version), i, sc.name,
                                   kernel, mode, index, seed, tuple(acts.items()))
