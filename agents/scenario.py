"""The scenario model: one YAML file, one :class:`Scenario`.

Contract:

* A scenario names a kernel (a built-in by name, ``module:function`` / ``path.py:function``, or
  inline ``source`` with its ``entry``), the modes to run it in, its arguments in call order (an
  activity, a value drawn from the round's seed, an optional reverse-mode ``shadow`` and
  forward-mode ``tangent``), analytic expectations, the checks to run, the number of rounds and
  a master seed, and the engine features it ``requires``.
* Activities are written once: an ``Active`` scalar becomes ``Duplicated(x, tangent)`` in forward
  modes, a ``Duplicated`` scalar becomes ``Active`` in reverse modes
  (:meth:`Scenario.activities_for`).
* Every model is frozen and rejects unknown fields; :mod:`adtriad.agents.loading` turns a
  validation error into ``file:line: field: message``.
* A value is a number (a float64 scalar; an int stays an int), a list (a float64 array), or a
  mapping ``{draw, shape, dtype, ...}`` (:class:`Draw`); ``{value: 2.0, dtype: float32}`` is
  short for ``{draw: full, fill: 2.0, dtype: float32}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    Tag,
    field_validator,
    model_validator,
)

from adtriad.protocol import FORWARD_MODES, SHADOWED_ACTIVITIES, U64, Activity, LaunchConfig, Mode

__all__ = [
    "CHECK_NAMES",
    "Argument",
    "CheckName",
    "Draw",
    "KernelSpec",
    "Scenario",
    "ScenarioTolerance",
    "ValueSpec",
    "draw_value",
]

CheckName = Literal["finite_differences", "dot_product", "dual_numbers", "analytic", "reproducible"]
"""The oracles the tempering agent can run."""
CHECK_NAMES: tuple[str, ...] = get_args(CheckName)



class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Draw(_Model):
    """How a value is made from the round's random generator (or not at all)."""

    draw: Literal["uniform", "normal", "zeros", "ones", "full", "literal"]
    """``uniform`` in [low, high), ``normal`` (mean, std), ``zeros``, ``ones``, ``full`` (fill),
    ``literal`` (values)."""
    shape: tuple[NonNegativeInt, ...] = ()
    """Shape; ``[]`` for a scalar."""
    dtype: Literal["float32", "float64", "int32", "int64"] = "float64"
    """NumPy dtype of the value."""
    low: float = 0.0
    """Lower bound of ``uniform``."""
    high: float = 1.0
    """Upper bound of ``uniform``."""
    mean: float = 0.0
    """Mean of ``normal``."""
    std: NonNegativeFloat = 1.0
    """Standard deviation of ``normal``."""
    fill: float | None = None
    """The value of ``full``."""
    values: list[Any] | None = None
    """The nested list of ``literal``."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "value" in data and "draw" not in data:
            data = dict(data)
            value = data.pop("value")
            if isinstance(value, list):
                data.update(draw="literal", values=value)
            else:
                data.update(draw="full", fill=value)
        return data

    @model_validator(mode="after")
    def _complete(self) -> Draw:
        if self.draw == "full" and self.fill is None:
            raise ValueError("draw: full needs fill")
        if self.draw == "literal":
            if self.values is None:
                raise ValueError("draw: literal needs values")
            try:
                np.asarray(self.values, dtype=self.dtype)
            except (TypeError, ValueError) as err:
                raise ValueError(f"values are not a {self.dtype} array: {err}") from None
        if self.draw == "uniform" and not self.low < self.high:
            raise ValueError(f"uniform needs low < high, got [{self.low}, {self.high})")
        return self


def _value_kind(value: Any) -> str:
    if isinstance(value, dict | Draw):
        return "Draw"
    return "List" if isinstance(value, list) else "Number"


ValueSpec = Annotated[
    Annotated[float | int, Tag("Number")]
    | Annotated[list[Any], Tag("List")]
    | Annotated[Draw, Tag("Draw")],
    Discriminator(_value_kind),
]
"""A number, a list, or a :class:`Draw` (told apart by their Python type)."""


def draw_value(spec: ValueSpec, rng: np.random.Generator) -> Any:
    """The value ``spec`` describes; random draws come from ``rng`` (in call order).

    Scalars come back as Python ``float``/``int`` for float64/int64 and as NumPy scalars for
    float32/int32; arrays as C-contiguous arrays.
    """
    if isinstance(spec, bool):
        raise TypeError("a boolean is not a value")
    if isinstance(spec, float):
        return spec
    if isinstance(spec, int):
        return spec
    if isinstance(spec, list):
        return np.asarray(spec, dtype=np.float64)
    dtype = np.dtype(spec.dtype)
    shape = spec.shape
    if spec.draw == "uniform":
        out = rng.uniform(spec.low, spec.high, size=shape)
    elif spec.draw == "normal":
        out = rng.normal(spec.mean, spec.std, size=shape)
    elif spec.draw == "zeros":
        out = np.zeros(shape)
    elif spec.draw == "ones":
        out = np.ones(shape)
    elif spec.draw == "full":
        out = np.full(shape, spec.fill)
    else:
        out = np.asarray(spec.values)
    out = np.asarray(out).astype(dtype)
    if out.ndim == 0:
        scalar = out[()]
        if dtype in (np.float64, np.int64):
            return scalar.item()
        return scalar
    return np.ascontiguousarray(out)


class Argument(_Model):
    """One argument of the kernel."""

    activity: Activity = "Const"
    """Its annotation (``Active`` for a float scalar, ``Duplicated`` for a float array, ...)."""
    value: ValueSpec
    """Its value."""
    shadow: ValueSpec | None = None
    """Reverse modes: the initial shadow (adjoint seed); zeros when omitted."""
    tangent: ValueSpec | None = None
    """Forward modes: the tangent direction; ones when omitted."""
    width: PositiveInt | None = None
    """Batched activities: the number of shadows (stacked along a new leading axis)."""

    @model_validator(mode="after")
    def _shadowed(self) -> Argument:
        if self.activity in ("Const", "MixedDuplicated") and (self.shadow or self.tangent):
            raise ValueError(f"a {self.activity} argument has no shadow or tangent")
        if self.activity.startswith("Batch") and self.width is None:
            raise ValueError(f"{self.activity} needs width")
        array = isinstance(self.value, list) or (isinstance(self.value, Draw) and self.value.shape != ())
        if self.activity == "Active" and array:
            # The engine refuses it too, but only when the round runs: say so at load time.
            raise ValueError("Active cannot annotate an array (its gradient has nowhere to go); "
                             "write activity: Duplicated and read the gradient from its shadow")
        return self


class Launch(_Model):
    """How a ``numba.cuda`` kernel is launched: ``kernel[blocks, threads](...)``."""

    blocks: Annotated[tuple[PositiveInt, ...], Field(min_length=1, max_length=3)]
    """Blocks per grid, one to three dimensions."""
    threads: Annotated[tuple[PositiveInt, ...], Field(min_length=1, max_length=3)]
    """Threads per block, one to three dimensions."""

    def config(self) -> LaunchConfig:
        return LaunchConfig(blocks=self.blocks, threads=self.threads)


class KernelSpec(_Model):
    """Which kernel: exactly one of ``builtin``, ``ref`` or ``source`` (with ``entry``)."""

    builtin: str | None = None
    """A kernel of the built-in registry (``saxpy``, ``poly``, ...)."""
    ref: str | None = None
    """``module:function`` or ``path/to/file.py:function`` (relative to the scenario file)."""
    source: str | None = None
    """Inline Python source defining ``entry``."""
    entry: str | None = None
    """The function to differentiate, for ``source`` (filled in by the loader otherwise)."""
    name: str | None = None
    """A human name; defaults to the entry."""
    path: str | None = None
    """The file the source was read from (filled in by the loader for ``builtin`` and ``ref``,
    and for a ``source: |`` block), so that an error in the kernel names that file rather
    than a copy."""
    line: PositiveInt | None = None
    """For a source embedded in ``path`` (a ``source: |`` block): the line of its first line."""
    column: NonNegativeInt = 0
    """For a source embedded in ``path``: how far every line of it is indented there."""
    launch: Launch | None = None
    """How a ``numba.cuda`` kernel is launched (``blocks``, ``threads``): the agents run it on
    the GPU when there is one, else on the CPU kernel backend."""

    @model_validator(mode="after")
    def _one(self) -> KernelSpec:
        given = [k for k in ("builtin", "ref", "source") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of builtin, ref or source (got {given or 'none'})")
        if self.source is not None and not self.entry:
            raise ValueError("inline source needs entry, the function to differentiate")
        if self.entry is not None and not self.entry.isidentifier():
            raise ValueError(f"entry {self.entry!r} is not a Python identifier")
        return self


class ScenarioTolerance(_Model):
    """Overrides the configured per-dtype tolerance for this scenario's comparisons."""

    rtol: NonNegativeFloat
    """Relative tolerance."""
    atol: NonNegativeFloat
    """Absolute tolerance."""


