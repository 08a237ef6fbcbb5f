"""Kernel check: primal and gradient kernels for saxpy and a stencil.

On the CPU (always): the CPU kernel backend's gradient/primal time ratio, both run by
adtriad's backend, at n = 1e5 and 1e6. On a machine with a CUDA GPU (numba.cuda.is_available()),
also the primal kernels on the device at 1e7 and 1e8 elements with the achieved bandwidth beside
a device-to-device copy (CuPy when installed). Gradient kernels on a real GPU need
autodiff_deferred's CUDA target, which does not exist yet: the script says so instead of timing.

Run: python benchmarks/gpu_check.py. Prints a table; asserts nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from numba import cuda

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "kernels"))
import kernel_defs as K  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from timing import median_time  # noqa: E402
from adtriad.ad_core import Const, Duplicated  # noqa: E402
from adtriad.ad_core.kernels import cpu_kernel, gradient_kernel  # noqa: E402



def cpu_table() -> None:
    print(f"{'CPU backend':24s} {'n':>9s} {'primal':>10s} {'gradient':>10s} {'grad/pri':>9s}")
    for n in (100_000, 1_000_000):
        block = 256
        grid = n // block
        x = np.random.default_rng(0).random(n)
        y = np.zeros(n)
        t_p = median_time(lambda: cpu_kernel(K.saxpy_kernel)[grid, block](y, 2.0, x))
        t_g = median_time(lambda: gradient_kernel(K.saxpy_kernel)[grid, block](
            Duplicated(y, np.ones(n)), Const(2.0), Duplicated(x, np.zeros(n))))
        print(f"{'saxpy':24s} {n:9d} {t_p * 1e3:8.2f}ms {t_g * 1e3:8.2f}ms {t_g / t_p:9.2f}")
        out = np.zeros(n)
        t_p = median_time(lambda: cpu_kernel(K.stencil)[grid, block](out, x, 0.2))
        t_g = median_time(lambda: gradient_kernel(K.stencil)[grid, block](
            Duplicated(out, np.ones(n)), Duplicated(x, np.zeros(n)), Const(0.2)))
        print(f"{'stencil':24s} {n:9d} {t_p * 1e3:8.2f}ms {t_g * 1e3:8.2f}ms {t_g / t_p:9.2f}")


def gpu_table() -> None:
    if not cuda.is_available():
        print("\nno CUDA GPU here: device timings skipped")
        return
    print(f"\n{'GPU primal kernels':24s} {'n':>11s} {'time':>10s} {'GB/s':>8s} {'copy GB/s':>10s}")
    for n in (10_000_000, 100_000_000):
        x = cuda.to_device(np.random.default_rng(0).random(n).astype(np.float32))
        y = cuda.device_array(n, np.float32)
        block = 256
        grid = (n + block - 1) // block

        def run():
            K.stencil[grid, block](y, x, np.float32(0.2))
            cuda.synchronize()

        t = median_time(run)
        try:
            import cupy as cp
            a = cp.asarray(x)
            t_copy = median_time(lambda: (a.copy(), cp.cuda.Device().synchronize()))
            copy_bw = f"{2 * a.nbytes / t_copy / 1e9:10.1f}"
        except Exception:  # CuPy missing or unusable: bandwidth of the copy not measured
            copy_bw = "       n/a"
        print(f"{'stencil':24s} {n:11d} {t * 1e3:8.3f}ms {2 * 4 * n / t / 1e9:8.1f} {copy_bw}")
    print("gradient kernels on the device: not available yet (autodiff_deferred has no CUDA "
          "target)")


if __name__ == "__main__":
    cpu_table()
    gpu_table()
