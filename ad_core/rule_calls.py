"""How generated code calls custom rules (see :mod:`~adtriad.ad_core.rules`), and the checks
that make a misfitting rule an ADError naming the rule instead of a Numba error.

Contract: :func:`check` compiles a rule for the argument types a call will give it and returns
its result type, raising ADError (naming the rule and the expected signature) when the rule
does not compile or returns the wrong shape. The ``*_types`` helpers build the Numba types
of the annotations generated code constructs (``_ad_Duplicated(x, dx)`` and so on).
"""

from __future__ import annotations


import numba
from numba.core import errors as nb_errors, types

from adtriad.ad_core.annotations import Active, Const, Duplicated
from adtriad.ad_core.errors import ADError, numba_failure
from adtriad.ad_core.rules import SIGNATURES, AugmentedReturn, ReturnActivity, RuleConfig
from adtriad.ad_core.typeinfer import jitted


def config_src(nargs: int) -> str:
    """Source constructing the config a rule receives (arguments are restored before a rule
    runs again, so none counts as overwritten)."""
    flags = ", ".join(["False"] * nargs) + ("," if nargs == 1 else "")
    return f"_ad_RuleConfig(True, False, 1, ({flags}))"


def config_type(nargs: int):
    return numba.typeof(RuleConfig(True, False, 1, (False,) * nargs))


def ret_src(name: str) -> str:
    return f"_ad_ReturnActivity({name!r})"


def ret_type():
    return numba.typeof(ReturnActivity("Duplicated"))


def ann_type(kind, t):
    cls = {"Const": Const, "Active": Active, "Duplicated": Duplicated}[kind]
    return types.NamedUniTuple(t, 2 if cls is Duplicated else 1, cls)


def func_type(func):
    return numba.typeof(jitted(func))


def check(rule, argtypes: tuple, rs, kind: str):
    """Compile ``rule`` for ``argtypes``; its result type, or an ADError naming the rule."""
    disp = jitted(rule)
    try:
        disp.compile(tuple(argtypes))
    except nb_errors.NumbaError as exc:
        first, _ = numba_failure(exc)
        raise ADError(f"the {kind} rule {getattr(rule, '__name__', rule)} for {rs.name} does not "
                      f"compile for arguments {tuple(map(str, argtypes))}: {first[:300]}. A "
                      f"{kind} rule takes {SIGNATURES[kind]}") from None
    result = disp.overloads[tuple(argtypes)].signature.return_type
    return result


def expect(condition: bool, rs, kind: str, what: str) -> None:
    if not condition:
        raise ADError(f"the {kind} rule for {rs.name} {what}")


def is_named(t, cls) -> bool:
    return isinstance(t, (types.NamedTuple, types.NamedUniTuple)) and t.instance_class is cls


def check_forward(rs, argtypes, active, restype):
    ann = [ann_type("Duplicated" if a else "Const", t) for t, a in zip(argtypes, active)]
    result = check(rs.forward, (config_type(rs.nargs), func_type(rs.func), ret_type(), *ann),
                   rs, "forward")
    expect(is_named(result, Duplicated), rs, "forward",
           f"must return Duplicated(primal, derivative); it returns {result}")


def check_frule(rs, argtypes, active):
    tangents = types.BaseTuple.from_types([numba.float64] + [
        t if a else (numba.float64 if not isinstance(t, types.Array) else t)
        for t, a in zip(argtypes, active)])
    result = check(rs.frule, (tangents, *argtypes), rs, "frule")
    expect(isinstance(result, types.BaseTuple) and len(result) == 2, rs, "frule",
           f"must return (y, dy); it returns {result}")


def check_reverse(rs, argtypes, active, restype):
    if rs.augmented_primal is None:
        raise ADError(f"{rs.name} has a reverse rule but no augmented-primal rule; register "
                      "one with @rules.augmented_primal")
    ann = [ann_type(("Duplicated" if isinstance(t, types.Array) else "Active") if a else "Const",
                    t) for t, a in zip(argtypes, active)]
    aug = check(rs.augmented_primal, (config_type(rs.nargs), func_type(rs.func), ret_type(),
                                      *ann), rs, "augmented_primal")
    expect(is_named(aug, AugmentedReturn), rs, "augmented_primal",
           f"must return AugmentedReturn(primal, shadow, tape); it returns {aug}")
    tape = aug.types[2]
    dret = ann_type("Active", restype if isinstance(restype, types.Float) else numba.float64)
    result = check(rs.reverse, (config_type(rs.nargs), func_type(rs.func), dret, tape, *ann),
                   rs, "reverse")
    n = len(result) if isinstance(result, types.BaseTuple) else 1
    expect(isinstance(result, types.BaseTuple) and n == rs.nargs, rs, "reverse",
           f"returned {n} derivative(s) ({result}); it must return {rs.nargs}, one per "
           "argument (None for those not active)")


def check_rrule(rs, argtypes, restype):
    dy = restype if isinstance(restype, (types.Float, types.Array)) else numba.float64
    result = check(rs.rrule_vjp, (*argtypes, dy), rs, "rrule")
    n = len(result) if isinstance(result, types.BaseTuple) else 1
    expect(isinstance(result, types.BaseTuple) and n == 1 + rs.nargs, rs, "rrule",
           f"pullback returned {n} value(s) ({result}); it must return {1 + rs.nargs}: "
           "(dself, *dargs)")
