"""Analytic expectations: small NumPy expressions, checked before they are evaluated.

Contract: :func:`parse_expression` accepts only numbers, the given names, arithmetic
(``+ - * / // % ** @``, unary ``+ -``), subscripts, tuples/lists, and calls of the functions in
:data:`FUNCTIONS` (bare, or as ``np.<name>``). Anything else (attribute access beyond ``np.``,
keywords, lambdas, comprehensions, comparisons, strings) raises :class:`ExpressionError`
naming the construct. :func:`evaluate` runs a parsed expression with no builtins, over those
functions and the given values only.

Examples:
    >>> import numpy as np
    >>> evaluate("a * ones_like(x)", {"a": 2.0, "x": np.zeros(2)})
    array([2., 2.])
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["FUNCTIONS", "ExpressionError", "evaluate", "parse_expression"]

_NAMES = (
    "abs sqrt exp log sin cos tan tanh sinh cosh arctan sum mean prod dot outer cumsum "
    "ones_like zeros_like full_like ones zeros full maximum minimum where sign square "
    "float32 float64 asarray array"
).split()
FUNCTIONS: dict[str, Any] = {name: getattr(np, name) for name in _NAMES}
"""The functions an expression may call."""
CONSTANTS: dict[str, Any] = {"pi": np.pi, "e": np.e}

_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult)


class ExpressionError(ValueError):
    """An expression uses something outside the allowed subset."""


def parse_expression(text: str, names: Iterable[str]) -> ast.Expression:
    """Parse and check ``text``; ``names`` are the values it may read."""
    allowed = set(names) | set(CONSTANTS)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"{text!r} is not an expression ({err.msg})") from None
    for node in ast.walk(tree):
        _check(node, allowed, text)
    return tree


def _check(node: ast.AST, allowed: set[str], text: str) -> None:
    ok = (ast.Expression, ast.Load, ast.Tuple, ast.List, ast.Slice, ast.UnaryOp, ast.UAdd,
          ast.USub, ast.Subscript, *_OPS)
    if isinstance(node, ok):
        return
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, _OPS):
            raise ExpressionError(f"{text!r}: operator {type(node.op).__name__} is not allowed")
        return
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float) and node.value is not None:
            raise ExpressionError(f"{text!r}: only numbers may be written ({node.value!r})")
        return
    if isinstance(node, ast.Name):
        if node.id not in allowed and node.id not in FUNCTIONS and node.id != "np":
            raise ExpressionError(
                f"{text!r}: unknown name {node.id!r}; use the arguments "
                f"({', '.join(sorted(allowed - set(CONSTANTS)))}) and NumPy functions"
            )
        return
    if isinstance(node, ast.Attribute):
        if not (isinstance(node.value, ast.Name) and node.value.id == "np"
                and node.attr in FUNCTIONS | CONSTANTS):
            raise ExpressionError(f"{text!r}: only np.<function> attributes are allowed")
        return
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in FUNCTIONS or node.keywords:
            raise ExpressionError(
                f"{text!r}: calls are limited to {', '.join(_NAMES)} without keywords"
            )
        return
    raise ExpressionError(f"{text!r}: {type(node).__name__} is not allowed in an expectation")


class _NP:
    """The ``np`` an expression sees: only the allowed functions and constants."""

    def __init__(self) -> None:
        self.__dict__.update(FUNCTIONS)
        self.__dict__.update(CONSTANTS)


def evaluate(text: str, values: Mapping[str, Any]) -> Any:
    """The value of ``text`` over ``values`` (checked with :func:`parse_expression` first)."""
    tree = parse_expression(text, values)
    scope = {**FUNCTIONS, **CONSTANTS, "np": _NP(), **values}
    return eval(compile(tree, "<expectation>", "eval"), {"__builtins__": {}}, scope)  # noqa: S307
