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
* ``triad run SCENARIO...`` runs scenarios through the triad (``adtriad.agents``): a table of
  every round on stdout (progress on a terminal's stderr), ``--json PATH`` for the
  :class:`~adtriad.agents.report.RunReport`; exit 0 when every round passed and is coherent,
  1 when a check failed or an agent could not do its part, 2 for a bad scenario or option.
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


class ModeChoice(str, Enum):
    forward = "forward"
    reverse = "reverse"


@app.command()
def show(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="MODULE:FUNCTION or path/to/file.py:FUNCTION.")],
    mode: Annotated[ModeChoice, typer.Option("--mode", help="Direction of the derivative.")] = (
        ModeChoice.reverse
    ),
    types: Annotated[
        str | None,
        typer.Option("--types", help="Comma-free list of Numba types, one per parameter, "
                     "separated by ';' (e.g. 'float64[::1]; float64; int64'). Default: float64."),
    ] = None,
    const: Annotated[
        list[str] | None, typer.Option("--const", help="A parameter not differentiated.")
    ] = None,
) -> None:
    """Print the generated derivative source of a function."""
    from adtriad.ad_core import ADError, Forward, Reverse, derivative_source
    from adtriad.ad_core.loader import set_cache_dir

    set_cache_dir(_config(ctx).engine.cache_dir / "generated")
    try:
        func = _load_target(target)
        argtypes = None if types is None else [t.strip() for t in types.split(";") if t.strip()]
        text = derivative_source(func, Forward if mode is ModeChoice.forward else Reverse,
                                 argtypes, const or ())
    except ADError as err:
        _fail(str(err))
    typer.echo(text, nl=False)


def _load_target(target: str):
    """Import ``MODULE:FUNCTION`` or ``FILE.py:FUNCTION``."""
    import importlib
    import importlib.util

    from adtriad.ad_core import ADError

    where, _, name = target.rpartition(":")
    if not where or not name:
        raise ADError(f"{target!r}: write MODULE:FUNCTION or path/to/file.py:FUNCTION")
    try:
        if where.endswith(".py"):
            path = Path(where)
            if path.is_dir() or not path.exists():
                raise ADError(f"{where}: {'a directory, not' if path.is_dir() else 'no such'} "
                              "Python file")
            spec = importlib.util.spec_from_file_location(path.stem, where)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except ADError:
        raise
    except SyntaxError as err:
        col = f":{err.offset}" if err.offset else ""
        raise ADError(f"{err.filename or where}:{err.lineno}{col}: not valid Python "
                      f"({err.msg}); fix that line and run again") from None
    except ImportError as err:
        raise ADError(f"cannot import {where!r}: {err}") from None
    except Exception as err:  # importing runs the user's module-level code
        raise ADError(f"{_raising_line(err, where)}: importing {where} raised "
                      f"{type(err).__name__}: {err}; `triad show` imports the file, so its "
                      "top level must run") from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise ADError(f"{where} has no function {name!r}") from None


def _raising_line(err: BaseException, where: str) -> str:
    """file:line of the deepest frame of ``err`` in the user's file ``where`` (else ``where``)."""
    import traceback

    target = Path(where).resolve() if where.endswith(".py") else None
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if target is None or Path(f.filename).resolve() == target]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else where


class BackendChoice(str, Enum):
    ray = "ray"
    local = "local"


