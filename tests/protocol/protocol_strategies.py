"""Hypothesis strategies for every protocol model, and an exact-equality assertion."""

import math
from typing import get_args

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import strategies as st
from pydantic import BaseModel

from adtriad.protocol import (
    Activity,
    CheckResult,
    ErrorPayload,
    GradientsPayload,
    KernelPayload,
    LaunchConfig,
    Mode,
    Role,
    SeedPayload,
    Tolerance,
    TriadMessage,
    VerdictPayload,
)

DTYPES = "? i1 i2 <i4 >i4 <i8 u1 u2 u4 u8 f2 <f4 >f4 <f8 >f8 c8 c16".split()
MODES = get_args(Mode)
ACTIVITIES = get_args(Activity)

u64 = st.integers(0, 2**64 - 1)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
texts = st.text(max_size=12)


@st.composite
def arrays(draw):
    """Arrays of every travelling dtype, rank 0 to 3, C, Fortran and non-contiguous layouts."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    array = draw(hnp.arrays(dtype, shape))
    layout = draw(st.sampled_from(["c", "fortran", "strided", "transposed"]))
    if layout == "fortran":
        array = np.asfortranarray(array)
    elif layout == "strided" and array.ndim:
        array = np.repeat(array, 2, axis=0)[::2]
    elif layout == "transposed":
        array = array.T
    return array


scalars = st.booleans() | st.integers(-(2**70), 2**70) | st.floats()
values = arrays() | scalars
optional_values = st.none() | values
floats_or_none = st.none() | st.floats()
tolerances = st.builds(
    Tolerance,
    rtol=st.floats(0, 1e3, allow_nan=False),
    atol=st.floats(0, 1e3, allow_nan=False),
)
dims = st.lists(st.integers(1, 1024), min_size=1, max_size=3).map(tuple)

seed_payloads = st.builds(
    SeedPayload, master_seed=u64, round_index=st.integers(0, 10**9), scenario=st.none() | texts
)


@st.composite
def kernel_payloads(draw):
    args = draw(st.lists(names, unique=True, max_size=4))
    activities = {a: draw(st.sampled_from(ACTIVITIES)) for a in args}
    shadowed = [a for a in args if activities[a] not in ("Const", "Active")]
    return KernelPayload(
        name=draw(texts.filter(bool)),
        source=draw(st.text(min_size=1, max_size=40)),
        entry=draw(names),
        mode=draw(st.sampled_from(MODES)),
        activities=activities,
        return_activity=draw(st.none() | st.sampled_from(ACTIVITIES)),
        inputs={a: draw(values) for a in args},
        shadows={a: draw(values) for a in shadowed if draw(st.booleans())},
        launch=draw(st.none() | st.builds(LaunchConfig, blocks=dims, threads=dims)),
    )


gradients_payloads = st.builds(
    GradientsPayload,
    derivatives=st.dictionaries(names, optional_values, max_size=4),
    primal=optional_values,
    tangent=optional_values,
    source=st.none() | st.text(max_size=40),
    timings=st.dictionaries(names, st.floats(0, allow_nan=False), max_size=3),
)

check_results = st.builds(
    CheckResult,
    name=texts.filter(bool),
    passed=st.booleans(),
    max_abs_err=floats_or_none,
    max_rel_err=floats_or_none,
    worst_index=st.none() | st.lists(st.integers(0, 2**40), max_size=3).map(tuple),
    tolerance=st.none() | tolerances,
    detail=texts,
)
verdict_payloads = st.lists(check_results, min_size=1, max_size=4).map(
    lambda checks: VerdictPayload(passed=all(c.passed for c in checks), checks=tuple(checks))
)
error_payloads = st.builds(ErrorPayload, error_type=texts.filter(bool), message=texts, where=texts)

payloads = st.one_of(
    seed_payloads, kernel_payloads(), gradients_payloads, verdict_payloads, error_payloads
)
roles = st.sampled_from(list(Role))
messages = st.builds(
    TriadMessage,
    sender=roles,
    to=roles,
    payload=payloads,
    seed=u64,
    round_id=st.text(min_size=1, max_size=12),
)


def assert_exact(a, b, where="value", byte_order=True):
    """``a`` and ``b`` are the same down to dtype, shape, bytes, scalar type and zero sign.

    With ``byte_order=False`` arrays are compared in little-endian order (pickle, as NumPy does
    it, turns big-endian arrays into native ones with the same values).
    """
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray) and not byte_order:
        little = a.dtype.newbyteorder("<")
        assert_exact(a.astype(little), b.astype(little), where)
    elif isinstance(a, np.ndarray):
        assert a.dtype.str == b.dtype.str, f"{where}: dtype {a.dtype.str} != {b.dtype.str}"
        assert a.shape == b.shape, f"{where}: shape {a.shape} != {b.shape}"
        assert a.tobytes() == b.tobytes(), f"{where}: bytes differ"
    elif isinstance(a, BaseModel):
        for name in type(a).model_fields:
            assert_exact(getattr(a, name), getattr(b, name), f"{where}.{name}", byte_order)
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for key in a:
            assert_exact(a[key], b[key], f"{where}.{key}", byte_order)
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_exact(x, y, f"{where}[{i}]", byte_order)
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        ), f"{where}: {a!r} != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
