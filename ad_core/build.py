"""Build, cache and load derivative code.

Contract: :func:`derivative_module` returns a loaded Python module holding the compiled
(``numba.njit(cache=True)``) derivative functions for one request — a function, a direction
(``"tangent"`` or ``"reverse"``), which parameters are active, and the argument types. The
module's source is written to ``<cache dir>/adtriad_<hash>.py`` and imported from there, so a
second process neither regenerates nor recompiles it. The hash covers adtriad's version, the
request, the engine's own source, and the source of every function reached (plus the contents of global arrays they
read), so a stale file is never used.

Entry points in a tangent module: ``tangent(params..., tangents of active params...)``.
In a reverse module: ``augmented(params..., float_stack, int_stack, spill_key) -> (result,
tape)`` (``tape``: the stacks, their counts and the key their spilled chunks are kept under,
``_runtime.spilled_size`` says how many), ``augmented_core``
(the same on a caller's tape: ``(params..., *tape) -> (result, n_floats, n_ints)``),
``adjoint(params..., adjoint arrays..., seed, tape...) -> (scalar adjoints..., counts)``.
Module constants: ``RESULT_KIND`` ('none', 'float', 'int', 'array', 'other'), ``PARAMS`` (the
parameters of the generated code: Mixed tuples appear field by field) and ``RESTORED``
(array parameters the adjoint sweep rewinds to their values at entry; callers save and put
back the primal results around it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from adtriad._version import __version__
from adtriad.ad_core import decorated, forward, ir, naming, nested, reverse, rules
from adtriad.ad_core.activity import analyze
from adtriad.ad_core.gpu.device import tape_bound
from adtriad.ad_core.errors import ADError, numba_failure
from adtriad.ad_core.joins import joined_arrays
from adtriad.ad_core.lists import buffered_lists
from adtriad.ad_core.loader import bind, cache_dir, load_module, write_module
from adtriad.ad_core.normalize import NormalFunction, normalized, refresh
from adtriad.ad_core.source import SourceFunction, get_source_function
from adtriad.ad_core.rewrites import (define_result, inplace_arrays, rebound_array_params,
                                      scalarize_tuples, split_array_rebinds, tuple_indices)
from adtriad.ad_core.tuples import flatten_params
from adtriad.ad_core.typeinfer import differentiable, infer, is_array, jitted

_LOADED: dict[str, object] = {}


@dataclass(eq=False)
class Spec:
    """One function specialised for a direction, activities and argument types."""

    nf: NormalFunction
    ti: object
    active: set
    active_mask: tuple
    array_mask: tuple
    kind: str
    is_callee: bool
    uid: int
    returns_none: bool = field(default=False)
    width: int = 1  # lanes: shadows per active value (batch mode)
    unchecked: bool = False  # the flavor that second-order derivatives differentiate
    # CUDA device code (see device.py): None, "atomic", "exclusive" or "log"; and, for the
    # top function of a kernel, the arrays only ever indexed by the thread's own index
    device: str | None = None
    exclusive: dict = field(default_factory=dict)
    atomics: frozenset = frozenset()  # arrays the kernel adds to only with cuda.atomic.add
    checkpoint: int | None = None  # bytes of snapshots per checkpointed loop (reverse.py)

    @property
    def active_params(self) -> set:
        return {p for p, m in zip(self.nf.params, self.active_mask) if m}

    @property
    def active_array_params(self) -> list:
        return [p for p, m, a in zip(self.nf.params, self.active_mask, self.array_mask) if m and a]

    @property
    def active_scalar_params(self) -> list:
        return [p for p, m, a in zip(self.nf.params, self.active_mask, self.array_mask)
                if m and not a]

    @property
    def fname(self) -> str:
        return naming.callee(self.nf.name, self.uid, "tangent")

    @property
    def aug_name(self) -> str:
        return naming.callee(self.nf.name, self.uid, "augmented")

    @property
    def adj_name(self) -> str:
        return naming.callee(self.nf.name, self.uid, "adjoint")


class Builder:
    """Generates the code of a request and of every function it calls."""

    def __init__(self, kind: str, width: int = 1, unchecked: bool = False,
                 device: str | None = None, exclusive: dict | None = None,
                 atomics: frozenset = frozenset(), hidden: bool = True,
                 checkpoint: int | None = None):
        self.kind = kind
        self.checkpoint = checkpoint
        self.hidden = hidden
        self.width = width
        self.unchecked = unchecked or (device is not None and kind == "reverse")
        self.device = device
        self.exclusive = exclusive or {}
        self.atomics = frozenset(atomics)
        self.specs: dict = {}
        self.in_progress: set = set()
        self.chunks: list[str] = []
        self.notes: list[str] = []  # dropped derivatives, reported by api.type_warning
        self.bindings: dict[str, str] = {}

    def spec_for(self, sf: SourceFunction, argtypes: tuple, mask: tuple, is_callee: bool,
                 checkpoint: int | None = None) -> Spec:
        key = (sf, argtypes, mask, is_callee, checkpoint)
        if key in self.specs:
            return self.specs[key]
        self.in_progress.add(key)
        nf = scalarize_tuples(normalized(sf, self.hidden))
        if not is_callee:
            nf, argtypes, mask = flatten_params(nf, argtypes, mask)
        ti = infer(nf, argtypes)
        defined = define_result(nf, ti)
        if defined is not nf:  # typed again: the first definition is part of the code
            nf, ti = defined, infer(defined, argtypes)
        nf = inplace_arrays(nf, ti)
        for rewrite in (decorated.lowered, nested.lowered, buffered_lists, joined_arrays,
                        tuple_indices, split_array_rebinds, rebound_array_params):
            rewritten = rewrite(nf, ti)
            if rewritten is not nf:  # typed again
                nf, ti = rewritten, infer(rewritten, argtypes)
        mask = tuple(m and differentiable(t) for m, t in zip(mask, argtypes))
        active = analyze(nf, ti, {p for p, m in zip(nf.params, mask) if m}, self.notes)
        spec = Spec(nf, ti, active, mask, tuple(is_array(t) for t in argtypes), self.kind,
                    is_callee, len(self.specs), returns_none=ti.restype == numba.types.none,
                    width=self.width, unchecked=self.unchecked, device=self.device,
                    exclusive={} if is_callee else self.exclusive,
                    atomics=frozenset() if is_callee else self.atomics,
                    checkpoint=checkpoint)
        for text, callee in nf.user_callees.items():
            if text not in nf.hidden_callees:  # those are always called as generated code
                self.bindings[text] = bind(f"{callee.digest}:primal", jitted(callee.func))
        for text, obj in nf.bindings.items():
            self.bindings[text] = bind(f"{sf.digest}:{text}", obj)
        for text, func in nf.ruled.items():
            self.bindings[text] = bind(f"{sf.digest}:{text}", jitted(func))
        if self.kind == "tangent":
            self.chunks.append(forward.generate(spec, self))
        else:
            self.chunks.extend(reverse.generate(spec, self))
        self.specs[key] = spec
        self.in_progress.discard(key)
        return spec

    def rule(self, rs, kind: str) -> str:
        """The module name of one of a function's rules (compiled with Numba)."""
        text = f"{naming.PREFIX}_{kind}_{rs.func.__name__}_{rs.ident}"
        self.bindings[text] = bind(rule_key(rs, kind), jitted(getattr(rs, kind)))
        return text

    def request(self, call: ir.Call, caller: Spec, kind: str,
                checkpoint: int | None = None) -> Spec:
        """The spec of a user function called from ``caller`` (generated on first request);
        ``checkpoint``: the snapshot budget of its time loops (reverse mode)."""
        argtypes, mask = [], []
        for a in call.args:
            if isinstance(a, ir.Name):
                argtypes.append(caller.ti.of(a.id))
                mask.append(a.id in caller.active)
            else:
                argtypes.append(numba.typeof(a.value) if isinstance(a, ir.Const) else None)
                mask.append(False)
        if any(t is None for t in argtypes):
            raise ADError(f"{call.fn.user.name}: cannot pass a global object as an argument "
                          "to a differentiated call; pass it from the caller's arguments")
        return self.spec_for(call.fn.user, tuple(argtypes), tuple(mask), True, checkpoint)