@app.command()
def run(
    ctx: typer.Context,
    scenarios: Annotated[
        list[Path], typer.Argument(help="Scenario YAML files (e.g. scenarios/saxpy.yaml).")
    ],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON to this file.")
    ] = None,
    backend: Annotated[
        BackendChoice, typer.Option("--backend", help="Ray actors or plain objects in-process.")
    ] = BackendChoice.ray,
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster to join (default: start one).")
    ] = None,
    seeds: Annotated[
        int | None,
        typer.Option("--seeds", min=1, help="Rounds per scenario and mode (default: the file's)."),
    ] = None,
) -> None:
    """Run scenarios through the triad and verify every round."""
    from adtriad.agents import ScenarioError, load_scenarios, run_scenarios

    cfg = _config(ctx)
    if address is not None:
        cfg = cfg.model_copy(update={"ray": cfg.ray.model_copy(update={"address": address})})
    try:
        loaded = load_scenarios(scenarios)
    except ScenarioError as err:
        _fail(str(err))
    from adtriad.cli_report import print_report, progress

    with progress(len(loaded)) as on_round:
        report = run_scenarios(loaded, cfg, backend=backend.value, seeds=seeds,
                               on_round=on_round)
    print_report(report)
    if json_path is not None:
        try:
            json_path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
        except OSError as err:
            _fail(f"cannot write {json_path}: {err.strerror}", 1)
    raise typer.Exit(report.exit_code)


@app.command()
def sweep(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(help="One sweep file (sweeps/*.yaml) or scenario files."),
    ],
    seeds: Annotated[
        int | None, typer.Option("--seeds", min=1, help="Rounds per scenario, mode and activity.")
    ] = None,
    seed_start: Annotated[
        int | None, typer.Option("--seed-start", min=0, help="First round index (default 0).")
    ] = None,
    modes: Annotated[
        str | None, typer.Option("--modes", help="Comma-separated modes (default: each file's).")
    ] = None,
    activities: Annotated[
        str | None, typer.Option("--activities", help="as_written or all (every combination).")
    ] = None,
    ledger: Annotated[
        Path | None, typer.Option("--ledger", help="SQLite ledger (default .triad/NAME.sweep.db; results.dir sets the directory).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Run only the units the ledger has no result for.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Delete an existing ledger and start over.")
    ] = False,
    retry_quarantined: Annotated[
        bool, typer.Option("--retry-quarantined", help="With --resume: run quarantined and "
                           "lost units again.")
    ] = False,
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster to join (default: start one).")
    ] = None,
    triads: Annotated[
        int | None, typer.Option("--triads", min=1, help="Triads (default: one per GPU, else "
                                 "one per CPU).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0.001, help="Seconds a unit may run.")
    ] = None,
    retries: Annotated[
        int | None, typer.Option("--retries", min=0, help="Infrastructure retries per unit.")
    ] = None,
    quarantine_after: Annotated[
        int | None, typer.Option("--quarantine-after", min=1, help="Quarantine a unit that "
                                 "killed its worker this many times.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write an HTML report with plots here.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the summary as JSON to this file.")
    ] = None,
) -> None:
    """Run a verification sweep on Ray, with a durable ledger (see docs/sweeps.md)."""
    from adtriad.agents.sweep.command import SweepInputError, sweep_main

    try:
        code = sweep_main(
            _config(ctx), paths, ledger_path=ledger, resume=resume, overwrite=overwrite,
            address=address, report_dir=report, json_path=json_path,
            retry_quarantined=retry_quarantined, seeds=seeds, seed_start=seed_start,
            modes=modes, activities=activities, triads=triads, unit_timeout_s=timeout,
            retries=retries, quarantine_after=quarantine_after)
    except SweepInputError as err:
        _fail(str(err))
    raise typer.Exit(code)


