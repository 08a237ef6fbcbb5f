"""The CUDA target's derivative code, run in Numba's CUDA simulator (a subprocess with
NUMBA_ENABLE_CUDASIM=1, see simulated_runs.py), agrees with the CPU kernel backend, with
finite differences in float64 and with closed forms; deterministic mode repeats its bits."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from adtriad.ad_core import Active, Duplicated
from adtriad.ad_core.gpu.kernels import cpu_kernel, gradient_kernel

sys.path.insert(0, str(Path(__file__).parent))
import kernel_defs as K  # noqa: E402

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def sim():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run([sys.executable, str(HERE / "simulated_runs.py")], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {case: {k: np.array(v) for k, v in out.items()}
            for case, out in json.loads(proc.stdout.splitlines()[-1]).items()}


def directional_fd(kernel, griddim, blockdim, make_args, wrt: int, seed, direction):
    """<seed, d out · direction> by central differences of the CPU backend's primal."""
    def objective(shift):
        args = make_args()
        args[wrt] = args[wrt] + shift * direction
        cpu_kernel(kernel)[griddim, blockdim](*args)
        return float(np.sum(seed * args[0]))
    h = 1e-6
    return (objective(h) - objective(-h)) / (2 * h)


def test_seed_test3_runs_as_written(sim):
    r = sim["test3"]
    assert np.all(r["dX"] == 2.0)  # d(aX)/dX = a, every thread
    np.testing.assert_allclose(r["Y"], 2.0 * r["X"], rtol=1e-6)


def test_seed_test3_through_the_launcher(sim):
    r = sim["test3_launcher"]
    assert np.all(r["dX"] == 2.0)
    np.testing.assert_array_equal(r["da"], r["X"])  # each thread's own derivative


def test_threads_of_other_blocks_reading_one_element_accumulate(sim):
    # out[i] = a x[i % 64] over 4 blocks of 64: each x element is read by four threads in
    # four blocks, so its adjoint receives four contributions (added atomically)
    r = sim["tiled_reads"]
    np.testing.assert_array_equal(r["dx"], np.full(64, 8.0))
    np.testing.assert_array_equal(r["da"], np.tile(r["x"], 4))  # per thread: x[i % 64]


SHARED_X = np.linspace(0.1, 1.0, 100)
SHARED_SEED = np.linspace(-1.0, 1.0, 100)


def test_all_threads_reading_one_element_accumulate(sim):
    r = sim["shared_atomic"]
    # out[i] = w x[i]^2: d<seed,out>/dw = sum seed x^2, d/dx = 2 w x seed
    assert r["dw"][0] == pytest.approx(np.sum(SHARED_SEED * SHARED_X ** 2), rel=1e-12)
    np.testing.assert_allclose(r["dx"], 2 * 1.5 * SHARED_X * SHARED_SEED, rtol=1e-12)
    fd = directional_fd(K.scale_by_shared, 4, 32, lambda: [np.zeros(100), SHARED_X.copy(),
                                                           np.array([1.5])], 2, SHARED_SEED,
                        np.array([1.0]))
    assert r["dw"][0] == pytest.approx(fd, rel=1e-6)


def test_deterministic_mode_repeats_bits_and_agrees(sim):
    a, b = sim["shared_deterministic"], sim["shared_deterministic_again"]
    assert a["dw"].tobytes() == b["dw"].tobytes() and a["dx"].tobytes() == b["dx"].tobytes()
    np.testing.assert_allclose(a["dw"], sim["shared_atomic"]["dw"], rtol=1e-12)
    np.testing.assert_array_equal(a["dx"], sim["shared_atomic"]["dx"])


def test_autodiff_deferred_shares_with_atomics(sim):
    np.testing.assert_allclose(sim["shared_deferred"]["dw"], sim["shared_atomic"]["dw"],
                               rtol=1e-12)
    np.testing.assert_allclose(sim["shared_deferred"]["dx"], sim["shared_atomic"]["dx"],
                               rtol=1e-12)


def cpu_stencil():
    u = np.sin(np.arange(64.0))
    du = np.zeros(64)
    _, _, dc = gradient_kernel(K.stencil)[2, 32](
        Duplicated(np.zeros(64), np.cos(np.arange(64.0))), Duplicated(u, du), Active(0.2))
    return du, dc


