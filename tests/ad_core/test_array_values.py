"""Reverse mode with arrays made inside loops and branches: what may share memory and is
written while a view of it is alive is refused (an ADError at the user's line), never
differentiated as if it were a copy. The supported forms are in functions.py (through
check_grads); these are the refusals."""

import numpy as np
import pytest

from adtriad.ad_core import ADError, Duplicated, Reverse, autodiff


def view_read_after_write(x, n):
    s = 0.0
    for i in range(n):
        a = np.sin(x)
        v = a[1:]
        a[1] = 5.0 * x[0]
        s += np.sum(v * v)
    return s


def written_through_alias(x, n):
    s = 0.0
    for i in range(n):
        a = x * 1.0
        b = a
        b[0] = 3.0 * x[0]
        s += np.sum(a * a)
    return s


def store_through_indices(x):
    y = np.zeros(4)
    idx = np.array([0, 2])
    y[idx] = x[:2] * 2.0
    return np.sum(y * y)


@pytest.mark.parametrize("f, message", [
    (view_read_after_write, "to be used before that array is written again"),
    (written_through_alias, "cannot follow writes into the array 'b'"),
])
def test_a_view_that_sees_a_later_write_is_refused(f, message):
    x = np.array([0.3, 0.6, 0.9])
    dx = np.zeros(3)
    with pytest.raises(ADError, match=message) as info:
        autodiff(Reverse, f, Duplicated(x, dx), 2)
    assert "test_array_values.py:" in str(info.value)
    assert np.all(dx == 0.0) and np.allclose(x, [0.3, 0.6, 0.9])


def test_a_store_through_an_index_array_is_refused():
    x = np.array([0.3, 0.6, 0.9])
    with pytest.raises(ADError, match="storing through an array of indices"):
        autodiff(Reverse, store_through_indices, Duplicated(x, np.zeros(3)))


def view_read_before_its_array_is_overwritten(x, a):
    y = a * x
    out = y * 2.0
    row = out[0, :]  # a view of `out`, read here, before `out` is overwritten below
    y[0, :] = x * row
    out[:] = y * 3.0
    return np.sum(out * out)


def test_a_view_reads_its_array_as_it_was_when_read():
    # the view's values at the end of the call differ from those it had when it was read:
    # the adjoint takes the view again of the restored array (it used to save the final values)
    from adtriad.ad_core import Active
    from adtriad.ad_core.testing import check_grads
    a = np.random.default_rng(1).random((3, 4))
    check_grads(view_read_before_its_array_is_overwritten, Active(0.3),
                Duplicated(a, np.zeros_like(a)), modes=("Reverse", "Forward"))
