"""The public entry points: ``autodiff``, ``autodiff_thunk`` and ``gradient``.

Contract (see API.md): arguments are annotated (``Const``, ``Active``, ``Duplicated``, ...;
a bare argument is ``Const``); annotations are checked before anything is generated, and
every misuse raises :class:`ADError` naming the argument. Derivative code is generated,
compiled and cached per (function, direction, activities, argument types) by
:mod:`~adtriad.ad_core.build`.
"""

from __future__ import annotations

import ast
import numbers
import warnings
from contextlib import contextmanager

import numba
import numpy as np

from adtriad.ad_core import build, loader, rules
from adtriad.ad_core._runtime import new_key, new_stacks, release, spilled_size
from adtriad.ad_core.annotations import (
    ANNOTATIONS, BATCHED, Active, BatchDuplicated, BatchDuplicatedNoNeed, Const, Duplicated,
    DuplicatedNoNeed, Forward, MixedDuplicated, Mode, Reverse, checkpointed,
)
from adtriad.ad_core.activity import ADTypeWarning
from adtriad.ad_core.errors import ADError
from adtriad.ad_core.source import get_source_function, python_function


_SETTINGS = {"type_warning": True, "strict_aliasing": False, "checkpoint_memory": None}


def type_warning(flag: bool) -> bool:
    """Warn (ADTypeWarning, default on) where generated code drops a derivative on purpose:
    an active value converted to an integer (``int(x)``, ``math.floor(x)``, ``round(x)``),
    whose result is piecewise constant. Warnings are issued when derivative code is
    generated. Returns the previous setting."""
    previous, _SETTINGS["type_warning"] = _SETTINGS["type_warning"], bool(flag)
    return previous


def strict_aliasing(flag: bool) -> bool:
    """With strict aliasing (off by default) the engine assumes that the arrays passed to a
    call (primals and shadows) do not overlap, and skips checking it. Off, every pair of
    differentiated arrays is checked and overlapping ones are refused, since the derivative of
    code writing through one alias and reading through another would be wrong. A shadow
    overlapping its own primal is refused either way. Returns the previous setting."""
    previous, _SETTINGS["strict_aliasing"] = _SETTINGS["strict_aliasing"], bool(flag)
    return previous


def checkpointing(memory) -> int | None:
    """Reverse time loops by binomial checkpointing within ``memory`` (bytes, or a string
    such as ``"2 GB"``; None, the default: time loops are taped whole) in every reverse mode
    not given its own with ``checkpointed(mode, memory)``. Returns the previous setting."""
    previous = _SETTINGS["checkpoint_memory"]
    _SETTINGS["checkpoint_memory"] = None if memory is None else \
        checkpointed(Reverse, memory).checkpoint_memory
    return previous


def _checkpoint_memory(mode: Mode) -> int | None:
    if mode.checkpoint_memory is not None:
        return mode.checkpoint_memory
    return _SETTINGS["checkpoint_memory"]


def _check_overlaps(f, anns) -> None:
    """Refuse a call where a shadowed array shares memory with another array of the call."""
    arrays = []  # (argument, how it is named, array, shadowed)
    for k, a in enumerate(anns):
        shadowed = isinstance(a, (Duplicated, DuplicatedNoNeed, MixedDuplicated) + BATCHED)
        for v, dv, diff in _leaves(a):
            if isinstance(v, np.ndarray):
                arrays.append((k, " (primal)", v, shadowed))
            if diff and isinstance(dv, np.ndarray):
                arrays.append((k, " (shadow)", dv, True))
            elif diff and isinstance(dv, (tuple, list)):
                arrays += [(k, f" (shadow {j + 1})", d, True) for j, d in enumerate(dv)
                           if isinstance(d, np.ndarray)]
    for i, (ka, sa, a, da) in enumerate(arrays):
        for kb, sb, b, db in arrays[i + 1:]:
            if (da or db) and a is not b and _may_overlap(a, b, np.may_share_memory):
                raise ADError(f"{_label(f, ka, sa)} and {_label(f, kb, sb)} share memory; "
                              "pass separate arrays (or call "
                              "adtriad.ad_core.api.strict_aliasing(True) to promise they do "
                              "not overlap)")


def _may_overlap(a: np.ndarray, b: np.ndarray, check) -> bool:
    """``check(a, b)`` (NumPy's overlap test), skipped for arrays whose memory two different
    NumPy arrays allocated: those cannot overlap, and most calls pass only such arrays."""
    owner_a, owner_b = _owner(a), _owner(b)
    if owner_a is not None and owner_b is not None and owner_a is not owner_b:
        return False
    return check(a, b)


