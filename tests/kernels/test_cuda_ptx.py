"""Every derivative kernel of the CUDA target compiles to real CUDA code (PTX, through
numba-cuda's NVVM, no GPU needed): autodiff_deferred inside kernels in both modes and the
gradient_kernel launcher in its atomic and deterministic modes; float atomics appear where
threads may share a shadow element and nowhere in deterministic mode."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba.cuda")
from numba import cuda, float32, float64, int64  # noqa: E402

from adtriad.ad_core import (ADError, Active, Const, Duplicated,  # noqa: E402
                             ReverseWithPrimal, autodiff_deferred)
from adtriad.ad_core.gpu import cuda as adcuda  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import kernel_defs as K  # noqa: E402
from cuda_stub import CC, no_device  # noqa: E402

if adcuda.SIMULATOR:  # pragma: no cover - the simulator has no code generation
    pytest.skip("NUMBA_ENABLE_CUDASIM is set", allow_module_level=True)
if not __import__("numba.cuda.cudadrv.nvvm", fromlist=["is_available"]).is_available():
    pytest.skip("the CUDA toolkit's NVVM is not installed (pip install -e '.[test,ptx]' adds it)",
                allow_module_level=True)

F32 = float32[::1]
F64 = float64[::1]
FLOAT_ATOMIC = "atom.global.add.f"


def ptx_of(kernel, types) -> str:
    with no_device():
        return cuda.compile_ptx(kernel.py_func, types, cc=CC)[0]


@pytest.fixture
def deterministic():
    adcuda.deterministic(True)
    yield
    adcuda.deterministic(False)


def test_seed_test3_kernel_compiles_with_atomics_only_off_the_exclusive_path():
    ptx = ptx_of(K.grad_saxpy, (F32, F32, float32, F32, F32))
    assert ".entry" in ptx
    # dX[i] is the thread's own element for a one-block launch (Test 3); other launches
    # take the atomic branch
    assert "atom.global.add.f32" in ptx


def test_seed_test3_kernel_in_deterministic_mode_has_no_float_atomics(deterministic):
    ptx = ptx_of(K.grad_saxpy, (F32, F32, float32, F32, F32))
    assert FLOAT_ATOMIC not in ptx


def test_seed_cuda_jl_integration_kernel_compiles():
    assert ".entry" in ptx_of(K.grad_kernel, (F64,) * 6)


@pytest.mark.parametrize("cc, target", [((8, 0), "sm_80"), ((9, 0), "sm_90")])
def test_seed_gpucompiler_integration_targets_the_device(cc, target):
    # the derivative is compiled for the device's compute capability, as Enzyme's
    # compiler_job_from_backend does for CUDA.jl
    args = CASES["saxpy"][1]()
    with no_device():
        ptx = adcuda.gradient_kernel(K.saxpy_kernel).ptx(*args, cc=cc)
    assert f".target {target}" in ptx


def test_shared_shadow_gets_float64_atomics():
    ptx = ptx_of(K.grad_shared, (F64,) * 6)
    assert "atom.global.add.f64" in ptx


def test_shared_shadow_refused_in_deterministic_autodiff_deferred(deterministic):
    with pytest.raises(Exception, match="may be accumulated by several threads"):
        ptx_of(K.grad_shared, (F64,) * 6)


def test_forward_mode_in_a_kernel_compiles():
    ptx = ptx_of(K.tangent_saxpy, (F32, F32, float32, float32, F32, F32))
    assert ".entry" in ptx and FLOAT_ATOMIC not in ptx


def test_device_function_with_a_loop_compiles_with_a_local_tape():
    ptx = ptx_of(K.grad_power_of, (F64, F64, int64))
    assert ".local" in ptx  # the tape lives in thread-local memory


def test_njit_function_differentiated_in_a_kernel_compiles():
    assert ".entry" in ptx_of(K.grad_smooth_step, (F64, F64))


def test_kernel_with_atomic_adds_keeps_them_atomic():
    # the primal's cuda.atomic.add(total, 0, x*x) stays an atomic add; dx[i] is own-index
    ptx = ptx_of(K.sum_squares_atomic_grad, (F64,) * 4)
    assert "atom.global.add.f64" in ptx


def test_atomics_the_gpu_derivative_cannot_keep_are_refused_naming_the_line():
    with pytest.raises(Exception, match=r"kernel_defs.py:\d+: on the GPU, a kernel's atomics "
                                        "must be cuda.atomic.add"):
        adcuda.gradient_kernel(K.atomic_then_store).ptx(Duplicated(np.zeros(2), np.ones(2)),
                                                        Duplicated(np.ones(4), np.zeros(4)))
    with pytest.raises(Exception, match=r"kernel_defs.py:\d+: kernels using cuda.atomic are "
                                        "differentiated in reverse mode"):
        ptx_of(K.tangent_sum_squares_atomic, (F64,) * 4)
    with pytest.raises(ADError, match=r"kernel_defs.py:\d+: the kernel itself adds with float "
                                      "atomics, which deterministic mode excludes"):
        adcuda.gradient_kernel(K.sum_squares_atomic, deterministic=True).ptx(
            Duplicated(np.zeros(1), np.ones(1)), Duplicated(np.ones(4), np.zeros(4)))


CASES = {
    "saxpy": (K.saxpy_kernel, lambda: [Duplicated(np.zeros(256, np.float32),
                                                   np.ones(256, np.float32)),
                                        Active(np.float32(2.0)),
                                        Duplicated(np.ones(256, np.float32),
                                                   np.zeros(256, np.float32))]),
    "shared": (K.scale_by_shared, lambda: [Duplicated(np.zeros(100), np.ones(100)),
                                           Duplicated(np.ones(100), np.zeros(100)),
                                           Duplicated(np.ones(1), np.zeros(1))]),
    "stencil": (K.stencil, lambda: [Duplicated(np.zeros(64), np.ones(64)),
                                    Duplicated(np.ones(64), np.zeros(64)), Active(0.2)]),
    "grid_2d": (K.grid_2d, lambda: [Duplicated(np.zeros((7, 5)), np.ones((7, 5))),
                                    Duplicated(np.ones((7, 5)), np.zeros((7, 5)))]),
    "rules": (K.square_roots, lambda: [Duplicated(np.zeros(64), np.ones(64)),
                                     Duplicated(np.linspace(1.0, 8.0, 64), np.zeros(64))]),
    "atomic": (K.sum_squares_atomic, lambda: [Duplicated(np.zeros(1), np.ones(1)),
                                              Duplicated(np.ones(100), np.zeros(100))]),
    "loop": (K.power_loop, lambda: [Duplicated(np.zeros(64), np.ones(64)),
                                    Duplicated(np.ones(64), np.zeros(64)), Const(10)]),
}


@pytest.mark.parametrize("name, det", [(name, det) for name in sorted(CASES)
                                       for det in (False, True)
                                       if not (det and name == "atomic")])  # refused, above
def test_gradient_kernel_compiles(name, det):
    kernel, make_args = CASES[name]
    with no_device():
        ptx = adcuda.gradient_kernel(kernel, deterministic=det).ptx(*make_args())
    assert ".entry" in ptx
    shares = name in ("shared", "stencil", "atomic")  # elements other threads touch too
    if det:
        assert FLOAT_ATOMIC not in ptx
    elif shares:
        assert FLOAT_ATOMIC in ptx


def test_deferred_refuses_modes_it_does_not_support():
    @cuda.jit
    def with_primal(Y, dY, a, X, dX):
        autodiff_deferred(ReverseWithPrimal, K.saxpy_kernel, Const, Duplicated(Y, dY),
                          Active(a), Duplicated(X, dX))
    with pytest.raises(Exception, match="supports Forward and Reverse, not ReverseWithPrimal"):
        ptx_of(with_primal, (F32, F32, float32, F32, F32))


def test_gradient_kernel_checks_shadows():
    g = adcuda.gradient_kernel(K.scale_by_shared)
    with pytest.raises(ADError, match=r"argument 1 \('x'\) of scale_by_shared: Duplicated "
                                      "needs an array"):
        g.ptx(Duplicated(np.zeros(10), np.ones(10)), Duplicated(np.ones(10), np.zeros(9)),
              Duplicated(np.ones(1), np.zeros(1)))
    with pytest.raises(ADError, match="made for activities"):
        adcuda.gradient_kernel(K.scale_by_shared, Duplicated, Duplicated, Duplicated).ptx(
            Duplicated(np.zeros(10), np.ones(10)), Const(np.ones(10)),
            Duplicated(np.ones(1), np.zeros(1)))
