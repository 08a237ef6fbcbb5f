"""adtriad.protocol: the typed messages of the triad, its roles and the GF(3) coherence check.

Contract: this package knows nothing of agents, Ray or the AD engine. It defines

* :class:`Role` and the trits (:data:`DEFAULT_TRITS`: tempering −1, autodiff 0, gpu_kernels +1);
* :class:`TriadMessage` and its payloads (seed, kernel, gradients, verdict, error), frozen and
  strict pydantic models with arrays as NumPy in Python and ``{dtype, shape, data}`` in JSON;
* :func:`check_round` and :func:`check_sweep`, which judge message logs and name every
  violation.

Importing it configures nothing and starts nothing.
"""

from adtriad.protocol.arrays import (
    ARRAY_KINDS,
    EncodedArray,
    NDArray,
    Value,
    decode_array,
    encode_array,
)
from adtriad.protocol.coherence import (
    ROUND_ORDER,
    ROUTES,
    VIOLATION_NAMES,
    CoherenceReport,
    SweepReport,
    Violation,
    ViolationName,
    check_round,
    check_sweep,
)
from adtriad.protocol.messages import (
    AUTODIFF_MODES,
    FORWARD_MODES,
    MODES,
    PROTOCOL_VERSION,
    SHADOWED_ACTIVITIES,
    U64,
    Activity,
    CheckResult,
    ErrorPayload,
    GradientsPayload,
    KernelPayload,
    LaunchConfig,
    Mode,
    Payload,
    PayloadAdapter,
    PayloadKind,
    ProtocolModel,
    SeedPayload,
    Tolerance,
    TriadMessage,
    VerdictPayload,
    message_json_schema,
)
from adtriad.protocol.roles import DEFAULT_TRITS, Role, validate_trits

__all__ = [
    "ARRAY_KINDS",
    "AUTODIFF_MODES",
    "FORWARD_MODES",
    "MODES",
    "SHADOWED_ACTIVITIES",
    "DEFAULT_TRITS",
    "PROTOCOL_VERSION",
    "ROUND_ORDER",
    "ROUTES",
    "U64",
    "VIOLATION_NAMES",
    "Activity",
    "CheckResult",
    "CoherenceReport",
    "EncodedArray",
    "ErrorPayload",
    "GradientsPayload",
    "KernelPayload",
    "LaunchConfig",
    "Mode",
    "NDArray",
    "Payload",
    "PayloadAdapter",
    "PayloadKind",
    "ProtocolModel",
    "Role",
    "SeedPayload",
    "SweepReport",
    "Tolerance",
    "TriadMessage",
    "Value",
    "VerdictPayload",
    "Violation",
    "ViolationName",
    "check_round",
    "check_sweep",
    "decode_array",
    "encode_array",
    "message_json_schema",
    "validate_trits",
]
