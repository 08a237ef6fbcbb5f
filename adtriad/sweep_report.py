"""How ``triad sweep`` shows a sweep: a progress bar, a summary table, an HTML and JSON report.

Contract:

* :func:`progress` is a context manager yielding ``(on_start, on_progress)`` for
  :func:`adtriad.agents.sweep.runner.run_sweep`: a rich bar on a terminal's stderr (units done
  of this run, failures, incidents, rate, ETA), nothing otherwise.
* :func:`summarize` reads the ledger (aggregates in SQL, nothing held per unit) into a plain,
  JSON-ready dict: counts by status, per scenario/kernel/mode groups and per activity
  combination/mode groups, quarantined units, the
  first failures, incidents, runs, and ``exit_code`` — 0 when every planned unit passed with a
  coherent message log, else 1.
* :func:`print_summary` writes one table and a verdict line to stdout.
* :func:`write_report` writes ``index.html``, ``summary.json`` and three PNG plots (matplotlib,
  Agg backend: the error distribution per kernel and mode against the checks' tolerances, the
  pass rate per seed range, the time per unit) to a folder. The page shows the verdict, the
  counts, a matrix of activity combinations by mode, the figures side by side on a wide
  screen, and times in UTC.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adtriad.agents.sweep.ledger import STATUSES, Ledger
from adtriad.protocol.messages import MODES

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
    activity_groups = [
        {"activities": act, "mode": mode, "units": n, "passed": passed, "max_rel_err": worst}
        for act, mode, n, passed, worst in db.execute(
            "SELECT activities, mode, COUNT(*), SUM(status = 'passed'), MAX(max_rel_err) "
            "FROM results GROUP BY activities, mode ORDER BY activities, mode")]
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
        "activity_groups": activity_groups,
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


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)


def _error_plot(ledger: Ledger, path: Path) -> None:
    """Box plot of each unit's largest relative error per kernel and mode, with the relative
    tolerances its checks were judged against drawn across each box."""
    plt = _pyplot()
    series: dict[tuple[str, str], list[float]] = {}
    for kernel, mode, err in ledger.db.execute(
            "SELECT kernel, mode, max_rel_err FROM results WHERE max_rel_err IS NOT NULL "
            "ORDER BY kernel, mode"):
        series.setdefault((kernel, mode), []).append(
            math.log10(max(err, 1e-18)) if math.isfinite(err) else 1.0)
    rtols: dict[tuple[str, str], set[float]] = {}
    for kernel, mode, rtol in ledger.db.execute(
            "SELECT r.kernel, r.mode, json_extract(c.value, '$.tolerance.rtol') "
            "FROM results AS r, json_each(r.detail, '$.checks') AS c "
            "WHERE json_extract(c.value, '$.tolerance.rtol') > 0 GROUP BY 1, 2, 3"):
        rtols.setdefault((kernel, mode), set()).add(rtol)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(series) + 2), 4.5))
    if series:
        ax.boxplot(list(series.values()), showfliers=True)
        ax.set_xticks(range(1, len(series) + 1), [f"{k}\n{m}" for k, m in series], fontsize=8)
        labelled = False
        for i, key in enumerate(series, start=1):
            for rtol in sorted(rtols.get(key, ())):
                ax.hlines(math.log10(rtol), i - 0.4, i + 0.4, colors="tab:red",
                          linestyles="--", label=None if labelled else "tolerance (rtol)")
                labelled = True
        if labelled:
            ax.legend(fontsize=8, loc="best")
    ax.set_ylabel("log10 largest relative error")
    ax.set_title("Error per kernel and mode, against the tolerance")
    _save(fig, path)


def _pass_rate_plot(ledger: Ledger, path: Path) -> None:
    """Share of units passed per range of seed indices (integer ticks on the seed axis)."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    lo, hi = ledger.db.execute("SELECT MIN(seed_index), MAX(seed_index) FROM results").fetchone()
    fig, ax = plt.subplots(figsize=(7, 4))
    if lo is not None:
        width = max(1, math.ceil((hi - lo + 1) / 20))
        bins = list(ledger.db.execute(
            "SELECT (seed_index - ?) / ?, SUM(status = 'passed'), COUNT(*) FROM results "
            "GROUP BY 1 ORDER BY 1", (lo, width)))
        centres = [lo + b * width + (width - 1) / 2 for b, _, _ in bins]
        rates = [100.0 * p / n for _, p, n in bins]
        ax.bar(centres, rates, width=0.8 * width, color="tab:green")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("seed index" if width == 1 else f"seed index (bins of {width})")
    ax.set_ylim(0, 105)
    ax.set_ylabel("units passed (%)")
    ax.set_title("Pass rate per seed range")
    _save(fig, path)


def _time_plot(ledger: Ledger, path: Path) -> None:
    """Histogram of the wall time of each unit, stacked by mode, on a log axis."""
    plt = _pyplot()
    by_mode: dict[str, list[float]] = {}
    for mode, s in ledger.db.execute("SELECT mode, seconds FROM results WHERE status NOT IN "
                                     "('quarantined', 'lost') ORDER BY mode"):
        by_mode.setdefault(mode, []).append(max(s, 1e-6))
    fig, ax = plt.subplots(figsize=(7, 4))
    if by_mode:
        every = [v for vs in by_mode.values() for v in vs]
        lo_s, hi_s = math.log10(min(every)), math.log10(max(every))
        edges = [10 ** (lo_s + (hi_s - lo_s + 1e-9) * i / 30) for i in range(31)]
        ax.hist(list(by_mode.values()), bins=edges, label=list(by_mode), stacked=True)
        ax.set_xscale("log")
        ax.legend(fontsize=8)
    ax.set_xlabel("seconds per unit")
    ax.set_ylabel("units")
    ax.set_title("Time per unit")
    _save(fig, path)


