"""Reverse-mode rules of NumPy whole-array operations that are not element-wise partials.

Contract: each function emits adjoint statements through ``emit(line)`` (which also records
the names the line reads). Accumulation into an array adjoint follows NumPy broadcasting
backwards: a cotangent with more dimensions, or with extent n where the operand has extent 1,
is summed down to the operand's shape (by ``array_primitives.unbroadcast``).
"""

from __future__ import annotations


def accumulate(emit, bar: str, term: str, term_ndim: int, bar_ndim: int | None) -> None:
    """``bar += term`` undoing broadcasting; ``bar_ndim`` None means a scalar adjoint."""
    if bar_ndim is None:
        emit(f"{bar} += np.sum({term})" if term_ndim else f"{bar} += {term}")
    elif term_ndim == 0:
        emit(f"{bar} += {term}")
    else:
        emit(f"{bar} += _prim.unbroadcast({term}, {bar}.shape)")


def reduce_axis(emit, bar: str, g: str, axis_scale: str, array: str, axis: int,
                ndim: int) -> None:
    """Adjoint of a reduction along axis k (``np.sum(a, axis=k)``): spread g back along k,
    divided by the rule's ``axis_scale`` (``" / {0}.shape[{axis}]"`` for a mean)."""
    axis = axis % ndim
    scale = axis_scale.format(array, axis=axis)
    emit(f"{bar} += np.expand_dims({g}, {axis}){scale}")


def dot(emit, g: str, a: str, b: str, nd_a: int, nd_b: int, bar_a: str | None,
        bar_b: str | None) -> None:
    """Adjoints of ``a @ b`` / ``np.dot(a, b)`` for vectors and matrices."""
    if nd_a == 1 and nd_b == 1:
        da, db = f"{g} * {b}", f"{g} * {a}"
    elif nd_a == 2 and nd_b == 1:
        da, db = f"np.outer({g}, {b})", f"np.dot({a}.T, {g})"
    elif nd_a == 1 and nd_b == 2:
        da, db = f"np.dot({b}, {g})", f"np.outer({a}, {g})"
    else:
        da, db = f"np.dot({g}, {b}.T)", f"np.dot({a}.T, {g})"
    if bar_a is not None:
        emit(f"{bar_a} += {da}")
    if bar_b is not None:
        emit(f"{bar_b} += {db}")