def _result_kind(t) -> str:
    t = numba.types.unliteral(t)
    if t == numba.types.none:
        return "none"
    if isinstance(t, numba.types.Float):
        return "float"
    if isinstance(t, (numba.types.Integer, numba.types.Boolean)):
        return "int"
    if isinstance(t, numba.types.Array):
        return "array"
    return "other"


def rule_key(rs, kind: str) -> str:
    return f"rule:{rs.func.__module__}.{rs.func.__qualname__}:{kind}"


_KEYS: dict = {}


def request_key(sf: SourceFunction, kind: str, argtypes: tuple, mask: tuple,
                width: int = 1, hidden: bool = True) -> str:
    """Hash of everything the generated code depends on (memoized per process). Arrays
    bound as constants (``hidden`` False) are hashed at every call: Numba compiles their
    contents in, so changed contents need new code. The caller refreshes ``sf`` first."""
    kind = kind if width == 1 else f"{kind}x{width}"
    frozen = () if hidden else tuple(sorted(_bound_array_digests(sf, set())))
    memo = (sf, kind, argtypes, mask, rules.registry_digest(), hidden, frozen)
    if memo not in _KEYS:
        _KEYS[memo] = _request_key(sf, kind, argtypes, mask, hidden)
    return _KEYS[memo]


