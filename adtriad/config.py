"""triad's configuration: typed settings with layered sources.

Contract: :func:`load_config` builds a :class:`TriadConfig` from, lowest precedence first,

1. the defaults written in the models below (they ship with the package; nothing is read from
   disk unless asked for);
2. a YAML config file: the ``path`` argument, else the file named by ``TRIAD_CONFIG``;
3. environment variables ``TRIAD_<SECTION>__<FIELD>`` (``__`` between levels, any case), e.g.
   ``TRIAD_RAY__ADDRESS=auto``, ``TRIAD_TOLERANCES__FLOAT32__RTOL=1e-3``,
   ``TRIAD_ROLES__TRITS__AUTODIFF=0``; an empty value means null. Other ``TRIAD_`` variables
   (without ``__``) are not settings and are ignored;
4. ``overrides`` (the command line), a nested mapping of the same shape.

``configs/default.yaml`` documents exactly these defaults (a test keeps the two equal). Every
bad value raises :class:`ConfigError` naming its source (file, variable, command line) and the
setting. The models are frozen, reject unknown settings, and coerce strings, so YAML and
environment values need no quoting rules of their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_validator,
)

from adtriad.paths import DEFAULT_CACHE_DIR, UnreadableFile, read_user_text
from adtriad.units import memory_bytes
from adtriad.protocol import DEFAULT_TRITS, Role, validate_trits

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "ConfigError",
    "DtypeTolerance",
    "EngineConfig",
    "LogFormat",
    "LogLevel",
    "LoggingConfig",
    "RayConfig",
    "RolesConfig",
    "Tolerances",
    "TriadConfig",
    "load_config",
]

ENV_PREFIX = "TRIAD_"
"""Prefix of the environment variables that set configuration values."""
CONFIG_ENV = "TRIAD_CONFIG"
"""Environment variable naming a config file when none is given."""

LogFormat = Literal["console", "json"]
"""``console``: human-readable lines; ``json``: one JSON object per line."""
LogLevel = Literal["debug", "info", "warning", "error", "critical"]
"""The least severe level that is logged."""


class ConfigError(ValueError):
    """A configuration value is invalid; the message names its source and the setting."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class DtypeTolerance(_Section):
    """Gradients agree where ``|actual - expected| <= atol + rtol * |expected|``."""

    rtol: NonNegativeFloat
    """Relative tolerance."""
    atol: NonNegativeFloat
    """Absolute tolerance."""


class Tolerances(_Section):
    """Tolerances per floating-point precision, for comparing gradients with oracles."""

    float32: DtypeTolerance = DtypeTolerance(rtol=1e-4, atol=1e-5)
    """For float32 (and float16, complex64) results."""
    float64: DtypeTolerance = DtypeTolerance(rtol=1e-7, atol=1e-10)
    """For float64 (and complex128) results."""

    def for_dtype(self, dtype: Any) -> DtypeTolerance:
        """The tolerance for results of ``dtype``; a 4-byte-or-smaller float uses float32's.

        Examples:
            >>> Tolerances().for_dtype("float32").rtol
            0.0001
        """
        dt = np.dtype(dtype)
        if dt.kind not in "fc":
            raise ConfigError(f"tolerances: no tolerance for non-float dtype {dt}")
        precision = dt.itemsize // (2 if dt.kind == "c" else 1)
        return self.float32 if precision <= 4 else self.float64


class RolesConfig(_Section):
    """The roles' trits in GF(3), each −1, 0 or +1."""

    trits: dict[Role, int] = Field(default_factory=lambda: dict(DEFAULT_TRITS))
    """Trit of each role; the coherence check needs the senders' trits to sum to 0 mod 3."""

    @field_validator("trits")
    @classmethod
    def _valid(cls, trits: dict[Role, int]) -> dict[Role, int]:
        return validate_trits(trits)


