"""What ``triad sweep`` does, apart from parsing its options.

Contract: :func:`sweep_main` takes the configuration, the paths given on the command line (one
sweep file, or scenario files) and the flags, and returns the exit code: 0 when every planned
unit passed with a coherent message log, 1 when some did not (failed, error, quarantined, lost)
or some are still missing. Bad input — a missing or invalid file, an unknown mode or activity, a
sweep file mixed with scenario files, an existing ledger without ``--resume`` or
``--overwrite`` — raises :class:`SweepInputError` (the command exits 2) before Ray starts.
Flags override the sweep file's fields. The default ledger is ``<name>.sweep.db`` in the
configuration's ``results.dir`` (``.triad/``). ``--resume`` with a ledger made by a different
sweep (another definition, or scenarios whose content changed) is refused: its units would not
be the plan's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adtriad import __version__
from adtriad.agents.loading import ScenarioError, load_scenarios
from adtriad.agents.sweep.spec import SweepSpec, check_spec, is_sweep_file, load_sweep
from adtriad.config import TriadConfig
from adtriad.paths import UnreadableFile, read_user_text

__all__ = ["SweepInputError", "sweep_main"]


class SweepInputError(ValueError):
    """The command line or a file it names is not a valid sweep."""


def _flags_error(err: ValidationError) -> SweepInputError:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if not (isinstance(p, str) and "[" in p))
        lines.append(f"--{loc.split('.')[0].replace('_', '-')}: {e['msg']}")
    return SweepInputError("\n".join(dict.fromkeys(lines)))


def load_inputs(paths: list[Path], flags: dict[str, Any]) -> tuple[SweepSpec, list]:
    """The spec and scenarios the command line describes (raises :class:`SweepInputError`)."""
    if not paths:
        raise SweepInputError("give a sweep file or scenario files")
    for p in paths:
        try:
            read_user_text(p)
        except UnreadableFile as err:
            raise SweepInputError(str(err)) from None
    flags = {k: v for k, v in flags.items() if v is not None}
    if isinstance(flags.get("modes"), str):
        flags["modes"] = [m.strip() for m in flags["modes"].split(",") if m.strip()]
    start = flags.pop("seed_start", None)
    sweeps = [p for p in paths if is_sweep_file(p)]
    try:
        if sweeps:
            if len(paths) > 1:
                raise SweepInputError("give one sweep file, or scenario files, not both")
            spec, scenarios = load_sweep(sweeps[0])
            if start is not None:
                flags["seeds"] = {"start": start, "count": flags.get("seeds", spec.seeds.count)}
            try:
                spec = spec.with_flags(**flags)
            except ValidationError as err:
                raise _flags_error(err) from None
        else:
            scenarios = load_scenarios(paths)
            if start is not None:
                flags["seeds"] = {"start": start, "count": flags.get("seeds", 1)}
            try:
                spec = SweepSpec.from_flags(paths, **flags)
            except ValidationError as err:
                raise _flags_error(err) from None
        check_spec(spec, scenarios)
    except ScenarioError as err:
        raise SweepInputError(str(err)) from None
    return spec, scenarios


def sweep_main(cfg: TriadConfig, paths: list[Path], *, ledger_path: Path | None = None,
               resume: bool = False, overwrite: bool = False, address: str | None = None,
               report_dir: Path | None = None, json_path: Path | None = None,
               retry_quarantined: bool = False, **flags: Any) -> int:
    """Run the sweep the command line describes; see the module contract."""
    from adtriad.agents.sweep.spec import plan_units

    spec, scenarios = load_inputs(paths, flags)
    ledger_path = ledger_path or cfg.results.dir / f"{spec.name}.sweep.db"
    if resume and overwrite:
        raise SweepInputError("give --resume or --overwrite, not both")
    if ledger_path.exists() and not resume:
        if not overwrite:
            raise SweepInputError(
                f"{ledger_path} already exists: --resume to run only its missing units, "
                f"--overwrite to start over")
        _remove_ledger(ledger_path)
    from adtriad.agents.sweep.runner import run_sweep
    from adtriad.sweep_report import print_summary, progress, summarize, write_report

    with open_ledger(ledger_path) as ledger:
        _check_same_plan(ledger, spec, scenarios, cfg)
        if retry_quarantined:
            ledger.delete(["quarantined", "lost"])
        with progress() as (on_start, on_progress):
            outcome = run_sweep(spec, scenarios, cfg, ledger, address=address,
                                on_progress=on_progress, on_start=on_start)
        runnable = [sc for sc in scenarios if sc.name not in outcome.skipped]
        missing = sum(1 for _ in ledger.missing(plan_units(spec, runnable, cfg)))
        summary = summarize(ledger, missing=missing, outcome=outcome)
        print_summary(summary)
        if json_path is not None:
            import json

            json_path.write_text(json.dumps(summary, indent=2, default=str) + "\n",
                                 encoding="utf-8")
        if report_dir is not None:
            page = write_report(ledger, summary, report_dir)
            from adtriad.logs import get_logger

            get_logger("adtriad.sweep").info("report written", path=str(page))
    return summary["exit_code"]


def open_ledger(path: Path):
    """The ledger at ``path``; SweepInputError (exit 2) when it cannot be one."""
    from adtriad.agents.sweep.ledger import Ledger, LedgerError

    try:
        return Ledger(path)
    except LedgerError as err:
        raise SweepInputError(str(err)) from None


def _remove_ledger(path: Path) -> None:
    from adtriad.agents.sweep.ledger import LedgerError, remove_ledger

    try:
        remove_ledger(path)
    except LedgerError as err:
        raise SweepInputError(str(err)) from None


def _check_same_plan(ledger: Any, spec: Any, scenarios: list, cfg: TriadConfig) -> None:
    # A resumed ledger must hold units of this plan, or its counts and stored definition would
    # mix two sweeps.
    from adtriad.agents.sweep.spec import plan_digest

    digest = plan_digest(spec, scenarios, cfg)
    meta = ledger.meta()
    stored = meta.get("plan_digest")
    if stored is not None and stored != digest:
        was, now = meta.get("spec") or {}, spec.model_dump(mode="json")
        differ = [k for k in now if was.get(k) != now[k]]
        if meta.get("version") != __version__:
            differ.append(f"triad version {meta.get('version')} → {__version__}")
        what = ", ".join(differ) if differ else "the scenarios' content or the tolerances"
        raise SweepInputError(
            f"{ledger.path} was made by a different sweep ({what} changed): its units are not this "
            "plan's. Pass --overwrite to start over, or another --ledger for a new run.")
    ledger.set_meta(plan_digest=digest)
