"""Tangent's test functions through the engine: how many are correct, refused, wrong or crash.

Runs every function of ``tests/realworld/tangent_functions.py`` (google/tangent's
``tests/functions.py``) through ``check_grads`` in Reverse and Forward mode, as
``tests/realworld/corpus_harness.py`` describes, and prints:

1. per mode, the counts of correct / refused / wrong / crash / not-applicable;
2. every wrong and crash case, with the first line of its message;
3. the refusal messages grouped (most frequent first), and the not-applicable reasons.

Usage::

    python benchmarks/tangent_corpus.py [-v] [--json PATH] [NAME ...]

``NAME`` restricts the run to some functions; ``-v`` prints each function as it finishes;
``--json`` also writes every outcome to a file. Compiled derivatives go to the engine's usual
cache (``TRIAD_ENGINE__CACHE_DIR`` sets another), so a second run is fast.
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
sys.path.insert(0, str(ROOT / "tests" / "realworld"))

import corpus_harness as H  # noqa: E402
from adtriad.ad_core import api  # noqa: E402

COUNTED = ("correct", "refused", "wrong", "crash", "not-applicable")


def _shorten(text: str, width: int = 150) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _refusal_key(message: str) -> str:
    """A refusal message without its file:line:col, so the same refusal groups together."""
    first = message.strip().splitlines()[0] if message.strip() else message
    first = re.sub(r"\S+\.py:\d+(:\d+)?:?\s*", "", first)
    first = re.sub(r" at 0x[0-9a-f]+", "", first)
    return _shorten(first, 160)


def report(result: H.Result) -> str:
    lines = []
    counts = {m: collections.Counter() for m in H.MODES}
    for o in result.outcomes:
        counts[o.mode][o.status] += 1
    nfun = len({o.function for o in result.outcomes})
    lines.append(f"Tangent corpus: {nfun} functions (google/tangent tests/functions.py)")
    lines.append("")
    head = f"{'mode':<10}" + "".join(f"{s:>16}" for s in COUNTED) + f"{'total':>8}"
    lines.append(head)
    lines.append("-" * len(head))
    for m in H.MODES:
        lines.append(f"{m:<10}" + "".join(f"{counts[m][s]:>16}" for s in COUNTED)
                     + f"{sum(counts[m].values()):>8}")
    lines.append("")

    for status in ("wrong", "crash"):
        bad = [o for o in result.outcomes if o.status == status]
        lines.append(f"{status} ({len(bad)}):")
        for o in bad:
            exc = f" {o.exception}:" if o.exception else ""
            lines.append(f"  {o.function} [{o.mode}] {o.call} at ({o.point})")
            lines.append(f"     {exc} {_shorten(o.first_line, 300)}".rstrip())
        if not bad:
            lines.append("  none")
        lines.append("")

    refusals = collections.defaultdict(list)
    for o in result.outcomes:
        if o.status == "refused":
            refusals[_refusal_key(o.message)].append(f"{o.function}[{o.mode[0]}]")
    lines.append(f"refusal messages ({sum(len(v) for v in refusals.values())} cases, {len(refusals)} distinct):")
    for key, who in sorted(refusals.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"  {len(who):>3}  {key}")
        lines.append(f"       {_shorten(', '.join(who), 200)}")
    lines.append("")

    na = collections.defaultdict(set)
    for o in result.outcomes:
        if o.status == "not-applicable":
            na[o.function].add(_shorten(o.first_line, 200))
    lines.append(f"not applicable ({len(na)} functions):")
    for name, why in na.items():
        lines.append(f"  {name}: {'; '.join(sorted(why))}")
    lines.append("")
    total = sum(result.seconds.values())
    slow = sorted(result.seconds.items(), key=lambda kv: -kv[1])[:5]
    lines.append(f"time: {total:.1f} s; slowest: " + ", ".join(f"{n} {t:.1f} s" for n, t in slow))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="only these functions")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each function as it finishes")
    ap.add_argument("--json", type=pathlib.Path, help="also write every outcome to this file")
    ap.add_argument("--checkpoint", default=None, metavar="MEMORY",
                    help="reverse time loops by checkpointing within MEMORY ('1 MB'; 1: one "
                         "snapshot, the most recomputation)")
    args = ap.parse_args(argv)
    api.checkpointing(args.checkpoint)
    unknown = [n for n in args.names if n not in H.function_names()]
    if unknown:
        ap.error(f"unknown function(s): {', '.join(unknown)}")

    def progress(name, per_mode, dt):
        if args.verbose:
            st = "  ".join(f"{m}={o.status}" for m, o in per_mode.items())
            pts = next(iter(per_mode.values())).checked
            print(f"{name:<32} {st}  ({pts} points, {dt:.1f} s)", flush=True)

    t0 = time.perf_counter()
    result = H.run(args.names or None, progress=progress)
    if args.verbose:
        print(f"-- {time.perf_counter() - t0:.1f} s\n", flush=True)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(o) for o in result.outcomes], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
