"""Public Numba code through the engine: how much is correct, refused, wrong or crashes.

Runs every entry of ``tests/realworld/numba_corpus/`` (NPBench's Numba kernels,
numba/numba-examples, the examples of Numba's documentation, and the GradBench evals written
in Numba) through ``check_grads`` in Reverse and Forward mode, as
``tests/realworld/numba_corpus_harness.py`` describes, and prints:

1. per mode, the counts of correct / refused / wrong / crash / not-applicable, in all and per
   source;
2. every wrong and crash case, with the first line of its message;
3. the refusal messages grouped by their first line without its file:line:col (most frequent
   first, with counts and the entries), and the not-applicable reasons.

Usage::

    python benchmarks/numba_corpus.py [-v] [--json PATH] [--points N] [--skip NAME] [NAME ...]

``NAME`` restricts the run to some entries; ``-v`` prints each entry as it finishes;
``--json`` also writes every outcome (with its source) to a file; ``--points`` sets how many
points each entry is checked at (3 by default); ``--skip`` leaves an entry out; ``--checkpoint MEMORY`` checkpoints every reverse call's time loops. Compiled derivatives go to the engine's usual
cache (``TRIAD_ENGINE__CACHE_DIR`` sets another), so a second run is faster.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import pathlib
import re
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
# tests/realworld goes first: its package ``numba_corpus`` has this script's name.
sys.path.insert(0, str(ROOT / "tests" / "realworld"))

import numba_corpus_harness as N  # noqa: E402
from adtriad.ad_core import api  # noqa: E402

COUNTED = ("correct", "refused", "wrong", "crash", "not-applicable")


def shorten(text: str, width: int = 150) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def refusal_key(message: str) -> str:
    """A refusal message's first line without its file:line:col and addresses, so that the
    same refusal of different entries groups together."""
    first = message.strip().splitlines()[0] if message.strip() else message
    first = re.sub(r"\S+\.py:\d+(:\d+)?:?\s*", "", first)
    first = re.sub(r" at 0x[0-9a-f]+", "", first)
    first = re.sub(r"\(in `.*`\)", "(in `...`)", first)
    return shorten(first, 160)


def _table(lines: list[str], title: str, outcomes) -> None:
    counts = {m: collections.Counter() for m in N.MODES}
    for o in outcomes:
        counts[o.mode][o.status] += 1
    head = f"{title:<24}" + "".join(f"{s:>16}" for s in COUNTED) + f"{'total':>8}"
    lines.append(head)
    lines.append("-" * len(head))
    for m in N.MODES:
        lines.append(f"  {m:<22}" + "".join(f"{counts[m][s]:>16}" for s in COUNTED)
                     + f"{sum(counts[m].values()):>8}")


def report(result: N.Result, groups: dict[str, str]) -> str:
    lines = []
    names = list(dict.fromkeys(o.function for o in result.outcomes))
    per_group = collections.Counter(groups[n] for n in names)
    lines.append(f"Numba corpus: {len(names)} entries ("
                 + ", ".join(f"{g} {c}" for g, c in per_group.items()) + ")")
    lines.append("")
    _table(lines, "all", result.outcomes)
    lines.append("")
    for g in per_group:
        _table(lines, g, [o for o in result.outcomes if groups[o.function] == g])
        lines.append("")

    for status in ("wrong", "crash"):
        bad = [o for o in result.outcomes if o.status == status]
        lines.append(f"{status} ({len(bad)}):")
        for o in bad:
            exc = f" {o.exception}:" if o.exception else ""
            lines.append(f"  {o.function} [{o.mode}] ({groups[o.function]}) {o.call}")
            lines.append(f"     {exc} {shorten(o.first_line, 300)}".rstrip())
        if not bad:
            lines.append("  none")
        lines.append("")

    refusals = collections.defaultdict(list)
    for o in result.outcomes:
        if o.status == "refused":
            refusals[refusal_key(o.message)].append(f"{o.function}[{o.mode[0]}]")
    lines.append(f"refusal messages ({sum(len(v) for v in refusals.values())} cases, {len(refusals)} distinct):")
    for key, who in sorted(refusals.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"  {len(who):>3}  {key}")
        lines.append(f"       {shorten(', '.join(who), 200)}")
    lines.append("")

    na = collections.defaultdict(set)
    for o in result.outcomes:
        if o.status == "not-applicable":
            na[o.function].add(f"[{o.mode[0]}] " + shorten(o.first_line, 200))
    lines.append(f"not applicable ({len(na)} entries):")
    for name, why in na.items():
        lines.append(f"  {name}: {'; '.join(sorted(why))}")
    lines.append("")
    total = sum(result.seconds.values())
    slow = sorted(result.seconds.items(), key=lambda kv: -kv[1])[:5]
    lines.append(f"time: {total:.1f} s; slowest: " + ", ".join(f"{n} {t:.1f} s" for n, t in slow))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="only these entries")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each entry as it finishes")
    ap.add_argument("--json", type=pathlib.Path, help="also write every outcome to this file")
    ap.add_argument("--points", type=int, default=N.NPOINTS, help="points per entry (default 3)")
    ap.add_argument("--skip", action="append", default=[], metavar="NAME", help="leave this entry out (repeatable)")
    ap.add_argument("--checkpoint", default=None, metavar="MEMORY",
                    help="reverse time loops by checkpointing within MEMORY ('1 MB'; 1: one "
                         "snapshot, the most recomputation)")
    args = ap.parse_args(argv)
    api.checkpointing(args.checkpoint)
    all_entries = N.entries()
    unknown = [n for n in args.names + args.skip if n not in all_entries]
    if unknown:
        ap.error(f"unknown entr{'y' if len(unknown) == 1 else 'ies'}: {', '.join(unknown)}")
    groups = {n: e.group for n, e in all_entries.items()}

    def progress(name, per_mode, dt):
        if args.verbose:
            st = "  ".join(f"{m}={o.status}" for m, o in per_mode.items())
            pts = next(iter(per_mode.values())).checked
            print(f"{groups[name] + '.' + name:<44} {st}  ({pts} points, {dt:.1f} s)", flush=True)

    t0 = time.perf_counter()
    names = [n for n in (args.names or all_entries) if n not in args.skip]
    result = N.run(names, npoints=args.points, progress=progress)
    if args.verbose:
        print(f"-- {time.perf_counter() - t0:.1f} s\n", flush=True)
    print(report(result, groups))
    if args.json:
        rows = [dict(dataclasses.asdict(o), source=all_entries[o.function].source, group=groups[o.function])
                for o in result.outcomes]
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
