"""CI's slice of the fuzzer: sixteen generated programs (a fixed seed), checked against the
dual-number oracle in every mode and each right mode run again as the triad's round (kernel
message → autodiff agent → the tempering agent's dual-number check → coherence), then searched
for a worse input point.

A refusal is allowed (the engine refuses what it cannot prove); a wrong derivative, a crash, a
primal or final-state mismatch or a disagreement with the oracle fails the test. ``triad fuzz``
runs the same checks on thousands of programs (docs/fuzz.md).
"""

from __future__ import annotations

import collections

import pytest

from adtriad.agents.fuzz.search import tempered_search
from adtriad.agents.fuzz.triad import FuzzJob, FuzzTriad

JOB = FuzzJob(seed=2026, max_statements=8)
PROGRAMS = 16  # each costs Numba compiling its primal and two derivatives (5-10 s)
CHUNKS = 2  # one per test worker
ACCEPTED = ("ok", "refused", "nondiff")


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_generated_programs_are_right_or_refused(chunk):
    counts: collections.Counter = collections.Counter()
    triad = FuzzTriad()
    for k in range(chunk, PROGRAMS, CHUNKS):
        program = JOB.program(k)
        verdict, rounds = triad.classify(program, JOB.modes, k)
        assert all(r["coherent"] for r in rounds.values()), (k, rounds)
        if verdict.status == "ok":
            found = tempered_search(program, JOB.modes, 8, seed=k)
            if found.verdict is not None:
                verdict, program = found.verdict, found.program
        counts[verdict.status] += 1
        assert verdict.status in ACCEPTED + ("invalid",), f"program {k}: {verdict.detail}\n{program.source}"
    assert counts["invalid"] <= 1, counts  # the generator writes valid Numba
    assert counts["ok"] >= PROGRAMS // CHUNKS // 2, counts  # most are differentiated, not refused
