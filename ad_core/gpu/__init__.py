"""GPU-style code: ``numba.cuda`` kernels and their derivatives.

``cuda`` (the CUDA target: ``autodiff_deferred`` inside kernels, ``gradient_kernel``,
``launcher``), ``kernels`` (the CPU kernel backend that runs the same kernels on the CPU, in
parallel where provably race-free) and ``device`` (what both need to know of a kernel: which
arrays it writes, which only by the thread's own index, and the device-side helpers). Importing
this package imports none of them, so ``numba.cuda`` is loaded only where a kernel is used.
See docs/gpu.md.
"""
