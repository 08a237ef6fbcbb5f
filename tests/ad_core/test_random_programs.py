"""Random programs (``program_gen.py``) differentiated in Reverse and Forward mode and checked.

Every generated program compiles with ``numba.njit`` and runs at inputs where no comparison
changes outcome within the finite-difference stencil (``program_gen.stable_inputs``), so its
derivative is well defined and finite differences are a valid reference. An ``ADError`` refusal is
allowed (API.md: what cannot be differentiated is refused) and counted; a mismatch or any other
exception fails the test. ``triad fuzz`` (docs/fuzz.md) runs the same generator on thousands of
programs, against dual numbers.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from adtriad.ad_core import Active, Duplicated
from adtriad.ad_core.testing import GradCheckError, check_grads
from program_gen import Program, programs, run_program, run_source

# Each example costs a Numba compile of its primal and of two derivatives (a few seconds).
EXAMPLES = 6

SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
)


def test_random_programs_differentiate_correctly_or_are_refused():
    counts: collections.Counter = collections.Counter()
    refusals: collections.Counter = collections.Counter()

    @SETTINGS
    @given(programs(max_statements=8))
    def check(program: Program):
        outcome = run_program(program)
        counts[outcome.status] += 1
        for msg in outcome.refusals.values():
            refusals[msg.split(": ", 2)[-1]] += 1
        if outcome.status in ("wrong", "crash"):
            pytest.fail(f"{outcome.status}:\n{outcome.detail}\n{program!r}", pytrace=False)
        generated = [m for m in outcome.refusals.values() if "cannot be compiled here" in m]
        if generated:  # the engine's own code did not compile: a bug, not a refusal
            pytest.fail(f"generated code failed:\n{generated[0]}\n{program!r}", pytrace=False)

    check()
    print(f"\nrandom programs: {dict(counts)}")
    for msg, n in refusals.most_common():
        print(f"  refused {n}x: {msg}")
    checked = counts["ok"] + counts["refused"]
    assert checked > 0, f"no program got as far as the engine: {dict(counts)}"
    assert counts["ok"] > 0, f"the engine refused every program: {dict(counts)}"


# ----------------------------------------------------------------------------------------------
# Programs the generator found (shrunk by hand), kept as regression tests.
#
# Each was refused with an ADError whose message blames the user's line ("the derivative of f
# cannot be compiled here (...)") although Numba compiles the function itself: the code the engine
# generated did not compile. In the first two the reverse code read a name it never defined (a
# value recomputed from a local array that the tape did not keep); in the third, a loop whose body
# ends in ``return`` left the result undefined on a path Numba could not rule out.


def _inactive_local_array_element_in_a_product(x):
    z = np.ones(4)
    return (z[0] + 0.5) * x


def _local_array_filled_up_to_its_len_then_dotted(x, a):
    z = np.zeros(4)
    for i in range(len(z)):
        z[i] = 0.75
    return x * np.dot(z, a)


def _return_at_the_end_of_a_loop_body(x, m):
    for i in range(m):
        return x
    return 0.0


def _check_one_mode(f, *args, mode="Reverse"):
    """check_grads in one mode, raising the engine's own exception when it raised one."""
    try:
        check_grads(f, *args, modes=(mode,))
    except GradCheckError as err:
        if err.__cause__ is not None:
            raise err.__cause__
        raise


def test_reverse_inactive_local_array_element_in_a_product():
    _check_one_mode(_inactive_local_array_element_in_a_product, Active(0.7))


def test_forward_inactive_local_array_element_in_a_product():
    check_grads(_inactive_local_array_element_in_a_product, Active(0.7), modes=("Forward",))


def test_reverse_local_array_filled_by_range_len_then_dotted():
    a = np.array([0.3, -0.2, 0.5, 0.1])
    _check_one_mode(_local_array_filled_up_to_its_len_then_dotted, Active(0.7), Duplicated(a, np.zeros(4)))


def test_forward_local_array_filled_by_range_len_then_dotted():
    a = np.array([0.3, -0.2, 0.5, 0.1])
    check_grads(_local_array_filled_up_to_its_len_then_dotted, Active(0.7), Duplicated(a, np.zeros(4)),
                modes=("Forward",))


@pytest.mark.parametrize("mode", ["Reverse", "Forward"])
def test_loop_body_ending_in_return(mode):
    _check_one_mode(_return_at_the_end_of_a_loop_body, Active(0.7), 3, mode=mode)


# ----------------------------------------------------------------------------------------------
# The harness itself


def _run(source: str, floats=("x",), arrays=(("a", 5),), ints=("n",), int_values=(2,), input_seed=0,
         modes=("Reverse", "Forward")):
    return run_source(source, floats, arrays, ints, int_values, input_seed, modes)


def test_harness_classifies_a_plain_program_as_ok():
    src = (
        "import math\n\n"
        "def f(x, a, n):\n"
        "    s = 0.0\n"
        "    for i in range(n):\n"
        "        if a[i] > 0.0:\n"
        "            s = s + math.sin(x * a[i])\n"
        "        else:\n"
        "            break\n"
        "    return s\n"
    )
    out = _run(src, int_values=(3,))
    assert out.status in ("ok", "refused"), out.detail


def test_harness_finds_stable_inputs_away_from_a_branch_switch():
    from program_gen import stable_inputs

    src = "def f(x, a, n):\n    s = 0.0\n    if x > 0.3:\n        s = x * x\n    return s + a[0]\n"
    prog = Program(src, ("x",), (("a", 4),), ("n",), (0,), 0)
    args = stable_inputs(prog)
    assert args is not None and abs(args[0] - 0.3) > 3e-3 * max(1.0, abs(args[0]))


def test_harness_counts_an_aderror_as_a_refusal():
    # a view of an array made in a loop, read after the array is written: refused
    src = (
        "import numpy as np\n\n"
        "def f(x, a, n):\n"
        "    s = 0.0\n"
        "    for i in range(n):\n"
        "        h = a * x\n"
        "        v = h[1:]\n"
        "        h[1] = x\n"
        "        s += v[0] * v[0]\n"
        "    return s\n"
    )
    out = _run(src, int_values=(2,), modes=("Reverse",))
    assert out.status == "refused", out.detail
    assert out.modes == {"Reverse": "refused"} and "ADError" in out.refusals["Reverse"]


def test_harness_reports_a_wrong_derivative(monkeypatch):
    import program_gen

    real = program_gen._RecordingEngine.autodiff

    def off_by_one(self, mode, *args, **kwargs):
        out = real(self, mode, *args, **kwargs)
        if mode is self._engine.Reverse:
            (derivs,) = out
            return (tuple(d + 1.0 if isinstance(d, float) else d for d in derivs),)
        return out

    monkeypatch.setattr(program_gen._RecordingEngine, "autodiff", off_by_one)
    src = "import math\n\ndef f(x, a, n):\n    return math.sin(x) * a[n]\n"
    out = _run(src, int_values=(1,))
    assert out.status == "wrong", out.detail
    assert out.modes["Reverse"] == "wrong" and out.modes["Forward"] == "ok"