@pytest.mark.parametrize("case", ["stencil_atomic", "stencil_deterministic"])
def test_stencil_with_halo_reads(sim, case):
    du, dc = cpu_stencil()
    np.testing.assert_allclose(sim[case]["du"], du, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sim[case]["dc"], dc, rtol=1e-12, atol=1e-15)
    direction = np.random.default_rng(3).standard_normal(64)
    fd = directional_fd(K.stencil, 2, 32, lambda: [np.zeros(64), np.sin(np.arange(64.0)), 0.2],
                        1, np.cos(np.arange(64.0)), direction)
    assert float(sim[case]["du"] @ direction) == pytest.approx(fd, rel=1e-6)


def test_two_dimensional_grid(sim):
    a = np.cos(np.arange(35.0)).reshape(7, 5)
    da = np.zeros((7, 5))
    gradient_kernel(K.grid_2d)[(2, 2), (4, 3)](Duplicated(np.zeros((7, 5)), np.ones((7, 5))),
                                               Duplicated(a, da))
    np.testing.assert_allclose(sim["grid_2d"]["da"], da, rtol=1e-12)


def power_derivative(x, n):
    p, dp = np.ones_like(x), np.zeros_like(x)
    for _ in range(n):
        p, dp = p * x + 0.5, dp * x + p
    return dp


def test_loop_inside_a_kernel_retries_with_the_tape_it_needs(sim):
    x = np.linspace(0.1, 0.9, 64)
    np.testing.assert_allclose(sim["loop_overflowing_first_tape"]["dx"],
                               power_derivative(x, 100), rtol=1e-12)


def test_loop_in_a_device_function_under_autodiff_deferred(sim):
    x = np.linspace(0.1, 0.9, 64)
    np.testing.assert_allclose(sim["loop_deferred"]["dx"], power_derivative(x, 20), rtol=1e-9)
    # a thread whose tape is too small returns NaN rather than a wrong derivative
    assert np.all(np.isnan(sim["loop_deferred_tape_too_small"]["dx"]))


def test_forward_mode_in_a_kernel(sim):
    r = sim["forward_deferred"]
    # Y += a X: dY = a dX + da X with a = 2, da = 1, dX = 0.5
    np.testing.assert_allclose(r["dY"], 2.0 * 0.5 + r["X"], rtol=1e-6)


def test_custom_rules_apply_inside_kernels(sim):
    r = sim["rules"]  # heron_sqrt's reverse rule: d sqrt(v)/dv = 1 / (2 sqrt(v))
    np.testing.assert_allclose(r["dv"], 0.5 / np.sqrt(r["v"]), rtol=1e-12)


def test_seed_cuda_jl_integration_example(sim):
    r = sim["cuda_jl_integration"]  # C = A * B: dA = dC * B, dB = dC * A, dC consumed
    np.testing.assert_array_equal(r["dA"], r["B"])
    np.testing.assert_array_equal(r["dB"], r["A"])
    np.testing.assert_array_equal(r["dC"], np.zeros(32))
    np.testing.assert_array_equal(r["C"], r["A"] * r["B"])


def test_deterministic_autodiff_deferred_poisons_rather_than_races(sim):
    # Test 3's kernel indexes by threadIdx.x: with one block the index is the thread's own
    # (no atomics needed); with two blocks two threads share it and, without atomics, the
    # result is NaN instead of a race
    assert np.all(sim["deferred_deterministic_one_block"]["dX"] == 2.0)
    assert np.all(np.isnan(sim["deferred_deterministic_shared_index"]["dX"][:32]))


def test_autodiff_deferred_of_an_njit_function_in_a_kernel(sim):
    r = sim["deferred_njit_function"]
    np.testing.assert_allclose(r["dx"], 6.0 * r["x"] * (1.0 - r["x"]), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", ["atomic_launcher", "atomic_deferred"])
def test_kernel_adding_with_atomics(sim, case):
    # total[0] += x[i]^2 by every thread (cuda.atomic.add): with seed 3 on total, dx = 6 x;
    # the seed is read, not consumed, and the primal sum is complete
    r = sim[case]
    np.testing.assert_allclose(r["dx"], 6.0 * r["x"], rtol=1e-12)
    np.testing.assert_array_equal(r["dtotal"], [3.0])
    assert r["total"][0] == pytest.approx(np.sum(r["x"] ** 2), rel=1e-12)
