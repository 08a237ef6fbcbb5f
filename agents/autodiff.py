"""The autodiff agent (autodiff, 0): differentiates the kernel it is sent with ``ad_core``.

Contract: :meth:`AutodiffAgent.differentiate` answers a kernel message with a gradients
message. The kernel's source is written to a file under ``<cache_dir>/kernels`` and imported
(:mod:`adtriad.agents.sourcefile`), then differentiated in the message's mode and activities
(``autodiff`` for the joint modes, ``autodiff_thunk`` for ``ReverseSplitWithPrimal`` with a
result cotangent of 1.0 for a float result). Inputs and shadows are copied before the call
(message arrays are read-only); a 0-d array in a message is a NumPy scalar to the kernel.
The reply has, per argument in call order, the derivative of an ``Active`` one, the shadow
after the call of a shadowed one and ``None`` for a ``Const`` one; batched shadows and
tangents are stacked along a new leading axis. Engine refusals (``ADError``) and any other
failure come back as error messages naming this agent.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from adtriad.agents.base import guarded, send
from adtriad.agents.sourcefile import load_kernel
from adtriad.protocol import GradientsPayload, Role, TriadMessage

__all__ = ["AutodiffAgent", "from_message_value", "to_message_value"]

_SHADOWED = ("Duplicated", "DuplicatedNoNeed")
_BATCHED = ("BatchDuplicated", "BatchDuplicatedNoNeed")


def from_message_value(value: Any) -> Any:
    """A writable copy of a message value (0-d arrays become NumPy scalars)."""
    if isinstance(value, np.ndarray):
        return value[()] if value.ndim == 0 else np.array(value, copy=True)
    return value


def to_message_value(value: Any) -> Any:
    """A result as a message carries it (tuples of batched results are stacked)."""
    if value is None or type(value) in (bool, int, float):
        return value
    if isinstance(value, tuple | list):
        return np.stack([np.asarray(v) for v in value])
    if isinstance(value, np.float64 | np.int64):
        return value.item()
    if isinstance(value, np.ndarray | np.generic):
        return np.array(value, copy=True)
    if isinstance(value, float | int):
        return float(value) if isinstance(value, float) else int(value)
    raise TypeError(f"cannot send a result of type {type(value).__name__}")


class AutodiffAgent:
    """Differentiates kernels (role ``autodiff``)."""

    role = Role.autodiff

    def __init__(self, cache_dir: str | Path | None = None,
                 checkpoint_memory: int | None = None) -> None:
        from adtriad.ad_core import loader

        self.checkpoint_memory = checkpoint_memory  # reverse modes checkpoint time loops

        if cache_dir is not None:
            loader.set_cache_dir(Path(cache_dir).expanduser() / "generated")
            self.kernel_dir = Path(cache_dir).expanduser() / "kernels"
        else:
            self.kernel_dir = loader.cache_dir().parent / "kernels"

    @guarded(to=Role.tempering)
    def differentiate(self, kernel_msg: TriadMessage) -> TriadMessage:
        """The gradients message answering ``kernel_msg``."""
        from adtriad import ad_core
        from adtriad.ad_core.gpu.kernels import is_cuda_function

        k = kernel_msg.payload
        t0 = time.perf_counter()
        func = load_kernel(k.source, k.entry, self.kernel_dir, k.path, k.line, k.column)
        t1 = time.perf_counter()
        anns = [self._annotate(ad_core, k, name) for name in k.activities]
        ret = None if k.return_activity is None else getattr(ad_core, k.return_activity)
        primal = tangent = None
        mode = getattr(ad_core, k.mode)
        if self.checkpoint_memory is not None and not mode.is_forward:
            mode = ad_core.checkpointed(mode, self.checkpoint_memory)
        if is_cuda_function(func):
            derivs = self._kernel_gradient(func, k, anns)
        elif k.mode == "ReverseSplitWithPrimal":
            fwd, rev = ad_core.autodiff_thunk(
                mode, ad_core.Const(func), ret, *[type(a) for a in anns]
            )
            tape, primal, _ = fwd(ad_core.Const(func), *anns)
            dret = 1.0 if isinstance(primal, float | np.floating) else None
            (derivs,) = rev(ad_core.Const(func), *anns, dret, tape)
        else:
            rest = () if ret is None else (ret,)
            out = ad_core.autodiff(mode, func, *rest, *anns)
            derivs = None
            if k.mode.startswith("Reverse"):
                derivs = out[-1]
                primal = out[0] if k.mode == "ReverseWithPrimal" else None
            elif k.return_activity == "DuplicatedNoNeed" or k.mode == "Forward":
                tangent = out[0] if out else None
            else:
                primal = out[0] if out else None
                tangent = out[1] if len(out) > 1 else None
        t2 = time.perf_counter()
        derivatives = {}
        for i, (name, act) in enumerate(k.activities.items()):
            if act == "Active":
                derivatives[name] = to_message_value(derivs[i]) if derivs is not None else None
            elif act in _SHADOWED or act in _BATCHED:
                derivatives[name] = to_message_value(anns[i].dval)
            else:
                derivatives[name] = None
        payload = GradientsPayload(
            derivatives=derivatives,
            primal=to_message_value(primal),
            tangent=to_message_value(tangent),
            timings={"load": t1 - t0, "differentiate": t2 - t1},
        )
        return send(self.role, Role.tempering, payload, kernel_msg)

    @staticmethod
    def _kernel_gradient(kernel, k, anns) -> tuple:
        """A kernel's reverse-mode gradient over its whole launch (on the GPU when there is
        one): per-thread derivatives of Active scalars are summed."""
        from adtriad.ad_core import ADError
        from adtriad.ad_core.gpu.cuda import gradient_kernel

        if k.mode != "Reverse":
            raise ADError(f"kernel {k.entry}: kernels are differentiated in Reverse mode "
                          f"(gradient_kernel), not {k.mode}")
        if k.launch is None:
            raise ADError(f"{k.entry} is a numba.cuda kernel: the scenario needs kernel.launch")
        per_thread = gradient_kernel(kernel)[k.launch.blocks, k.launch.threads](*anns)
        return tuple(None if d is None else np.asarray(d).sum(dtype=np.float64).astype(d.dtype)
                     for d in per_thread)

    @staticmethod
    def _annotate(ad_core, k, name: str):
        act = k.activities[name]
        value = from_message_value(k.inputs[name])
        if act == "Const":
            return ad_core.Const(value)
        if act == "Active":
            return ad_core.Active(value)
        cls = getattr(ad_core, act)
        shadow = k.shadows.get(name)
        if act in _BATCHED:
            rows = np.array(shadow, copy=True)
            return cls(value, tuple(np.array(r, copy=True) if np.ndim(r) else r[()] for r in rows))
        if shadow is None:
            shadow = np.zeros_like(value) if isinstance(value, np.ndarray) else 0.0
        else:
            shadow = from_message_value(shadow)
        return cls(value, shadow)
