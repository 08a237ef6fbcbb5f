"""Messages and payloads: strict, frozen, exact through JSON, errors that name the field."""

import doctest
import json
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from protocol_strategies import assert_exact, messages, payloads
from pydantic import ValidationError

import adtriad.protocol.arrays
import adtriad.protocol.coherence
import adtriad.protocol.messages
import adtriad.protocol.roles
from adtriad.protocol import (
    DEFAULT_TRITS,
    PROTOCOL_VERSION,
    CheckResult,
    GradientsPayload,
    KernelPayload,
    PayloadAdapter,
    Role,
    SeedPayload,
    Tolerance,
    TriadMessage,
    VerdictPayload,
    message_json_schema,
    validate_trits,
)


@settings(max_examples=100, deadline=None)
@given(messages)
def test_message_json_round_trip(msg):
    text = msg.model_dump_json()
    back = TriadMessage.model_validate_json(text)
    assert_exact(msg, back)
    assert back == msg
    assert back.model_dump_json() == text
    assert json.loads(text)["from"] == msg.sender.value


@settings(max_examples=100, deadline=None)
@given(payloads)
def test_payload_json_round_trip(payload):
    back = PayloadAdapter.validate_json(PayloadAdapter.dump_json(payload))
    assert type(back) is type(payload)
    assert_exact(payload, back)


@settings(max_examples=50, deadline=None)
@given(messages)
def test_python_and_pickle_round_trip(msg):
    assert_exact(msg, TriadMessage.model_validate(msg.model_dump()))
    assert_exact(msg, pickle.loads(pickle.dumps(msg)), byte_order=False)


def seed_message(**change):
    fields = dict(
        sender=Role.tempering,
        to=Role.gpu_kernels,
        payload=SeedPayload(master_seed=1, round_index=0),
        seed=42,
        round_id="r0",
    )
    return TriadMessage(**{**fields, **change})


def kernel_json(**change):
    payload = {
        "kind": "kernel",
        "name": "square",
        "source": "def f(x):\n    return x * x\n",
        "entry": "f",
        "mode": "Reverse",
        "activities": {"x": "Duplicated"},
        "inputs": {"x": {"dtype": "<f4", "shape": [2], "data": "AACAPwAAAEA="}},
        **change,
    }
    return {
        "from": "gpu_kernels",
        "to": "autodiff",
        "payload": payload,
        "seed": 42,
        "round_id": "r0",
    }


def rejected(document):
    with pytest.raises(ValidationError) as info:
        TriadMessage.model_validate_json(json.dumps(document))
    return info.value


def test_valid_kernel_json_parses():
    msg = TriadMessage.model_validate_json(json.dumps(kernel_json()))
    assert msg.sender is Role.gpu_kernels and msg.protocol_version == PROTOCOL_VERSION
    x = msg.payload.inputs["x"]
    assert x.dtype == np.float32 and x.tolist() == [1.0, 2.0]


def test_strict_json_still_takes_enum_and_int_json_forms():
    msg = seed_message()
    document = json.loads(msg.model_dump_json())
    assert document["from"] == "tempering" and document["seed"] == 42
    assert TriadMessage.model_validate_json(json.dumps(document)) == msg


def test_strict_python_wants_real_types():
    with pytest.raises(ValidationError) as info:
        seed_message(sender="tempering")
    assert info.value.errors()[0]["loc"] == ("sender",)
    with pytest.raises(ValidationError):
        seed_message(seed="42")
    assert seed_message(seed=np.uint64(2**64 - 1)).seed == 2**64 - 1


def test_from_alias_and_sender_name_both_build():
    document = {
        "from": Role.tempering,
        "to": Role.gpu_kernels,
        "seed": 42,
        "round_id": "r0",
        "payload": SeedPayload(master_seed=1, round_index=0),
    }
    assert TriadMessage(**document) == seed_message()


@pytest.mark.parametrize(
    "change, loc",
    [
        ({"seed": "42"}, ("seed",)),
        ({"seed": 2**64}, ("seed",)),
        ({"seed": -1}, ("seed",)),
        ({"seed": 4.0}, ("seed",)),
        ({"from": "enzyme"}, ("from",)),
        ({"to": 1}, ("to",)),
        ({"round_id": ""}, ("round_id",)),
        ({"protocol_version": "0"}, ("protocol_version",)),
        ({"colour": "red"}, ("colour",)),
        ({"payload": {"kind": "poem"}}, ("payload",)),
    ],
)
def test_malformed_message_names_the_field(change, loc):
    err = rejected({**kernel_json(), **change})
    assert loc in [e["loc"] for e in err.errors()]


