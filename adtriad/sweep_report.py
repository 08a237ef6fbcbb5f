"""How ``triad sweep`` shows a sweep: a progress bar, a summary table, an HTML and JSON report.

Contract:

* :func:`progress` is a context manager yielding ``(on_start, on_progress)`` for
  :func:`adtriad.agents.sweep.runner.run_sweep`: a rich bar on a terminal's stderr (units done
  of this run, failures, incidents, rate, ETA), nothing otherwise.
* :func:`summarize` reads the ledger (aggregates in SQL, nothing held per unit) into a plain,
  JSON-ready dict: counts by status, per scenario/kernel/mode groups, quarantined units, the
  first failures, incidents, runs, and ``exit_code`` — 0 when every planned unit passed with a
  coherent message log, else 1.
* :func:`print_summary` writes one table and a verdict line to stdout.
* :func:`write_report` writes ``index.html``, ``summary.json`` and three PNG plots (matplotlib,
  Agg backend: the error distribution per kernel and mode, the pass rate per seed range, the
  time per unit) to a folder.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adtriad.agents.sweep.ledger import STATUSES, Ledger

__all__ = ["print_summary", "progress", "summarize", "write_report"]

_STYLE = {"passed": "green", "failed": "bold red", "error": "bold magenta",
          "quarantined": "bold yellow", "lost": "yellow"}
_FAILURES_SHOWN = 50


@contextlib.contextmanager
def progress(console: Console | None = None, label: str = "sweep"):
    """Yield ``(on_start, on_progress)``; a progress bar on an interactive stderr."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield None, None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn(f"[bold]{label}"), BarColumn(bar_width=20), MofNCompleteColumn(),
                   TextColumn("[red]{task.fields[failures]} not passed[/]"),
                   TextColumn("[yellow]{task.fields[incidents]} incidents[/]"),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                   TimeRemainingColumn(), console=console, transient=False)
    with bar:
        task = bar.add_task(label, total=None, failures=0, incidents=0, rate="")

        def on_start(prog, plan):
            bar.update(task, total=prog.total)
            kind = "GPU" if plan.gpu else "CPU"
            bar.console.print(f"triad {label}: {prog.total} units on {plan.count} {kind} triads")

        def on_progress(prog):
            elapsed = bar.tasks[task].elapsed or 0.0
            rate = f"{prog.done / elapsed:.1f} units/s" if elapsed > 0 else ""
            bar.update(task, completed=prog.done, failures=prog.failures,
                       incidents=prog.incidents, rate=rate)

        yield on_start, on_progress


def summarize(ledger: Ledger, *, missing: int = 0, outcome: Any = None) -> dict[str, Any]:
    """A JSON-ready summary of the ledger (see the module contract)."""
    meta = ledger.meta()
    db = ledger.db
    counts = ledger.status_counts()
    groups: dict[tuple, dict[str, Any]] = {}
    for sc, kernel, mode, status, n, worst, mean_s in db.execute(
            "SELECT scenario, kernel, mode, status, COUNT(*), MAX(max_rel_err), AVG(seconds) "
            "FROM results GROUP BY scenario, kernel, mode, status ORDER BY scenario, mode"):
        g = groups.setdefault((sc, kernel, mode), {
            "scenario": sc, "kernel": kernel, "mode": mode, "units": 0,
            **dict.fromkeys(STATUSES, 0), "max_rel_err": None, "seconds_total": 0.0})
        g["units"] += n
        g[status] += n
        if worst is not None and (g["max_rel_err"] is None or worst > g["max_rel_err"]):
            g["max_rel_err"] = worst
        g["seconds_total"] += (mean_s or 0.0) * n
    for g in groups.values():
        g["mean_seconds"] = g.pop("seconds_total") / g["units"] if g["units"] else 0.0
    quarantined = [
        {"unit_id": r["unit_id"], "unit": _label(r), "reason": r["detail"].get("reason", "")}
        for r in ledger.rows("status IN ('quarantined', 'lost')")]
    failures = []
    for r in ledger.rows("status IN ('failed', 'error') ORDER BY seed_index LIMIT ?",
                         [_FAILURES_SHOWN]):
        failures.append({"unit_id": r["unit_id"], "unit": _label(r), "status": r["status"],
                         "seed": r["seed"], "why": _why(r["detail"])})
    incidents: dict[str, int] = {}
    for kind, n in db.execute("SELECT kind, COUNT(*) FROM incidents GROUP BY kind"):
        incidents[kind] = n
    recorded = ledger.count()
    incoherent = ledger.incoherent()
    planned = int(meta.get("planned", recorded))
    ok = missing == 0 and counts["passed"] == recorded and incoherent == 0
    out = {
        "name": meta.get("name", "sweep"),
        "version": meta.get("version"),
        "ledger": str(ledger.path),
        "planned": planned,
        "recorded": recorded,
        "missing": missing,
        "counts": counts,
        "incoherent": incoherent,
        "incidents": incidents,
        "groups": list(groups.values()),
        "quarantined": quarantined,
        "failures": failures,
        "skipped": meta.get("skipped", {}),
        "runs": ledger.runs(),
        "exit_code": 0 if ok else 1,
    }
    if outcome is not None:
        out["this_run"] = {"todo": outcome.todo, "recorded": outcome.recorded,
                           "triads": outcome.triads, "gpu": outcome.gpu,
                           "seconds": round(outcome.seconds, 3),
                           "stopped_early": outcome.stopped_early}
    return out