def _owner(a: np.ndarray):
    """The NumPy array that allocated ``a``'s memory, or None when something else did (a
    buffer, a memory map: then only a pairwise check can tell)."""
    owner = a if a.base is None else a.base  # NumPy points a view's base at the owner
    if isinstance(owner, np.ndarray) and owner.flags.owndata:
        return owner
    return None


def _is_annotation_class(x) -> bool:
    return isinstance(x, type) and issubclass(x, ANNOTATIONS)


def _unwrap_function(f):
    if isinstance(f, Const):
        f = f.val
    if isinstance(f, ANNOTATIONS):
        raise ADError("the function must be given as f or Const(f), not with another annotation")
    if type(f).__name__ == "CUDADispatcher" and not f.targetoptions.get("device"):
        raise ADError(f"{f.py_func.__qualname__} is a numba.cuda kernel: its derivative needs a "
                      "launch; use adtriad.ad_core.gpu.cuda.gradient_kernel(kernel)[grid, block]"
                      "(...) or autodiff_deferred inside a kernel")
    return f


def _check_mode(mode) -> Mode:
    if not isinstance(mode, Mode):
        raise ADError(f"{mode!r} is not a mode: use Forward, ForwardWithPrimal, Reverse, "
                      "ReverseWithPrimal or ReverseSplitWithPrimal")
    return mode


def _is_float_scalar(v) -> bool:
    return isinstance(v, (float, np.floating)) and not isinstance(v, bool)


class _label:
    """How messages name argument ``k`` of ``f`` (``argument 2 ('x')``), spelled only when a
    message is made: every call labels every argument, and few calls fail."""

    def __init__(self, f, k: int, suffix: str = ""):
        self.f, self.k, self.suffix = f, k, suffix

    def plus(self, suffix: str) -> "_label":
        return _label(self.f, self.k, self.suffix + suffix)

    def __str__(self) -> str:
        py = python_function(self.f)
        names = py.__code__.co_varnames[:py.__code__.co_argcount]
        k = self.k
        name = f"argument {k + 1} ({names[k]!r})" if k < len(names) else f"argument {k + 1}"
        return name + self.suffix

    __format__ = lambda self, spec: format(str(self), spec)  # noqa: E731


def _prepare(mode: Mode, f, args) -> tuple[list, list, tuple]:
    """Check annotations; return (annotations, primal values, activity mask)."""
    py = python_function(f)
    args = with_defaults(py, args)
    anns, vals, mask = [], [], []
    for k, a in enumerate(args):
        if _is_annotation_class(a):
            raise ADError(f"{_label(f, k)}: got the class {a.__name__}, not a value; write "
                          f"{a.__name__}(value, ...)")
        if not isinstance(a, ANNOTATIONS):
            a = Const(a)
        label = _label(f, k)
        if isinstance(a, MixedDuplicated):
            _check_mixed(a, label, mode)
        if isinstance(a, Active):
            if mode.is_forward:
                raise ADError(f"{label}: Active is for reverse modes; in forward mode write "
                              "Duplicated(x, 1.0) to seed the direction")
            if isinstance(a.val, np.ndarray):
                raise ADError(f"{label}: Active cannot annotate an array; write "
                              "Duplicated(a, np.zeros_like(a)) and read the gradient from the "
                              "shadow")
            if not _is_float_scalar(a.val):
                raise ADError(f"{label}: Active needs a float scalar, got "
                              f"{type(a.val).__name__}; ints and bools are never active")
        if isinstance(a, (Duplicated, DuplicatedNoNeed)):
            _check_shadow(a, label, mode)
        if isinstance(a, BATCHED):
            if not isinstance(a.dval, (tuple, list)) or not a.dval:
                raise ADError(f"{label}: {type(a).__name__} takes a tuple of shadows, one per "
                              f"direction, got {type(a.dval).__name__}")
            for lane, shadow in enumerate(a.dval):
                _check_shadow(Duplicated(a.val, shadow), label.plus(f", shadow {lane + 1}"), mode)
        for v, dv, _ in _leaves(a):
            _check_array_value(v, label)
            for shadow in dv if isinstance(dv, (tuple, list)) else (dv,):
                _check_array_value(shadow, label, " (shadow)")
        anns.append(a)
        vals.append(a.val)
        mask.append(isinstance(a, (Active, Duplicated, DuplicatedNoNeed, MixedDuplicated)
                               + BATCHED))
    if not _SETTINGS["strict_aliasing"]:
        _check_overlaps(f, anns)
    return anns, vals, tuple(mask)


