"""The CUDA target's derivative kernels, case by case (a few hundred threads each: the CUDA
simulator costs ~0.3 ms per thread). Run as a script with NUMBA_ENABLE_CUDASIM=1 (by
test_cuda_simulator.py) it prints the results as JSON; test_cuda_device.py runs the same
cases on a real GPU."""

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import kernel_defs as K  # noqa: E402
from adtriad.ad_core import Active, Duplicated  # noqa: E402
from adtriad.ad_core.gpu import cuda as adcuda  # noqa: E402



def seed_test3_as_written():
    X = np.random.default_rng(42).random(256).astype(np.float32)
    Y = np.zeros(256, np.float32)
    dY = np.ones(256, np.float32)
    dX = np.zeros(256, np.float32)
    K.grad_saxpy[1, 256](Y, dY, np.float32(2.0), X, dX)
    return {"X": X, "Y": Y, "dX": dX}


def seed_test3_launcher():
    X = np.random.default_rng(42).random(256).astype(np.float32)
    Y = np.zeros(256, np.float32)
    dY = np.ones(256, np.float32)
    dX = np.zeros(256, np.float32)
    _, da, _ = adcuda.gradient_kernel(K.saxpy_kernel)[1, 256](
        Duplicated(Y, dY), Active(np.float32(2.0)), Duplicated(X, dX))
    return {"X": X, "Y": Y, "dX": dX, "da": da}


def shared(det: bool):
    x = np.linspace(0.1, 1.0, 100)
    dx, dw = np.zeros(100), np.zeros(1)
    adcuda.gradient_kernel(K.scale_by_shared, deterministic=det)[4, 32](
        Duplicated(np.zeros(100), np.linspace(-1.0, 1.0, 100)), Duplicated(x, dx),
        Duplicated(np.array([1.5]), dw))
    return {"dx": dx, "dw": dw}


def shared_deferred():
    x = np.linspace(0.1, 1.0, 100)
    dx, dw = np.zeros(100), np.zeros(1)
    K.grad_shared[4, 32](np.zeros(100), np.linspace(-1.0, 1.0, 100), x, dx, np.array([1.5]), dw)
    return {"dx": dx, "dw": dw}


def stencil(det: bool):
    u = np.sin(np.arange(64.0))
    du = np.zeros(64)
    _, _, dc = adcuda.gradient_kernel(K.stencil, deterministic=det)[2, 32](
        Duplicated(np.zeros(64), np.cos(np.arange(64.0))), Duplicated(u, du), Active(0.2))
    return {"du": du, "dc": dc}


def grid_2d():
    a = np.cos(np.arange(35.0)).reshape(7, 5)
    da = np.zeros((7, 5))
    adcuda.gradient_kernel(K.grid_2d)[(2, 2), (4, 3)](
        Duplicated(np.zeros((7, 5)), np.ones((7, 5))), Duplicated(a, da))
    return {"da": da}


def loop(n: int):
    x = np.linspace(0.1, 0.9, 64)
    dx = np.zeros(64)
    adcuda.gradient_kernel(K.power_loop)[2, 32](
        Duplicated(np.zeros(64), np.ones(64)), Duplicated(x, dx), n)
    return {"dx": dx}


def loop_deferred(slots: int):
    adcuda.tape_slots(slots)
    x = np.linspace(0.1, 0.9, 64)
    dx = np.zeros(64)
    kernel = K.grad_power_of if slots == 64 else K.grad_power_of_small_tape
    kernel[2, 32](x, dx, 20)
    adcuda.tape_slots(64)
    return {"dx": dx}


def forward_deferred():
    X = np.linspace(0.0, 1.0, 64).astype(np.float32)
    dX = np.full(64, 0.5, np.float32)
    dY = np.zeros(64, np.float32)
    K.tangent_saxpy[1, 64](np.zeros(64, np.float32), dY, np.float32(2.0), np.float32(1.0), X, dX)
    return {"dY": dY, "X": X}