@app.command()
def fuzz(
    ctx: typer.Context,
    programs: Annotated[int, typer.Option("--programs", min=1, help="Programs to generate.")] = 100,
    seed: Annotated[int, typer.Option("--seed", min=0, help="The run's seed (program k: the "
                                      "same on every machine).")] = 0,
    minutes: Annotated[
        float | None, typer.Option("--minutes", min=0.01, help="Start no program after this "
                                   "long (the rest stay for --resume).")
    ] = None,
    size: Annotated[
        str, typer.Option("--size", help="Statements in f: MAX, or MIN-MAX (default 5-20).")
    ] = "5-20",
    modes: Annotated[
        str | None, typer.Option("--modes", help="Comma-separated modes (default: every mode "
                                 "one autodiff call runs).")
    ] = None,
    search: Annotated[
        int, typer.Option("--search", min=0, help="Input points the tempered search tries per "
                          "program that passes (0: none).")
    ] = 24,
    shrink_s: Annotated[
        float, typer.Option("--shrink-seconds", min=0, help="Time spent shrinking each failure.")
    ] = 120.0,
    name: Annotated[str, typer.Option("--name", help="The run's name (ledger and tests).")] = "fuzz",
    ledger: Annotated[
        Path | None, typer.Option("--ledger", help="SQLite ledger (default .triad/NAME.fuzz.db).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Run only the programs the ledger has no result for.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Delete an existing ledger and start over.")
    ] = False,
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster to join (default: start one).")
    ] = None,
    triads: Annotated[
        int | None, typer.Option("--triads", min=1, help="Triads (default: one per CPU).")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds one program may take.")
    ] = 900.0,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the summary as JSON to this file.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the HTML report to this file.")
    ] = None,
    tests_dir: Annotated[
        Path | None, typer.Option("--tests", help="Write each shrunk failure as a regression "
                                  "test module in this directory.")
    ] = None,
) -> None:
    """Generate programs, differentiate them, check them against dual numbers (see docs/fuzz.md)."""
    from pydantic import ValidationError

    from adtriad.agents.fuzz.command import FuzzInputError, fuzz_main
    from adtriad.agents.fuzz.triad import FuzzJob

    low, _, high = size.partition("-")
    if not (low.strip().isdigit() and (not high or high.strip().isdigit())):
        _fail(f"--size: {size!r} is not MAX or MIN-MAX (e.g. 5-20)")
    bounds = (int(low), int(high)) if high else (min(5, int(low)), int(low))
    listed = {} if modes is None else {"modes": tuple(m.strip() for m in modes.split(",") if m.strip())}
    try:
        job = FuzzJob(name=name, seed=seed, programs=programs, min_statements=bounds[0],
                      max_statements=bounds[1], search_evaluations=search, shrink_s=shrink_s,
                      unit_timeout_s=timeout, triads=triads, **listed)
    except ValidationError as err:
        _fail("; ".join(f"--{'-'.join(str(p) for p in e['loc']) or 'options'}: {e['msg']}"
                        for e in err.errors()))
    try:
        code = fuzz_main(_config(ctx), job, ledger_path=ledger, resume=resume, overwrite=overwrite,
                         address=address, minutes=minutes, json_path=json_path, report_path=report,
                         tests_dir=tests_dir, echo=typer.echo)
    except FuzzInputError as err:
        _fail(str(err))
    raise typer.Exit(code)


@app.command()
def agents(
    ctx: typer.Context,
    role: Annotated[
        str | None, typer.Argument(help="Print only this agent's card (tempering, gpu_kernels, "
                                        "autodiff).")
    ] = None,
) -> None:
    """Print the agent cards (skills, schemas, trits) and the message JSON Schema, as JSON."""
    from adtriad.cards import agents_document

    doc = agents_document(_config(ctx).roles.trits)
    if role is not None:
        cards = [c for c in doc["agents"] if c["name"] == role]
        if not cards:
            _fail(f"no agent {role!r}; agents: {', '.join(c['name'] for c in doc['agents'])}")
        doc = cards[0]
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))


@app.command()
def mcp(
    ctx: typer.Context,
    backend: Annotated[
        BackendChoice, typer.Option("--backend", help="Where scenario runs go by default.")
    ] = BackendChoice.local,
) -> None:
    """Serve the triad's tools over MCP on stdin/stdout (needs the 'mcp' extra)."""
    from adtriad.facade import Triad
    from adtriad.mcp_server import sdk_missing, serve

    if sdk_missing():
        _fail(sdk_missing(), 1)

    serve(Triad(backend=backend.value, config=_config(ctx)))


def main() -> None:
    """Console entry point of ``triad``."""
    app(prog_name="triad")


if __name__ == "__main__":
    main()