def with_defaults(py, args) -> tuple:
    """The arguments for every parameter: those given, then the defaults of the rest
    (positional and keyword-only parameters alike; a default is Const)."""
    code = py.__code__
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    if len(args) > code.co_argcount:
        raise ADError(f"{py.__qualname__} takes {code.co_argcount} positional argument(s) but "
                      f"{len(args)} annotated argument(s) were given")
    defaults = dict(zip(code.co_varnames[code.co_argcount - len(py.__defaults__ or ()):],
                        py.__defaults__ or ()))
    defaults.update(py.__kwdefaults__ or {})
    missing = [n for n in names[len(args):] if n not in defaults]
    if missing:
        raise ADError(f"{py.__qualname__} takes {code.co_argcount} argument(s) but "
                      f"{len(args)} annotated argument(s) were given (no default for "
                      f"{', '.join(map(repr, missing))})")
    return tuple(args) + tuple(defaults[n] for n in names[len(args):])


_COMPILED_DTYPES: set = set()  # dtypes found fit for compiled code


def _check_array_value(v, label, suffix: str = "") -> None:
    """Arrays the generated (Numba-compiled) code can take: plain ndarrays of native byte
    order and a dtype Numba compiles."""
    if type(v) is np.ndarray and v.dtype in _COMPILED_DTYPES:
        return
    if not isinstance(v, np.ndarray):
        return
    label = f"{label}{suffix}"
    if type(v) is not np.ndarray:
        raise ADError(f"{label}: a {type(v).__module__}.{type(v).__name__} is not a plain "
                      "NumPy array, which compiled code needs; pass np.asarray(x) (for a "
                      "masked array, x.filled(value) first)")
    if not v.dtype.isnative:
        raise ADError(f"{label}: the array has non-native byte order ({v.dtype.str}); pass "
                      "x.astype(x.dtype.newbyteorder('='))")
    if v.dtype == np.float16 or v.dtype.kind not in "biufc":
        raise ADError(f"{label}: arrays of dtype {v.dtype} cannot be compiled; convert with "
                      "x.astype(np.float32) (or np.float64)")
    _COMPILED_DTYPES.add(v.dtype)


def _check_mixed(a, label: str, mode: Mode) -> None:
    if not isinstance(a.val, tuple) or not isinstance(a.dval, tuple) or \
            len(a.val) != len(a.dval):
        raise ADError(f"{label}: MixedDuplicated(value, shadow) needs a tuple or namedtuple "
                      "value and a tuple shadow with one entry per field")
    for k, (v, dv) in enumerate(zip(a.val, a.dval)):
        if isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.floating):
            _check_shadow(Duplicated(v, dv), label.plus(f", field {k + 1}"), mode)
        elif mode.is_forward and _is_float_scalar(v):
            _check_shadow(Duplicated(v, dv), label.plus(f", field {k + 1}"), mode)


def _leaves(a):
    """(value, shadow, differentiable) for each leaf of an argument (a Mixed tuple's fields)."""
    if isinstance(a, MixedDuplicated):
        return [(v, dv, _is_float_scalar(v) or (isinstance(v, np.ndarray)
                                                and np.issubdtype(v.dtype, np.floating)))
                for v, dv in zip(a.val, a.dval)]
    shadowed = isinstance(a, (Duplicated, DuplicatedNoNeed) + BATCHED)
    return [(a.val, a.dval if shadowed else None, shadowed)]


def _call_values(anns) -> list:
    """The values the generated code takes: Mixed tuples are passed field by field."""
    return [v for a in anns for v, _, _ in _leaves(a)]


def _width(f, anns) -> int:
    """The batch width: N when any argument is batched (all batched ones must agree, and a
    batched call takes no plain Duplicated), else 1."""
    widths = {len(a.dval) for a in anns if isinstance(a, BATCHED)}
    if not widths:
        return 1
    if len(widths) > 1:
        raise ADError(f"batched arguments of {python_function(f).__qualname__} have different "
                      f"numbers of shadows {sorted(widths)}; give each the same number")
    for k, a in enumerate(anns):
        if isinstance(a, (Duplicated, DuplicatedNoNeed)):
            raise ADError(f"{_label(f, k)}: a batched call needs every shadowed argument "
                          "batched; write BatchDuplicated(x, (dx,) * N) for it")
    return widths.pop()


def _shadows(anns, width: int, arrays_only: bool = False) -> list:
    """The shadows of the shadowed arguments (and Mixed fields), flat, lane after lane."""
    out = []
    for a in anns:
        for v, dv, shadowed in _leaves(a):
            if not shadowed or (arrays_only and not isinstance(v, np.ndarray)):
                continue
            out.extend(dv if isinstance(a, BATCHED) else (dv,))
    return out