def rules_in_a_kernel():
    v = np.linspace(1.0, 8.0, 64)
    dv = np.zeros(64)
    adcuda.gradient_kernel(K.square_roots)[2, 32](Duplicated(np.zeros(64), np.ones(64)),
                                                Duplicated(v, dv))
    return {"v": v, "dv": dv}


def seed_cuda_jl_integration():
    rng = np.random.default_rng(7)
    A, B = rng.random(32), rng.random(32)
    dA, dB, C, dC = np.zeros(32), np.zeros(32), np.zeros(32), np.ones(32)
    K.grad_kernel[1, 32](A, dA, B, dB, C, dC)
    return {"A": A, "B": B, "dA": dA, "dB": dB, "C": C, "dC": dC}


def deferred_deterministic(blocks: int):
    adcuda.deterministic(True)
    X = np.linspace(0.0, 1.0, 64).astype(np.float32)
    dX = np.zeros(64, np.float32)
    K.grad_saxpy_deterministic[blocks, 64 // blocks](
        np.zeros(64, np.float32), np.ones(64, np.float32), np.float32(2.0), X, dX)
    adcuda.deterministic(False)
    return {"dX": dX}


def deferred_njit_function():
    x = np.linspace(0.0, 1.0, 64)
    dx = np.zeros(64)
    K.grad_smooth_step[2, 32](x, dx)
    return {"x": x, "dx": dx}


def tiled_reads():
    x = np.random.default_rng(5).random(64)
    dx = np.zeros(64)
    _, da, _ = adcuda.gradient_kernel(K.tile_kernel)[4, 64](
        Duplicated(np.zeros(256), np.ones(256)), Active(2.0), Duplicated(x, dx))
    return {"x": x, "dx": dx, "da": da}


def atomic_adds(deferred: bool):
    x = np.random.default_rng(11).random(100)
    dx, total, dtotal = np.zeros(100), np.zeros(1), np.full(1, 3.0)
    if deferred:
        K.sum_squares_atomic_grad[4, 32](total, dtotal, x, dx)
    else:
        adcuda.gradient_kernel(K.sum_squares_atomic)[4, 32](Duplicated(total, dtotal),
                                                            Duplicated(x, dx))
    return {"x": x, "dx": dx, "total": total, "dtotal": dtotal}


CASES = {
    "test3": seed_test3_as_written,
    "test3_launcher": seed_test3_launcher,
    "tiled_reads": tiled_reads,
    "shared_atomic": lambda: shared(False),
    "shared_deterministic": lambda: shared(True),
    "shared_deterministic_again": lambda: shared(True),
    "shared_deferred": shared_deferred,
    "stencil_atomic": lambda: stencil(False),
    "stencil_deterministic": lambda: stencil(True),
    "grid_2d": grid_2d,
    "loop_overflowing_first_tape": lambda: loop(100),
    "loop_deferred": lambda: loop_deferred(64),
    "loop_deferred_tape_too_small": lambda: loop_deferred(4),
    "forward_deferred": forward_deferred,
    "rules": rules_in_a_kernel,
    "cuda_jl_integration": seed_cuda_jl_integration,
    "deferred_deterministic_one_block": lambda: deferred_deterministic(1),
    "deferred_deterministic_shared_index": lambda: deferred_deterministic(2),
    "deferred_njit_function": deferred_njit_function,
    "atomic_launcher": lambda: atomic_adds(False),
    "atomic_deferred": lambda: atomic_adds(True),
}


def run(names) -> dict:
    return {name: {k: np.asarray(v) for k, v in CASES[name]().items()} for name in names}


if __name__ == "__main__":
    assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" and adcuda.SIMULATOR
    names = sys.argv[1:] or list(CASES)
    out = {name: {k: np.asarray(v).tolist() for k, v in CASES[name]().items()}
           for name in names}
    print(json.dumps(out))