def _label(row: dict[str, Any]) -> str:
    return f"{row['scenario']}/{row['mode']}/{row['seed_index']}[{row['activities']}]"


def _why(detail: dict[str, Any]) -> str:
    err = detail.get("error")
    if isinstance(err, dict):
        return f"{err.get('agent')} agent: {err.get('error_type')}: {err.get('message', '')[:300]}"
    if isinstance(err, str):
        return err[:300]
    bad = [c for c in detail.get("checks", ()) if not c.get("passed")]
    if bad:
        c = bad[0]
        rel = c.get("max_rel_err")
        return f"check {c['name']} failed" + (f" (max rel err {rel:.3e})" if rel else "") + (
            f": {c.get('detail', '')[:200]}" if c.get("detail") else "")
    return detail.get("reason", "")


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print the summary table and verdict (see the module contract)."""
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    table = Table(title=f"triad sweep {summary['name']}", title_justify="left")
    for col in ("scenario", "kernel", "mode", "units", *STATUSES, "largest rel err", "s/unit"):
        table.add_column(col, justify="right" if col not in ("scenario", "kernel", "mode")
                         else "left")
    for g in summary["groups"]:
        cells = [f"[{_STYLE[s]}]{g[s]}[/]" if g[s] and s != "passed" else str(g[s])
                 for s in STATUSES]
        worst = "" if g["max_rel_err"] is None else f"{g['max_rel_err']:.1e}"
        table.add_row(escape(g["scenario"]), escape(g["kernel"]), g["mode"], str(g["units"]),
                      *cells, worst, f"{g['mean_seconds']:.3f}")
    console.print(table)
    for q in summary["quarantined"]:
        console.print(f"[yellow]{escape(q['unit'])}[/] ({q['unit_id']}): {escape(q['reason'])}")
    for f in summary["failures"][:10]:
        console.print(f"[red]{escape(f['unit'])} {f['status']}[/], seed {f['seed']}: "
                      f"{escape(f['why'])}")
    extra = len(summary["failures"]) - 10
    if extra > 0:
        console.print(f"... and more failures (see the report or the ledger {summary['ledger']})")
    for name, why in summary["skipped"].items():
        console.print(f"[yellow]{escape(name)} skipped[/]: {escape(why)}")
    c = summary["counts"]
    parts = ", ".join(f"{c[s]} {s}" for s in STATUSES if c[s])
    inc = ", ".join(f"{n} {k}" for k, n in summary["incidents"].items())
    verdict = "[green]all verified[/]" if summary["exit_code"] == 0 else "[bold red]NOT VERIFIED[/]"
    missing = f"; {summary['missing']} missing (run again with --resume)" if summary[
        "missing"] else ""
    run = summary.get("this_run")
    timing = f"; this run {run['recorded']} units in {run['seconds']:.1f} s" if run else ""
    console.print(f"{verdict}: {summary['recorded']}/{summary['planned']} units: {parts or 'none'}"
                  f"{missing}; incidents: {inc or 'none'}{timing}; ledger {summary['ledger']}")


# -- the HTML report ----------------------------------------------------------------------------


def _plots(ledger: Ledger, out: Path) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    made = []
    # 1. error distribution per kernel and mode
    series: dict[str, list[float]] = {}
    for kernel, mode, err in ledger.db.execute(
            "SELECT kernel, mode, max_rel_err FROM results WHERE max_rel_err IS NOT NULL "
            "ORDER BY kernel, mode"):
        series.setdefault(f"{kernel}\n{mode}", []).append(
            math.log10(max(err, 1e-18)) if math.isfinite(err) else 1.0)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(series) + 2), 4.5))
    if series:
        ax.boxplot(list(series.values()), showfliers=True)
        ax.set_xticks(range(1, len(series) + 1), list(series), fontsize=8)
    ax.set_ylabel("log10 largest relative error")
    ax.set_title("Error distribution per kernel and mode")
    fig.tight_layout()
    fig.savefig(out / "errors.png", dpi=100)
    plt.close(fig)
    made.append(("errors.png", "Largest relative error of each unit, per kernel and mode"))
    # 2. pass rate per seed range
    lo, hi = ledger.db.execute("SELECT MIN(seed_index), MAX(seed_index) FROM results").fetchone()
    fig, ax = plt.subplots(figsize=(7, 4))
    if lo is not None:
        width = max(1, math.ceil((hi - lo + 1) / 20))
        bins = list(ledger.db.execute(
            "SELECT (seed_index - ?) / ?, SUM(status = 'passed'), COUNT(*) FROM results "
            "GROUP BY 1 ORDER BY 1", (lo, width)))
        xs = [lo + b * width for b, _, _ in bins]
        rates = [100.0 * p / n for _, p, n in bins]
        ax.bar(xs, rates, width=0.8 * width, align="edge", color="tab:green")
        ax.set_xlabel(f"seed index (bins of {width})")
    ax.set_ylim(0, 105)
    ax.set_ylabel("units passed (%)")
    ax.set_title("Pass rate per seed range")
    fig.tight_layout()
    fig.savefig(out / "pass_rate.png", dpi=100)
    plt.close(fig)
    made.append(("pass_rate.png", "Share of units that passed, per range of seed indices"))
    # 3. time per unit
    by_mode: dict[str, list[float]] = {}
    for mode, s in ledger.db.execute("SELECT mode, seconds FROM results WHERE status NOT IN "
                                     "('quarantined', 'lost')"):
        by_mode.setdefault(mode, []).append(max(s, 1e-6))
    fig, ax = plt.subplots(figsize=(7, 4))
    if by_mode:
        allv = [v for vs in by_mode.values() for v in vs]
        lo_s, hi_s = math.log10(min(allv)), math.log10(max(allv))
        edges = [10 ** (lo_s + (hi_s - lo_s + 1e-9) * i / 30) for i in range(31)]
        ax.hist(list(by_mode.values()), bins=edges, label=list(by_mode), stacked=True)
        ax.set_xscale("log")
        ax.legend(fontsize=8)
    ax.set_xlabel("seconds per unit")
    ax.set_ylabel("units")
    ax.set_title("Time per unit")
    fig.tight_layout()
    fig.savefig(out / "time.png", dpi=100)
    plt.close(fig)
    made.append(("time.png", "Wall time of each unit on its triad, by mode"))
    return made


def _table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in cols) + "</tr>"
        for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def write_report(ledger: Ledger, summary: dict[str, Any], directory: str | Path) -> Path:
    """Write ``index.html``, ``summary.json`` and the plots; returns the HTML file."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n",
                                      encoding="utf-8")
    plots = _plots(ledger, out)
    c = summary["counts"]
    verdict = "all verified" if summary["exit_code"] == 0 else "NOT VERIFIED"
    counts = [{"status": s, "units": c[s]} for s in STATUSES]
    counts.append({"status": "missing", "units": summary["missing"]})
    counts.append({"status": "incoherent message logs", "units": summary["incoherent"]})
    incidents = [{"kind": k, "count": n} for k, n in summary["incidents"].items()]
    figures = "".join(f'<figure><img src="{f}" alt="{html.escape(t)}"><figcaption>'
                      f"{html.escape(t)}</figcaption></figure>" for f, t in plots)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>triad sweep {html.escape(summary['name'])}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 80em; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; font-size: 90%; }}
