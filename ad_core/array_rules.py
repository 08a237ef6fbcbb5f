"""Reverse-mode rules of NumPy whole-array operations that are not element-wise partials.

Contract: each function emits adjoint statements through ``emit(line)`` (which also records
the names the line reads). Accumulation into an array adjoint follows NumPy broadcasting
backwards: a cotangent with more dimensions, or with extent n where the operand has extent 1,
is summed down to the operand's shape (the fast ``+=`` is taken when the shapes agree).
"""

from __future__ import annotations

from adtriad.ad_core import naming

TERM = naming.PREFIX + "_term"


def accumulate(emit, bar: str, term: str, term_ndim: int, bar_ndim: int | None) -> None:
    """``bar += term`` undoing broadcasting; ``bar_ndim`` None means a scalar adjoint."""
    if bar_ndim is None:
        emit(f"{bar} += np.sum({term})" if term_ndim else f"{bar} += {term}")
        return
    if term_ndim == 0:
        emit(f"{bar} += {term}")
        return
    emit(f"{TERM} = {term}")
    loops = _sum_loops(bar, term_ndim, bar_ndim)
    if term_ndim == bar_ndim:
        emit(f"if {TERM}.shape == {bar}.shape:")
        emit(f"    {bar} += {TERM}")
        emit("else:")
        for k, line in enumerate(loops):
            emit("    " + line)
    else:
        for line in loops:
            emit(line)


def _sum_loops(bar: str, term_ndim: int, bar_ndim: int) -> list[str]:
    """Nested loops adding each cotangent element into the broadcast-source element."""
    lines = []
    idx = [f"{naming.PREFIX}_b{d}" for d in range(term_ndim)]
    for d in range(term_ndim):
        lines.append("    " * d + f"for {idx[d]} in range({TERM}.shape[{d}]):")
    offset = term_ndim - bar_ndim
    target = ", ".join(f"({idx[offset + k]} if {bar}.shape[{k}] != 1 else 0)"
                       for k in range(bar_ndim))
    lines.append("    " * term_ndim + f"{bar}[{target}] += {TERM}[{', '.join(idx)}]")
    return lines


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
