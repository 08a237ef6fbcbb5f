"""Kernel check: primal and gradient kernels for saxpy and a stencil, side by side.

On the CPU (always): the CPU kernel backend's gradient/primal time ratio at n = 1e5 and 1e6
(saxpy indexes only by the thread's own index, so its gradient runs in parallel; the stencil's
threads share elements, so its gradient runs the threads in order).

On a machine with a CUDA GPU (numba.cuda.is_available()): first the kernel tests on the device
(tests/kernels/test_cuda_device.py), then primal and gradient kernels
(adtriad.ad_core.gpu.cuda.gradient_kernel, atomic mode; deterministic mode at 1e7) at 1e7 and 1e8
elements, with the primal's achieved bandwidth beside a device-to-device copy of the same bytes.

Run: python benchmarks/gpu_check.py [--skip-tests]. Prints tables; asserts nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from numba import cuda

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "kernels"))
import kernel_defs as K  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from timing import median_time  # noqa: E402
from adtriad.ad_core import Const, Duplicated  # noqa: E402
from adtriad.ad_core.gpu import cuda as adcuda  # noqa: E402
from adtriad.ad_core.gpu.kernels import cpu_kernel, gradient_kernel  # noqa: E402


@cuda.jit
def saxpy(y, a, x):
    i = cuda.grid(1)
    if i < x.shape[0]:
        y[i] += a * x[i]


def cpu_table() -> None:
    print(f"{'CPU backend':24s} {'n':>9s} {'primal':>10s} {'gradient':>10s} {'grad/pri':>9s}")
    for n in (100_000, 1_000_000):
        block = 256
        grid = n // block
        x = np.random.default_rng(0).random(n)
        y = np.zeros(n)
        t_p = median_time(lambda: cpu_kernel(saxpy)[grid, block](y, 2.0, x))
        t_g = median_time(lambda: gradient_kernel(saxpy)[grid, block](
            Duplicated(y, np.ones(n)), Const(2.0), Duplicated(x, np.zeros(n))))
        print(f"{'saxpy (parallel)':24s} {n:9d} {t_p * 1e3:8.2f}ms {t_g * 1e3:8.2f}ms "
              f"{t_g / t_p:9.2f}")
        out = np.zeros(n)
        t_p = median_time(lambda: cpu_kernel(K.stencil)[grid, block](out, x, 0.2))
        t_g = median_time(lambda: gradient_kernel(K.stencil)[grid, block](
            Duplicated(out, np.ones(n)), Duplicated(x, np.zeros(n)), Const(0.2)))
        print(f"{'stencil (in order)':24s} {n:9d} {t_p * 1e3:8.2f}ms {t_g * 1e3:8.2f}ms "
              f"{t_g / t_p:9.2f}")


def _device_time(fn) -> float:
    def run():
        fn()
        cuda.synchronize()
    return median_time(run)


def gpu_table() -> None:
    print(f"\n{'GPU (float32)':28s} {'n':>11s} {'primal':>10s} {'GB/s':>7s} {'gradient':>10s} "
          f"{'grad/pri':>9s} {'copy GB/s':>10s}")
    for n in (10_000_000, 100_000_000):
        rng = np.random.default_rng(0)
        x = cuda.to_device(rng.random(n).astype(np.float32))
        y = cuda.to_device(np.zeros(n, np.float32))
        dx = cuda.to_device(np.zeros(n, np.float32))
        dy = cuda.to_device(np.ones(n, np.float32))
        copy = cuda.device_array(n, np.float32)
        block = 256
        grid = (n + block - 1) // block
        t_copy = _device_time(lambda: copy.copy_to_device(x))
        copy_bw = 2 * 4 * n / t_copy / 1e9
        a = np.float32(2.0)
        runs = [
            ("saxpy", 3 * 4 * n, lambda: saxpy[grid, block](y, a, x),
             lambda det: adcuda.gradient_kernel(saxpy, deterministic=det)[grid, block](
                 Duplicated(y, dy), Const(a), Duplicated(x, dx))),
            ("stencil", 2 * 4 * n, lambda: K.stencil[grid, block](y, x, np.float32(0.2)),
             lambda det: adcuda.gradient_kernel(K.stencil, deterministic=det)[grid, block](
                 Duplicated(y, dy), Duplicated(x, dx), Const(np.float32(0.2)))),
        ]
        for name, nbytes, primal, grad in runs:
            t_p = _device_time(primal)
            modes = [False, True] if n <= 10_000_000 else [False]
            for det in modes:
                t_g = _device_time(lambda: grad(det))
                label = f"{name} ({'deterministic' if det else 'atomic'})"
                print(f"{label:28s} {n:11d} {t_p * 1e3:8.3f}ms {nbytes / t_p / 1e9:7.1f} "
                      f"{t_g * 1e3:8.3f}ms {t_g / t_p:9.2f} {copy_bw:10.1f}")


if __name__ == "__main__":
    cpu_table()
    if not cuda.is_available():
        print("\nno CUDA GPU here: device tests and timings skipped")
        sys.exit(0)
    if "--skip-tests" not in sys.argv:
        subprocess.run([sys.executable, "-m", "pytest", "-q",
                        str(ROOT / "tests" / "kernels" / "test_cuda_device.py")], check=False)
    gpu_table()
