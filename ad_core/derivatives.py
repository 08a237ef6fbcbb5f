"""The one table of built-in derivative rules.

Element-wise rules give the partial derivative of the result ``z`` with respect to each
operand as an expression template: ``{0}``, ``{1}`` are the operands, ``{z}`` the result and
``{M}`` the module (``math`` for scalars, ``np`` for arrays). Forward mode emits
``dz = sum(partial_i * dx_i)``; reverse mode emits ``bar_x_i += g * partial_i``. A partial of
``None`` means "not differentiable in that operand" (integer-valued, for instance); ``"0"``
means the derivative is zero. Linear and structural operations (``np.sum``, ``copy``,
creation) are handled by name in the code generators, listed in :data:`LINEAR` and
:data:`CREATION`.

Functions Numba supports that have no rule here are refused when they meet an active argument
(:func:`rule_for`), never differentiated as zero.
"""

from __future__ import annotations

from typing import Callable

# key -> function(operands, z, M, consts) -> list of partial templates (already formatted)
Partial = Callable[..., list]
ELEMENTWISE: dict[str, Partial] = {}


ARITY: dict[str, tuple[int, ...]] = {}  # how many operands each rule is written for


def _unary(keys: str, template: str) -> None:
    for key in keys.split():
        ELEMENTWISE[key] = (lambda t: lambda a, z, M, c: [t.format(*a, z=z, M=M)])(template)
        ARITY[key] = (1,)


def _binary(keys: str, t0: str | None, t1: str | None) -> None:
    def rule(a, z, M, c, t0=t0, t1=t1):
        return [None if t0 is None else t0.format(*a, z=z, M=M),
                None if t1 is None else t1.format(*a, z=z, M=M)]
    for key in keys.split():
        ELEMENTWISE[key] = rule
        ARITY[key] = (2,)


# Operators (scalars and arrays alike).
_binary("+", "1", "1")
_binary("-", "1", "-1")
_binary("*", "{1}", "{0}")
_binary("/", "1.0 / {1}", "-{z} / {1}")
_binary("%", "1", "-({0} // {1})")
_binary("//", "0", "0")
_unary("u-", "-1")
_unary("u+", "1")

# math / numpy element-wise functions of one argument.
_unary("math.sin np.sin", "{M}.cos({0})")
_unary("math.cos np.cos", "-{M}.sin({0})")
_unary("math.tan np.tan", "1.0 + {z} * {z}")
_unary("math.asin np.arcsin", "1.0 / {M}.sqrt(1.0 - {0} * {0})")
_unary("math.acos np.arccos", "-1.0 / {M}.sqrt(1.0 - {0} * {0})")
_unary("math.atan np.arctan", "1.0 / (1.0 + {0} * {0})")
_unary("math.sinh np.sinh", "{M}.cosh({0})")
_unary("math.cosh np.cosh", "{M}.sinh({0})")
_unary("math.tanh np.tanh", "1.0 - {z} * {z}")
_unary("math.asinh np.arcsinh", "1.0 / {M}.sqrt({0} * {0} + 1.0)")
_unary("math.acosh np.arccosh", "1.0 / {M}.sqrt({0} * {0} - 1.0)")
_unary("math.atanh np.arctanh", "1.0 / (1.0 - {0} * {0})")
_unary("math.exp np.exp", "{z}")
_unary("math.expm1 np.expm1", "{z} + 1.0")
_unary("np.exp2 math.exp2", "{z} * 0.6931471805599453")
_unary("np.log", "1.0 / {0}")
_unary("math.log2 np.log2", "1.0 / ({0} * 0.6931471805599453)")
_unary("math.log10 np.log10", "1.0 / ({0} * 2.302585092994046)")
_unary("math.log1p np.log1p", "1.0 / (1.0 + {0})")
_unary("math.sqrt np.sqrt", "0.5 / {z}")
_unary("np.cbrt", "1.0 / (3.0 * {z} * {z})")
_unary("np.square", "2.0 * {0}")
_unary("np.negative", "-1")
_unary("math.erf", "1.1283791670955126 * math.exp(-{0} * {0})")
_unary("math.erfc", "-1.1283791670955126 * math.exp(-{0} * {0})")
_unary("math.fabs abs np.abs np.fabs", "{M}.copysign(1.0, {0})")
_unary("math.degrees np.degrees", "57.29577951308232")
_unary("math.radians np.radians", "0.017453292519943295")
_unary("float np.float64 np.float32", "1")
_unary("math.floor math.ceil math.trunc np.floor np.ceil np.trunc np.rint round", "0")
_binary("math.atan2 np.arctan2", "{1} / ({0} * {0} + {1} * {1})", "-{0} / ({0} * {0} + {1} * {1})")
_binary("math.hypot np.hypot", "{0} / {z}", "{1} / {z}")
_binary("math.copysign np.copysign",
        "{M}.copysign(1.0, {0}) * {M}.copysign(1.0, {1})", "0")
_binary("math.fmod np.fmod", "1", "-{M}.trunc({0} / {1})")
_binary("min", "(1.0 if {0} <= {1} else 0.0)", "(0.0 if {0} <= {1} else 1.0)")
_binary("max", "(1.0 if {0} >= {1} else 0.0)", "(0.0 if {0} >= {1} else 1.0)")


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