figure {{ display: inline-block; margin: 0.5em; }}
.ok {{ color: #080; }} .bad {{ color: #b00; }}
</style></head><body>
<h1>triad sweep {html.escape(summary['name'])}:
<span class="{'ok' if summary['exit_code'] == 0 else 'bad'}">{verdict}</span></h1>
<p>{summary['recorded']} of {summary['planned']} planned units recorded; adtriad
{html.escape(str(summary['version']))}; ledger <code>{html.escape(summary['ledger'])}</code>.</p>
<h2>Units by status</h2>{_table(counts, ['status', 'units'])}
<h2>Plots</h2>{figures}
<h2>Per scenario, kernel and mode</h2>
{_table(summary['groups'], ['scenario', 'kernel', 'mode', 'units', *STATUSES, 'max_rel_err',
                            'mean_seconds'])}
<h2>Quarantined and lost units</h2>{_table(summary['quarantined'], ['unit', 'unit_id', 'reason'])}
<h2>Failures (first {_FAILURES_SHOWN})</h2>
{_table(summary['failures'], ['unit', 'status', 'seed', 'why'])}
<h2>Infrastructure incidents</h2>{_table(incidents, ['kind', 'count'])}
<h2>Runs</h2>{_table(summary['runs'], ['run_id', 'planned', 'todo', 'recorded', 'finished'])}
<p>The machine-readable summary is <a href="summary.json">summary.json</a>.</p>
</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
