"""Differentiate many random programs and count what the engine gets right, refuses or gets wrong.

    python benchmarks/fuzz_programs.py --count 300 --seed 1 [--out DIR] [--timeout 300]

Program ``k`` of a run is ``program_gen.random_program(seed * 1_000_003 + k)`` (the generator of
``tests/ad_core/program_gen.py``), checked with ``check_grads`` in Reverse and Forward mode with
every float scalar ``Active`` and every array ``Duplicated``. Each program runs in a worker process
(one at a time), so a hang or a crash of the process is recorded against the program and the
worker is restarted. Every wrong derivative and every raw (non-``ADError``) exception is shrunk
(statements deleted, compound statements flattened, sub-expressions replaced by their parts,
as long as the same failure remains) and saved under ``--out`` as ``<kind>_<k>.py``: the shrunk
module, with the ``check_grads`` call and the failure in its header, next to the original
(``<kind>_<k>_original.py``). ``summary.json`` holds the counts and every outcome.

Printed at the end: programs run, correct in reverse, correct in forward, refused (with the most
common refusal messages), wrong, raw crashes (hangs and dead workers among them), and the
programs skipped because the generator's output was invalid or no input away from a branch
switch was found.
"""

from __future__ import annotations

import argparse
import ast
import collections
import copy
import json
import multiprocessing as mp
import os
import pathlib
import re
import signal
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "ad_core"))

import program_gen as pg  # noqa: E402


# ----------------------------------------------------------------------------------------------
# The worker process


def _worker(conn, checkpoint) -> None:
    import warnings

    from adtriad.ad_core import api

    warnings.simplefilter("ignore")
    api.checkpointing(checkpoint)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        program, modes = msg
        try:
            out = pg.run_program(program, modes)
        except BaseException as exc:  # the harness itself: report, keep serving
            import traceback

            out = pg.Outcome("crash", {"harness": "crash"}, f"harness: {type(exc).__name__}: {exc}",
                             exceptions={"harness": traceback.format_exc()})
        conn.send(out)