def _bound_array_digests(sf: SourceFunction, seen: set) -> set:
    """Contents of the global arrays bound as constants into the frozen flavor."""
    if sf in seen:
        return set()
    seen.add(sf)
    nf = normalized(sf, False)
    out = {hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()[:16]
           + str(obj.dtype) + str(obj.shape)
           for obj in nf.bindings.values() if isinstance(obj, np.ndarray)}
    for callee in nf.user_callees.values():
        out |= _bound_array_digests(callee, seen)
    return out


def _refresh(sf: SourceFunction) -> None:
    """Forget what was derived from globals that have been rebound since."""
    if refresh(sf):
        _KEYS.clear()


_ENGINE_DIGEST: list[str] = []


def engine_digest() -> str:
    """Hash of the engine's own source, so that changed generators never reuse old code."""
    if not _ENGINE_DIGEST:
        h = hashlib.sha256()
        for path in sorted(Path(__file__).parent.glob("*.py")):
            if path.name != "testing.py":  # the gradient checker is not part of the engine
                h.update(path.read_bytes())
        _ENGINE_DIGEST.append(h.hexdigest()[:16])
    return _ENGINE_DIGEST[0]


def _request_key(sf: SourceFunction, kind: str, argtypes: tuple, mask: tuple,
                 hidden: bool) -> str:
    h = hashlib.sha256()
    h.update(f"{__version__}|{engine_digest()}|{kind}|{argtypes}|{mask}|{numba.__version__}"
             f"|{hidden}".encode())
    for digest in sorted(_closure_digests(sf, set(), hidden)):
        h.update(digest.encode())
    h.update(rules.registry_digest().encode())
    return h.hexdigest()[:24]


def _closure_digests(sf: SourceFunction, seen: set, hidden: bool) -> set:
    if sf in seen:
        return set()
    seen.add(sf)
    nf = normalized(sf, hidden)
    out = {sf.digest, f"{sf.digest}:{sorted(nf.inlined.items())!r}"}
    for obj in nf.bindings.values():
        if isinstance(obj, np.ndarray):
            out.add(hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()[:16]
                    + str(obj.dtype) + str(obj.shape))
        else:
            out.add(repr(obj))
    for callee in nf.user_callees.values():
        out |= _closure_digests(callee, seen, hidden)
    for func in nf.ruled.values():  # the primal of a ruled function is compiled in
        out.add(hashlib.sha256(rules.source_text(func).encode()).hexdigest()[:16])
    return out


_HEADER = '''"""Generated by adtriad {version}: {kind} derivative of {qualname} ({where}).
Argument types: {argtypes}; active parameters: {active}.
Every line ends with the file:line of the user code it comes from.
"""
import math
import numpy as np
from numba import njit
from adtriad.ad_core._runtime import pop_into as _pop_into, push_array as _push_array
from adtriad.ad_core._runtime import range_len as _range_len, refill as _refill, spill as _spill
from adtriad.ad_core._runtime import reserve_f as _reserve_f, reserve_i as _reserve_i
from adtriad.ad_core._runtime import take_f as _take_f, take_i as _take_i
from adtriad.ad_core._runtime import digamma as _digamma
from adtriad.ad_core._runtime import checkpoint_begin as _checkpoint_begin, checkpoint_end as _checkpoint_end
from adtriad.ad_core._runtime import checkpoint_resume as _checkpoint_resume, checkpoint_rows as _checkpoint_rows
from adtriad.ad_core._runtime import load_values as _load_values, save_values as _save_values
from adtriad.ad_core import array_primitives as _prim
from adtriad.ad_core._runtime import pop_into_unchecked as _pop_into_unchecked
from adtriad.ad_core._runtime import push_array_unchecked as _push_array_unchecked
from adtriad.ad_core.loader import binding as _binding
from adtriad.ad_core.annotations import Active as _ad_Active, Const as _ad_Const
from adtriad.ad_core.annotations import Duplicated as _ad_Duplicated
from adtriad.ad_core.rules import ReturnActivity as _ad_ReturnActivity, RuleConfig as _ad_RuleConfig
'''