class Scenario(_Model):
    """An executable specification: a kernel, how to differentiate it, and what must hold."""

    name: str = Field(min_length=1)
    """The scenario's name (reports and round ids use it)."""
    description: str = ""
    """What it checks, for people."""
    kernel: KernelSpec
    """The kernel."""
    modes: tuple[Mode, ...] = Field(min_length=1)
    """The modes to run (``mode: X`` is short for ``modes: [X]``)."""
    return_activity: Activity | None = None
    """The result's annotation; null lets the engine choose."""
    arguments: dict[str, Argument]
    """The kernel's arguments, in call order."""
    expect: dict[str, str | dict[str, str]] = {}
    """Analytic expectations: argument name (or ``primal``/``tangent``) → a NumPy expression
    over the inputs (by argument name) and initial shadows (``shadow_<name>``); a mode name →
    such a mapping that holds in that mode only."""
    checks: tuple[CheckName, ...] = CHECK_NAMES
    """The oracles to run (``analytic`` only where ``expect`` says something)."""
    seeds: PositiveInt = 1
    """Rounds per mode (``--seeds`` overrides)."""
    master_seed: U64 = 0
    """The master seed the rounds' seeds are spawned from."""
    requires: tuple[str, ...] = ()
    """Engine features the scenario needs (``batch``, ``gpu_kernel``, ``custom_rules``)."""
    tolerance: ScenarioTolerance | None = None
    """Tolerance for every comparison; null uses the configured one for the result's dtype."""
    source_path: str | None = None
    """Where the scenario was read from (set by the loader)."""

    @model_validator(mode="before")
    @classmethod
    def _one_mode(cls, data: Any) -> Any:
        if isinstance(data, dict) and "mode" in data:
            if "modes" in data:
                raise ValueError("give mode or modes, not both")
            data = dict(data)
            data["modes"] = [data.pop("mode")]
        return data

    @field_validator("arguments")
    @classmethod
    def _some(cls, arguments: dict[str, Argument]) -> dict[str, Argument]:
        for name in arguments:
            if not name.isidentifier():
                raise ValueError(f"argument name {name!r} is not a Python identifier")
        return arguments

    @model_validator(mode="after")
    def _expectations_name_results(self) -> Scenario:
        known = set(self.arguments) | {"primal", "tangent"}
        for key, value in self.expect.items():
            inner = value.items() if isinstance(value, dict) else [(key, value)]
            if isinstance(value, dict) and key not in get_args(Mode):
                raise ValueError(f"expect.{key}: a mapping must be keyed by a mode name")
            for name, _ in inner:
                if name not in known:
                    raise ValueError(
                        f"expect.{key}: {name!r} is not an argument, 'primal' or 'tangent' "
                        f"(arguments: {', '.join(self.arguments)})"
                    )
        return self

    def expectations_for(self, mode: str) -> dict[str, str]:
        """The expectations that hold in ``mode``: the general ones, then the mode's own."""
        out = {k: v for k, v in self.expect.items() if isinstance(v, str)}
        own = self.expect.get(mode)
        if isinstance(own, dict):
            out.update(own)
        return out

    def activities_for(self, mode: str) -> dict[str, str]:
        """Each argument's activity in ``mode`` (scalars switch Active ↔ Duplicated)."""
        forward = mode in FORWARD_MODES
        out = {}
        for name, arg in self.arguments.items():
            act = arg.activity
            scalar = not isinstance(arg.value, list) and (
                not isinstance(arg.value, Draw) or arg.value.shape == ()
            )
            if forward and act == "Active":
                act = "Duplicated"
            elif not forward and scalar and act in ("Duplicated", "DuplicatedNoNeed"):
                act = "Active"
            out[name] = act
        return out

    def is_shadowed(self, activity: str) -> bool:
        """Whether ``activity`` carries a shadow."""
        return activity in SHADOWED_ACTIVITIES