def _check_shadow(a, label: str, mode: Mode) -> None:
    v, dv = a.val, a.dval
    if isinstance(v, np.ndarray):
        if not isinstance(dv, np.ndarray):
            raise ADError(f"{label}: the shadow of an array must be an array of the same shape "
                          f"and dtype, got {type(dv).__name__}")
        if v.dtype.kind != "f":
            raise ADError(f"{label}: {v.dtype} arrays cannot be Duplicated (integers carry no "
                          "derivative); pass it as Const")
        if dv.shape != v.shape:
            raise ADError(f"{label}: shadow shape {dv.shape} differs from the primal's {v.shape}")
        if dv.dtype != v.dtype:
            raise ADError(f"{label}: shadow dtype {dv.dtype} differs from the primal's {v.dtype}")
        if _may_overlap(v, dv, np.shares_memory):
            raise ADError(f"{label}: the shadow shares memory with the primal; give it its own "
                          "array (np.zeros_like(x))")
        if not dv.flags.writeable:
            raise ADError(f"{label}: the shadow array is read-only")
    elif _is_float_scalar(v):
        if not mode.is_forward:
            raise ADError(f"{label}: a scalar cannot be Duplicated in reverse mode; annotate "
                          "it Active and read its derivative from the result")
        if not isinstance(dv, (numbers.Real, np.floating)) or isinstance(dv, bool):
            raise ADError(f"{label}: the tangent of a float must be a float, got "
                          f"{type(dv).__name__}")
    else:
        raise ADError(f"{label}: Duplicated needs a float scalar or a float array, got "
                      f"{type(v).__name__}")


def _argtypes(vals) -> tuple:
    return tuple(_typeof(v) for v in vals)


_ARRAY_TYPES: dict = {}  # what numba.typeof gives an ndarray, by what it depends on


def _typeof(v):
    """numba.typeof(v), with NumPy arrays looked up by dtype, rank and flags: typeof costs
    tens of microseconds a call, which is most of a small call's time."""
    if type(v) is np.ndarray:
        flags = v.flags
        key = (v.dtype, v.ndim, flags.c_contiguous, flags.f_contiguous, flags.writeable,
               flags.aligned)
        found = _ARRAY_TYPES.get(key)
        if found is None:
            found = _ARRAY_TYPES[key] = _typeof_any(v)
        return found
    if type(v) is float:
        return numba.types.float64
    return _typeof_any(v)


def _typeof_any(v):
    try:
        return numba.typeof(v)
    except ValueError:
        raise ADError(f"cannot differentiate with an argument of type {type(v).__name__}: "
                      "Numba cannot type it") from None


def _cast_like(value, like):
    if isinstance(like, np.floating):
        return type(like)(value)
    return float(value)


def _split_args(args):
    if args and _is_annotation_class(args[0]):
        return args[0], args[1:]
    return None, args


def autodiff(mode, f, *args):
    """Differentiate ``f`` at the annotated arguments.

    Args:
        mode: Forward, ForwardWithPrimal, Reverse or ReverseWithPrimal.
        f: a function (def, lambda, numba.njit dispatcher) or Const(f).
        args: optionally the return activity class, then one annotation per parameter.

    Returns:
        Reverse: ``(derivs,)``; ReverseWithPrimal: ``(primal, derivs)``; Forward:
        ``(dret,)``; ForwardWithPrimal: ``(primal, dret)``.

    Example:
        >>> from adtriad.ad_core import autodiff, Reverse, Active
        >>> autodiff(Reverse, lambda x: x**2, Active, Active(3.0))
        ((6.0,),)
    """
    mode = _check_mode(mode)
    if mode.split:
        raise ADError("ReverseSplitWithPrimal is used through autodiff_thunk(...), which returns "
                      "the (forward, reverse) pair")
    ret, args = _split_args(args)
    f = _unwrap_function(f)
    anns, vals, mask = _prepare(mode, f, args)
    if mode.is_forward:
        return _forward(mode, f, ret, anns, vals, mask)
    result = _reverse(mode, f, ret, anns, vals, mask)
    derivs = result[-1][:len(args)]  # one per argument given (defaults are Const)
    return result[:-1] + (derivs,)


def _module(f, kind, vals, mask, width: int = 1, hidden: bool = True,
            checkpoint: int | None = None):
    """The derivative module for these values; its functions take the user's parameters,
    then the hidden ones (``build.hidden_values(module)``: global arrays read afresh)."""
    sf = get_source_function(_ruled_trampoline(f))
    module = build.derivative_module(sf, kind, _argtypes(vals), mask, width, hidden=hidden,
                                     checkpoint=checkpoint)
    if _SETTINGS["type_warning"]:
        for note in getattr(module, "WARNINGS", ()):
            warnings.warn(note, ADTypeWarning, stacklevel=3)
    return module


def _ruled_trampoline(f):
    """A function with custom rules is differentiated through its rules at top level too: the
    engine differentiates a one-line caller instead of the function's own body."""
    rs = rules.lookup(f)
    if rs is None:
        return f
    if rs.trampoline is None:
        params = ", ".join(rs.func.__code__.co_varnames[:rs.nargs])
        key = f"trampoline:{rs.func.__module__}.{rs.func.__qualname__}"
        loader.bind(key, rs.func)
        text = (f"from adtriad.ad_core.loader import binding\n\n"
                f"target = binding({key!r})\n\n\n"
                f"def {rs.func.__name__}_with_rules({params}):\n"
                f"    return target({params})\n")
        module = loader.generated(f"adtriad_trampoline_{rs.ident}", text)
        rs.trampoline = getattr(module, f"{rs.func.__name__}_with_rules")
    return rs.trampoline


