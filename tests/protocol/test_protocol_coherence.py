"""The GF(3) coherence checker: accepts a good round, names every violation."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adtriad.protocol import (
    ROUND_ORDER,
    ROUTES,
    VIOLATION_NAMES,
    CheckResult,
    ErrorPayload,
    GradientsPayload,
    KernelPayload,
    Role,
    SeedPayload,
    TriadMessage,
    VerdictPayload,
    check_round,
    check_sweep,
)

T, A, G = Role.tempering, Role.autodiff, Role.gpu_kernels


def message(kind, seed=42, round_id="r0", sender=None, to=None, passed=True):
    payload = {
        "seed": lambda: SeedPayload(master_seed=7, round_index=0),
        "kernel": lambda: KernelPayload(
            name="square",
            source="def f(x):\n    return x * x\n",
            entry="f",
            mode="Reverse",
            activities={"x": "Active"},
            inputs={"x": np.float64(3.0)},
        ),
        "gradients": lambda: GradientsPayload(derivatives={"x": 6.0}),
        "verdict": lambda: VerdictPayload(
            passed=passed, checks=(CheckResult(name="finite_differences", passed=passed),)
        ),
        "error": lambda: ErrorPayload(error_type="ADError", message="cannot differentiate"),
    }[kind]()
    route_from, route_to = ROUTES.get(kind, (A, T))
    return TriadMessage(
        sender=sender or route_from,
        to=to or route_to,
        payload=payload,
        seed=seed,
        round_id=round_id,
    )


def good_round(seed=42, round_id="r0"):
    return [message(kind, seed=seed, round_id=round_id) for kind in ROUND_ORDER]


def test_good_round_is_coherent():
    report = check_round(good_round())
    assert report.coherent and report.violations == () and report.names == frozenset()
    assert (report.round_id, report.seed, report.trit_sum) == ("r0", 42, 0)
    assert report.summary().endswith("coherent")


def test_expected_flow_matches_the_seed_document():
    assert ROUND_ORDER == ("seed", "kernel", "gradients", "verdict")
    assert ROUTES["seed"] == (T, G) and ROUTES["kernel"] == (G, A) and ROUTES["gradients"] == (A, T)
    assert ROUTES["verdict"][0] is T


def without(kind):
    return [m for m in good_round() if m.payload.kind != kind]


def replaced(kind, new):
    return [new if m.payload.kind == kind else m for m in good_round()]


def inserted_after(kind, new):
    out = []
    for m in good_round():
        out.append(m)
        if m.payload.kind == kind:
            out.append(new)
    return out


def swapped(i, j):
    log = good_round()
    log[i], log[j] = log[j], log[i]
    return log


CASES = {
    "missing_role": (without("kernel"), {"missing_role", "missing_message", "trit_sum"}),
    "duplicate_sender": (
        inserted_after("gradients", message("gradients")),
        {"duplicate_sender", "duplicate_message"},
    ),
    "missing_message": (without("verdict"), {"missing_message"}),
    "duplicate_message": (inserted_after("verdict", message("verdict")), {"duplicate_message"}),
    "wrong_route": (replaced("verdict", message("verdict", to=G)), {"wrong_route"}),
    "out_of_order": (swapped(1, 2), {"out_of_order"}),
    "seed_mismatch": (replaced("kernel", message("kernel", seed=43)), {"seed_mismatch"}),
    "round_mismatch": (
        replaced("gradients", message("gradients", round_id="r1")),
        {"round_mismatch"},
    ),
    "trit_sum": (
        replaced("kernel", message("kernel", sender=T)),
        {"trit_sum", "wrong_route", "missing_role", "duplicate_sender"},
    ),
    "verdict_failed": (replaced("verdict", message("verdict", passed=False)), {"verdict_failed"}),
    "error_reported": (inserted_after("kernel", message("error")), {"error_reported"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_violation_is_caught_by_name(name):
    log, expected = CASES[name]
    report = check_round(log)
    assert not report.coherent
    assert report.names == expected
    for v in report.violations:
        assert v.message, v
    assert name in report.summary()


def test_every_rule_has_a_case():
    assert set(CASES) == set(VIOLATION_NAMES)


def test_role_sending_twice_alone():
    # tempering sends a second seed: the once-each rule, and its extra −1 breaks the trit sum
    report = check_round(inserted_after("seed", message("seed")))
    assert report.names == {"duplicate_sender", "duplicate_message", "trit_sum"}
    assert report.trit_sum == -1
    (dup,) = [v for v in report.violations if v.name == "duplicate_sender"]
    assert dup.index == 1 and "tempering" in dup.message


def test_the_verdict_does_not_count_as_a_second_message():
    report = check_round(good_round())
    assert sum(m.sender is T for m in good_round()) == 2 and report.coherent


def test_violations_point_at_the_message():
    log = replaced("gradients", message("gradients", seed=1))
    (v,) = check_round(log).violations
    assert v.name == "seed_mismatch" and v.index == 2 and "42" in v.message


def test_configured_trits():
    assert check_round(good_round(), trits={T: 1, A: 1, G: 1}).coherent  # 3 ≡ 0
    report = check_round(good_round(), trits={"tempering": 1, "autodiff": 0, "gpu_kernels": 1})
    assert report.names == {"trit_sum"} and report.trit_sum == 2
    with pytest.raises(ValueError, match="autodiff"):
        check_round(good_round(), trits={T: -1, G: 1})


def test_empty_round_and_bad_items():
    report = check_round([])
    assert report.names == {"missing_role", "missing_message"} and report.seed is None
    with pytest.raises(TypeError, match=r"messages\[0\]"):
        check_round([{"from": "tempering"}])


@settings(max_examples=60, deadline=None)
@given(
    st.permutations(range(4)).filter(lambda p: list(p) != [0, 1, 2, 3]),
    st.integers(0, 2**64 - 1),
)
def test_any_reordering_is_out_of_order(order, seed):
    log = good_round(seed=seed)
    report = check_round([log[i] for i in order])
    assert report.names == {"out_of_order"}


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**64 - 1), st.text(min_size=1, max_size=8))
def test_good_rounds_with_any_seed_and_id(seed, round_id):
    assert check_round(good_round(seed, round_id)).coherent


def test_sweep():
    good = [good_round(seed=s, round_id=f"r{s}") for s in range(3)]
    assert check_sweep(good).coherent
    report = check_sweep([*good, without("verdict")])
    assert not report.coherent
    assert [r.coherent for r in report.rounds] == [True, True, True, False]
    assert check_sweep([]).coherent


def test_report_round_trips_through_json():
    report = check_round(swapped(0, 3))
    assert type(report).model_validate_json(report.model_dump_json()) == report


def test_every_pair_of_kinds_swapped_is_caught():
    for i, j in itertools.combinations(range(4), 2):
        assert "out_of_order" in check_round(swapped(i, j)).names
