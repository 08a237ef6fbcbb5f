"""The kernel agent (gpu_kernels, +1): provides the kernel's source and the round's inputs.

Contract: :meth:`KernelAgent.provide` answers a seed message with a kernel message: the
scenario's kernel source (text, never a pickle), the mode, each argument's activity in that
mode, and inputs and shadows drawn, in call order, from the generator of the round's seed. The
same seed message always gives a bit-identical kernel message. Shadows: reverse modes use the
argument's ``shadow`` (zeros when omitted), forward modes its ``tangent`` (ones when omitted);
a scalar spec fills an array; batched shadows have ``width`` rows. Without a GPU the inputs are
NumPy arrays. Failures come back as error messages (see :mod:`adtriad.agents.base`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adtriad.agents.base import guarded, send
from adtriad.agents.scenario import Scenario, draw_value
from adtriad.agents.seeds import round_rng
from adtriad.protocol import FORWARD_MODES, KernelPayload, Role, TriadMessage

__all__ = ["KernelAgent", "as_message_value"]


def as_message_value(value: Any) -> Any:
    """``value`` as a message carries it (NumPy scalars become 0-d arrays of their dtype)."""
    if isinstance(value, np.ndarray | np.generic):
        return np.array(value)
    return value


def _like(spec, value: Any, rng: np.random.Generator, default: float, width: int | None) -> Any:
    drawn = default if spec is None else draw_value(spec, rng)
    if width is not None:
        shape = (width, *np.shape(value))
        dtype = np.asarray(value).dtype
        if spec is None:
            return rng.standard_normal(shape).astype(dtype)
        return np.broadcast_to(np.asarray(drawn, dtype=dtype), shape).copy()
    if isinstance(value, np.ndarray):
        return np.broadcast_to(np.asarray(drawn, dtype=value.dtype), value.shape).copy()
    return type(value)(drawn) if isinstance(value, np.generic) else float(drawn)


class KernelAgent:
    """Provides kernels and inputs (role ``gpu_kernels``)."""

    role = Role.gpu_kernels

    @guarded(to=Role.autodiff)
    def provide(self, seed_msg: TriadMessage, scenario: Scenario, mode: str) -> TriadMessage:
        """The kernel message of the round ``seed_msg`` opens."""
        rng = round_rng(seed_msg.seed)
        activities = scenario.activities_for(mode)
        forward = mode in FORWARD_MODES
        inputs, shadows = {}, {}
        for name, arg in scenario.arguments.items():
            value = draw_value(arg.value, rng)
            inputs[name] = as_message_value(value)
            if scenario.is_shadowed(activities[name]):
                spec = arg.tangent if forward else arg.shadow
                shadow = _like(spec, value, rng, 1.0 if forward else 0.0, arg.width)
                shadows[name] = as_message_value(shadow)
        payload = KernelPayload(
            name=scenario.kernel.name or scenario.kernel.entry,
            source=scenario.kernel.source,
            entry=scenario.kernel.entry,
            mode=mode,
            activities=activities,
            return_activity=scenario.return_activity,
            inputs=inputs,
            shadows=shadows,
            launch=scenario.kernel.launch and scenario.kernel.launch.config(),
            path=scenario.kernel.path,
            line=scenario.kernel.line,
            column=scenario.kernel.column,
        )
        return send(self.role, Role.autodiff, payload, seed_msg)