def render(builder: Builder, top: Spec, sf: SourceFunction, argtypes, options: str) -> str:
    lines = [_HEADER.format(version=__version__, kind=builder.kind, qualname=sf.func.__qualname__,
                            where=f"{sf.filename}:{sf.tree.lineno}", argtypes=argtypes,
                            active=sorted(top.active_params) or "none")]
    for text, key in sorted(builder.bindings.items()):
        lines.append(f"{text} = _binding({key!r})")
    lines.append(f"RESULT_KIND = {_result_kind(top.ti.restype)!r}")
    lines.append(f"PARAMS = {tuple(top.nf.params)!r}")
    lines.append(f"WARNINGS = {tuple(dict.fromkeys(builder.notes))!r}")
    lines.append(f"RESTORED = {tuple(sorted(getattr(top, 'restored', ()))) !r}")
    decorator = f"\n@njit(cache=True{options})\n"
    if builder.device:  # device functions, called from kernels (or the CUDA simulator)
        lines.insert(1, "from numba import cuda\nfrom adtriad.ad_core.gpu.device import log_add\n"
                        "_log_add = cuda.jit(device=True)(log_add)")
        decorator = "\n@cuda.jit(device=True)\n"
    for chunk in builder.chunks:
        lines.append(decorator + chunk)
    params = top.nf.params
    if builder.device:
        lines.append(_device_entries(builder, top))
    elif builder.kind == "tangent":
        lines.append(f"\ntangent = {top.fname}")
    elif builder.unchecked:
        lines.append(_unchecked_gradient(top))
    else:
        tape = ", ".join(naming.TAPE)
        lines.append(f"""
@njit(cache=True)
def augmented({', '.join(params + [naming.TAPE_F, naming.TAPE_I, naming.SPILL_KEY])}):
    {naming.TAPE_NF} = 0
    {naming.TAPE_NI} = 0
    {naming.PREFIX}_result, {naming.TAPE_NF}, {naming.TAPE_NI} = {top.aug_name}({', '.join(params + list(naming.TAPE))})
    return {naming.PREFIX}_result, ({tape})


augmented_core = {top.aug_name}
adjoint = {top.adj_name}
""")
    return "\n".join(lines) + "\n"


def _device_entries(builder: Builder, top: Spec) -> str:
    """What a kernel calls: the top function's sweeps, and the tape one thread needs."""
    if builder.kind == "tangent":
        return f"\ntangent = {top.fname}\n"
    bound = tape_bound("\n".join(builder.chunks))
    return (f"\naugmented_core = {top.aug_name}\nadjoint = {top.adj_name}\n"
            f"TAPE_BOUND = {bound!r}\nN_RESULTS = {len(top.active_scalar_params)}\n")


def _unchecked_gradient(top: Spec) -> str:
    """A plain function computing the gradient with the unchecked flavor: what second-order
    derivatives differentiate (its stacks are sized by the caller)."""
    params = top.nf.params
    bars = [naming.adjoint(p) for p in top.active_array_params]
    if top.active_scalar_params or not bars or not isinstance(top.ti.restype,
                                                               numba.types.Float):
        raise ADError(f"second-order derivatives of {top.nf.name} need a float result and "
                      "float array arguments only (pass scalars inside an array)")
    return f"""

def gradient({', '.join(params + bars + ['capacity_f', 'capacity_i'])}):
    tape_f = np.zeros(capacity_f)
    tape_i = np.zeros(capacity_i, np.int64)
    counts = {top.aug_name}({', '.join(params)}, tape_f, 0, tape_i, 0)
    nf = counts[0] - 1
    ni = counts[1]
    {top.adj_name}({', '.join(params + bars)}, 1.0, tape_f, nf, tape_i, ni)
    return None
"""


