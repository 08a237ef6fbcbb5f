"""Custom derivative rules, EnzymeRules-style, and ChainRules-style rule import.

Register, for a function ``func`` (a ``def`` or a Numba dispatcher):

* ``@rules.forward(func)``: ``rule(config, func, ret_activity, *args) -> Duplicated(y, dy)``,
  where each arg is ``Duplicated(x, dx)`` (active) or ``Const(x)``;
* ``@rules.augmented_primal(func)``: ``rule(config, func, ret_activity, *args) ->
  AugmentedReturn(primal, shadow, tape)``, args ``Active(x)``, ``Duplicated(a, da)`` or
  ``Const(x)``;
* ``@rules.reverse(func)``: ``rule(config, func, dret, tape, *args)`` returning one derivative
  per argument (``None`` for those not active; array arguments accumulate into ``a.dval``
  themselves and return ``None``), with ``dret.val`` the cotangent of the result;
* ``import_frule(func, frule)``: ``frule((dself, *dargs), *args) -> (y, dy)``;
* ``import_rrule(func, rrule)``: ``rrule(*args) -> (y, pullback)``, ``pullback(dy) ->
  (dself, *dargs)`` written as a nested ``def`` (the common shape).

``config`` is a :class:`RuleConfig` (``needs_primal``, ``needs_shadow``, ``width``,
``overwritten``); ``ret_activity`` is a :class:`ReturnActivity` naming the annotation.
Rule bodies are compiled with Numba, so they are written in the same subset as the code they
serve. A rule replaces differentiation of its function everywhere: at top level and inside
other differentiated functions, in every mode. In reverse mode the rule's tape is rebuilt by
calling ``augmented_primal`` again in the reverse sweep, where the arguments have been
restored to their values at the call. The registry's digest enters every cache key.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap
import types
from collections import namedtuple
from dataclasses import dataclass, field

from adtriad.ad_core import derivatives, loader
from adtriad.ad_core.errors import ADError

RuleConfig = namedtuple("RuleConfig", ["needs_primal", "needs_shadow", "width", "overwritten"])
AugmentedReturn = namedtuple("AugmentedReturn", ["primal", "shadow", "tape"])
ReturnActivity = namedtuple("ReturnActivity", ["name"])


@dataclass
class RuleSet:
    """The rules registered for one function."""

    func: types.FunctionType
    forward: object = None
    augmented_primal: object = None
    reverse: object = None
    frule: object = None
    rrule_vjp: object = None  # generated from an rrule: vjp(*args, dy) -> (dself, *dargs)
    trampoline: object = None  # a one-line caller, differentiated when func is the top level
    texts: list = field(default_factory=list)

    @property
    def nargs(self) -> int:
        return self.func.__code__.co_argcount

    @property
    def name(self) -> str:
        return self.func.__qualname__

    @property
    def ident(self) -> str:
        """A short name for generated code, stable across processes."""
        text = f"{self.func.__module__}.{self.func.__qualname__}"
        return hashlib.sha256(text.encode()).hexdigest()[:8]


_REGISTRY = derivatives.CUSTOM  # user rules live in the one table, by function


def _target(func) -> types.FunctionType:
    py = getattr(func, "py_func", func)
    if not isinstance(py, types.FunctionType):
        raise ADError(f"a rule needs a function to attach to; got {func!r} "
                      f"({type(func).__name__})")
    return py


def _ruleset(func) -> RuleSet:
    py = _target(func)
    if py not in _REGISTRY:
        _REGISTRY[py] = RuleSet(py)
    return _REGISTRY[py]


def _check_arity(rule, leading: int, rs: RuleSet, kind: str) -> None:
    if not callable(rule) or not isinstance(getattr(rule, "py_func", rule), types.FunctionType):
        raise ADError(f"the {kind} rule for {rs.name} must be a function, got {rule!r}")
    code = getattr(rule, "py_func", rule).__code__
    if code.co_flags & inspect.CO_VARARGS:
        return
    expected = leading + rs.nargs
    if code.co_argcount != expected:
        raise ADError(f"the {kind} rule {code.co_name} for {rs.name} takes {code.co_argcount} "
                      f"parameters; it must take {expected}: {SIGNATURES[kind]} with one "
                      f"argument per parameter of {rs.name}")


SIGNATURES = {
    "forward": "(config, func, ret_activity, *args)",
    "augmented_primal": "(config, func, ret_activity, *args)",
    "reverse": "(config, func, dret, tape, *args)",
    "frule": "((dself, *dargs), *args)",
    "rrule": "(*args)",
}


def _register(func, rule, kind: str, leading: int):
    rs = _ruleset(func)
    _check_arity(rule, leading, rs, kind)
    setattr(rs, kind, rule)
    rs.texts.append(f"{kind}:{source_text(rule)}")
    return rule


def source_text(rule) -> str:
    try:
        return inspect.getsource(getattr(rule, "py_func", rule))
    except (OSError, TypeError):
        return repr(rule)


def forward(func):
    """Decorator: the forward rule of ``func``."""
    return lambda rule: _register(func, rule, "forward", 3)


def augmented_primal(func):
    """Decorator: the augmented-primal rule of ``func`` (the first half of reverse mode)."""
    return lambda rule: _register(func, rule, "augmented_primal", 3)


def reverse(func):
    """Decorator: the reverse rule of ``func`` (needs an augmented-primal rule too)."""
    return lambda rule: _register(func, rule, "reverse", 4)


def import_frule(func, frule) -> None:
    """Use a ChainRules-style ``frule((dself, *dargs), *args) -> (y, dy)`` as func's forward
    rule."""
    rs = _ruleset(func)
    if not callable(frule):
        raise ADError(f"import_frule for {rs.name}: {frule!r} is not a function")
    code = getattr(frule, "py_func", frule).__code__
    if code.co_argcount != 1 + rs.nargs:
        raise ADError(f"the frule {code.co_name} for {rs.name} takes {code.co_argcount} "
                      f"parameters; it must take {1 + rs.nargs}: {SIGNATURES['frule']}")
    rs.frule = frule
    rs.texts.append(f"frule:{source_text(frule)}")


def import_rrule(func, rrule) -> None:
    """Use a ChainRules-style ``rrule(*args) -> (y, pullback)`` (pullback a nested ``def``) as
    func's reverse rule."""
    rs = _ruleset(func)
    py = getattr(rrule, "py_func", rrule)
    if not isinstance(py, types.FunctionType):
        raise ADError(f"import_rrule for {rs.name}: {rrule!r} is not a function")
    if py.__code__.co_argcount != rs.nargs:
        raise ADError(f"the rrule {py.__name__} for {rs.name} takes {py.__code__.co_argcount} "
                      f"parameters; it must take {rs.nargs}: {SIGNATURES['rrule']}")
    rs.rrule_vjp = _vjp_from_rrule(py, rs)
    rs.texts.append(f"rrule:{source_text(py)}")