def _forward(mode, f, ret, anns, vals, mask):
    width = _width(f, anns)
    module = _module(f, "tangent", vals, mask, width)
    kind = module.RESULT_KIND
    if ret is None:
        ret = (Duplicated if width == 1 else BatchDuplicated) if kind in ("float", "array") \
            else Const
    if ret is Active:
        raise ADError("the return activity Active is for reverse modes; forward modes take "
                      "Duplicated, DuplicatedNoNeed or Const")
    if ret is MixedDuplicated:
        raise ADError("return activity MixedDuplicated is not supported yet")
    call_vals = _call_values(anns) + build.hidden_values(module)
    shadows = _shadows(anns, width)
    with _first_run(module, call_vals + shadows, "tangent"):
        out = module.tangent(*call_vals, *shadows)
    primal, dret = (None, None) if out is None else \
        (out[0], out[1] if width == 1 else tuple(out[1:]))
    if ret is Const or kind == "none":
        return (primal,) if mode.with_primal else ()
    if ret in (DuplicatedNoNeed, BatchDuplicatedNoNeed):
        return (dret,)
    return (primal, dret) if mode.with_primal else (dret,)


def _seed(ret, kind: str, f):
    if ret is None:
        ret = Active if kind == "float" else Const
    if ret is Active:
        if kind != "float":
            raise ADError(f"return activity Active needs a float result, but "
                          f"{python_function(f).__qualname__} returns {kind}; use Const and "
                          "seed output arrays through their shadows, or jacobian(Reverse, f, x)"
                          " for an array result")
        return ret, 1.0
    if ret is Const:
        return ret, 0.0
    raise ADError(f"return activity {getattr(ret, '__name__', ret)!r} is not supported in "
                  "reverse mode; use Active (float result) or Const")


def _reverse(mode, f, ret, anns, vals, mask):
    width = _width(f, anns)
    module = _module(f, "reverse", vals, mask, width, checkpoint=_checkpoint_memory(mode))
    ret, seed = _seed(ret, module.RESULT_KIND, f)
    call_vals = _call_values(anns) + build.hidden_values(module)
    with _first_run(module, call_vals + _shadows(anns, width), "augmented", "adjoint"):
        primal, tape = _run_augmented(module, call_vals)
        derivs = _run_adjoint(module, f, anns, call_vals, (seed,) * width, tape)
    return (primal, derivs) if mode.with_primal else (derivs,)


@contextmanager
def _first_run(module, values, *entries):
    """The first call of a derivative module compiles it: should Numba refuse the generated
    code, every array is put back as it was and the failure is an ADError at the user's
    line. Later calls run unguarded (nothing is left to compile)."""
    proven = module.__dict__.setdefault("proven", set())
    if proven.issuperset(entries):
        yield
        return
    saved = [(a, a.copy()) for a in values if isinstance(a, np.ndarray)]
    try:
        yield
    except BaseException as exc:
        for array, copy in saved:
            array[...] = copy
        if isinstance(exc, numba.core.errors.NumbaError):
            raise ADError(build.explain_failure(module, exc)) from None
        raise
    proven.update(entries)


def _run_augmented(module, vals):
    """Run the augmented sweep on stacks reused from earlier calls (sized by the last run),
    with a fresh spill key; the tape is (stacks and counts, key)."""
    pool = module.__dict__.setdefault("stack_pool", [])
    hint = module.__dict__.get("tape_hint", (0, 0))
    try:
        tf, ti = pool.pop()
    except IndexError:
        tf, ti = new_stacks(*hint)
    if tf.shape[0] < hint[0] or ti.shape[0] < hint[1]:
        tf, ti = new_stacks(*hint)
    key = new_key()
    primal, tape = module.augmented(*vals, tf, ti, key)
    module.tape_hint = (tape[1] + spilled_size(key, "f"), tape[3] + spilled_size(key, "i"))
    return primal, tape


def _release(module, tape) -> None:
    """Give a consumed tape's stacks back for the next call, and forget its spills."""
    release(tape[4])
    module.__dict__.setdefault("stack_pool", []).append((tape[0], tape[2]))


