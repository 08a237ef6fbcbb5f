"""adtriad.ad_core.gpu.cuda without a GPU: gradient_kernel falls back to the CPU kernel backend
with the same results, settings are checked, and the CPU backend's parallel path (threads
owning their elements) gives the same bits as running the threads in order."""

import sys
from pathlib import Path

import numpy as np
import pytest
from numba import cuda

from adtriad.ad_core import ADError, Active, Duplicated
from adtriad.ad_core.gpu import cuda as adcuda
from adtriad.ad_core.gpu import device, kernels

sys.path.insert(0, str(Path(__file__).parent))
import kernel_defs as K  # noqa: E402

pytestmark = pytest.mark.skipif(cuda.is_available() or adcuda.SIMULATOR,
                                reason="checks the machine-without-a-GPU path")


def test_gradient_kernel_falls_back_to_the_cpu_backend():
    x = np.random.default_rng(42).random(256).astype(np.float32)
    dx = np.zeros(256, np.float32)
    _, da, _ = adcuda.gradient_kernel(K.saxpy_kernel)[1, 256](
        Duplicated(np.zeros(256, np.float32), np.ones(256, np.float32)),
        Active(np.float32(2.0)), Duplicated(x, dx))
    assert np.all(dx == 2.0)
    np.testing.assert_array_equal(da, x)


def test_settings_are_checked():
    with pytest.raises(ADError, match="tape_slots needs a positive count"):
        adcuda.tape_slots(0)


def test_exclusivity_analysis():
    facts = kernels.kernel_facts(K.stencil)
    assert set(facts.exclusive) == {"out"}  # u is read at i - 1 and i + 1 too
    assert set(kernels.kernel_facts(K.grid_2d).exclusive) == {"out"}  # a[i, 0] is shared
    assert set(kernels.kernel_facts(K.scale_by_shared).exclusive) == {"out", "x"}
    assert kernels.kernel_facts(K.sum_squares_atomic).atomic_lines
    assert kernels.thread_exclusive(facts, ["out"], (4, 1, 1), (32, 1, 1))
    assert not kernels.thread_exclusive(facts, ["out"], (4, 2, 1), (32, 1, 1))  # 2-D launch
    assert not kernels.thread_exclusive(facts, ["out", "u"], (4, 1, 1), (32, 1, 1))


def test_parallel_cpu_gradient_matches_threads_in_order(monkeypatch):
    x = np.linspace(0.1, 1.0, 4096)
    seed = np.cos(np.arange(4096.0))

    def run():
        dx = np.zeros(4096)
        kernels.gradient_kernel(K.scale_by_shared)[16, 256](
            Duplicated(np.zeros(4096), seed.copy()), Duplicated(x, dx), np.array([1.5]))
        return dx

    parallel = run()
    monkeypatch.setattr(kernels, "thread_exclusive", lambda *a: False)
    in_order = run()
    np.testing.assert_array_equal(parallel, in_order)
    np.testing.assert_allclose(parallel, 2 * 1.5 * x * seed, rtol=1e-12)


def test_static_tape_bound():
    src = '''
def f__augmented0(x, _ad_tape_f, _ad_tape_nf, _ad_tape_i, _ad_tape_ni):
    _ad_tape_nf += 1
    _ad_tape_ni += 1
    return _ad_tape_nf, _ad_tape_ni

def f__adjoint0(x, _ad_tape_f, _ad_tape_nf, _ad_tape_i, _ad_tape_ni):
    _ad_tape_nf -= 1
    _ad_tape_nf += 1
    return _ad_tape_nf, _ad_tape_ni
'''
    assert device.tape_bound(src) == (2, 1)
    looped = src.replace("    _ad_tape_ni += 1", "    for k in range(3):\n        _ad_tape_ni += 1")
    assert device.tape_bound(looped) is None


def test_logged_contributions_are_summed_in_thread_order():
    log_v = np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0]])
    log_k = np.zeros((2, 4), np.int64)
    for t, entries in enumerate([[(0, 1), (1, 0)], [(0, 1)]]):
        for n, (slot, flat) in enumerate(entries):
            device.log_add(log_v[t], log_k[t], slot, flat, log_v[t, n])
    a, b = np.zeros(3), np.zeros(2)
    device.reduce_logs(log_v, log_k, [a, b])
    np.testing.assert_array_equal(a, [0.0, 4.0, 0.0])
    np.testing.assert_array_equal(b, [2.0, 0.0])


@pytest.mark.parametrize("first", ["adtriad.ad_core", "numba.cuda"])
def test_cuda_overload_is_registered_whichever_is_imported_first(first):
    import subprocess
    other = "numba.cuda" if first == "adtriad.ad_core" else "adtriad.ad_core"
    code = (f"import sys, {first}, {other}\n"
            "assert 'adtriad.ad_core.gpu.cuda' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_importing_adtriad_does_not_import_numba_cuda():
    import subprocess
    code = "import sys, adtriad.ad_core\nassert 'numba.cuda' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