@pytest.mark.parametrize(
    "change, loc",
    [
        ({"mode": "Sideways"}, ("payload", "kernel", "mode")),
        ({"entry": "not an identifier"}, ("payload", "kernel", "entry")),
        ({"extra": 1}, ("payload", "kernel", "extra")),
        ({"activities": {"x": "Mutable"}}, ("payload", "kernel", "activities", "x")),
        ({"inputs": {"x": "1.0"}}, ("payload", "kernel", "inputs", "x")),
        (
            {"inputs": {"x": {"dtype": "<f4", "shape": [2], "data": "%%%"}}},
            ("payload", "kernel", "inputs", "x", "data"),
        ),
        (
            {"inputs": {"x": {"dtype": "<f4", "shape": [3], "data": "AACAPwAAAEA="}}},
            ("payload", "kernel", "inputs", "x"),
        ),
        ({"inputs": {"y": 1.0}}, ("payload", "kernel")),
        ({"shadows": {"x": 1.0}, "activities": {"x": "Const"}}, ("payload", "kernel")),
        (
            {"launch": {"blocks": [1, 1, 1, 1], "threads": [32]}},
            ("payload", "kernel", "launch", "blocks"),
        ),
    ],
)
def test_malformed_payload_names_the_field(change, loc):
    err = rejected(kernel_json(**change))
    assert loc in [e["loc"] for e in err.errors()], err.errors()
    assert ".".join(map(str, loc)) in str(err)


def test_byte_count_message_is_precise():
    bad = {"x": {"dtype": "<f4", "shape": [3], "data": "AACAPwAAAEA="}}
    (problem,) = rejected(kernel_json(inputs=bad)).errors()
    assert "8 bytes" in problem["msg"] and "need 12" in problem["msg"]


def test_verdict_must_agree_with_its_checks():
    good = CheckResult(name="fd", passed=True, tolerance=Tolerance(rtol=1e-6, atol=0.0))
    bad = CheckResult(name="dot", passed=False, max_abs_err=float("nan"))
    assert VerdictPayload(passed=False, checks=(good, bad)).passed is False
    with pytest.raises(ValidationError, match="dot"):
        VerdictPayload(passed=True, checks=(good, bad))
    with pytest.raises(ValidationError):
        VerdictPayload(passed=True, checks=())


def test_models_are_frozen():
    msg = seed_message()
    with pytest.raises(ValidationError):
        msg.seed = 1
    kernel = TriadMessage.model_validate_json(json.dumps(kernel_json())).payload
    with pytest.raises(ValueError):
        kernel.inputs["x"][0] = 5.0


def test_equality_compares_arrays_by_content():
    a = GradientsPayload(derivatives={"x": np.array([1.0, np.nan])})
    assert a == GradientsPayload(derivatives={"x": np.array([1.0, np.nan])})
    assert a != GradientsPayload(derivatives={"x": np.array([1.0, np.nan], dtype=np.float32)})
    assert a != GradientsPayload(derivatives={"x": None})


def test_kernel_arguments_keep_call_order():
    payload = KernelPayload(
        name="h",
        source="def h(x, c):\n    return c * x * x\n",
        entry="h",
        mode="Reverse",
        activities={"x": "Active", "c": "Const"},
        inputs={"x": 2.0, "c": 3.0},
    )
    back = PayloadAdapter.validate_json(PayloadAdapter.dump_json(payload))
    assert list(back.activities) == ["x", "c"] and list(back.inputs) == ["x", "c"]


def test_schema_names_the_four_fields():
    schema = message_json_schema()
    assert {"from", "to", "payload", "seed", "round_id", "protocol_version"} <= set(
        schema["properties"]
    )
    assert {"from", "to", "payload", "seed", "round_id"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    kinds = {
        d["properties"]["kind"]["const"]
        for n, d in schema["$defs"].items()
        if n.endswith("Payload")
    }
    assert kinds == {"seed", "kernel", "gradients", "verdict", "error"}
    assert schema["properties"]["from"]["description"]


def test_roles_and_trits():
    assert [r.value for r in Role] == ["tempering", "autodiff", "gpu_kernels"]
    assert dict(DEFAULT_TRITS) == {Role.tempering: -1, Role.autodiff: 0, Role.gpu_kernels: 1}
    assert sum(DEFAULT_TRITS.values()) % 3 == 0
    with pytest.raises(ValueError, match="gpu_kernels"):
        validate_trits({"tempering": -1, "autodiff": 0})
    with pytest.raises(ValueError, match="-1, 0 or 1"):
        validate_trits({"tempering": 2, "autodiff": 0, "gpu_kernels": 1})
    with pytest.raises(ValueError, match="unknown role"):
        validate_trits({"enzyme": 0})


@pytest.mark.parametrize(
    "module",
    [
        adtriad.protocol.roles,
        adtriad.protocol.arrays,
        adtriad.protocol.messages,
        adtriad.protocol.coherence,
    ],
)
def test_docstrings_and_doctests(module):
    assert module.__doc__ and len(module.__doc__) > 80
    assert doctest.testmod(module).failed == 0
