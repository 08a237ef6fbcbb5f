"""What ``triad fuzz`` does, apart from parsing its options.

Contract: :func:`fuzz_main` runs a :class:`~adtriad.agents.fuzz.triad.FuzzJob` — program ``k``
for ``k`` in ``0 .. programs-1``, one unit each — on the sweep machinery
(:func:`~adtriad.agents.sweep.runner.run_units`: a local Ray by default, ``address`` for a
cluster, one triad per CPU, the SQLite ledger with retries and quarantine), for at most
``minutes`` when given (no unit starts after that; the rest stay for ``--resume``). It prints the
summary (:func:`summarize`: counts per class and per mode, per construct, refusals grouped,
the shrunk failures), writes it as JSON and as an HTML page when asked, writes each shrunk
failure as a regression test module under ``tests_dir`` when given, and returns the exit code:
0 when no program was wrong, crashed, or mismatched a primal or state, 1 otherwise. Bad input —
an existing ledger without ``resume`` or ``overwrite``, a ledger made by a different job, both
flags — raises :class:`FuzzInputError` (the command exits 2) before Ray starts.
"""

from __future__ import annotations

import collections
import hashlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adtriad import __version__
from adtriad.agents.fuzz.check import MODE_CLASSES, MODES
from adtriad.agents.fuzz.features import FEATURES
from adtriad.agents.fuzz.generator import Program
from adtriad.agents.fuzz.shrink import regression_test
from adtriad.agents.fuzz.triad import FuzzJob, FuzzTriad
from adtriad.agents.sweep.spec import WorkUnit, unit_id

__all__ = ["CLASSES", "FuzzInputError", "fuzz_main", "plan_programs", "print_summary", "summarize",
           "write_regression_tests"]

CLASSES = ("ok", "refused", "wrong", "crash", "primal", "state", "nondiff", "oracle", "invalid",
           "quarantined", "lost")
"""Every class a program can end in (the last two: the sweep machinery's, when its worker died)."""
FAILING = ("wrong", "crash", "primal", "state", "oracle", "quarantined")
# the job's fields that decide which programs it makes and how they are checked
_PROGRAM_FIELDS = ("seed", "min_statements", "max_statements", "modes", "search_evaluations")


class FuzzInputError(ValueError):
    """The command line does not describe a fuzzing run that can start."""