def lookup(func) -> RuleSet | None:
    py = getattr(func, "py_func", func)
    return _REGISTRY.get(py) if isinstance(py, types.FunctionType) else None


def clear(func=None) -> None:
    """Forget the rules of ``func`` (all rules when None)."""
    if func is None:
        _REGISTRY.clear()
    else:
        _REGISTRY.pop(_target(func), None)


def registry_digest() -> str:
    """A hash of the registered rules (empty when there are none)."""
    if not _REGISTRY:
        return ""
    text = "|".join(sorted(f"{py.__module__}.{py.__qualname__}:{'|'.join(rs.texts)}"
                           for py, rs in _REGISTRY.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _vjp_from_rrule(rrule, rs: RuleSet):
    """Turn ``rrule(*args) -> (y, pullback)`` into ``vjp(*args, dy) -> (dself, *dargs)``: the
    rrule's body with the pullback's body inlined after it (Numba cannot return closures)."""
    try:
        src = textwrap.dedent(inspect.getsource(rrule))
    except (OSError, TypeError):
        raise ADError(f"the rrule {rrule.__name__} for {rs.name} has no source; define it in "
                      "a .py file") from None
    fdef = ast.parse(src).body[0]
    nested = [s for s in fdef.body if isinstance(s, ast.FunctionDef)]
    last = fdef.body[-1]
    if len(nested) != 1 or not isinstance(last, ast.Return) or \
            not isinstance(last.value, ast.Tuple) or len(last.value.elts) != 2 or \
            not (isinstance(last.value.elts[1], ast.Name)
                 and last.value.elts[1].id == nested[0].name):
        raise ADError(f"the rrule {rrule.__name__} for {rs.name} must end with `return y, "
                      "pullback` where pullback is a nested def taking the cotangent")
    pullback = nested[0]
    if len(pullback.args.args) != 1:
        raise ADError(f"the pullback of {rrule.__name__} must take exactly one cotangent")
    dy = "_rule_cotangent"
    body = [s for s in fdef.body if s is not pullback and s is not last]
    body.append(ast.parse(f"{pullback.args.args[0].arg} = {dy}").body[0])
    body += pullback.body
    fdef.body = body
    fdef.name = f"{rrule.__name__}_vjp"
    fdef.args.args.append(ast.arg(arg=dy))
    fdef.decorator_list = []
    module_src = ast.unparse(ast.fix_missing_locations(ast.Module(body=[fdef], type_ignores=[])))
    module_src = module_src.replace("NoTangent()", "None").replace("ZeroTangent()", "0.0")
    name = "adtriad_rrule_" + hashlib.sha256(
        (rrule.__module__ + rrule.__qualname__ + module_src).encode()).hexdigest()[:16]
    header = (f"import sys\nglobals().update({{k: v for k, v in vars(sys.modules[{rrule.__module__!r}])"
              f".items() if not k.startswith('__')}})\n\n")
    return getattr(loader.generated(name, header + module_src + "\n"), fdef.name)
