"""The ``triad`` command.

Contract:

* Global options, before the command: ``--config PATH`` (a YAML file), ``--log-format
  [console|json]`` and ``--log-level LEVEL``. They are the highest layer of the configuration
  (see :mod:`adtriad.config`); the result is in ``ctx.obj`` for every command.
* Logging is configured here, once per invocation, and goes to stderr; stdout carries only the
  command's result.
* Exit codes: 0 success, 1 a command's own failure, 2 bad input (an unknown option or value, a
  bad config file or ``TRIAD_`` variable).
* A further command is one more ``@app.command()`` function taking ``ctx: typer.Context`` when
  it needs the configuration (``_config(ctx)``). :func:`main` is the console entry point.
"""

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import structlog
import typer
import yaml
from rich.console import Console
from rich.markup import escape

from adtriad import __version__
from adtriad.config import ConfigError, TriadConfig, load_config
from adtriad.logs import configure_logging

__all__ = ["app", "main"]

app = typer.Typer(
    name="triad",
    help="Enzyme-style automatic differentiation of Numba code, verified by a triad of agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


class LogFormatChoice(str, Enum):
    console = "console"
    json = "json"


class LogLevelChoice(str, Enum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


def _fail(message: str, code: int = 2) -> NoReturn:
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]triad: error:[/] {escape(message)}", markup=True
    )
    raise typer.Exit(code)


def _config(ctx: typer.Context) -> TriadConfig:
    """The configuration the global options built."""
    return ctx.find_root().obj


@app.callback()
def _global_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="YAML config file (default: $TRIAD_CONFIG, else built-in defaults).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    log_format: Annotated[
        LogFormatChoice | None,
        typer.Option(
            "--log-format", case_sensitive=False, help="Log lines for people or machines."
        ),
    ] = None,
    log_level: Annotated[
        LogLevelChoice | None,
        typer.Option("--log-level", case_sensitive=False, help="Least severe level logged."),
    ] = None,
) -> None:
    overrides: dict[str, dict[str, str]] = {}
    if log_format is not None:
        overrides.setdefault("logging", {})["format"] = log_format.value
    if log_level is not None:
        overrides.setdefault("logging", {})["level"] = log_level.value
    try:
        cfg = load_config(config, overrides=overrides)
    except ConfigError as err:
        _fail(str(err))
    configure_logging(cfg.logging.format, cfg.logging.level, stream=sys.stderr)
    ctx.obj = cfg
    structlog.get_logger("adtriad.cli").debug(
        "configured", command=ctx.invoked_subcommand, config_file=str(config) if config else None
    )


@app.command()
def version() -> None:
    """Print adtriad's version."""
    typer.echo(__version__)


@app.command()
def schema() -> None:
    """Print the JSON Schema of a triad message."""
    from adtriad.protocol import message_json_schema

    typer.echo(json.dumps(message_json_schema(), indent=2))


@app.command("config")
def show_config(ctx: typer.Context) -> None:
    """Print the configuration in effect, as YAML."""
    typer.echo(yaml.safe_dump(_config(ctx).model_dump(mode="json"), sort_keys=False), nl=False)


def main() -> None:
    """Console entry point of ``triad``."""
    app(prog_name="triad")


if __name__ == "__main__":
    main()
