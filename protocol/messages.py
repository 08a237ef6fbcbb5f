"""The messages the triad exchanges.

Contract:

* Every model is a frozen, strict pydantic v2 model that rejects unknown fields. Python input
  must have the declared types (a :class:`~adtriad.protocol.roles.Role`, not the string
  ``"tempering"``); JSON input takes the JSON forms (role names as strings, arrays as
  ``{dtype, shape, data}``). NaN and infinities travel as the JSON constants ``NaN``,
  ``Infinity`` and ``-Infinity``.
* :class:`TriadMessage` carries the seed document's four fields, ``from`` (Python attribute
  ``sender``), ``to``, ``payload`` and ``seed`` (unsigned 64-bit), plus ``round_id`` and
  ``protocol_version``. Python code may use either ``sender`` or ``from`` when building one; JSON
  always says ``from``.
* The payload is one of :class:`SeedPayload`, :class:`KernelPayload`,
  :class:`GradientsPayload`, :class:`VerdictPayload` and :class:`ErrorPayload`, told apart by
  their ``kind``. :data:`PayloadAdapter` validates and dumps a payload alone.
* Arguments are named, and every per-argument mapping lists them in call order. A batched value
  (``BatchDuplicated`` shadows, batched tangents and derivatives) is stacked along a new leading
  axis.
* Two messages are equal when their fields are; arrays are equal when dtype, shape and bytes
  are, and a NaN scalar equals a NaN scalar.
* A malformed message raises ``pydantic.ValidationError`` whose locations name the fields.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    TypeAdapter,
    field_validator,
    model_validator,
)

from adtriad.protocol.arrays import Value
from adtriad.protocol.roles import Role

__all__ = [
    "PROTOCOL_VERSION",
    "Activity",
    "CheckResult",
    "ErrorPayload",
    "GradientsPayload",
    "KernelPayload",
    "LaunchConfig",
    "Mode",
    "Payload",
    "PayloadAdapter",
    "PayloadKind",
    "ProtocolModel",
    "SeedPayload",
    "Tolerance",
    "TriadMessage",
    "U64",
    "VerdictPayload",
    "message_json_schema",
    "AUTODIFF_MODES",
    "FORWARD_MODES",
    "MODES",
    "SHADOWED_ACTIVITIES",
]

PROTOCOL_VERSION = "1"
"""The version of this message format; a message of another version is refused."""

Mode = Literal[
    "Forward", "ForwardWithPrimal", "Reverse", "ReverseWithPrimal", "ReverseSplitWithPrimal"
]
"""The differentiation modes of ``adtriad.ad_core``, by name."""

Activity = Literal[
    "Const",
    "Active",
    "Duplicated",
    "DuplicatedNoNeed",
    "BatchDuplicated",
    "BatchDuplicatedNoNeed",
    "MixedDuplicated",
]
"""The activity annotations of ``adtriad.ad_core``, by name."""

MODES: tuple[str, ...] = get_args(Mode)
"""Every mode, by name: the one list the agents, the scenario files and the tools use."""
FORWARD_MODES = tuple(m for m in MODES if m.startswith("Forward"))
"""The modes that push tangents forward (an ``Active`` scalar is ``Duplicated`` there)."""
AUTODIFF_MODES = tuple(m for m in MODES if m != "ReverseSplitWithPrimal")
"""The modes one ``autodiff`` call runs (``ReverseSplitWithPrimal`` is ``autodiff_thunk``'s)."""
SHADOWED_ACTIVITIES = ("Duplicated", "DuplicatedNoNeed", "BatchDuplicated", "BatchDuplicatedNoNeed")
"""The activities whose argument travels with shadows (one, or ``width`` stacked)."""

PayloadKind = Literal["seed", "kernel", "gradients", "verdict", "error"]
"""The ``kind`` tags of the payloads."""

_SHADOWED: frozenset[str] = frozenset(get_args(Activity)) - {"Const", "Active"}


def _plain_int(value: Any) -> Any:
    return int(value) if isinstance(value, np.integer) else value


U64 = Annotated[int, BeforeValidator(_plain_int), Field(ge=0, lt=2**64)]
"""An unsigned 64-bit integer (NumPy integers are accepted and become ``int``)."""


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and a.tobytes() == b.tobytes()
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and bool(a == b)


class ProtocolModel(BaseModel):
    """Base of every protocol model: frozen, strict, no unknown fields, array-aware ``==``."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        use_attribute_docstrings=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        ser_json_inf_nan="constants",
    )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and all(
            _same(getattr(self, name), getattr(other, name)) for name in type(self).model_fields
        )

    __hash__ = None  # type: ignore[assignment]  # fields hold dicts and arrays


class Tolerance(ProtocolModel):
    """A comparison passes where ``|actual - expected| <= atol + rtol * |expected|``."""

    rtol: NonNegativeFloat
    """Relative tolerance."""
    atol: NonNegativeFloat
    """Absolute tolerance."""


class LaunchConfig(ProtocolModel):
    """How a CUDA kernel is launched: ``kernel[blocks, threads](...)``."""

    blocks: Annotated[tuple[PositiveInt, ...], Field(min_length=1, max_length=3)]
    """Blocks per grid, one to three dimensions."""
    threads: Annotated[tuple[PositiveInt, ...], Field(min_length=1, max_length=3)]
    """Threads per block, one to three dimensions."""


class SeedPayload(ProtocolModel):
    """tempering → gpu_kernels: opens a round; the message's ``seed`` is the round's seed."""

    kind: Literal["seed"] = "seed"
    """Tag of this payload."""
    master_seed: U64
    """The sweep's master seed, from which the round's seed was derived."""
    round_index: NonNegativeInt
    """Position of this round in its sweep, from 0."""
    scenario: str | None = None
    """Name of the scenario the round runs, when there is one."""


class KernelPayload(ProtocolModel):
    """gpu_kernels → autodiff: what to differentiate, how, and at which inputs."""

    kind: Literal["kernel"] = "kernel"
    """Tag of this payload."""
    name: Annotated[str, Field(min_length=1)]
    """Human name of the kernel (``"saxpy"``)."""
    source: Annotated[str, Field(min_length=1)]
    """Python source text defining ``entry`` (source travels, never a pickle)."""
    entry: str
    """Name of the function in ``source`` to differentiate."""
    mode: Mode
    """The differentiation mode."""
    activities: dict[str, Activity]
    """Annotation of each argument, in call order (a bare argument is ``Const``)."""
    return_activity: Activity | None = None
    """Annotation of the result; ``None`` lets the engine choose as API.md describes."""
    inputs: dict[str, Value]
    """Value of each argument; the same names as ``activities``."""
    shadows: dict[str, Value] = {}
    """Initial shadow (tangent direction or adjoint seed) of some shadowed arguments."""
    launch: LaunchConfig | None = None
    """Launch configuration when ``entry`` is a CUDA kernel; ``None`` for a plain function."""
    path: str | None = None
    """The file ``source`` was read from, when there is one: where it still holds ``source``,
    the kernel is imported from it, so errors name the user's file and line."""
    line: PositiveInt | None = None
    """When ``source`` is embedded in ``path`` (a scenario's ``source: |`` block): the line of
    ``path`` holding its first line; errors are then mapped to that file's lines."""
    column: NonNegativeInt = 0
    """How far each line of an embedded ``source`` is indented in ``path``."""

    @field_validator("entry")
    @classmethod
    def _identifier(cls, entry: str) -> str:
        if not entry.isidentifier():
            raise ValueError(f"{entry!r} is not a Python identifier")
        return entry

    @model_validator(mode="after")
    def _arguments_agree(self) -> KernelPayload:
        if list(self.inputs) != list(self.activities):
            raise ValueError(
                f"inputs {list(self.inputs)} and activities {list(self.activities)} must name "
                "the same arguments in the same order"
            )
        for name in self.shadows:
            if self.activities.get(name) not in _SHADOWED:
                raise ValueError(
                    f"shadows.{name}: argument {name!r} is {self.activities.get(name)}, not "
                    "a shadowed (Duplicated-like) argument"
                )
        return self


class GradientsPayload(ProtocolModel):
    """autodiff → tempering: the derivatives, for verification."""

    kind: Literal["gradients"] = "gradients"
    """Tag of this payload."""
    derivatives: dict[str, Value | None]
    """Per argument, in call order: the derivative of an ``Active`` argument, the shadow after
    the call of a shadowed one, ``None`` for a ``Const`` one."""
    primal: Value | None = None
    """The primal result, when the mode computes it."""
    tangent: Value | None = None
    """Forward modes: the tangent of the result."""
    source: str | None = None
    """The generated derivative source, when asked for."""
    timings: dict[str, NonNegativeFloat] = {}
    """Seconds spent per stage (``"generate"``, ``"compile"``, ``"run"``, ...)."""


class CheckResult(ProtocolModel):
    """One check of a verdict (an oracle comparison, a dot-product test, a reproducibility run)."""

    name: Annotated[str, Field(min_length=1)]
    """What was checked (``"finite_differences"``, ``"dot_product"``, ``"reproducible"``...)."""
    passed: bool
    """Whether the check passed."""
    max_abs_err: float | None = None
    """Largest absolute error over the compared elements."""
    max_rel_err: float | None = None
    """Largest relative error over the compared elements."""
    worst_index: tuple[NonNegativeInt, ...] | None = None
    """Index of the element with the largest error (``()`` for a scalar)."""
    tolerance: Tolerance | None = None
    """The tolerance the errors were judged against."""
    detail: str = ""
    """Human explanation, mostly for a failure."""


class VerdictPayload(ProtocolModel):
    """tempering → autodiff: closes the round with the outcome of every check."""

    kind: Literal["verdict"] = "verdict"
    """Tag of this payload."""
    passed: bool
    """True exactly when every check passed."""
    checks: Annotated[tuple[CheckResult, ...], Field(min_length=1)]
    """The checks run, at least one."""

    @model_validator(mode="after")
    def _passed_agrees(self) -> VerdictPayload:
        if self.passed != all(check.passed for check in self.checks):
            failed = [check.name for check in self.checks if not check.passed]
            raise ValueError(f"passed is {self.passed} but the failed checks are {failed}")
        return self


class ErrorPayload(ProtocolModel):
    """Any role → any role: the sender could not do its part of the round."""

    kind: Literal["error"] = "error"
    """Tag of this payload."""
    error_type: Annotated[str, Field(min_length=1)]
    """Class name of the error (``"ADError"``)."""
    message: str
    """The error's message."""
    where: str = ""
    """What was being done: a stage, a function, a ``file:line``."""


Payload = Annotated[
    SeedPayload | KernelPayload | GradientsPayload | VerdictPayload | ErrorPayload,
    Field(discriminator="kind"),
]
"""One of the five payloads, told apart by ``kind``."""

PayloadAdapter: TypeAdapter[Any] = TypeAdapter(
    Payload, config=ConfigDict(ser_json_inf_nan="constants")
)
"""Validates (``validate_python``, ``validate_json``) and dumps a payload on its own."""


class TriadMessage(ProtocolModel):
    """One message of a round.

    Examples:
        >>> msg = TriadMessage(
        ...     sender=Role.tempering, to=Role.gpu_kernels, seed=42, round_id="r0",
        ...     payload=SeedPayload(master_seed=7, round_index=0))
        >>> msg.model_dump_json()[:39]
        '{"from":"tempering","to":"gpu_kernels",'
        >>> TriadMessage.model_validate_json(msg.model_dump_json()) == msg
        True
    """

    sender: Role = Field(alias="from")
    """The role that sends the message (``from`` in JSON)."""
    to: Role
    """The role that receives it."""
    payload: Payload
    """What the message carries."""
    seed: U64
    """The round's seed, carried by every message of the round (0 ≤ seed < 2**64)."""
    round_id: Annotated[str, Field(min_length=1)]
    """Identifies the round; every message of a round carries the same one."""
    protocol_version: str = PROTOCOL_VERSION
    """Version of the message format; must be :data:`PROTOCOL_VERSION`."""

    @field_validator("protocol_version")
    @classmethod
    def _known_version(cls, version: str) -> str:
        if version != PROTOCOL_VERSION:
            raise ValueError(f"protocol version {version!r} is not {PROTOCOL_VERSION!r}")
        return version


def message_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :class:`TriadMessage`, as ``triad schema`` prints it."""
    schema = TriadMessage.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
