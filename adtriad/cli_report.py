"""How ``triad run`` shows a run: a rich table on stdout, progress on a terminal's stderr.

Contract: :func:`print_report` writes one row per round (one per skipped scenario), then one
line per failed check and per error, then a summary; nothing else goes to stdout.
:func:`progress` is a context manager yielding the orchestrator's ``on_round`` callback; it
draws a progress bar only when stderr is a terminal.
"""

from __future__ import annotations

import contextlib
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adtriad.agents.report import RunReport

__all__ = ["print_report", "progress"]

_STYLE = {"passed": "green", "failed": "bold red", "error": "bold magenta", "skipped": "yellow"}


@contextlib.contextmanager
def progress(n_scenarios: int):
    """Yield ``on_round(report, done, total)``; a progress bar on an interactive stderr."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("[bold]triad run"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.description}"), console=Console(stderr=True),
                   transient=True)
    with bar:
        task = bar.add_task("starting the agents", total=None)

        def on_round(report, done, total):
            bar.update(task, completed=done, total=total, description=report.round_id)

        yield on_round


def _worst(checks) -> str:
    errs = [c for c in checks if c.max_rel_err is not None]
    if not errs:
        return ""
    c = max(errs, key=lambda c: c.max_rel_err)
    return escape(f"{c.name} {c.max_rel_err:.1e}")


def print_report(report: RunReport, console: Console | None = None) -> None:
    """Print ``report`` (see the module contract)."""
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    table = Table(title=f"triad run ({report.backend})", title_justify="left")
    for col in ("scenario", "mode", "round", "seed", "status", "checks", "largest rel err",
                "coherent"):
        table.add_column(col, no_wrap=col in ("seed", "status"))
    for s in report.scenarios:
        if s.status == "skipped":
            needs = ", ".join(s.skipped_reason.split(": ")[0].split()[1:2]) if s.skipped_reason else ""
            table.add_row(s.name, "", "", "", "[yellow]skipped[/]", "", f"requires {needs}", "")
            continue
        for r in s.rounds:
            ok = sum(c.passed for c in r.checks)
            style = _STYLE[r.status]
            retry = " (retried)" if r.attempts > 1 else ""
            table.add_row(s.name, r.mode, str(r.index), str(r.seed),
                          f"[{style}]{r.status}[/]{retry}", f"{ok}/{len(r.checks)}",
                          _worst(r.checks), "yes" if r.coherence.coherent else "[red]no[/]")
    console.print(table)
    for s in report.scenarios:
        if s.skipped_reason:
            console.print(f"[yellow]{escape(s.name)} skipped[/]: {escape(s.skipped_reason)}")
        for r in s.rounds:
            if r.error is not None:
                console.print(f"[magenta]{escape(r.round_id)}: the {r.error.agent} agent failed: "
                              f"{escape(r.error.error_type)}: {escape(r.error.message)}[/] "
                              f"({escape(r.error.where)})")
            for c in r.checks:
                if not c.passed:
                    tol = f"rtol={c.tolerance.rtol:g} atol={c.tolerance.atol:g}" if c.tolerance else ""
                    errs = (f"max abs err {c.max_abs_err:.3e}, max rel err {c.max_rel_err:.3e}, "
                            f"worst index {c.worst_index}, " if c.max_abs_err is not None else "")
                    console.print(f"[red]{escape(r.round_id)}: check {escape(c.name)} failed[/]: "
                                  f"{errs}{tol}, seed {r.seed}; {escape(c.detail)}")
            if not r.coherence.coherent:
                console.print(f"[red]{escape(r.coherence.summary())}[/]")
    counts = ", ".join(f"{n} {k}" for k, n in report.counts.items() if n)
    verdict = "[green]all passed[/]" if report.exit_code == 0 else "[bold red]FAILED[/]"
    console.print(f"{verdict}: {counts} scenario(s); GF(3) coherent: "
                  f"{'yes' if report.coherent else 'no'}; {report.seconds:.1f} s")
