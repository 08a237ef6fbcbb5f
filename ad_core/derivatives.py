"""The one table of derivative rules: every rule both code generators use, looked up one way.

Each entry of :data:`RULES` is a :class:`Rule` of one *shape*, made by the helper for that
shape (in the spirit of JAX's ``defjvp``/``deflinear`` and autograd's ``defvjp``):

* ``elementwise`` (:func:`defunary`, :func:`defbinary`, :func:`defelementwise`): the partial
  derivative of the result ``z`` with respect to each operand as an expression template —
  ``{0}``, ``{1}`` the operands, ``{z}`` the result, ``{M}`` the module (``math`` for scalars,
  ``np`` for arrays). Forward mode emits ``dz = sum(partial_i * dx_i)``, reverse mode
  ``bar_x_i += g * partial_i`` (summed back over broadcast axes). A partial of ``None`` means
  "not differentiable in that operand"; ``"0"`` a zero derivative.
* ``linear`` (:func:`deflinear`): a linear map of its first operand with its transpose, a
  template in the cotangent ``{g}`` and the operand ``{0}``; forward applies the map to the
  tangent. Nothing linear enters the table without its transpose.
* ``reduction`` (:func:`defreduction`): a linear reduction over the whole array or an
  ``axis=k``: the transpose of the whole reduction, and the scale of one along an axis.
* ``view`` (:func:`defview`): a view of its first operand; its adjoint is the same view of
  the operand's adjoint (so nothing is added), its tangent the same view of the tangent.
* ``product`` (:func:`defproduct`): bilinear matrix products (``@``, ``np.dot``).
* ``creation`` (:func:`defcreation`): results that depend on shapes only (zero derivative).
* ``extrema`` (:func:`defextremum`): whole-array max/min; the derivative flows to the
  arg-extremum.
* ``primitive`` (:func:`defprimitive`): any other function, with one tangent and one
  cotangent rule per operand (JAX's ``defjvp``/``defvjp``): source templates in the operands
  ``{0}``, ``{1}``, ..., the result ``{z}``, and the operand's tangent ``{t}`` or the result's
  cotangent ``{g}``; helpers they need are compiled in :mod:`~adtriad.ad_core.array_primitives`.
* ``custom``: a user's rules (:mod:`~adtriad.ad_core.rules`), registered into :data:`CUSTOM`
  by the function they differentiate and looked up through :func:`lookup` like the rest.

Keys are operators (``+``, ``u-``), library functions (``math.sin``, ``np.sum``), methods
(``.sum``, ``.reshape``) and attributes (``.T``). What has no entry is refused by the
generators when an active value reaches it (an ADError at the user's line), never treated as
constant; :data:`NO_RULE` lists the NumPy functions Numba compiles that have none yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from adtriad.ad_core import ir

SHAPES = ("elementwise", "linear", "reduction", "view", "product", "creation", "extrema",
          "primitive", "custom")


@dataclass(frozen=True)
class Rule:
    """One registered rule; which fields matter depends on ``shape``."""

    key: str
    shape: str
    partials: Callable | None = None  # elementwise: (operands, z, M, consts) -> templates
    arity: tuple = ()  # elementwise: the operand counts the partials are written for
    transpose: str | None = None  # linear, reduction: the cotangent's image, in {g} and {0}
    # reduction: the divisor along a reduced axis (source, in {0} and {axis}); None when the
    # reduction has no axis form (Numba compiles np.mean without one)
    axis_scale: str | None = ""
    arg: str | None = None  # extrema: the function giving the arg-extremum
    # primitive: per operand, the result's tangent along its tangent {t}, and its cotangent
    # from the result's {g} (None: not differentiable in that operand)
    tangents: tuple = ()
    cotangents: tuple = ()


RULES: dict[str, Rule] = {}
CUSTOM: dict = {}  # user rules: Python function -> rules.RuleSet (see rules.py)


def defelementwise(keys: str, partials: Callable, arity: tuple) -> None:
    for key in keys.split():
        RULES[key] = Rule(key, "elementwise", partials=partials, arity=arity)


def defunary(keys: str, template: str) -> None:
    defelementwise(keys, lambda a, z, M, c: [template.format(*a, z=z, M=M)], (1,))


def defbinary(keys: str, t0: str | None, t1: str | None) -> None:
    def rule(a, z, M, c):
        return [None if t0 is None else t0.format(*a, z=z, M=M),
                None if t1 is None else t1.format(*a, z=z, M=M)]
    defelementwise(keys, rule, (2,))


def deflinear(keys: str, transpose: str) -> None:
    for key in keys.split():
        RULES[key] = Rule(key, "linear", transpose=transpose)


def defreduction(keys: str, transpose: str, axis_scale: str | None = "") -> None:
    for key in keys.split():
        RULES[key] = Rule(key, "reduction", transpose=transpose, axis_scale=axis_scale)


def defview(keys: str) -> None:
    for key in keys.split():
        RULES[key] = Rule(key, "view")


def defproduct(keys: str) -> None:
    for key in keys.split():
        RULES[key] = Rule(key, "product")


def defprimitive(keys: str, *rules: tuple, arity: tuple | None = None) -> None:
    """One ``(tangent, cotangent)`` pair of templates per operand (None: never active);
    ``{rest}`` in a template spells the operands after the first (``, k`` or nothing)."""
    for key in keys.split():
        RULES[key] = Rule(key, "primitive", arity=arity or (len(rules),),
                          tangents=tuple(t for t, _ in rules),
                          cotangents=tuple(c for _, c in rules))


def defcreation(keys: str) -> None:
    for key in keys.split():
        RULES[key] = Rule(key, "creation")


def defextremum(keys: str, arg: str) -> None:
    for key in keys.split():
        RULES[key] = Rule(key, "extrema", arg=arg)


def alias(new: str, old: str) -> None:
    RULES[new] = Rule(new, **{k: v for k, v in vars(RULES[old]).items() if k != "key"})


_CUSTOM_RULE = Rule("rule", "custom")


def key_of(e) -> str | None:
    """The table key of a normalized expression (None for loads, names and user calls, which
    the generators handle structurally)."""
    if isinstance(e, ir.BinOp):
        return e.op
    if isinstance(e, ir.UnaryOp):
        return "u" + e.op.strip()
    if isinstance(e, ir.Call):
        return None if e.fn.key == "user" else e.fn.key
    if isinstance(e, ir.Method):
        return "." + e.method
    if isinstance(e, ir.Attr):
        return "." + e.attr
    return None


def lookup(e) -> Rule | None:
    """The rule for an expression, or None: the one lookup both generators use."""
    key = key_of(e)
    if key == "rule":
        return _CUSTOM_RULE
    return RULES.get(key) if key is not None else None


def view_source(e) -> str | None:
    """The array a view expression (``a.T``, ``a.reshape(..)``, ``np.transpose(a)``) looks
    into, or None when ``e`` is no view of a named array."""
    rule = lookup(e)
    if rule is None or rule.shape != "view":
        return None
    first = ir.operands(e)[0]
    return first.id if isinstance(first, ir.Name) else None


# Operators (scalars and arrays alike).
defbinary("+", "1", "1")
defbinary("-", "1", "-1")
defbinary("*", "{1}", "{0}")
defbinary("/", "1.0 / {1}", "-{z} / {1}")
defbinary("%", "1", "-({0} // {1})")
defbinary("//", "0", "0")
defunary("u-", "-1")
defunary("u+", "1")

# math / numpy element-wise functions of one argument.
defunary("math.sin np.sin", "{M}.cos({0})")
defunary("math.cos np.cos", "-{M}.sin({0})")
defunary("math.tan np.tan", "1.0 + {z} * {z}")
defunary("math.asin np.arcsin", "1.0 / {M}.sqrt(1.0 - {0} * {0})")
defunary("math.acos np.arccos", "-1.0 / {M}.sqrt(1.0 - {0} * {0})")
defunary("math.atan np.arctan", "1.0 / (1.0 + {0} * {0})")
defunary("math.sinh np.sinh", "{M}.cosh({0})")
defunary("math.cosh np.cosh", "{M}.sinh({0})")
defunary("math.tanh np.tanh", "1.0 - {z} * {z}")
defunary("math.asinh np.arcsinh", "1.0 / {M}.sqrt({0} * {0} + 1.0)")
defunary("math.acosh np.arccosh", "1.0 / {M}.sqrt({0} * {0} - 1.0)")
defunary("math.atanh np.arctanh", "1.0 / (1.0 - {0} * {0})")
defunary("math.exp np.exp", "{z}")
defunary("math.expm1 np.expm1", "{z} + 1.0")
defunary("np.exp2 math.exp2", "{z} * 0.6931471805599453")
defunary("np.log", "1.0 / {0}")
defunary("math.log2 np.log2", "1.0 / ({0} * 0.6931471805599453)")
defunary("math.log10 np.log10", "1.0 / ({0} * 2.302585092994046)")
defunary("math.log1p np.log1p", "1.0 / (1.0 + {0})")
defunary("math.sqrt np.sqrt", "0.5 / {z}")
defunary("np.cbrt", "1.0 / (3.0 * {z} * {z})")
defunary("np.square", "2.0 * {0}")
defunary("np.negative", "-1")
defunary("math.erf", "1.1283791670955126 * math.exp(-{0} * {0})")
defunary("math.erfc", "-1.1283791670955126 * math.exp(-{0} * {0})")
defunary("math.fabs abs np.abs np.fabs", "{M}.copysign(1.0, {0})")
defunary("math.degrees np.degrees", "57.29577951308232")
defunary("math.radians np.radians", "0.017453292519943295")
defunary("float np.float64 np.float32", "1")
defunary("math.floor math.ceil math.trunc np.floor np.ceil np.trunc np.rint round", "0")
defbinary("math.atan2 np.arctan2", "{1} / ({0} * {0} + {1} * {1})", "-{0} / ({0} * {0} + {1} * {1})")
defbinary("math.hypot np.hypot", "{0} / {z}", "{1} / {z}")
defbinary("math.copysign np.copysign",
        "{M}.copysign(1.0, {0}) * {M}.copysign(1.0, {1})", "0")
defbinary("np.fmod", "1", "-{M}.trunc({0} / {1})")  # (math.fmod: Numba has none)
defbinary("min", "(1.0 if {0} <= {1} else 0.0)", "(0.0 if {0} <= {1} else 1.0)")
defbinary("max", "(1.0 if {0} >= {1} else 0.0)", "(0.0 if {0} >= {1} else 1.0)")


def _power(a, z, M, c):
    """``x ** y``: constant exponents are folded; an active exponent uses log(x) where x > 0."""
    x, y = a
    exponent = c[1]
    if exponent is not None:
        if exponent == 0:
            d0 = "0"
        elif exponent == 1:
            d0 = "1"
        elif exponent == 2:
            d0 = f"2.0 * {x}"
        else:
            d0 = f"{float(exponent)!r} * {x} ** {exponent - 1!r}"
    else:
        d0 = f"{y} * {x} ** ({y} - 1)"
    if M == "np":
        d1 = f"{z} * np.log(np.where({x} > 0, {x}, 1.0))"
    else:
        d1 = f"({z} * math.log({x}) if {x} > 0 else 0.0)"
    return [d0, d1]


defelementwise("** math.pow np.power", _power, (2,))


defunary("math.log", "1.0 / {0}")  # (Numba compiles no math.log(x, base))
# Gamma functions through the digamma function of the runtime.
defunary("math.gamma", "{z} * _digamma({0})")
defunary("math.lgamma", "_digamma({0})")
defbinary("math.ldexp", "2.0 ** {1}", None)

def _extremum(op: str):
    def rule(a, z, M, c):
        x, y = a
        if M == "np":
            return [f"np.where({x} {op} {y}, 1.0, 0.0)", f"np.where({x} {op} {y}, 0.0, 1.0)"]
        return [f"(1.0 if {x} {op} {y} else 0.0)", f"(0.0 if {x} {op} {y} else 1.0)"]
    return rule


defelementwise("np.maximum np.fmax", _extremum(">="), (2,))
defelementwise("np.minimum np.fmin", _extremum("<="), (2,))


def _where(a, z, M, c):
    cond = a[0]
    if M == "np":
        return [None, f"np.where({cond}, 1.0, 0.0)", f"np.where({cond}, 0.0, 1.0)"]
    return [None, f"(1.0 if {cond} else 0.0)", f"(0.0 if {cond} else 1.0)"]


defelementwise("np.where", _where, (3,))

# Matrix products, reductions, views and whole-array extrema.
defproduct("@ np.dot")
defextremum("np.max np.amax .max", "np.argmax")
defextremum("np.min np.amin .min", "np.argmin")
defview("np.transpose np.reshape np.expand_dims .reshape .transpose .T")

# NumPy's function spellings of the operators, and aliases.
for _alias, _name in (("np.add", "+"), ("np.subtract", "-"), ("np.multiply", "*"),
                      ("np.divide", "/"), ("np.true_divide", "/"), ("np.mod", "%"),
                      ("np.remainder", "%")):
    alias(_alias, _name)
defbinary("np.logaddexp", "np.exp({0} - {z})", "np.exp({1} - {z})")
defbinary("np.logaddexp2", "2.0 ** ({0} - {z})", "2.0 ** ({1} - {z})")
defunary("np.positive np.conj np.conjugate", "1")
defunary("np.reciprocal", "-{z} * {z}")
defunary("np.sign", "0")
defunary("np.deg2rad", "0.017453292519943295")
defunary("np.rad2deg", "57.29577951308232")
defunary("np.absolute", "np.copysign(1.0, {0})")
for _alias, _name in (("np.acos", "np.arccos"), ("np.asin", "np.arcsin"), ("np.atan", "np.arctan"),
                      ("np.acosh", "np.arccosh"), ("np.asinh", "np.arcsinh"),
                      ("np.atanh", "np.arctanh"), ("np.atan2", "np.arctan2"),
                      ("np.pow", "np.power"), ("np.float_power", "np.power")):
    alias(_alias, _name)

# Linear maps with their transposes, reductions, and creation.
deflinear("np.copy np.ascontiguousarray np.array .copy", "{g}")  # np.array([..]): elementwise
defreduction("np.sum .sum", "{g}")
defreduction("np.mean .mean", "{g} / {0}.size", axis_scale=None)
defcreation("np.zeros np.ones np.empty np.zeros_like np.ones_like np.empty_like")
deflinear("np.ravel .ravel .flatten np.atleast_1d np.atleast_2d np.atleast_3d",
          "{g}.reshape({0}.shape)")
deflinear("np.asarray", "{g}")
deflinear("np.trace", "{g} * np.eye({0}.shape[0], {0}.shape[1])")
defproduct(".dot")

# Element-wise with bounds: np.clip(a, lo, hi).
def _clip(a, z, M, c):
    # NumPy's clip is minimum(maximum(a, lo), hi): which operand the result is follows that
    x, lo, hi = a
    if M == "np":
        inside = f"(np.maximum({x}, {lo}) <= {hi})"
        return [f"np.where({inside} & ({x} >= {lo}), 1.0, 0.0)",
                f"np.where({inside} & ({x} < {lo}), 1.0, 0.0)",
                f"np.where({inside}, 0.0, 1.0)"]
    inside = f"(max({x}, {lo}) <= {hi})"
    return [f"(1.0 if {inside} and {x} >= {lo} else 0.0)",
            f"(1.0 if {inside} and {x} < {lo} else 0.0)", f"(0.0 if {inside} else 1.0)"]


defelementwise("np.clip", _clip, (3,))

# Whole-array functions, with a rule per operand.
_CENTERED = "({0} - np.mean({0}))"
defprimitive("np.prod .prod", ("np.sum(_prim.products_of_others({0}) * {t})",
                               "{g} * _prim.products_of_others({0})"))
defprimitive("np.cumsum .cumsum", ("np.cumsum({t})", "_prim.cumsum_cotangent({0}, {g})"))
defprimitive("np.var .var", (f"2.0 * np.mean({_CENTERED} * {{t}})",
                             f"{{g}} * 2.0 * {_CENTERED} / {{0}}.size"))
defprimitive("np.std .std", (f"np.mean({_CENTERED} * {{t}}) / {{z}}",
                             f"{{g}} * {_CENTERED} / ({{0}}.size * {{z}})"))
defprimitive("np.linalg.norm", ("np.sum({0} * {t}) / {z}", "{g} * {0} / {z}"))
defprimitive("np.linalg.det", ("{z} * np.trace(np.linalg.solve({0}, {t}))",
                               "{g} * {z} * np.linalg.inv({0}).T"))
defprimitive("np.linalg.inv", ("-np.dot(np.dot({z}, {t}), {z})",
                               "-np.dot(np.dot({z}.T, {g}), {z}.T)"))
defprimitive("np.linalg.solve",
             ("-np.linalg.solve({0}, np.dot({t}, {z}))",
              "_prim.solve_cotangent_matrix({0}, {z}, {g})"),
             ("np.linalg.solve({0}, {t})", "np.linalg.solve({0}.T.copy(), {g})"))
defprimitive("np.linalg.cholesky", ("_prim.cholesky_tangent({z}, {t})",
                                    "_prim.cholesky_cotangent({z}, {g})"))
defprimitive("np.outer", ("np.outer({t}, {1})", "np.dot({g}, {1})"),
             ("np.outer({0}, {t})", "np.dot({g}.T, {0})"))
defprimitive("np.cross", ("np.cross({t}, {1})", "np.cross({1}, {g})"),
             ("np.cross({0}, {t})", "np.cross({g}, {0})"))
deflinear("np.flip", "np.flip({g})")
deflinear("np.fliplr", "np.fliplr({g})")
deflinear("np.flipud", "np.flipud({g})")
defprimitive("np.triu", ("np.triu({t}{rest})", "np.triu({g}{rest})"), (None, None),
             arity=(1, 2))
defprimitive("np.tril", ("np.tril({t}{rest})", "np.tril({g}{rest})"), (None, None),
             arity=(1, 2))
# What adjoints accumulate through (second-order code differentiates it): linear in the term,
# its transpose broadcasts the cotangent back.
defprimitive("_prim.unbroadcast", ("_prim.unbroadcast({t}, {1})",
                                   "np.broadcast_to({g}, {0}.shape)"), (None, None))
defprimitive("np.sort", ("{t}[np.argsort({0})]", "_prim.sort_cotangent({0}, {g})"))


# Rules with a partial that is infinite at points where the value is finite (sqrt at 0,
# x ** -1.5 at 0, arcsin at 1, a quotient by 0): the generators multiply them by a zero
# tangent or cotangent as zero (Enzyme's "strong zero"; see emit.partials).
SINGULAR = {
    "/", "np.divide", "np.true_divide", "**", "math.pow", "np.power", "np.pow",
    "np.float_power", "math.sqrt", "np.sqrt", "np.cbrt", "math.log", "np.log", "math.log2",
    "np.log2", "math.log10", "np.log10", "math.log1p", "np.log1p", "math.asin", "np.arcsin",
    "np.asin", "math.acos", "np.arccos", "np.acos", "math.acosh", "np.arccosh", "np.acosh",
    "math.atanh", "np.arctanh", "np.atanh", "math.atan2", "np.arctan2", "np.atan2",
    "math.hypot", "np.hypot", "np.reciprocal", "np.fmod", "math.gamma", "math.lgamma",
}


def singular(key: str, consts: list) -> bool:
    """Does the rule ``key`` applied to operands with these constant values (None: not a
    constant) have a partial that may be infinite where its value is finite?"""
    if key in ("**", "math.pow", "np.power", "np.pow", "np.float_power"):
        exponent = consts[1]  # x ** e with a constant e >= 1 (or 0) has finite partials
        return exponent is None or not (exponent >= 1 or exponent == 0)
    if key in ("/", "np.divide", "np.true_divide"):
        return consts[1] is None or consts[1] == 0
    return key in SINGULAR


def primitive_term(template: str, operands: list[str], **names) -> str:
    """A primitive's tangent or cotangent template applied to the call's operands."""
    return template.format(*operands, rest="".join(", " + o for o in operands[1:]), **names)


def format_partials(rule: Rule, operands: list[str], z: str, array: bool, consts: list):
    """The partials of an element-wise rule applied to ``operands``, or None when it is not
    written for that many operands (the caller refuses the call)."""
    if len(operands) not in rule.arity:
        return None
    return rule.partials(operands, z, "np" if array else "math", consts)


def of_shape(shape: str) -> dict[str, Rule]:
    """The registered rules of one shape, by key."""
    return {k: r for k, r in RULES.items() if r.shape == shape}


# NumPy functions Numba compiles that return integers or booleans: never active, no rule needed.
NOT_DIFFERENTIABLE = {
    "np.argmin", "np.argmax", "np.argsort", "np.count_nonzero", "np.all", "np.any",
    "np.searchsorted", "np.nonzero", "np.flatnonzero", "np.isclose", "np.allclose",
    "np.array_equal", "np.isfinite", "np.isinf", "np.isnan", "np.signbit", "np.equal",
    "np.not_equal", "np.greater", "np.greater_equal", "np.less", "np.less_equal",
    "np.logical_and", "np.logical_or", "np.logical_xor", "np.logical_not", "np.bitwise_and",
    "np.bitwise_or", "np.bitwise_xor", "np.bitwise_not", "np.invert", "np.left_shift",
    "np.right_shift", "np.gcd", "np.lcm", "np.shape", "np.ndim", "np.size", "np.digitize",
    "np.bincount", "np.histogram",
}

# NumPy functions Numba compiles (its documented set) that have NO rule yet. A call with an
# active argument is refused with an ADError naming it; it is never differentiated as zero.
NO_RULE = sorted({
    "np.var", "np.std", "np.median", "np.percentile", "np.quantile", "np.nanmean",
    "np.nansum", "np.nanprod", "np.nanmin", "np.nanmax", "np.nanstd", "np.nanvar",
    "np.nanmedian", "np.nanpercentile", "np.ptp", "np.average", "np.prod", "np.cumsum",
    "np.cumprod", "np.nancumsum", "np.nancumprod", "np.diff", "np.ediff1d", "np.trapezoid",
    "np.cov", "np.corrcoef", "np.ravel", "np.squeeze", "np.concatenate", "np.stack",
    "np.vstack", "np.hstack", "np.dstack", "np.column_stack", "np.append", "np.flip",
    "np.fliplr", "np.flipud", "np.roll", "np.repeat", "np.tile", "np.swapaxes", "np.moveaxis",
    "np.atleast_1d", "np.atleast_2d", "np.atleast_3d", "np.broadcast_to", "np.split",
    "np.array_split", "np.delete", "np.insert", "np.resize", "np.rot90", "np.take", "np.triu",
    "np.tril", "np.diag", "np.diagflat", "np.trace", "np.select", "np.clip", "np.round",
    "np.around", "np.interp", "np.convolve", "np.correlate", "np.cross", "np.outer", "np.kron",
    "np.vdot", "np.inner", "np.matmul", "np.linalg.inv", "np.linalg.det", "np.linalg.solve",
    "np.linalg.norm", "np.linalg.eigh", "np.linalg.svd", "np.linalg.cholesky", "np.linalg.qr",
    "np.linalg.lstsq", "np.linalg.pinv", "np.linalg.matrix_power", "np.linalg.slogdet",
    "np.sort", "np.unique", "np.asarray", "np.asfortranarray", "np.full", "np.full_like",
    "np.arange", "np.linspace", "np.logspace", "np.geomspace", "np.eye", "np.identity",
    "np.meshgrid", "np.vander", "np.sinc", "np.nextafter", "np.spacing", "np.ldexp",
    "np.divmod", "np.frexp", "np.modf",
} - set(RULES))

# Views of the table by shape (what coverage lists and the table-driven tests iterate).
ELEMENTWISE = {k: r.partials for k, r in of_shape("elementwise").items()}
ARITY = {k: r.arity for k, r in of_shape("elementwise").items()}