def _run_adjoint(module, f, anns, vals, seeds: tuple, tape):
    """Run the adjoint sweep with one seed per lane; the derivative of an Active argument is
    a number, or a tuple of one per lane in batch mode."""
    saved = {k: np.copy(vals[k]) for k, name in enumerate(module.PARAMS)
             if name in module.RESTORED}
    width = len(seeds)
    result = module.adjoint(*vals, *_shadows(anns, width, arrays_only=True), *seeds, *tape)
    _release(module, tape)
    for k, copy in saved.items():
        vals[k][...] = copy
    scalars = iter(result[:-2])

    def take(like):
        lanes = tuple(_cast_like(next(scalars), like) for _ in range(width))
        return lanes[0] if width == 1 else lanes

    derivs = []
    for a in anns:
        if isinstance(a, Active):
            derivs.append(take(a.val))
        elif isinstance(a, MixedDuplicated):  # scalar fields are returned, arrays accumulated
            fields = [take(v) if _is_float_scalar(v) else None for v in a.val]
            derivs.append(type(a.val)(*fields) if hasattr(a.val, "_fields") else tuple(fields))
        else:
            derivs.append(None)
    return tuple(derivs)


class _Tape:
    """What the forward half of a split call hands to the reverse half (usable once). It
    knows what made it — the derivative module (function, activities, types) and the shapes
    of the arguments — so a reverse call with anything else is refused before any shadow is
    touched."""

    def __init__(self, module, stacks, classes, shapes):
        self.module = module
        self.stacks = stacks
        self.classes = classes
        self.shapes = shapes
        self.used = False


def _shapes(vals) -> tuple:
    return tuple(np.shape(v) if isinstance(v, np.ndarray) else type(v) for v in vals)


def autodiff_thunk(mode, f, ret_activity=None, *arg_classes):
    """Compile-once callables; for ReverseSplitWithPrimal a ``(forward, reverse)`` pair.

    ``tape, primal, shadow = forward(Const(f), *args)`` then
    ``(derivs,) = reverse(Const(f), *args, dret, tape)``.
    """
    mode = _check_mode(mode)
    func = _unwrap_function(f)
    for k, c in enumerate(arg_classes):
        if not _is_annotation_class(c):
            raise ADError(f"argument activity {k + 1} must be an annotation class such as "
                          f"Duplicated or Active, got {c!r}")
    classes = tuple(arg_classes)

    def check(fc, args):
        if _unwrap_function(fc) is not func:
            raise ADError("the thunk was made for another function")
        got = tuple(type(a) if isinstance(a, ANNOTATIONS) else Const for a in args)
        if classes and got != classes:
            names = ", ".join(c.__name__ for c in classes)
            raise ADError(f"the thunk was made for activities ({names}); got "
                          f"({', '.join(c.__name__ for c in got)})")

    if not mode.split:
        def thunk(fc, *args):
            check(fc, args)
            rest = (ret_activity,) if ret_activity is not None else ()
            return autodiff(mode, func, *rest, *args)
        return thunk

    def forward(fc, *args):
        check(fc, args)
        anns, vals, mask = _prepare(Reverse, func, args)
        module = _module(func, "reverse", vals, mask, _width(func, anns),
                         checkpoint=_checkpoint_memory(mode))
        _seed(ret_activity, module.RESULT_KIND, func)
        vals = _call_values(anns) + build.hidden_values(module)
        with _first_run(module, vals, "augmented"):
            primal, stacks = _run_augmented(module, vals)
        return _Tape(module, stacks, classes, _shapes(vals)), primal, None

    def reverse(fc, *rest):
        if len(rest) < 2 or not isinstance(rest[-1], _Tape):
            raise ADError("reverse(Const(f), *args, dret, tape): the last argument must be the "
                          "tape returned by forward")
        *args, dret, tape = rest
        check(fc, args)
        if tape.used:
            raise ADError("this tape was already reversed; run forward again for a new tape")
        anns, vals, mask = _prepare(Reverse, func, args)
        width = _width(func, anns)
        module = _module(func, "reverse", vals, mask, width,
                         checkpoint=_checkpoint_memory(mode))
        vals = _call_values(anns) + build.hidden_values(module)
        if module is not tape.module or _shapes(vals) != tape.shapes:
            raise ADError("this tape was made by the forward call of another function, or "
                          "with other activities, types or shapes; reverse it with the "
                          "arguments (and annotations) its forward call had")
        ret, _ = _seed(ret_activity, tape.module.RESULT_KIND, func)
        dret = 1.0 if dret is None else dret
        seeds = tuple(dret) if isinstance(dret, (tuple, list)) else (dret,) * width
        if len(seeds) != width:
            raise ADError(f"dret has {len(seeds)} cotangents but the call has {width} lanes")
        seeds = tuple(0.0 if ret is Const else float(d) for d in seeds)
        tape.used = True
        with _first_run(module, vals + _shadows(anns, width), "adjoint"):
            return (_run_adjoint(tape.module, func, anns, vals, seeds, tape.stacks),)

    return forward, reverse


