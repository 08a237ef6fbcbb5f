"""Arrays in messages: NumPy in Python, {dtype, shape, data} in JSON, exact both ways."""

import base64
import json

import numpy as np
import pytest
from hypothesis import given, settings
from protocol_strategies import arrays, assert_exact
from pydantic import BaseModel, ConfigDict, ValidationError

from adtriad.protocol import NDArray, Value, encode_array


class Holder(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", ser_json_inf_nan="constants")
    a: NDArray
    v: Value | None = None


def encoded(array, **change):
    return {**encode_array(array), **change}


@settings(max_examples=150, deadline=None)
@given(arrays(), arrays())
def test_json_round_trip_is_exact(a, b):
    held = Holder(a=a, v=b)
    again = Holder.model_validate_json(held.model_dump_json())
    assert_exact(held.a, again.a)
    assert_exact(held.v, again.v)
    assert np.array_equal(again.a, a, equal_nan=a.dtype.kind in "fc")


@pytest.mark.parametrize(
    "array",
    [
        np.float32(1.5),
        np.array(2.0),
        np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2],
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.zeros((0, 3), dtype=np.complex64),
        np.array([np.nan, -0.0, np.inf], dtype=">f8"),
    ],
    ids=["numpy-scalar", "0-d", "non-contiguous", "fortran", "empty", "big-endian-specials"],
)
def test_round_trip_examples(array):
    back = Holder.model_validate_json(Holder(a=array).model_dump_json()).a
    expected = np.asarray(array)
    assert back.dtype.str == expected.dtype.str and back.shape == expected.shape
    assert back.tobytes() == expected.tobytes()


def test_json_form():
    dumped = json.loads(Holder(a=np.array([[1, 2]], dtype=np.int16)).model_dump_json())
    assert dumped["a"] == {
        "dtype": "<i2",
        "shape": [1, 2],
        "data": base64.b64encode(np.array([1, 2], dtype="<i2").tobytes()).decode(),
    }


def test_python_mode_keeps_numpy_read_only():
    source = np.arange(3.0)
    held = Holder(a=source, v=np.float32(3))
    assert isinstance(held.a, np.ndarray) and not held.a.flags.writeable
    assert source.flags.writeable  # the caller's array is untouched
    assert held.v.shape == () and held.v.dtype == np.float32
    assert Holder.model_validate(held.model_dump()).a is not None  # python round trip
    dumped = held.model_dump(mode="json")
    assert Holder.model_validate(dumped).a.tobytes() == source.tobytes()


def test_scalars_stay_scalars():
    for scalar in (True, 3, -2.5):
        back = Holder.model_validate_json(Holder(a=np.zeros(1), v=scalar).model_dump_json()).v
        assert type(back) is type(scalar) and back == scalar


def errors(payload):
    with pytest.raises(ValidationError) as info:
        Holder.model_validate_json(json.dumps({"a": payload}))
    return info.value


def test_bad_base64_names_data():
    err = errors(encoded(np.zeros(2), data="not base64!"))
    assert err.errors()[0]["loc"] == ("a", "data")
    assert "base64" in str(err)


def test_byte_count_mismatch_names_the_field():
    err = errors(encoded(np.zeros(2), shape=[3]))
    (problem,) = err.errors()
    assert problem["loc"] == ("a",)
    assert "16 bytes" in problem["msg"] and "need 24" in problem["msg"]


@pytest.mark.parametrize("dtype", ["O", "<U3", "V8", "f4,i4", "(2,)f4", "nonsense"])
def test_dtypes_that_cannot_travel(dtype):
    err = errors({"dtype": dtype, "shape": [], "data": ""})
    assert err.errors()[0]["loc"] == ("a", "dtype")


@pytest.mark.parametrize(
    "payload, loc",
    [
        ({"dtype": "<f8", "shape": [-1], "data": ""}, ("a", "shape", 0)),
        ({"dtype": "<f8", "shape": "2", "data": ""}, ("a", "shape")),
        ({"dtype": "<f8", "shape": [], "data": "", "order": "C"}, ("a", "order")),
        ({"dtype": "<f8", "shape": []}, ("a", "data")),
        ([1.0, 2.0], ("a",)),
    ],
)
def test_malformed_encoding(payload, loc):
    assert errors(payload).errors()[0]["loc"] == loc


def test_python_mode_refuses_non_arrays():
    for bad in ([1.0, 2.0], np.array(["x"]), np.ma.masked_array([1.0], mask=[True])):
        with pytest.raises(ValidationError):
            Holder(a=bad)
    with pytest.raises(ValidationError, match="bool, int or float"):
        Holder(a=np.zeros(1), v="1.0")
