"""Compile CUDA kernels to PTX on a machine without a GPU.

Numba asks the current device for its compute capability when a kernel calls device
functions; :func:`no_device` answers for a device that is not there.
"""

import contextlib
from unittest import mock

CC = (8, 0)


class _Device:
    compute_capability = CC


class _Context:
    device = _Device()


@contextlib.contextmanager
def no_device():
    import numba.cuda.codegen as codegen
    import numba.cuda.dispatcher as dispatcher
    with mock.patch.object(dispatcher, "get_current_device", lambda: _Device()), \
            mock.patch.object(codegen.devices, "get_context", lambda *a: _Context()):
        yield
