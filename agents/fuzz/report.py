"""The HTML page of a fuzzing run: one self-contained file a person can read at a glance.

Contract: :func:`write_report` writes ``summary`` (:func:`~adtriad.agents.fuzz.command.summarize`)
as one HTML page with no external resources: counts per class, per mode, per construct (each
construct's share of programs in each class, as bars), the refusals grouped with their counts,
and each failure with its shrunk and original source. Returns the path written.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

__all__ = ["write_report"]

_COLOURS = {"ok": "#3a7d44", "nondiff": "#8fbf8f", "refused": "#d9a441", "invalid": "#b0b0b0",
            "wrong": "#c0392b", "crash": "#7d3c98", "primal": "#e67e22", "state": "#d35400",
            "oracle": "#2c3e50", "quarantined": "#555555", "lost": "#999999"}

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: left; }
th { border-bottom: 1px solid #ccc; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: flex; width: 420px; height: 14px; } .bar span { display: block; height: 14px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1em 3em; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: 12px; }
.key span { display: inline-block; padding: 0 6px; margin-right: 4px; color: white; border-radius: 3px; }
"""


def _bar(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    parts = "".join(f'<span title="{c}: {n}" style="width:{100 * n / total:.2f}%;background:{_COLOURS.get(c, "#777")}">'
                    f"</span>" for c, n in counts.items() if n)
    return f'<div class="bar">{parts}</div>'


def _counts_table(rows: dict[str, dict[str, int]], first: str) -> str:
    out = [f"<table><tr><th>{first}</th><th>programs</th><th></th><th>classes</th></tr>"]
    for name, counts in rows.items():
        text = ", ".join(f"{c} {n}" for c, n in counts.items() if n)
        out.append(f"<tr><td>{html.escape(name)}</td><td class=n>{sum(counts.values())}</td>"
                   f"<td>{_bar(counts)}</td><td>{html.escape(text)}</td></tr>")
    return "".join(out) + "</table>"


def write_report(summary: dict[str, Any], path: Path) -> Path:
    """Write the page (see the module contract)."""
    path = Path(path)
    if path.suffix != ".html":
        path = path / "fuzz.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    job = summary.get("job") or {}
    counts = {c: n for c, n in summary["counts"].items() if n}
    key = "".join(f'<span style="background:{_COLOURS.get(c, "#777")}">{c}</span>' for c in counts)
    run = summary.get("this_run") or {}
    body = [
        f"<h1>triad fuzz: {html.escape(str(summary.get('name')))}</h1>",
        f"<p>{summary['recorded']} of {summary['planned']} programs checked (seed {job.get('seed')}, "
        f"{job.get('min_statements')}–{job.get('max_statements')} statements, modes "
        f"{html.escape(', '.join(job.get('modes') or ()))}, version {html.escape(str(summary.get('version')))})"
        + (f"; this run: {run.get('recorded')} programs in {run.get('seconds')} s, "
           f"{run.get('programs_per_minute')} a minute" if run else "") + ".</p>",
        f'<p class="key">{key}</p>',
        '<div class="grid"><div><h2>Per class</h2>', _counts_table({"all programs": counts}, ""),
        "<h2>Per mode</h2>", _counts_table(summary["modes"], "mode"), "</div>",
        "<div><h2>Per construct</h2>", _counts_table(summary["features"], "construct"), "</div></div>",
        "<h2>Refusals, grouped</h2><table><tr><th>programs</th><th>message</th></tr>",
        "".join(f"<tr><td class=n>{r['count']}</td><td>{html.escape(r['message'])}</td></tr>"
                for r in summary["refusals"]) + "</table>",
        f"<h2>Failures ({len(summary['failures'])})</h2>",
    ]
    for f in summary["failures"]:
        body.append(f"<h3>program {f['program']}: {html.escape(f['class'])}</h3><pre>{html.escape(f['why'] or '')}</pre>")
        if f.get("shrunk"):
            lines = f["shrunk"]["lines"]
            body.append(f"<p>shrunk from {lines[0]} to {lines[1]} lines ({f['shrunk']['tried']} candidates)</p>"
                        f"<pre>{html.escape(f['shrunk']['program']['source'])}</pre>")
        if f.get("source"):
            body.append(f"<details><summary>original</summary><pre>{html.escape(f['source'])}</pre></details>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>triad fuzz</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n")
    path.write_text(page, encoding="utf-8")
    return path