# file, drawing function, caption: the report's figures, in the order shown
_FIGURES = (
    ("errors.png", _error_plot,
     "Largest relative error of each unit per kernel and mode; dashed: the checks' rtol"),
    ("pass_rate.png", _pass_rate_plot, "Share of units that passed, per range of seed indices"),
    ("time.png", _time_plot, "Wall time of each unit on its triad, by mode"),
)


def _utc(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in cols) + "</tr>"
        for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _activity_matrix(groups: list[dict[str, Any]]) -> str:
    """Rows: activity combinations; columns: modes; cell: units passed of units, coloured."""
    if not groups:
        return "<p>none</p>"
    modes = [m for m in MODES if any(g["mode"] == m for g in groups)]
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    for g in groups:
        cells.setdefault(g["activities"], {})[g["mode"]] = g
    head = "<th>activities</th>" + "".join(f"<th>{html.escape(m)}</th>" for m in modes)
    body = []
    for activities, by_mode in cells.items():
        row = [f"<td><code>{html.escape(activities)}</code></td>"]
        for m in modes:
            g = by_mode.get(m)
            if g is None:
                row.append("<td></td>")
                continue
            worst = "" if g["max_rel_err"] is None else f"<br><small>rel err ≤ " \
                f"{g['max_rel_err']:.1e}</small>"
            kind = "ok" if g["passed"] == g["units"] else "bad"
            row.append(f'<td class="{kind}">{g["passed"]} of {g["units"]} passed{worst}</td>')
        body.append("<tr>" + "".join(row) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em 2em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.4em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; font-size: 90%; }
th { background: #f4f4f4; }
.verdict { padding: 0.1em 0.5em; border-radius: 0.3em; color: #fff; }
.verdict.ok { background: #2a7d2a; } .verdict.bad { background: #b22; }
td.ok { background: #e8f5e8; } td.bad { background: #fbe3e3; }
.counts { display: flex; flex-wrap: wrap; gap: 0.6em; margin: 1em 0; }
.count { border: 1px solid #ccc; border-radius: 0.4em; padding: 0.4em 0.9em; min-width: 6em; }
.count b { display: block; font-size: 160%; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(34em, 1fr));
           gap: 1em; align-items: start; }
figure { margin: 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 85%; color: #555; }
"""


def write_report(ledger: Ledger, summary: dict[str, Any], directory: str | Path) -> Path:
    """Write ``index.html``, ``summary.json`` and the plots; returns the HTML file."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n",
                                      encoding="utf-8")
    for file, draw, _ in _FIGURES:
        draw(ledger, out / file)
    ok = summary["exit_code"] == 0
    c = summary["counts"]
    counts = [(s, c[s]) for s in STATUSES] + [("missing", summary["missing"]),
                                              ("incoherent logs", summary["incoherent"])]
    count_boxes = "".join(f'<div class="count"><b>{n}</b>{html.escape(s)}</div>'
                          for s, n in counts)
    figures = "".join(f'<figure><img src="{f}" alt="{html.escape(t)}"><figcaption>'
                      f"{html.escape(t)}</figcaption></figure>" for f, _, t in _FIGURES)
    runs = [{**r, "started": _utc(r["started"]), "finished": _utc(r["finished"])}
            for r in summary["runs"]]
    incidents = [{"kind": k, "count": n} for k, n in summary["incidents"].items()]
    name = html.escape(summary["name"])
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>triad sweep {name}</title>
<style>{_CSS}</style></head><body>
<h1>triad sweep {name}
<span class="verdict {'ok' if ok else 'bad'}">{'all verified' if ok else 'NOT VERIFIED'}</span></h1>
<p>{summary['recorded']} of {summary['planned']} planned units recorded; adtriad
{html.escape(str(summary['version']))}; ledger <code>{html.escape(summary['ledger'])}</code>;
last run finished {html.escape(_utc(summary['runs'][-1]['finished']) if summary['runs'] else '')
                   or 'not yet'}.</p>
<div class="counts">{count_boxes}</div>
<h2>Per activity combination and mode</h2>{_activity_matrix(summary['activity_groups'])}
<div class="figures">{figures}</div>
<h2>Per scenario, kernel and mode</h2>
{_table(summary['groups'], ['scenario', 'kernel', 'mode', 'units', *STATUSES, 'max_rel_err',
                            'mean_seconds'])}
<h2>Quarantined and lost units</h2>{_table(summary['quarantined'], ['unit', 'unit_id', 'reason'])}
<h2>Failures (first {_FAILURES_SHOWN})</h2>
{_table(summary['failures'], ['unit', 'status', 'seed', 'why'])}
<h2>Infrastructure incidents</h2>{_table(incidents, ['kind', 'count'])}
<h2>Runs</h2>{_table(runs, ['run_id', 'started', 'finished', 'planned', 'todo', 'recorded'])}
<p>The machine-readable summary is <a href="summary.json">summary.json</a>.</p>
</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