for _key in ("**", "math.pow", "np.power"):
    ELEMENTWISE[_key] = _power
    ARITY[_key] = (2,)


def _log(a, z, M, c):
    """``log(x)`` or ``log(x, base)``."""
    if len(a) == 1:
        return [f"1.0 / {a[0]}"]
    x, b = a
    return [f"1.0 / ({x} * math.log({b}))", f"-{z} / ({b} * math.log({b}))"]


ELEMENTWISE["math.log"] = _log
ARITY["math.log"] = (1, 2)
# Gamma functions through the digamma function of the runtime.
_unary("math.gamma", "{z} * _digamma({0})")
_unary("math.lgamma", "_digamma({0})")
_binary("math.ldexp", "2.0 ** {1}", None)

def _extremum(op: str):
    def rule(a, z, M, c):
        x, y = a
        if M == "np":
            return [f"np.where({x} {op} {y}, 1.0, 0.0)", f"np.where({x} {op} {y}, 0.0, 1.0)"]
        return [f"(1.0 if {x} {op} {y} else 0.0)", f"(0.0 if {x} {op} {y} else 1.0)"]
    return rule


ELEMENTWISE["np.maximum"] = _extremum(">=")
ELEMENTWISE["np.minimum"] = _extremum("<=")
ARITY["np.maximum"] = ARITY["np.minimum"] = (2,)


def _where(a, z, M, c):
    cond = a[0]
    if M == "np":
        return [None, f"np.where({cond}, 1.0, 0.0)", f"np.where({cond}, 0.0, 1.0)"]
    return [None, f"(1.0 if {cond} else 0.0)", f"(0.0 if {cond} else 1.0)"]


ELEMENTWISE["np.where"] = _where
ARITY["np.where"] = (3,)

# Matrix products, reductions over an axis and views are handled by the generators
# (forward: the same operation on tangents; reverse: array_rules.py).
PRODUCTS = {"@", "np.dot"}
EXTREMA = {"np.max": "np.argmax", "np.amax": "np.argmax", "np.min": "np.argmin",
           "np.amin": "np.argmin"}  # whole-array max/min: the derivative flows to the arg-extremum
VIEWS = {"np.transpose", "np.reshape", "np.expand_dims"}
METHOD_VIEWS = {"reshape", "transpose"}

# NumPy's function spellings of the operators, and aliases.
_binary("np.add", "1", "1")
_binary("np.subtract", "1", "-1")
_binary("np.multiply", "{1}", "{0}")
_binary("np.divide np.true_divide", "1.0 / {1}", "-{z} / {1}")
_binary("np.mod np.remainder", "1", "-np.floor({0} / {1})")
_binary("np.logaddexp", "np.exp({0} - {z})", "np.exp({1} - {z})")
_binary("np.logaddexp2", "2.0 ** ({0} - {z})", "2.0 ** ({1} - {z})")
_unary("np.positive np.conj np.conjugate", "1")
_unary("np.reciprocal", "-{z} * {z}")
_unary("np.sign", "0")
_unary("np.deg2rad", "0.017453292519943295")
_unary("np.rad2deg", "57.29577951308232")
_unary("np.absolute", "np.copysign(1.0, {0})")
for _alias, _name in (("np.acos", "np.arccos"), ("np.asin", "np.arcsin"), ("np.atan", "np.arctan"),
                      ("np.acosh", "np.arccosh"), ("np.asinh", "np.arcsinh"),
                      ("np.atanh", "np.arctanh"), ("np.atan2", "np.arctan2"),
                      ("np.pow", "np.power"), ("np.float_power", "np.power")):
    ELEMENTWISE[_alias] = ELEMENTWISE[_name]
    ARITY[_alias] = ARITY[_name]
ELEMENTWISE["np.fmax"], ELEMENTWISE["np.fmin"] = ELEMENTWISE["np.maximum"], ELEMENTWISE["np.minimum"]
ARITY["np.fmax"] = ARITY["np.fmin"] = (2,)

# Linear operations of one array (JAX's deflinear): forward mode applies the operation to
# the tangent; reverse mode adds the transpose, a template in the cotangent {g} and the
# operand {0}. A linear operation is never entered without its transpose.
LINEAR: dict[str, str] = {}


def _linear(keys: str, transpose: str) -> None:
    for key in keys.split():
        LINEAR[key] = transpose


_linear("np.copy np.ascontiguousarray np.array", "{g}")  # np.array([..]): element by element
_linear("np.sum", "{g}")
_linear("np.mean", "{g} / {0}.size")
# Values that do not depend on their arguments' values (only on shapes and dtypes).
CREATION = {"np.zeros", "np.ones", "np.empty", "np.zeros_like", "np.ones_like",
            "np.empty_like"}
METHODS_LINEAR = {"copy", "sum"}


def format_partials(key: str, operands: list[str], z: str, array: bool, consts: list):
    """The partials of ``key`` applied to ``operands``, or None when the rule is not written
    for that many operands (the caller refuses the call)."""
    if len(operands) not in ARITY[key]:
        return None
    return ELEMENTWISE[key](operands, z, "np" if array else "math", consts)


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
} - set(ELEMENTWISE) - set(LINEAR) - CREATION - VIEWS - PRODUCTS - set(EXTREMA))
