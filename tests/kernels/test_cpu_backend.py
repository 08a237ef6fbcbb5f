"""The CPU kernel backend runs numba.cuda kernels and their gradients without a GPU: its
primal agrees with Numba's CUDA simulator, its gradients with finite differences in float64,
and repeated runs give identical bits."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from adtriad.ad_core import ADError, Active, Const, Duplicated
from adtriad.ad_core.gpu.kernels import cpu_kernel, gradient_kernel

sys.path.insert(0, str(Path(__file__).parent))
import kernel_defs as K  # noqa: E402

rng = np.random.default_rng(42)


def test_seed_test3_saxpy_gradient():
    X = np.random.default_rng(42).random(256).astype(np.float32)
    Y = np.zeros(256, np.float32)
    dY = np.ones(256, np.float32)
    dX = np.zeros(256, np.float32)
    _, da, _ = gradient_kernel(K.saxpy_kernel, Duplicated, Active, Duplicated)[1, 256](
        Duplicated(Y, dY), Active(np.float32(2.0)), Duplicated(X, dX))
    assert np.all(dX == 2.0)  # d(aX)/dX = a
    np.testing.assert_array_equal(da, X)  # each thread's own derivative; the caller reduces
    np.testing.assert_allclose(Y, 2.0 * X)


def fd_check(kernel, griddim, blockdim, make_args, wrt: int, seed_out: int = 0):
    """<seed, d out> by finite differences of the CPU-run primal against the gradient."""
    args = make_args()
    seed = rng.standard_normal(args[seed_out].shape)
    direction = rng.standard_normal(args[wrt].shape)

    def objective(shift):
        a = make_args()
        a[wrt] = a[wrt] + shift * direction
        cpu_kernel(kernel)[griddim, blockdim](*a)
        return float(np.sum(seed * a[seed_out]))

    h = 1e-6
    fd = (objective(h) - objective(-h)) / (2 * h)
    anns = [Duplicated(a, np.zeros_like(a)) if isinstance(a, np.ndarray) else Const(a)
            for a in args]
    anns[seed_out] = Duplicated(args[seed_out], seed.copy())
    gradient_kernel(kernel)[griddim, blockdim](*anns)
    ad = float(np.sum(anns[wrt].dval * direction))
    assert ad == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_shared_read_accumulates_from_every_thread():
    fd_check(K.scale_by_shared, 4, 32,
             lambda: [np.zeros(100), np.linspace(0.1, 1.0, 100), np.array([1.5])], wrt=2)
    fd_check(K.scale_by_shared, 4, 32,
             lambda: [np.zeros(100), np.linspace(0.1, 1.0, 100), np.array([1.5])], wrt=1)


def test_atomics_and_their_gradient():
    x = rng.random(100)
    total = np.zeros(1)
    cpu_kernel(K.sum_squares_atomic)[4, 32](total, x)
    assert total[0] == pytest.approx(np.sum(x * x))
    dx = np.zeros(100)
    gradient_kernel(K.sum_squares_atomic)[4, 32](Duplicated(np.zeros(1), np.ones(1)),
                                                  Duplicated(x, dx))
    np.testing.assert_allclose(dx, 2 * x)


def test_stencil_with_halo_reads():
    fd_check(K.stencil, 2, 32, lambda: [np.zeros(64), np.sin(np.arange(64.0)), 0.2], wrt=1)


def test_two_dimensional_grid():
    fd_check(K.grid_2d, (2, 2), (4, 3), lambda: [np.zeros((7, 5)),
                                                 np.cos(np.arange(35.0)).reshape(7, 5)], wrt=1)


def test_loop_inside_a_kernel():
    fd_check(K.power_loop, 2, 16, lambda: [np.zeros(20), np.linspace(-1, 1, 20), 5], wrt=1)


def test_repeated_gradients_are_bit_identical():
    results = []
    for _ in range(3):
        x = np.linspace(0.1, 1.0, 100)
        dx = np.zeros(100)
        gradient_kernel(K.sum_squares_atomic)[4, 32](Duplicated(np.zeros(1), np.ones(1)),
                                                      Duplicated(x, dx))
        results.append(dx.tobytes())
    assert len(set(results)) == 1


def test_wrong_activities_are_refused():
    g = gradient_kernel(K.saxpy_kernel, Duplicated, Active, Duplicated)
    with pytest.raises(ADError, match=r"gradient_kernel was made for activities"):
        g[1, 4](Duplicated(np.zeros(4), np.ones(4)), Const(2.0), Duplicated(np.ones(4),
                                                                              np.zeros(4)))


SIMULATOR = r"""
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
import kernel_defs as K
x = np.linspace(0.1, 1.0, 64); out = np.zeros(64)
K.stencil[2, 32](out, np.sin(np.arange(64.0)), 0.2)
a = np.cos(np.arange(35.0)).reshape(7, 5); out2 = np.zeros((7, 5))
K.grid_2d[(2, 2), (4, 3)](out2, a)
np.save(sys.argv[2], np.concatenate([out, out2.ravel()]))
"""


def test_cpu_backend_agrees_with_the_cuda_simulator(tmp_path):
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    target = tmp_path / "sim.npy"
    proc = subprocess.run([sys.executable, "-c", SIMULATOR, str(Path(__file__).parent),
                           str(target)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    simulated = np.load(target)
    out = np.zeros(64)
    cpu_kernel(K.stencil)[2, 32](out, np.sin(np.arange(64.0)), 0.2)
    out2 = np.zeros((7, 5))
    cpu_kernel(K.grid_2d)[(2, 2), (4, 3)](out2, np.cos(np.arange(35.0)).reshape(7, 5))
    np.testing.assert_array_equal(np.concatenate([out, out2.ravel()]), simulated)


def test_custom_rules_apply_inside_kernels():
    v = np.linspace(1.0, 8.0, 64)
    dv = np.zeros(64)
    gradient_kernel(K.square_roots)[2, 32](Duplicated(np.zeros(64), np.ones(64)), Duplicated(v, dv))
    np.testing.assert_allclose(dv, 0.5 / np.sqrt(v), rtol=1e-12)


def test_autodiff_of_a_kernel_asks_for_a_launch_and_of_a_device_function_works():
    from adtriad.ad_core import Reverse, autodiff
    with pytest.raises(ADError, match="saxpy_kernel is a numba.cuda kernel: its derivative "
                                      "needs a launch"):
        autodiff(Reverse, K.saxpy_kernel, Const, Duplicated(np.zeros(4), np.ones(4)),
                 Active(2.0), Duplicated(np.ones(4), np.zeros(4)))
    # a device function is an ordinary function to the engine: three steps of p = p x + 1/2
    # from p = 1 give x^3 + x^2/2 + x/2 + 1/2, whose derivative is 3 x^2 + x + 1/2
    ((d, _),) = autodiff(Reverse, K.power_of, Active, Active(0.5), Const(3))
    assert d == pytest.approx(3 * 0.25 + 0.5 + 0.5)