def gradient(mode, f, *xs):
    """The gradient of scalar-valued ``f`` at ``xs``: one entry per x (an array for an array)."""
    mode = _check_mode(mode)
    if mode.is_forward:
        grads = []
        for k, x in enumerate(xs):
            x = np.asarray(x, dtype=float) if not isinstance(x, np.ndarray) else x
            if x.ndim == 0:
                args = [Const(v) for v in xs]
                args[k] = Duplicated(float(xs[k]), 1.0)
                grads.append(autodiff(mode, f, Duplicated, *args)[0])
                continue
            g = np.zeros_like(x)
            for i in np.ndindex(x.shape):
                args = [Const(v) if not isinstance(v, np.ndarray) else
                        Duplicated(v, np.zeros_like(v)) for v in xs]
                args = [Duplicated(a.val, 0.0) if isinstance(a, Const) and _is_float_scalar(a.val)
                        else a for a in args]
                args[k].dval[i] = 1.0
                g[i] = autodiff(mode, f, Duplicated, *args)[0]
            grads.append(g)
        return tuple(grads)
    args = [Duplicated(x, np.zeros_like(x)) if isinstance(x, np.ndarray) else
            Active(x if isinstance(x, np.floating) else float(x)) for x in xs]
    reverse = Reverse if mode.checkpoint_memory is None else \
        checkpointed(Reverse, mode.checkpoint_memory)
    (derivs,) = autodiff(reverse, f, Active, *args)
    return tuple(a.dval if isinstance(a, Duplicated) else d for a, d in zip(args, derivs))


def derivative_source(f, mode, argtypes=None, const=()) -> str:
    """The generated derivative source of ``f`` (what ``triad show`` prints).

    Args:
        f: the function.
        mode: a forward mode (tangent code) or a reverse mode (augmented and adjoint code).
        argtypes: Numba types or their spellings ("float64", "float32[::1]", "int64", ...),
            one per parameter; by default every parameter is a float64 scalar.
        const: names of parameters that are not differentiated.
    """
    mode = _check_mode(mode)
    py = python_function(_unwrap_function(f))
    params = py.__code__.co_varnames[:py.__code__.co_argcount]
    typed_by_default = argtypes is None
    if typed_by_default:
        _refuse_indexed_defaults(get_source_function(py), params)
        argtypes = ["float64"] * len(params)
    if len(argtypes) != len(params):
        raise ADError(f"{py.__qualname__} takes {len(params)} parameter(s) but "
                      f"{len(argtypes)} type(s) were given")
    types_ = tuple(_parse_type(t) for t in argtypes)
    unknown = set(const) - set(params)
    if unknown:
        raise ADError(f"--const names {sorted(unknown)} are not parameters of {py.__qualname__} "
                      f"(its parameters: {', '.join(params)})")
    mask = tuple(p not in const for p in params)
    kind = "tangent" if mode.is_forward else "reverse"
    try:
        module = build.derivative_module(get_source_function(py), kind, types_, mask)
    except ADError as err:
        if not typed_by_default:
            raise
        raise ADError(f"{err}\n(No types were given, so every parameter of {py.__qualname__} "
                      "was typed float64; if that is not what it takes, pass its types: "
                      "argtypes=[...], or --types 'float64[::1]; float64' on the command "
                      "line.)") from None
    with open(module.__file__) as fh:
        return fh.read()


