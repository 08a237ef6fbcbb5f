"""The tempering agent's search: parallel tempering over a program's inputs for the point where the
engine and the oracle disagree most.

Contract: :func:`tempered_search` takes a program that passed at its random inputs and a budget
of evaluations (one evaluation = :func:`~adtriad.agents.fuzz.check.check_program` at one input
point, every mode). :data:`REPLICAS` replicas walk the input space (floats in [-1.5, 1.5],
array entries in [-1, 1], the generator's ranges) at a ladder of temperatures; each proposes a
Gaussian step of its own width (narrow when cold, wide when hot) and accepts it by Metropolis on
the score ``log10`` of the relative disagreement, so hot replicas explore and cold ones climb;
after every round of proposals neighbouring replicas swap states with the usual
replica-exchange probability. The result holds the worst disagreement seen and, when some point
did not pass (``wrong`` only where finite differences confirm the oracle, else ``nondiff``),
the program with that point as its ``inputs`` and its verdict. Deterministic for a seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from adtriad.agents.fuzz.check import Verdict, check_program
from adtriad.agents.fuzz.generator import Program

__all__ = ["REPLICAS", "SearchResult", "tempered_search", "disagreement"]

REPLICAS = 4
TEMPERATURES = (0.05, 0.2, 0.8, 3.2)  # in decades of disagreement
STEPS = (0.01, 0.05, 0.2, 0.6)  # proposal widths, relative to the input range
FLOOR = 1e-18


@dataclass
class SearchResult:
    evaluations: int
    worst: float  # the largest relative disagreement seen (0.0: exact everywhere tried)
    program: Program | None = None  # with the worst failing point as its inputs
    verdict: Verdict | None = None


def disagreement(verdict: Verdict) -> float:
    """The largest relative difference between engine and oracle over the verdict's modes."""
    worst = 0.0
    for result in verdict.modes.values():
        if result.engine and result.oracle:
            got, want = np.asarray(result.engine), np.asarray(result.oracle)
            scale = max(1.0, float(np.max(np.abs(want))))
            worst = max(worst, float(np.max(np.abs(got - want))) / scale)
    return worst


def _unflat(program: Program, x: np.ndarray) -> tuple:
    out, k = [], 0
    for _ in program.floats:
        out.append(float(x[k]))
        k += 1
    for _, length in program.arrays:
        out.append(tuple(float(v) for v in x[k:k + length]))
        k += length
    return tuple(out)


def tempered_search(program: Program, modes: Sequence[str], evaluations: int, seed: int = 0,
                    engine=None) -> SearchResult:
    """Search ``program``'s inputs within ``evaluations`` checks (see the module contract)."""
    rng = np.random.default_rng(seed)
    n_floats = len(program.floats)
    size = n_floats + sum(length for _, length in program.arrays)
    bound = np.array([1.5] * n_floats + [1.0] * (size - n_floats))
    used, worst = 0, 0.0

    def score(x: np.ndarray) -> tuple[float, Verdict]:
        nonlocal used, worst
        used += 1
        verdict = check_program(replace(program, inputs=_unflat(program, x)), modes, engine=engine)
        if verdict.status in ("invalid", "oracle") or not verdict.modes:
            return -math.inf, verdict
        d = disagreement(verdict)
        worst = max(worst, d)
        return math.log10(d + FLOOR), verdict

    states = [rng.uniform(-bound, bound) for _ in range(REPLICAS)]
    scores = []
    for x in states:
        s, verdict = score(x)
        if verdict.status not in ("ok", "invalid", "oracle"):
            return SearchResult(used, worst, replace(program, inputs=_unflat(program, x)), verdict)
        scores.append(s)
    while used + REPLICAS <= evaluations:
        for r in range(REPLICAS):
            x = np.clip(states[r] + rng.normal(0.0, STEPS[r], size) * bound, -bound, bound)
            s, verdict = score(x)
            if verdict.status not in ("ok", "invalid", "oracle"):
                return SearchResult(used, worst, replace(program, inputs=_unflat(program, x)), verdict)
            if s >= scores[r] or rng.random() < math.exp((s - scores[r]) / TEMPERATURES[r]):
                states[r], scores[r] = x, s
        for r in range(REPLICAS - 1):  # replica exchange between neighbouring temperatures
            delta = (scores[r + 1] - scores[r]) * (1 / TEMPERATURES[r] - 1 / TEMPERATURES[r + 1])
            if delta >= 0 or rng.random() < math.exp(delta):
                states[r], states[r + 1] = states[r + 1], states[r]
                scores[r], scores[r + 1] = scores[r + 1], scores[r]
    return SearchResult(used, worst)