class Worker:
    def __init__(self, timeout: float, checkpoint=None):
        self.timeout = timeout
        self.checkpoint = checkpoint
        self.ctx = mp.get_context("spawn")
        self.proc = None
        self.conn = None

    def _start(self) -> None:
        parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.checkpoint), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent

    def _stop(self) -> None:
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(10)
        self.proc = self.conn = None

    def run(self, program: pg.Program, modes) -> pg.Outcome:
        if self.proc is None or not self.proc.is_alive():
            self._start()
        self.conn.send((program, tuple(modes)))
        # the first call pays the engine's own compilation: allow for it
        if self.conn.poll(self.timeout):
            try:
                return self.conn.recv()
            except EOFError:
                pass
            code = self.proc.exitcode
            self._stop()
            return pg.Outcome("crash", {"process": "crash"}, f"the worker process died (exit code {code})",
                              exceptions={"process": f"WorkerDied: exit code {code}"})
        if not self.proc.is_alive():
            code = self.proc.exitcode
            self._stop()
            return pg.Outcome("crash", {"process": "crash"}, f"the worker process died (exit code {code})",
                              exceptions={"process": f"WorkerDied: exit code {code}"})
        self._stop()
        return pg.Outcome("crash", {"process": "crash"}, f"no answer within {self.timeout:.0f} s",
                          exceptions={"process": f"Timeout: no answer within {self.timeout:.0f} s"})

    def close(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            try:
                self.conn.send(None)
                self.proc.join(10)
            except (BrokenPipeError, OSError):
                pass
        self._stop()


# ----------------------------------------------------------------------------------------------
# Shrinking: smaller modules that still fail the same way


def _bodies(tree: ast.AST):
    """Every statement list in the module, with its owner (to keep function bodies non-empty)."""
    for node in ast.walk(tree):
        for attr in ("body", "orelse"):
            body = getattr(node, attr, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield node, attr, body


def _statement_candidates(source: str):
    tree = ast.parse(source)
    n_bodies = len(list(_bodies(tree)))
    for b in range(n_bodies):
        _, _, body = list(_bodies(tree))[b]
        for i in range(len(body)):
            # delete statement i
            t2 = ast.parse(source)
            owner, attr, body2 = list(_bodies(t2))[b]
            stmt = body2[i]
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(owner, ast.FunctionDef) and isinstance(stmt, ast.Return) and i == len(body2) - 1:
                continue  # a function keeps its final return (else it may return None)
            del body2[i]
            if not body2:
                if isinstance(owner, ast.FunctionDef) or attr == "body":
                    body2.append(ast.Pass())
                else:
                    setattr(owner, attr, [])
            yield t2
            # replace a compound statement by one of its bodies
            for part in ("body", "orelse"):
                t3 = ast.parse(source)
                _, _, body3 = list(_bodies(t3))[b]
                inner = getattr(body3[i], part, None)
                if isinstance(body3[i], (ast.If, ast.For, ast.While)) and inner:
                    body3[i:i + 1] = inner
                    yield t3
    # drop the decorator of f
    t4 = ast.parse(source)
    for node in t4.body:
        if isinstance(node, ast.FunctionDef) and node.name == "f" and node.decorator_list:
            node.decorator_list = []
            yield t4


_SIMPLE = (ast.Name, ast.Constant)


def _expression_candidates(source: str):
    tree = ast.parse(source)
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.expr)]
    for k, node in enumerate(nodes):
        replacements: list[ast.expr] = []
        if isinstance(node, ast.BinOp):
            replacements += [node.left, node.right]
        elif isinstance(node, ast.UnaryOp):
            replacements.append(node.operand)
        elif isinstance(node, ast.IfExp):
            replacements += [node.body, node.orelse]
        elif isinstance(node, ast.BoolOp):
            replacements += list(node.values)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr not in (
                "zeros", "empty", "zeros_like", "copy"):
            replacements += [a for a in node.args if not isinstance(a, ast.Constant)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
            replacements += list(node.args)
        if isinstance(node, (ast.BinOp, ast.Call, ast.Subscript, ast.UnaryOp, ast.IfExp)) and not (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"):
            replacements.append(ast.Constant(0.5))
        for rep in replacements:
            t2 = ast.parse(source)
            target = [n for n in ast.walk(t2) if isinstance(n, ast.expr)][k]
            rep2 = copy.deepcopy(rep)
            # swap the node in its parent
            for parent in ast.walk(t2):
                for fname, value in ast.iter_fields(parent):
                    if value is target:
                        setattr(parent, fname, rep2)
                    elif isinstance(value, list):
                        for j, item in enumerate(value):
                            if item is target:
                                value[j] = rep2
            yield t2


def _render(tree: ast.AST) -> str | None:
    try:
        src = ast.unparse(ast.fix_missing_locations(tree))
        compile(src, "<candidate>", "exec")
    except (SyntaxError, ValueError, TypeError):
        return None
    # keep the generator's layout: blank lines before each def
    src = re.sub(r"\n+(@numba\.njit\n)?def ", lambda m: "\n\n\n" + (m.group(1) or "") + "def ", src)
    return src.replace("\nimport numba", "\n\nimport numba", 1) + "\n"


def shrink(worker: Worker, program: pg.Program, outcome: pg.Outcome, budget_s: float,
           log=print, accept=("wrong", "crash")) -> tuple[pg.Program, pg.Outcome, int]:
    """Greedy: take the first smaller candidate that fails the same way, until none does."""
    key = outcome.key()
    modes = _modes_for(outcome)
    best, best_out = program, outcome
    tried = 0
    seen = {program.source}
    deadline = time.monotonic() + budget_s
    for phase in (_statement_candidates, _expression_candidates):
        progress = True
        while progress and time.monotonic() < deadline:
            progress = False
            for tree in phase(best.source):
                if time.monotonic() >= deadline:
                    break
                src = _render(tree)
                if src is None or src in seen or len(src) >= len(best.source):
                    continue
                seen.add(src)
                cand = pg.Program(src, best.floats, best.arrays, best.ints, best.int_values, best.input_seed)
                tried += 1
                out = worker.run(cand, modes)
                if out.status in accept and out.key() == key:
                    best, best_out, progress = cand, out, True
                    log(f"    shrunk to {len(src.splitlines())} lines ({tried} tried)")
                    break
    return best, best_out, tried


def _modes_for(outcome: pg.Outcome) -> tuple[str, ...]:
    bad = {m for m, s in outcome.modes.items() if s in ("wrong", "crash", "refused")}
    if bad <= {"Reverse"}:
        return ("Reverse",)
    if bad <= {"Forward"}:
        return ("Forward",)
    return ("Reverse", "Forward")


# ----------------------------------------------------------------------------------------------
# The run


# An ADError the engine raises when Numba rejects the code it generated: a refusal in form, but
# one that says the engine produced something it cannot compile. Shrunk and saved as well.
COMPILE_FAILURE = "cannot be compiled here"

def refusal_message(line: str) -> str:
    """A refusal's first line without the program's file, line and column (to group them)."""
    return pg.normalized_message(line)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="where failing programs go (default: a new temp dir)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per program before it counts as a hang")
    ap.add_argument("--shrink-budget", type=float, default=300.0, help="seconds spent shrinking each failure")
    ap.add_argument("--max-statements", type=int, default=20)
    ap.add_argument("--checkpoint", default=None, metavar="MEMORY",
                    help="reverse time loops by checkpointing within MEMORY ('1 MB'; 1: one "
                         "snapshot, the most recomputation)")
    args = ap.parse_args(argv)

    out_dir = pathlib.Path(args.out or tempfile.mkdtemp(prefix="adtriad-fuzz-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TRIAD_ENGINE__CACHE_DIR", str(out_dir / "engine-cache"))
    print(f"fuzzing {args.count} programs (seed {args.seed}); failures go to {out_dir}", flush=True)

    def stop(signum, frame):  # a TERM (or an INT in the background) ends the run with its summary
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker = Worker(args.timeout, args.checkpoint)
    counts = collections.Counter()
    refusals = collections.Counter()
    records = []
    shrunk_keys = set()
    t0 = time.monotonic()
    try:
        for k in range(args.count):
            program = pg.random_program(args.seed * 1_000_003 + k, max_statements=args.max_statements)
            t = time.monotonic()
            outcome = worker.run(program, ("Reverse", "Forward"))
            dt = time.monotonic() - t
            counts[outcome.status] += 1
            if outcome.status not in ("invalid", "tie"):
                counts["run"] += 1
                for mode in ("Reverse", "Forward"):
                    if outcome.modes.get(mode) == "ok":
                        counts[f"correct {mode}"] += 1
                for line in set(outcome.refusals.values()):
                    refusals[refusal_message(line)] += 1
            rec = {"k": k, "status": outcome.status, "modes": outcome.modes, "seconds": round(dt, 1),
                   "detail": outcome.detail}
            print(f"[{k}] {outcome.status:8s} {dt:5.1f}s {outcome.modes}", flush=True)
            if outcome.status in ("invalid", "tie"):
                print(f"    {outcome.detail}", flush=True)
            for mode, line in outcome.refusals.items():
                print(f"    {mode} refused: {refusal_message(line)[:300]}", flush=True)
            suspect = any(COMPILE_FAILURE in r for r in outcome.refusals.values())
            if suspect:
                counts["refused: derivative did not compile"] += 1
            again = suspect and outcome.status == "refused" and outcome.key() in shrunk_keys
            if again:  # the same compile failure as one already shrunk: keep the original only
                (out_dir / f"compilefail_{k}_original.py").write_text(program.source)
                print(f"    same failure as an earlier one; saved compilefail_{k}_original.py", flush=True)
            elif outcome.status in ("wrong", "crash") or (suspect and outcome.status == "refused"):
                shrunk_keys.add(outcome.key())
                print("    " + outcome.detail.replace("\n", "\n    "), flush=True)
                small, small_out, tried = shrink(worker, program, outcome, args.shrink_budget,
                                                 log=lambda s: print(s, flush=True),
                                                 accept=(outcome.status,))
                stem = f"{outcome.status if outcome.status != 'refused' else 'compilefail'}_{k}"
                rec["saved"] = stem
                (out_dir / f"{stem}_original.py").write_text(program.source)
                header = [
                    f"# {outcome.status} (shrunk from {len(program.source.splitlines())} to "
                    f"{len(small.source.splitlines())} lines, {tried} candidates tried)",
                    f"# ints: {dict(zip(small.ints, small.int_values))}, input_seed={small.input_seed}",
                    f"# {pg.call_repr(small, small_out.args)}",
                ]
                header += ["# " + line for line in small_out.detail.splitlines()]
                for mode, tb in small_out.exceptions.items():
                    header += [f"# --- {mode} traceback (tail) ---"]
                    header += ["# " + line for line in tb.strip().splitlines()[-12:]]
                (out_dir / f"{stem}.py").write_text("\n".join(header) + "\n\n" + small.source)
                rec["shrunk"] = small.source
                rec["shrunk_detail"] = small_out.detail
                rec["call"] = pg.call_repr(small, small_out.args)
                print(f"    saved {out_dir / (stem + '.py')}", flush=True)
            records.append(rec)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    finally:
        worker.close()

    elapsed = time.monotonic() - t0
    summary = {
        "count": len(records), "seed": args.seed, "seconds": round(elapsed),
        "programs run": counts["run"], "correct in reverse": counts["correct Reverse"],
        "correct in forward": counts["correct Forward"], "refused": counts["refused"],
        "refused: derivative did not compile": counts["refused: derivative did not compile"],
        "wrong": counts["wrong"], "raw crashes": counts["crash"],
        "skipped: invalid program": counts["invalid"], "skipped: no input away from a branch switch": counts["tie"],
        "top refusals": refusals.most_common(15), "records": records,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    print()
    print(f"{len(records)} programs generated in {elapsed:.0f} s")
    for name in ("programs run", "correct in reverse", "correct in forward", "refused",
                 "refused: derivative did not compile", "wrong", "raw crashes",
                 "skipped: invalid program", "skipped: no input away from a branch switch"):
        print(f"  {name}: {summary[name]}")
    if refusals:
        print("  top refusal messages:")
        for msg, n in refusals.most_common(15):
            print(f"    {n:4d}  {msg[:200]}")
    bad = [r for r in records if r["status"] in ("wrong", "crash")]
    for r in records:
        if "saved" in r:
            print(f"  {r['saved']}: " + " | ".join(r["shrunk_detail"].splitlines()[:4]))
    print(f"  details in {out_dir}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
