"""``autodiff_deferred``: differentiation requested from inside compiled code.

Contract: ``autodiff_deferred(mode, f, ret_activity, *args)`` called inside a ``numba.njit``
function (or a kernel run by the CPU kernel backend, where ``f`` may be another kernel) makes
the derivative while the enclosing function compiles: a Numba overload sees the types of the
annotated arguments, has the engine generate and compile the derivative of ``f`` for them,
and calls it. It returns what ``autodiff`` returns: ``(derivs,)`` for Reverse (``derivs`` a
tuple with the derivative of each ``Active`` argument and ``None`` elsewhere; shadows
accumulate), ``(dret,)`` for Forward. Modes are typed by Numba as constants. Called from plain
Python it behaves as ``autodiff``.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

import numpy as np
from numba.core import types
from numba.extending import models
from numba.core.imputils import lower_constant
from numba.extending import overload, register_model, typeof_impl

from adtriad.ad_core import build
from adtriad.ad_core.annotations import (Active, Const, Duplicated, DuplicatedNoNeed, Mode,
                                         MODES)
from adtriad.ad_core.errors import ADError
from adtriad.ad_core.source import get_source_function


CUDA_TARGET = True  # the overload for numba.cuda kernels lives in cuda.py


class ModeType(types.Dummy):
    """The Numba type of a differentiation mode (each mode its own type)."""

    def __init__(self, name: str):
        self.mode_name = name
        super().__init__(f"adtriad.Mode({name})")


@typeof_impl.register(Mode)
def _typeof_mode(value, context):
    return ModeType(value.name)


register_model(ModeType)(models.OpaqueModel)


@lower_constant(ModeType)
def _lower_mode(context, builder, ty, value):
    return context.get_dummy_value()


def autodiff_deferred(mode, f, ret_activity, *args):
    """Outside compiled code: the same as autodiff; in a kernel run by Numba's CUDA
    simulator, that thread's derivative (cuda.py)."""
    if type(f).__name__ == "FakeCUDAKernel":  # only the simulator calls this from a kernel
        from adtriad.ad_core.gpu.cuda import simulated_deferred
        return simulated_deferred(mode, f, ret_activity, args)
    from adtriad.ad_core.api import autodiff
    return autodiff(mode, f, ret_activity, *args)


def annotation_of(t):
    """(class, value type) of an annotation's Numba type, or (Const, t) for a bare value."""
    cls = getattr(t, "instance_class", None)
    if cls in (Const, Active, Duplicated, DuplicatedNoNeed):
        return cls, t.types[0]
    return None, t


def typed_call(mode: ModeType, args: tuple) -> tuple:
    """Check a typed call's mode and annotations: (kind of derivative code, [(annotation
    class, value type)], value types, activity mask)."""
    mode_obj = next(m for m in MODES if m.name == mode.mode_name)
    if mode_obj.split or mode_obj.with_primal:
        raise ADError(f"autodiff_deferred supports Forward and Reverse, not {mode_obj.name}")
    if len(args) == 1 and isinstance(args[0], types.StarArgTuple):
        args = tuple(args[0])
    anns = [annotation_of(t) for t in args]
    if any(cls is Active for cls, _ in anns) and mode_obj.is_forward:
        raise ADError("autodiff_deferred: Active is for reverse mode; use Duplicated in forward "
                      "mode")
    argtypes = tuple(t for _, t in anns)
    mask = tuple(cls in (Active, Duplicated, DuplicatedNoNeed) for cls, _ in anns)
    return ("tangent" if mode_obj.is_forward else "reverse"), anns, argtypes, mask




@overload(autodiff_deferred, target="cpu")
def _autodiff_deferred(mode, f, ret_activity, *args):
    if not isinstance(mode, ModeType):
        return None
    if not isinstance(f, types.Dispatcher):
        raise ADError("autodiff_deferred needs f to be a numba.njit function (or, in the CPU "
                      "kernel backend, a kernel)")
    py = f.dispatcher.py_func
    kind, anns, argtypes, mask = typed_call(mode, args)
    module = build.derivative_module(get_source_function(py), kind, argtypes, mask,
                                     hidden=False)  # compiled code: globals bound, as Numba does
    ret_is_active = getattr(ret_activity, "instance_class", None) is Active or \
        getattr(ret_activity, "classname", "") == "Active"
    return _impl(module, kind, [cls for cls, _ in anns], ret_is_active)


def _impl(module, kind: str, classes: list, seed_result: bool):
    """Python source of the overload's implementation, specialised to the annotations."""
    n = len(classes)
    vals = [f"args[{k}]" if classes[k] is None else f"args[{k}].val" for k in range(n)]
    shadowed = [k for k in range(n) if classes[k] in (Duplicated, DuplicatedNoNeed)]
    if kind == "tangent":
        call = f"tangent({', '.join(vals + [f'args[{k}].dval' for k in shadowed])})"
        if module.RESULT_KIND == "none":  # tangents went into the shadows
            body = f"    {call}\n    return (None,)\n"
        else:
            body = f"    out = {call}\n    return (out[1],)\n"
        namespace = {"tangent": module.tangent}
    else:
        # spill key 0: a deferred call spills and refills within itself, last in first out
        # (calls running in parallel threads that both spill would share it: not yet kept apart)
        arrays = [k for k in shadowed]
        active = [k for k in range(n) if classes[k] is Active]
        body = ("    tf = np.empty(1024, np.float64)\n    ti = np.empty(1024, np.int64)\n"
                f"    result, tape = augmented({', '.join(vals)}, tf, ti, 0)\n"
                f"    d = adjoint({', '.join(vals + [f'args[{k}].dval' for k in arrays])}, "
                f"{1.0 if seed_result else 0.0}, *tape)\n")
        derivs = [f"d[{active.index(k)}]" if k in active else "None" for k in range(n)]
        body += f"    return (({', '.join(derivs)}{',' if n == 1 else ''}),)\n"
        namespace = {"augmented": module.augmented, "adjoint": module.adjoint}
    src = "def impl(mode, f, ret_activity, *args):\n" + body
    namespace["np"] = np
    exec(compile(src, "<adtriad autodiff_deferred>", "exec"), namespace)
    return namespace["impl"]


# ---- the CUDA target ---------------------------------------------------------------------------
# Importing numba.cuda costs ~1 s, so adtriad does not import it; the CUDA overload (cuda.py)
# is registered as soon as numba.cuda is imported, whichever is imported first.
def _load_cuda_target() -> None:
    import adtriad.ad_core.gpu.cuda  # noqa: F401 - registers the overload


class _AfterNumbaCuda(importlib.abc.MetaPathFinder):
    """Runs _load_cuda_target right after ``numba.cuda`` has been imported."""

    def find_spec(self, name, path, target=None):
        if name != "numba.cuda":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:  # pragma: no cover - numba-cuda not installed
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            _load_cuda_target()
        spec.loader.exec_module = exec_then_register
        return spec


if "numba.cuda" in sys.modules:
    _load_cuda_target()
elif not any(isinstance(f, _AfterNumbaCuda) for f in sys.meta_path):
    sys.meta_path.insert(0, _AfterNumbaCuda())
