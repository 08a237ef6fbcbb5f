"""Arrays in messages: NumPy inside a process, ``{dtype, shape, data}`` in JSON.

Contract:

* :data:`NDArray` is an annotated type for pydantic fields. In Python mode it holds a NumPy
  array (a NumPy scalar becomes a 0-d array of the same dtype); the model keeps a read-only view,
  so a frozen message cannot be changed through its arrays (copy one before writing to it, as
  with arrays returned by ``ray.get``). In JSON mode it is an :class:`EncodedArray`: the dtype
  as NumPy's type string (``"<f4"``), the shape, and the C-order bytes in standard base64.
* The round trip is exact: dtype (byte order included), shape and bytes, for any rank (0-d
  arrays too), any memory layout (non-contiguous arrays are written in C order) and every value
  (NaN payloads and signed zeros included).
* Only boolean, integer, unsigned, floating and complex dtypes travel; object, string, void and
  structured arrays are refused.
* :data:`Value` is an array or a plain ``bool``/``int``/``float`` scalar; scalars stay scalars.
* Bad input is a pydantic ``ValidationError`` whose location names the field: an unknown dtype
  (``…dtype``), bad base64 (``…data``), or a byte count that does not match dtype × shape (the
  array field itself).
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Annotated, Any

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    NonNegativeInt,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

__all__ = ["ARRAY_KINDS", "EncodedArray", "NDArray", "Value", "decode_array", "encode_array"]

ARRAY_KINDS = "biufc"
"""NumPy dtype kinds that may travel: bool, signed and unsigned integers, floats, complex."""


def _b64decode(text: object) -> bytes:
    if not isinstance(text, str):
        raise PydanticCustomError("base64_type", "expected a base64 string")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as err:
        raise PydanticCustomError(
            "base64", "not valid base64: {error}", {"error": str(err)}
        ) from None


class EncodedArray(BaseModel):
    """The JSON form of an array: ``{"dtype": "<f4", "shape": [2, 3], "data": "<base64>"}``."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, use_attribute_docstrings=True
    )

    dtype: str
    """NumPy type string with byte order, as ``numpy.dtype(...).str`` gives (``"<f8"``)."""
    shape: list[NonNegativeInt]
    """The array's shape; ``[]`` for a 0-d array."""
    data: Annotated[
        bytes,
        BeforeValidator(_b64decode),
        WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
    ]
    """The elements' bytes in C order, base64-encoded (standard alphabet, padded)."""

    @field_validator("dtype")
    @classmethod
    def _known_dtype(cls, text: str) -> str:
        try:
            dtype = np.dtype(text)
        except (TypeError, ValueError):
            raise ValueError(f"{text!r} is not a NumPy dtype") from None
        _check_dtype(dtype)
        return text

    @model_validator(mode="after")
    def _sizes_agree(self) -> EncodedArray:
        itemsize = np.dtype(self.dtype).itemsize
        need = math.prod(self.shape) * itemsize
        if len(self.data) != need:
            raise ValueError(
                f"data holds {len(self.data)} bytes but dtype {self.dtype} and shape "
                f"{tuple(self.shape)} need {need}"
            )
        return self


def _check_dtype(dtype: np.dtype) -> None:
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise PydanticCustomError(
            "array_dtype",
            "dtype {dtype} cannot travel; use bool, integer, float or complex",
            {"dtype": str(dtype)},
        )


def _readonly(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


def encode_array(array: np.ndarray) -> dict[str, Any]:
    """The JSON form of ``array``.

    Examples:
        >>> encode_array(np.array([1.0], dtype=np.float32))
        {'dtype': '<f4', 'shape': [1], 'data': 'AACAPw=='}
    """
    return {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "data": base64.b64encode(array.tobytes(order="C")).decode("ascii"),
    }


def decode_array(encoded: EncodedArray) -> np.ndarray:
    """The (read-only) array that ``encoded`` describes."""
    flat = np.frombuffer(encoded.data, dtype=np.dtype(encoded.dtype))
    return flat.reshape(tuple(encoded.shape))


def _from_python(value: Any, handler: core_schema.ValidatorFunctionWrapHandler) -> np.ndarray:
    if isinstance(value, np.ma.MaskedArray):
        raise PydanticCustomError("array_type", "masked arrays cannot travel; fill them first")
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        _check_dtype(array.dtype)
        return _readonly(array)
    if isinstance(value, dict):
        return handler(value)
    raise PydanticCustomError(
        "array_type",
        "expected a NumPy array or {{dtype, shape, data}}, got {type}",
        {"type": type(value).__name__},
    )


class _NDArraySchema:
    """Builds the core schema behind :data:`NDArray`."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from_json = core_schema.chain_schema(
            [
                handler.generate_schema(EncodedArray),
                core_schema.no_info_plain_validator_function(decode_array),
            ]
        )
        return core_schema.json_or_python_schema(
            json_schema=from_json,
            python_schema=core_schema.no_info_wrap_validator_function(_from_python, from_json),
            serialization=core_schema.plain_serializer_function_ser_schema(
                encode_array, when_used="json"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(schema["json_schema"]["steps"][0])


NDArray = Annotated[np.ndarray, _NDArraySchema]
"""A NumPy array in Python, an :class:`EncodedArray` in JSON."""


def _value(value: Any, handler: core_schema.ValidatorFunctionWrapHandler) -> Any:
    if type(value) in (bool, int, float):
        return value
    if isinstance(value, np.ndarray | np.generic | dict):
        return handler(value)
    raise PydanticCustomError(
        "value_type",
        "expected an array or a bool, int or float scalar, got {type}",
        {"type": type(value).__name__},
    )


def _encode_value(value: Any) -> Any:
    return encode_array(value) if isinstance(value, np.ndarray) else value


class _ValueSchema:
    """Builds the core schema behind :data:`Value`."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_wrap_validator_function(
            _value,
            handler.generate_schema(NDArray),
            serialization=core_schema.plain_serializer_function_ser_schema(
                _encode_value, when_used="json"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        array = handler(schema["schema"]["json_schema"]["steps"][0])
        return {"anyOf": [array, {"type": "boolean"}, {"type": "integer"}, {"type": "number"}]}


Value = Annotated[np.ndarray | bool | int | float, _ValueSchema]
"""An array (as :data:`NDArray`) or a ``bool``, ``int`` or ``float`` scalar."""
