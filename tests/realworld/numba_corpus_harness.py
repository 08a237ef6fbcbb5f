"""Public Numba code (``numba_corpus/``) run through ``check_grads``, classified as
``corpus_harness.py`` classifies Tangent's functions.

Every :class:`~numba_corpus.Entry` gives plain argument values at point ``k``
(``entry.make_args(k)``). They are annotated as a user would: a float is ``Active``, a float
array ``Duplicated(x, np.zeros_like(x))``, an int (or bool) is passed bare, an int array and
every index in ``entry.const`` are ``Const``. Then::

    check_grads(entry.function, *annotated_args, modes=("Reverse", "Forward"))

and each (entry, mode) is ``correct``, ``refused`` (an ADError, whose message is kept in
full), ``wrong`` (a mismatch without an error: a silently wrong derivative), ``crash`` (any
other exception out of the engine) or ``not-applicable`` (the primal fails or returns what
``check_grads`` cannot differentiate, or no point is left), exactly as
:func:`corpus_harness.run_case` decides: points where the primal is not finite, or where
finite differences with two step sizes disagree (a branch switch or kink within the step),
are left out, and the status of a mode is the worst over the remaining points
(crash > wrong > refused > correct).
"""

from __future__ import annotations

import pathlib
import sys
import time
from typing import Callable

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import corpus_harness as H  # noqa: E402
import numba_corpus  # noqa: E402
from numba_corpus import Entry  # noqa: E402

MODES = H.MODES
STATUSES = H.STATUSES
Outcome = H.Outcome
Result = H.Result
NPOINTS = 3


def entries() -> dict[str, Entry]:
    """Every corpus entry by name."""
    return numba_corpus.entries()


def kind(value, index: int, const: tuple) -> str:
    """How an argument is annotated: "active", "dup", "const" or "bare" (see the module doc)."""
    if index in const:
        return "const"
    if isinstance(value, (float, np.floating)):
        return "active"
    if isinstance(value, np.ndarray):
        return "dup" if value.dtype.kind == "f" else "const"
    return "bare"


def describe(value) -> str:
    """A short description of an argument for the call text."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype.name}{list(value.shape)}"
    return type(value).__name__


def case(entry: Entry, npoints: int = NPOINTS) -> H.Case:
    """The entry as a ``corpus_harness.Case``: its points and the annotation of each argument."""
    points = tuple(tuple(float(v) if isinstance(v, np.floating) else v for v in entry.make_args(k))
                   for k in range(npoints))
    kinds = tuple(kind(v, i, entry.const) for i, v in enumerate(points[0]))
    fname = getattr(entry.function, "__name__", entry.name)
    args = ", ".join(f"{'Const ' if k == 'const' else ''}{describe(v)}" for v, k in zip(points[0], kinds))
    return H.Case(entry.name, entry.function, f"{fname}({args})", points, kinds)


def run_entry(entry: Entry, npoints: int = NPOINTS) -> dict[str, Outcome]:
    """The status of each mode for one entry: the worst over its points."""
    c = case(entry, npoints)
    try:
        return H.run_case(c)
    except Exception as exc:  # finite differences of the primal itself failed at a point
        why = (f"finite differences of the primal raise {type(exc).__name__}: "
               f"{H.first_line(str(exc))}")
        return {m: Outcome(entry.name, m, "not-applicable", why, str(exc), c.call) for m in MODES}


def run(names=None, npoints: int = NPOINTS,
        progress: Callable[[str, dict, float], None] | None = None) -> Result:
    """Run every entry (or the named ones) and return their outcomes."""
    all_entries = entries()
    result = Result()
    for name in (names or list(all_entries)):
        t0 = time.perf_counter()
        per_mode = run_entry(all_entries[name], npoints)
        dt = time.perf_counter() - t0
        result.seconds[name] = dt
        result.outcomes.extend(per_mode[m] for m in MODES)
        if progress is not None:
            progress(name, per_mode, dt)
    return result