def _refuse_indexed_defaults(fn, params) -> None:
    # A parameter that is indexed or asked for its shape is an array: typing it float64 would
    # only move the error onto a line of the user's that is right.
    rebound = {n.id for n in ast.walk(fn.tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for node in ast.walk(fn.tree):
        base = (node.value if isinstance(node, ast.Subscript)
                else node.value if isinstance(node, ast.Attribute) and node.attr in ("shape", "size", "ndim")
                else node.args[0] if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "len" and node.args else None)
        if isinstance(base, ast.Name) and base.id in params and base.id not in rebound:
            where = f"{fn.filename}:{node.lineno}:{node.col_offset + 1}"
            raise ADError(f"{where}: parameter {base.id!r} of {fn.name} is used as an array, "
                          "but no types were given (the default types every parameter float64). "
                          "Pass one type per parameter: argtypes=['float64[::1]', ...] in Python, "
                          "or --types 'float64[::1]; float64' with `triad show`.")


def _parse_type(t):
    if not isinstance(t, str):
        return t
    try:
        value = eval(t, {"__builtins__": {}}, dict(vars(numba.types)))  # a type expression
    except Exception:
        value = None
    if not isinstance(value, numba.types.Type):
        raise ADError(f"cannot read the type {t!r}; write e.g. float64, float32, int64, "
                      "float64[::1] (a C-contiguous 1-D array) or float64[:, ::1]")
    return value


BATCH_CHUNK = 8  # directions per pass in jacobian: lanes are unrolled in the generated code


def jacobian(mode, f, x):
    """The Jacobian of ``f`` at the float array ``x``, of shape ``out.shape + x.shape``.

    Forward mode pushes the basis directions of x through in batches of BATCH_CHUNK lanes;
    reverse mode pulls back the basis directions of the result the same way.
    """
    mode = _check_mode(mode)
    f = _unwrap_function(f)
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise ADError("jacobian(mode, f, x): x must be a float array; for a scalar use "
                      "autodiff(Forward, f, Duplicated(x, 1.0))")
    if mode.is_forward:
        return _jacobian_forward(f, x)
    return _jacobian_reverse(f, x)


def _basis(shape, dtype, indices):
    out = []
    for i in indices:
        e = np.zeros(shape, dtype)
        e[i] = 1.0
        out.append(e)
    return out


def _chunks(shape):
    indices = list(np.ndindex(shape))
    for start in range(0, len(indices), BATCH_CHUNK):
        yield indices[start:start + BATCH_CHUNK]


def _jacobian_forward(f, x):
    jac = None
    for chunk in _chunks(x.shape):
        dirs = _basis(x.shape, x.dtype, chunk)
        (cols,) = autodiff(Forward, f, BatchDuplicated(x.copy(), tuple(dirs)))
        cols = cols if len(chunk) > 1 else (cols,)
        if jac is None:
            out_shape = np.shape(cols[0])
            jac = np.zeros(out_shape + x.shape, np.result_type(x.dtype, np.asarray(cols[0])))
        for i, col in zip(chunk, cols):
            jac[(Ellipsis,) + i] = col
    return jac


def _jacobian_reverse(f, x):
    probe = python_function(f)(x.copy())
    if not isinstance(probe, np.ndarray):
        probe = np.asarray(probe, dtype=x.dtype)
    jac = np.zeros(probe.shape + x.shape, np.result_type(x.dtype, probe.dtype))
    for chunk in _chunks(probe.shape):
        width = len(chunk)
        module = _module(f, "reverse", [x], (True,), width)
        if module.RESULT_KIND not in ("array", "float"):
            raise ADError(f"jacobian needs a float or array result; "
                          f"{python_function(f).__qualname__} returns {module.RESULT_KIND}")
        vals = [x.copy()] + build.hidden_values(module)
        _, tape = _run_augmented(module, vals)
        bars = [np.zeros_like(x) for _ in range(width)]
        if module.RESULT_KIND == "float":
            seeds = [1.0]
        else:
            seeds = _basis(probe.shape, probe.dtype, chunk)
        module.adjoint(*vals, *bars, *seeds, *tape)
        _release(module, tape)
        for i, bar in zip(chunk, bars):
            jac[i] = bar
    return jac


def hvp(f, x, v):
    """The Hessian-vector product H(x)·v of scalar-valued ``f`` at the float array ``x``.

    Forward over reverse: the engine generates f's gradient code (in its unchecked flavor, a
    plain function over preallocated tape arrays) and differentiates that code in forward
    mode along v. The tape is sized from a first-order run; the second-order code is compiled
    with bounds checks and retried with larger tapes if a run would overflow them.
    """
    f = _unwrap_function(f)
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise ADError("hvp(f, x, v): x must be a float array")
    v = np.asarray(v, dtype=x.dtype)
    if v.shape != x.shape:
        raise ADError(f"hvp(f, x, v): v has shape {v.shape}, x has {x.shape}")
    # second order differentiates generated code, whose globals are bound (the frozen
    # flavor: its cache key covers the arrays' contents)
    checked = _module(f, "reverse", [x], (True,), hidden=False)
    _release(checked, _run_augmented(checked, [x.copy()])[1])  # sizes the tapes
    cap_f, cap_i = (2 * n + 1024 for n in checked.tape_hint)
    sf = get_source_function(f)
    gradient_module = build.derivative_module(sf, "reverse", _argtypes([x]), (True,),
                                              unchecked=True, hidden=False)
    grad_fn = gradient_module.gradient
    grad_sf = get_source_function(grad_fn)
    for _ in range(8):
        bar, dbar = np.zeros_like(x), np.zeros_like(x)
        vals = [x.copy(), bar, cap_f, cap_i]
        tangent = build.derivative_module(grad_sf, "tangent", _argtypes(vals),
                                          (True, True, False, False), boundscheck=True,
                                          hidden=False)
        try:
            tangent.tangent(x.copy(), bar, cap_f, cap_i, v, dbar)
        except IndexError:
            cap_f, cap_i = 2 * cap_f, 2 * cap_i
            continue
        return dbar
    raise ADError("hvp: the tape kept overflowing; the function's control flow may depend on "
                  "values that change between runs")