def derivative_module(func_sf: SourceFunction, kind: str, argtypes: tuple, mask: tuple,
                      width: int = 1, unchecked: bool = False, boundscheck: bool = False,
                      device: str | None = None, exclusive: dict | None = None,
                      atomics: frozenset = frozenset(), hidden: bool = True,
                      checkpoint: int | None = None):
    """Load (generating and writing on first use) the derivative module of a request; width
    > 1 gives batch mode (that many shadows per active value); ``unchecked`` the flavor
    second-order derivatives differentiate; ``boundscheck`` compiles with Numba's index
    checks (raising IndexError instead of writing out of bounds); ``device`` CUDA device
    functions (``"atomic"``, ``"exclusive"`` or ``"log"`` for shared adjoints, see reverse.py)
    with ``exclusive`` the arrays the thread's own index covers (device.exclusive_arrays)
    and ``atomics`` those the kernel adds to only with ``cuda.atomic.add``; ``checkpoint``
    the bytes of snapshots a checkpointed time loop may keep (None: time loops are taped)."""
    flavor = kind + ("-unchecked" if unchecked else "") + ("-boundscheck" if boundscheck else "")
    if checkpoint is not None and kind == "reverse":
        flavor += f"-checkpoint{checkpoint}"
    if device:
        flavor += f"-device-{device}-{sorted((exclusive or {}).items())!r}-{sorted(atomics)!r}"
    hidden = hidden and device is None  # device code binds globals, as Numba's CUDA target does
    _refresh(func_sf)  # once per request: rebound globals change what is derived below
    argtypes, mask = with_hidden(func_sf, argtypes, mask, hidden)
    key = request_key(func_sf, flavor, argtypes, mask, width, hidden)
    if key in _LOADED:
        return _LOADED[key]
    name = f"adtriad_{func_sf.name}_{key}"
    path = cache_dir() / f"{name}.py"
    builder = Builder(kind, width, unchecked, device, exclusive, atomics, hidden,
                      checkpoint if kind == "reverse" else None)
    top = None
    if not (path.exists() and _register_bindings(func_sf, set(), hidden)):
        top = builder.spec_for(func_sf, argtypes, mask, False, builder.checkpoint)
        write_module(path, render(builder, top, func_sf, argtypes,
                                  ", boundscheck=True" if boundscheck else ""))
    module = load_module(name, path)
    module.__adtriad_top__ = top
    module.__adtriad_source__ = (func_sf, hidden)
    _LOADED[key] = module
    return module


def explain_failure(module, exc) -> str:
    """An ADError message for generated code that Numba refused to compile: at the user's
    line the generated line came from, with Numba's reason."""
    sf = module.__adtriad_source__[0]
    first, stamp = numba_failure(exc, r"[^\"]*adtriad_[^\"]*\.py")
    return (f"{stamp or f'{sf.filename}:{sf.tree.lineno}'}: the derivative of "
            f"{sf.func.__qualname__} cannot be compiled here ({first}); write that line with "
            "simpler operations (float scalars, NumPy arrays, one operation per line)")


def with_hidden(sf: SourceFunction, argtypes: tuple, mask: tuple, hidden: bool = True):
    """The argument types and activity mask of the generated code: the user's parameters
    followed by the hidden (Const) parameters carrying the global arrays it reads."""
    extra = normalized(sf, hidden).hidden_values()
    return tuple(argtypes) + tuple(numba.typeof(v) for v in extra), \
        tuple(mask) + (False,) * len(extra)


def hidden_values(module) -> list:
    """The values a loaded module's hidden parameters take now (passed after the user's)."""
    sf, hidden = module.__adtriad_source__
    return normalized(sf, hidden).hidden_values()


def _register_bindings(sf: SourceFunction, seen: set, hidden: bool) -> None:
    """Re-create the bindings a cached module needs, without typing or generating code;
    False when that cannot be done (nested differentiation: what a nested call is lowered to
    depends on its types, so such modules are generated again in each process)."""
    if sf in seen:
        return True
    seen.add(sf)
    nf = normalized(sf, hidden)
    complete = True
    for callee in nf.user_callees.values():
        bind(f"{callee.digest}:primal", jitted(callee.func))
        complete = _register_bindings(callee, seen, hidden) and complete
    for text, obj in nf.bindings.items():
        bind(f"{sf.digest}:{text}", obj)
        complete = complete and not nested.is_stand_in(obj)
        for wrapper in decorated.every_lowering(obj):  # calls lowered after typing
            callee = get_source_function(wrapper)
            bind(f"{callee.digest}:primal", jitted(wrapper))
            complete = _register_bindings(callee, seen, hidden) and complete
    for text, func in nf.ruled.items():
        bind(f"{sf.digest}:{text}", jitted(func))
    for rs in map(rules.lookup, nf.ruled.values()):
        for kind in ("forward", "augmented_primal", "reverse", "frule", "rrule_vjp"):
            if getattr(rs, kind) is not None:
                bind(rule_key(rs, kind), jitted(getattr(rs, kind)))
    return complete