class RayConfig(_Section):
    """How triad starts or joins Ray."""

    address: str | None = None
    """Cluster to join (``"auto"``, ``"ray://host:10001"``); null starts a local instance."""
    num_cpus: PositiveInt | None = None
    """CPUs of a local instance; null lets Ray count them."""
    num_gpus: NonNegativeInt | None = None
    """GPUs of a local instance; null lets Ray count them."""
    temp_dir: Path | None = None
    """Root of a local instance's temporary files; null for Ray's default."""
    namespace: str = "adtriad"
    """Ray namespace of triad's actors."""
    include_dashboard: bool = False
    """Start Ray's dashboard with a local instance."""
    max_restarts: NonNegativeInt = 1
    """How often Ray restarts a triad actor that died (its rounds are then run once more)."""

    @field_validator("temp_dir")
    @classmethod
    def _expand(cls, path: Path | None) -> Path | None:
        return None if path is None else path.expanduser()

    def init_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``ray.init`` (instance options only when starting one)."""
        kwargs: dict[str, Any] = {"namespace": self.namespace}
        if self.address is not None:
            kwargs["address"] = self.address
            return kwargs
        kwargs["include_dashboard"] = self.include_dashboard
        if self.num_cpus is not None:
            kwargs["num_cpus"] = self.num_cpus
        if self.num_gpus is not None:
            kwargs["num_gpus"] = self.num_gpus
        if self.temp_dir is not None:
            kwargs["_temp_dir"] = str(self.temp_dir)
        return kwargs


class EngineConfig(_Section):
    """Options of the AD engine."""

    cache_dir: Path = Field(default=Path(DEFAULT_CACHE_DIR), validate_default=True)
    """Where generated derivative code is written and cached (``~`` is expanded)."""
    checkpoint_memory: int | None = None
    """Bytes (or ``"2 GB"``) of snapshots within which reverse modes checkpoint time loops
    (binomial checkpointing); null: time loops are taped whole."""

    @field_validator("checkpoint_memory", mode="before")
    @classmethod
    def _memory(cls, memory: Any) -> Any:
        return None if memory is None else memory_bytes(memory)

    @field_validator("cache_dir")
    @classmethod
    def _expand(cls, path: Path) -> Path:
        return path.expanduser()


class ResultsConfig(_Section):
    """Where commands write what they produce."""

    dir: Path = Path(".triad")
    """Ledgers (``NAME.sweep.db``, ``NAME.fuzz.db``) go here unless ``--ledger`` names a file."""


class LoggingConfig(_Section):
    """How triad logs (always to stderr)."""

    format: LogFormat = "console"
    """``console`` for people, ``json`` for machines."""
    level: LogLevel = "info"
    """The least severe level logged."""

    @field_validator("level", mode="before")
    @classmethod
    def _lower(cls, level: Any) -> Any:
        return level.lower() if isinstance(level, str) else level


class TriadConfig(_Section):
    """Every setting of triad, by section."""

    tolerances: Tolerances = Tolerances()
    """Tolerances per dtype."""
    roles: RolesConfig = RolesConfig()
    """Trits of the roles."""
    ray: RayConfig = RayConfig()
    """Ray options."""
    engine: EngineConfig = EngineConfig()
    """AD engine options."""
    results: ResultsConfig = ResultsConfig()
    """Where results are written."""
    logging: LoggingConfig = LoggingConfig()
    """Logging options."""


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> TriadConfig:
    """Build the configuration from defaults, a file, the environment and overrides.

    Args:
        path: a YAML config file; ``None`` uses ``$TRIAD_CONFIG`` when set, else no file.
        env: the environment to read (``os.environ`` when ``None``).
        overrides: highest-precedence values, nested like the file (``{"logging": {...}}``).

    Raises:
        ConfigError: a file cannot be read, or a value is invalid.

    Examples:
        >>> load_config(env={"TRIAD_RAY__NUM_CPUS": "2"}).ray.num_cpus
        2
    """
    env = os.environ if env is None else env
    data = TriadConfig().model_dump(mode="json")
    if path is None and env.get(CONFIG_ENV):
        path = env[CONFIG_ENV]
    if path is not None:
        _merge(data, _read_file(Path(path)), f"config file {path}")
        _validate(data, f"config file {path}")
    for name in sorted(env):
        if name.upper().startswith(ENV_PREFIX) and "__" in name:
            _set_from_env(data, name, env[name])
            _validate(data, f"environment variable {name}")
    if overrides:
        _merge(data, overrides, "command line")
    return _validate(data, "command line" if overrides else "defaults")


def _read_file(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(read_user_text(path))
    except UnreadableFile as err:
        raise ConfigError(f"config file {err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path}: not valid YAML ({err})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path}: expected a mapping of sections at the top")
    return loaded


def _merge(into: dict[str, Any], new: Mapping[str, Any], source: str, where: str = "") -> None:
    for key, value in new.items():
        here = f"{where}{key}"
        if not isinstance(key, str) or key not in into:
            raise ConfigError(f"{source}: unknown setting {here!r}")
        if isinstance(into[key], dict) and value is None:
            continue  # an empty section keeps its defaults
        if isinstance(into[key], dict) and isinstance(value, Mapping):
            _merge(into[key], value, source, here + ".")
        else:
            into[key] = value


def _set_from_env(data: dict[str, Any], name: str, raw: str) -> None:
    keys = name[len(ENV_PREFIX) :].lower().split("__")
    node: Any = data
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            raise ConfigError(
                f"environment variable {name}: unknown setting {'.'.join(keys[: depth + 1])!r}"
            )
        if depth == len(keys) - 1:
            node[key] = raw if raw != "" else None
        node = node[key]


def _validate(data: dict[str, Any], source: str) -> TriadConfig:
    try:
        return TriadConfig.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None