def _digest(job: FuzzJob) -> str:
    blob = json.dumps(job.model_dump(mode="json", include=set(_PROGRAM_FIELDS)), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def plan_programs(job: FuzzJob) -> Iterator[WorkUnit]:
    """One unit per program of the job (program ``k``'s seed is ``seed * 1_000_003 + k``)."""
    digest, mode = _digest(job), ",".join(job.modes)
    for k in range(job.programs):
        seed = job.seed * 1_000_003 + k
        yield WorkUnit(unit_id(digest, k, seed, mode, ()), 0, job.name, f"program {k}", mode, k, seed, ())


def fuzz_main(cfg: Any, job: FuzzJob, *, ledger_path: Path | None = None, resume: bool = False,
              overwrite: bool = False, address: str | None = None, minutes: float | None = None,
              json_path: Path | None = None, report_path: Path | None = None,
              tests_dir: Path | None = None, echo=print) -> int:
    """Run ``job`` (see the module contract)."""
    from adtriad.agents.sweep.ledger import Ledger, LedgerError, remove_ledger
    from adtriad.agents.sweep.runner import SweepProgress, run_units
    from adtriad.sweep_report import progress

    ledger_path = ledger_path or Path(cfg.results.dir) / f"{job.name}.fuzz.db"
    if resume and overwrite:
        raise FuzzInputError("give --resume or --overwrite, not both")
    if ledger_path.is_dir():
        raise FuzzInputError(f"{ledger_path} is a directory: give a file for --ledger")
    if ledger_path.exists() and not resume:
        if not overwrite:
            raise FuzzInputError(f"{ledger_path} already exists: --resume to run only its missing programs, "
                                 "--overwrite to start over")
        try:
            remove_ledger(ledger_path)
        except LedgerError as err:
            raise FuzzInputError(str(err)) from None
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        ledger = Ledger(ledger_path)
    except LedgerError as err:
        raise FuzzInputError(str(err)) from None
    with ledger:
        stored = ledger.meta().get("job")
        if resume and stored is not None and stored.get("digest") != _digest(job):
            differ = [k for k in _PROGRAM_FIELDS if stored.get(k) != job.model_dump(mode="json")[k]]
            raise FuzzInputError(f"{ledger_path} was made by a different job ({', '.join(differ)} differ): "
                                 "--overwrite, or another --ledger")
        todo_n = sum(1 for _ in ledger.missing(plan_programs(job)))
        ledger.set_meta(name=job.name, version=__version__, planned=job.programs, kind="fuzz",
                        job={**job.model_dump(mode="json"), "digest": _digest(job)})
        ledger.start_run(job.programs, todo_n)
        started = time.monotonic()
        deadline = started + 60.0 * minutes if minutes else None
        run_progress = SweepProgress(total=todo_n)
        finished = True
        if todo_n:
            with progress(label="fuzz") as (on_start, on_progress):
                _, _, finished = run_units(job, [job], lambda: ledger.missing(plan_programs(job)), todo_n, cfg,
                                           ledger, run_progress, triad=FuzzTriad, use_gpus=False,
                                           address=address, on_progress=on_progress, on_start=on_start,
                                           deadline=deadline)
        ledger.finish_run()
        summary = summarize(ledger.rows(), ledger.meta(), str(ledger.path))
        summary["this_run"] = {"todo": todo_n, "recorded": run_progress.done,
                               "seconds": round(time.monotonic() - started, 1), "finished": finished,
                               "programs_per_minute": round(60.0 * run_progress.done
                                                            / max(1e-9, time.monotonic() - started), 1)}
    print_summary(summary, echo)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    if report_path is not None:
        from adtriad.agents.fuzz.report import write_report

        write_report(summary, report_path)
    if tests_dir is not None:
        for path in write_regression_tests(summary, tests_dir):
            echo(f"regression test written: {path}")
    return 1 if any(summary["counts"].get(c, 0) for c in FAILING) else 0


def _normalized(message: str) -> str:
    """A refusal without its file:line:col and numbered engine names, so equal ones group."""
    message = re.sub(r"\S*\.py:\d+(:\d+)?:? ?", "", message)
    return re.sub(r"\b(_ad\w*?)\d+\b", r"\1N", message).strip()


def summarize(rows: Any, meta: dict[str, Any], ledger: str | None = None) -> dict[str, Any]:
    """Counts per class, per mode and per construct, refusals grouped, and the failures, over
    result rows (``seed_index``, ``status``, ``seconds``, ``detail``: a ledger's or the triad's)."""
    counts: collections.Counter = collections.Counter()
    per_mode: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    per_feature: dict[str, collections.Counter] = {name: collections.Counter() for name in FEATURES}
    refusals: collections.Counter = collections.Counter()
    failures, seconds = [], 0.0
    for row in rows:
        detail = row["detail"] or {}
        cls = detail.get("class") or row["status"]  # quarantined / lost have no class of their own
        counts[cls] += 1
        seconds += row["seconds"] or 0.0
        for mode, result in (detail.get("modes") or {}).items():
            per_mode[mode][result["class"]] += 1
            if result["class"] == "refused":
                refusals[_normalized(result["message"])] += 1
        for name in detail.get("features") or ():
            per_feature.setdefault(name, collections.Counter())[cls] += 1
        if cls in FAILING:
            failures.append({"program": row["seed_index"], "class": cls, "why": detail.get("why", "")
                             or (detail.get("reason") or ""), "source": (detail.get("program") or {}).get("source"),
                             "shrunk": detail.get("shrunk")})
    return {
        "name": meta.get("name"), "version": meta.get("version"), "ledger": ledger,
        "job": meta.get("job"), "planned": meta.get("planned"), "recorded": sum(counts.values()),
        "counts": {c: counts.get(c, 0) for c in CLASSES},
        "modes": {m: {c: n for c, n in sorted(k.items(), key=lambda kv: MODE_CLASSES.index(kv[0]))}
                  for m, k in per_mode.items()},
        "features": {name: dict(k) for name, k in per_feature.items() if k},
        "refusals": [{"count": n, "message": m} for m, n in refusals.most_common(30)],
        "failures": failures,
        "seconds_in_units": round(seconds, 1),
    }


def print_summary(summary: dict[str, Any], echo=print) -> None:
    run = summary.get("this_run", {})
    echo(f"triad fuzz: {summary['recorded']} of {summary['planned']} programs checked"
         + (f" ({run['recorded']} this run in {run['seconds']:.0f} s, {run['programs_per_minute']} a minute)"
            if run else ""))
    echo("  " + ", ".join(f"{c} {n}" for c, n in summary["counts"].items() if n))
    for mode, counts in summary["modes"].items():
        echo(f"  {mode}: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    if summary["refusals"]:
        echo("  most common refusals:")
        for r in summary["refusals"][:8]:
            echo(f"    {r['count']:5d}  {r['message'][:160]}")
    for f in summary["failures"][:20]:
        lines = f["shrunk"]["lines"] if f.get("shrunk") else None
        echo(f"  program {f['program']}: {f['class']}" + (f" (shrunk {lines[0]} -> {lines[1]} lines)" if lines else "")
             + (f": {f['why'].splitlines()[0][:160]}" if f["why"] else ""))


def write_regression_tests(summary: dict[str, Any], directory: Path) -> list[Path]:
    """One test module per shrunk failure (``test_fuzz_<job>_<program>.py``); returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    job = summary.get("job") or {}
    paths = []
    for f in summary["failures"]:
        if not f.get("shrunk"):
            continue
        fields = dict(f["shrunk"]["program"])
        for key in ("floats", "ints", "int_values"):
            fields[key] = tuple(fields[key])
        fields["arrays"] = tuple(tuple(a) for a in fields["arrays"])
        if fields.get("inputs") is not None:
            fields["inputs"] = tuple(tuple(v) if isinstance(v, list) else v for v in fields["inputs"])
        program = Program(**fields)
        found = (f"program {f['program']} of `triad fuzz --seed {job.get('seed', 0)}`, {f['class']}: "
                 f"{(f['why'] or '').splitlines()[0][:120] if f['why'] else ''}")
        path = directory / f"test_fuzz_{summary.get('name', 'fuzz')}_{job.get('seed', 0)}_{f['program']}.py"
        path.write_text(regression_test(program, tuple(job.get("modes") or MODES), found),
                        encoding="utf-8")
        paths.append(path)
    return paths

