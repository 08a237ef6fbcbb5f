"""Where the start-up of ``triad run scenarios/saxpy.yaml`` goes, cold and warm, on the local
Ray and in-process (``--backend local``), side by side in one run.

Each configuration runs the real command in a fresh process, ``--repeat`` times, and reads the
phases from the report it writes (``--json``): the command's own start (Python, imports,
configuration and scenario: the wall time the report does not cover), ``ray_init``, ``actors``
(until the three agents answer), ``rounds`` and ``stop``. *Cold*: an empty engine cache (every
derivative compiled again) and no Ray running; *warm*: the cache the cold run left; *joined*:
warm, with a Ray already running on the machine (``ray start --head``), which ``triad run``
joins instead of starting its own. The last column is the command's wall time over the local
backend's (warm), measured in the same run.

Usage: ``python benchmarks/startup.py [--repeat 3]`` (targets: warm ≤ 6 s, cold ≤ 10 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "saxpy.yaml"
PHASES = ("command", "ray_init", "actors", "rounds", "stop")


def run_once(backend: str, cache: Path, work: Path) -> dict[str, float]:
    """One ``triad run``: its wall time and phases, in seconds."""
    report = work / "report.json"
    env = dict(os.environ, TRIAD_ENGINE__CACHE_DIR=str(cache), RAY_AUTH_MODE="disabled")
    t0 = time.perf_counter()
    proc = subprocess.run(["triad", "run", str(SCENARIO), "--backend", backend,
                           "--json", str(report)], env=env, cwd=work, capture_output=True,
                          text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"triad run --backend {backend} failed ({proc.returncode}):\n{proc.stderr}")
    data = json.loads(report.read_text())
    phases = {k: float(v) for k, v in data.get("timings", {}).items()}
    phases["command"] = wall - sum(phases.values())
    phases["wall"] = wall
    return phases


def median(runs) -> dict[str, float]:
    runs = list(runs)
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="warm runs per backend (median)")
    args = ap.parse_args()
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for backend in ("local", "ray"):
            cache = work / f"cache-{backend}"
            rows[f"{backend} cold"] = run_once(backend, cache, work)
            rows[f"{backend} warm"] = median(run_once(backend, cache, work)
                                             for _ in range(args.repeat))
        subprocess.run(["ray", "start", "--head", "--include-dashboard=false",
                        "--disable-usage-stats"], check=True, capture_output=True)
        try:
            rows["ray joined"] = median(run_once("ray", work / "cache-ray", work)
                                        for _ in range(args.repeat))
        finally:
            subprocess.run(["ray", "stop", "--force"], capture_output=True)
    base = {"cold": rows["local cold"]["wall"], "warm": rows["local warm"]["wall"],
            "joined": rows["local warm"]["wall"]}
    print(f"triad run {SCENARIO.name}: seconds per phase (warm: median of {args.repeat}); "
          f"{os.cpu_count()} CPUs")
    print(f"{'run':<12}" + "".join(f"{p:>10}" for p in PHASES) + f"{'wall':>10}{'/local':>8}")
    for name, r in rows.items():
        cells = "".join(f"{r[p]:>10.2f}" if p in r else f"{'':>10}" for p in PHASES)
        ratio = r["wall"] / base[name.split()[1]]
        print(f"{name:<12}{cells}{r['wall']:>10.2f}{ratio:>8.2f}")
    print("targets: ray warm <= 6 s, ray cold <= 10 s")


if __name__ == "__main__":
    main()
