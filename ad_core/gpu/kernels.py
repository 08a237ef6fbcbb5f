"""The CPU kernel backend: numba.cuda kernels run, and are differentiated, on the CPU.

Contract: :func:`cpu_kernel` turns a ``@cuda.jit`` kernel (or its Python function) into a
launcher used like the kernel, ``cpu_kernel(k)[griddim, blockdim](*args)``, that runs every
thread of the launch grid, in order, in Numba-compiled code. The kernel's source is rewritten
into a per-thread function: ``cuda.grid(n)``, ``cuda.gridsize(n)``, ``cuda.threadIdx``,
``blockIdx``, ``blockDim``, ``gridDim`` become parameters, ``cuda.atomic.add(a, i, v)``
becomes ``a[i] += v`` (exact, since threads run one after another, and bit-reproducible).

:func:`gradient_kernel` ``(kernel, *activities)[griddim, blockdim](*annotated_args)`` runs the
reverse-mode derivative of every thread (the engine differentiates the per-thread function;
shadows accumulate over threads) and returns, for each ``Active`` scalar argument, an array of
the per-thread derivatives (the caller reduces them), ``None`` for the others. Threads must not
read what other threads write in the same launch (a data race on a GPU too).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap

import numba
import numpy as np

from adtriad.ad_core import loader
from adtriad.ad_core._runtime import new_key, release
from adtriad.ad_core.annotations import Active, Const, Duplicated, DuplicatedNoNeed
from adtriad.ad_core.errors import ADError
from adtriad.ad_core.gpu.device import atomic_arrays, exclusive_arrays, written_arrays

THREAD_PARAMS = ("_tx", "_ty", "_tz", "_bx", "_by", "_bz", "_bdx", "_bdy", "_bdz",
                 "_gdx", "_gdy", "_gdz")
_AXES = {"x": 0, "y": 1, "z": 2}
_SPECIALS = {"threadIdx": "_t", "blockIdx": "_b", "blockDim": "_bd", "gridDim": "_gd"}


def _python_function(kernel):
    py = getattr(kernel, "py_func", None) or getattr(kernel, "fn", kernel)  # fn: the simulator
    if not callable(py) or not hasattr(py, "__code__"):
        raise ADError(f"{kernel!r} is not a kernel or a Python function")
    return py


class _Rewriter(ast.NodeTransformer):
    """CUDA intrinsics -> thread parameters; atomics -> sequential updates."""

    def __init__(self, cuda_names: set, filename: str, namespace: dict):
        self.cuda = cuda_names
        self.filename = filename
        self.namespace = namespace
        self.threads: dict = {}  # kernels differentiated inside this one -> binding names
        self.atomics: list = []  # lines of cuda.atomic calls

    def _is_cuda(self, node) -> bool:
        return isinstance(node, ast.Name) and node.id in self.cuda

    def visit_Attribute(self, node):
        # cuda.threadIdx.x and the like
        if isinstance(node.value, ast.Attribute) and self._is_cuda(node.value.value) and \
                node.value.attr in _SPECIALS and node.attr in _AXES:
            return ast.copy_location(ast.Name(_SPECIALS[node.value.attr] + node.attr), node)
        return self.generic_visit(node)

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Name) and self.namespace.get(f.id) is _deferred() and \
                len(node.args) >= 3 and isinstance(node.args[1], ast.Name):
            inner = self.namespace.get(node.args[1].id)
            if is_cuda_function(inner):
                # a kernel differentiated in a kernel: its per-thread function, same thread
                name = f"{node.args[1].id}__thread"
                self.threads[name] = inner
                node.args[1] = ast.Name(name)
                node.args[3:3] = [ast.Name(p) for p in THREAD_PARAMS]
        f = node.func
        if isinstance(f, ast.Attribute) and self._is_cuda(f.value) and f.attr in ("grid",
                                                                                  "gridsize"):
            ndim = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) \
                else None
            if ndim not in (1, 2, 3):
                raise ADError(f"{self.filename}:{node.lineno}: cuda.{f.attr} needs a constant "
                              "dimension 1, 2 or 3")
            axes = "xyz"[:ndim]
            if f.attr == "grid":
                parts = [f"(_b{a} * _bd{a} + _t{a})" for a in axes]
            else:
                parts = [f"(_gd{a} * _bd{a})" for a in axes]
            text = parts[0] if ndim == 1 else "(" + ", ".join(parts) + ")"
            return ast.copy_location(ast.parse(text, mode="eval").body, node)
        return self.generic_visit(node)

    def visit_Expr(self, node):
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
                isinstance(call.func.value, ast.Attribute) and \
                self._is_cuda(call.func.value.value) and call.func.value.attr == "atomic":
            self.atomics.append(node.lineno)
            if call.func.attr != "add" or len(call.args) != 3:
                raise ADError(f"{self.filename}:{node.lineno}: only cuda.atomic.add(array, "
                              "index, value) is supported on the CPU backend")
            array, index, value = (self.visit(a) for a in call.args)
            target = ast.Subscript(value=array, slice=index, ctx=ast.Store())
            return ast.copy_location(ast.AugAssign(target=target, op=ast.Add(), value=value),
                                     node)
        return self.generic_visit(node)


_THREADS: dict = {}
_FACTS: dict = {}  # python function -> KernelFacts


class KernelFacts:
    """What the CUDA target needs to know of a kernel beyond its per-thread function."""

    def __init__(self, exclusive: dict, atomic_lines: list, filename: str, differentiates: bool,
                 atomics: tuple = (set(), []), written: set | None = None):
        self.exclusive = exclusive  # array parameter -> launch condition (device.py)
        # parameters the kernel may write (None: it may write memory that is not one)
        self.written = written
        self.atomic_lines = atomic_lines
        # arrays changed only by cuda.atomic.add, and lines of atomics in any other form
        self.atomic_arrays, self.other_atomic_lines = atomics
        self.filename = filename
        self.differentiates = differentiates  # calls autodiff_deferred


def kernel_facts(kernel) -> KernelFacts:
    thread_function(kernel)
    return _FACTS[_python_function(kernel)]


def _deferred():
    from adtriad.ad_core.deferred import autodiff_deferred
    return autodiff_deferred


def _calls_deferred(py) -> bool:
    return any(v is _deferred() for k, v in py.__globals__.items()
               if k in py.__code__.co_names)


def is_cuda_function(obj) -> bool:
    """A numba.cuda kernel or device function (or its stand-in in the CUDA simulator)."""
    return type(obj).__name__ in ("CUDADispatcher", "FakeCUDAKernel")


def thread_function(kernel):
    """The per-thread Python function of a kernel, written to a real file (so the engine can
    read its source) in the derivative cache."""
    py = _python_function(kernel)
    if py in _THREADS:
        return _THREADS[py]
    try:
        src = textwrap.dedent(inspect.getsource(py))
    except (OSError, TypeError):
        raise ADError(f"the source of kernel {py.__qualname__} is not available; define it in "
                      "a .py file") from None
    tree = ast.parse(src)
    fdef = tree.body[0]
    if not isinstance(fdef, ast.FunctionDef):
        raise ADError(f"kernel {py.__qualname__} must be a def")
    from numba import cuda
    # (in the CUDA simulator a running kernel's module sees a stand-in for numba.cuda)
    cuda_names = {n for n, v in py.__globals__.items()
                  if v is cuda or type(v).__name__ == "FakeCUDAModule"}
    exclusive = exclusive_arrays(fdef, cuda_names)
    atomics = atomic_arrays(fdef, cuda_names)
    written = written_arrays(fdef)
    rewriter = _Rewriter(cuda_names, py.__code__.co_filename, py.__globals__)
    fdef = rewriter.visit(fdef)
    fdef.decorator_list = []
    fdef.name = f"{py.__name__}_thread"
    fdef.args.args = [ast.arg(arg=a) for a in THREAD_PARAMS] + fdef.args.args
    body = ast.unparse(ast.fix_missing_locations(ast.Module(body=[fdef], type_ignores=[])))
    digest = hashlib.sha256((py.__module__ + py.__qualname__ + body).encode()).hexdigest()[:16]
    module_name = f"adtriad_kernel_{digest}"
    header = ("import sys\n"
              f"globals().update({{k: v for k, v in vars(sys.modules[{py.__module__!r}]).items()"
              " if not k.startswith('__')})\n")
    for bound, inner in rewriter.threads.items():
        inner_py = _python_function(inner)
        key = f"thread:{inner_py.__module__}.{inner_py.__qualname__}"
        loader.bind(key, numba.njit(thread_function(inner)))
        header += f"from adtriad.ad_core.loader import binding\n{bound} = binding({key!r})\n"
    header += "\n\n"
    module = loader.generated(module_name, header + body + "\n")
    _THREADS[py] = getattr(module, fdef.name)
    _FACTS[py] = KernelFacts(exclusive, [py.__code__.co_firstlineno - 1 + n
                                         for n in rewriter.atomics], py.__code__.co_filename,
                             differentiates=_calls_deferred(py),
                             atomics=(atomics[0], [py.__code__.co_firstlineno - 1 + n
                                                   for n in atomics[1]]),
                             written=written)
    return _THREADS[py]


def _dims(d) -> tuple:
    d = (d,) if isinstance(d, (int, np.integer)) else tuple(d)
    if not 1 <= len(d) <= 3 or any(int(x) < 1 for x in d):
        raise ADError(f"launch dimensions must be 1 to 3 positive integers, got {d}")
    return tuple(int(x) for x in d) + (1,) * (3 - len(d))


_IDX = "tx, ty, tz, bx, by, bz, b0, b1, b2, g0, g1, g2"
# The launch grid, block by block, split into contiguous chunks of blocks; each chunk runs
# its blocks' threads in order (``k`` is the thread's linear index). With ``prange`` the
# chunks run in parallel; ``{setup}`` is what each chunk allocates for itself.
_LOOPS = """
    n_blocks = g0 * g1 * g2
    n_chunks = min(n_blocks, chunks)
    for c in {loop}(n_chunks):
{setup}        for blk in range(c * n_blocks // n_chunks, (c + 1) * n_blocks // n_chunks):
            bx = blk % g0
            by = (blk // g0) % g1
            bz = blk // (g0 * g1)
            k = blk * (b0 * b1 * b2)
            for tz in range(b2):
                for ty in range(b1):
                    for tx in range(b0):"""
_BODY = "\n" + " " * 24  # indentation inside the loops


def _compiled_loop(src: str, namespace: dict, parallel: bool):
    """Compile a launch loop whose callees are globals (so Numba can inline them)."""
    namespace = dict(namespace, np=np, prange=numba.prange)
    src = src.replace("{loop}", "prange" if parallel else "range")
    exec(compile(src, "<adtriad launch loop>", "exec"), namespace)
    return numba.njit(parallel=parallel)(namespace["loop"])


def _chunks(parallel: bool) -> int:
    return 8 * numba.get_num_threads() if parallel else 1


def _spread(name: str, n: int) -> str:
    """``name[0], name[1], ...``: inlining does not take ``*name``."""
    return "".join(f", {name}[{k}]" for k in range(n))


def _run_threads(thread, parallel: bool, n_args: int):
    loops = _LOOPS.replace("{setup}", "")
    return _compiled_loop(f"""
def loop(g0, g1, g2, b0, b1, b2, args, chunks):{loops}{_BODY}thread({_IDX}{_spread("args", n_args)})
""", {"thread": thread}, parallel)


def primal_race_free(facts: KernelFacts, names: list, args: tuple, g: tuple, b: tuple) -> bool:
    """May the threads of this launch run in parallel? Only when each array the kernel may
    write is touched only at the thread's own index, and no two arguments share memory (a
    thread could then read what another writes)."""
    if facts.written is None or facts.atomic_lines or facts.differentiates:
        return False
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    if any(np.shares_memory(x, y) for i, x in enumerate(arrays) for y in arrays[i + 1:]):
        return False
    return thread_exclusive(facts, [n for n in names if n in facts.written], g, b)


def thread_exclusive(facts: KernelFacts, arrays: list, g: tuple, b: tuple) -> bool:
    """Does every thread of this launch touch only its own elements of ``arrays``?"""
    dims = dict(zip(THREAD_PARAMS[6:], b + g))
    return not facts.atomic_lines and all(
        name in facts.exclusive and eval(facts.exclusive[name], {}, dims)  # noqa: S307
        for name in arrays)


class cpu_kernel:  # noqa: N801 - used like numba.cuda.jit's kernels
    """``cpu_kernel(kernel)[griddim, blockdim](*args)`` runs the kernel on the CPU."""

    _loops: dict = {}

    def __init__(self, kernel):
        self.thread = thread_function(kernel)
        self.facts = kernel_facts(kernel)

    def __getitem__(self, config):
        griddim, blockdim = config[:2]

        def launch(*args):
            g, b = _dims(griddim), _dims(blockdim)
            # in parallel only when no thread can see another's writes (primal_race_free)
            parallel = primal_race_free(self.facts, kernel_params(self.thread), args, g, b)
            key = (self.thread, parallel, len(args))
            if key not in self._loops:
                inlined = numba.njit(inline="always")(self.thread)
                self._loops[key] = _run_threads(inlined, parallel, len(args))
            self._loops[key](*g, *b, tuple(args), _chunks(parallel))
        return launch


class gradient_kernel:  # noqa: N801 - used like a kernel
    """``gradient_kernel(kernel, *activities)[griddim, blockdim](*annotated_args)``."""

    def __init__(self, kernel, *activities):
        self.thread = thread_function(kernel)
        self.facts = kernel_facts(kernel)
        self.activities = activities

    def __getitem__(self, config):
        griddim, blockdim = config[:2]
        return lambda *args: self._launch(griddim, blockdim, args)

    def _launch(self, griddim, blockdim, args):
        from adtriad.ad_core import api
        check_activities(self.activities, args)
        g, b = _dims(griddim), _dims(blockdim)
        n_threads = int(np.prod(g) * np.prod(b))
        anns = [Const(0)] * len(THREAD_PARAMS) + list(args)
        anns, vals, mask = api._prepare(api.Reverse, self.thread, anns)
        module = api._module(self.thread, "reverse", vals, mask, hidden=False)
        if module.RESULT_KIND != "none":
            raise ADError("a kernel must not return a value")
        n_active = sum(isinstance(a, Active) for a in anns)
        per_thread = np.zeros((max(n_active, 1), n_threads))
        bars = api._shadows(anns, 1, arrays_only=True)
        call_vals = api._call_values(anns)[len(THREAD_PARAMS):]
        names = kernel_params(self.thread)
        shadowed = [names[k] for k, a in enumerate(args) if isinstance(a, (Duplicated, DuplicatedNoNeed))]
        parallel = thread_exclusive(self.facts, shadowed, g, b)
        chunks = _chunks(parallel)
        key = new_key(chunks)  # one spill key per chunk of threads
        try:
            _reverse_threads(module, n_active, parallel, len(call_vals), len(bars))(
                *g, *b, tuple(call_vals), tuple(bars), per_thread, chunks, key)
        finally:
            for k in range(key, key + chunks):
                release(k)
        out, k = [], 0
        for a in args:
            if isinstance(a, Active):
                out.append(per_thread[k].astype(np.asarray(a.val).dtype))
                k += 1
            else:
                out.append(None)
        return tuple(out)


def check_activities(activities: tuple, args: tuple) -> None:
    """The annotations a gradient kernel is launched with match those it was made for."""
    if activities and tuple(type(a) if not isinstance(a, type) else a
                            for a in args) != tuple(activities):
        got = [type(a).__name__ for a in args]
        raise ADError(f"gradient_kernel was made for activities "
                      f"{[a.__name__ for a in activities]}; got {got}")


_REVERSE_LOOPS: dict = {}


def _inlined(dispatcher):
    """The same compiled function, inlined into the launch loop (one thread's sweeps are a
    few instructions: a call per thread would cost more than the work)."""
    return numba.njit(inline="always")(dispatcher.py_func)


def kernel_params(thread) -> list:
    """A per-thread function's kernel parameters (after the thread parameters)."""
    code = thread.__code__
    return list(code.co_varnames[len(THREAD_PARAMS):code.co_argcount])


def _reverse_threads(module, n_active: int, parallel: bool, n_vals: int, n_bars: int):
    """A compiled loop running every thread's augmented and adjoint sweeps; shadows
    accumulate, and thread k's scalar derivatives land in column k of per_thread. Parallel
    only when no two threads touch the same shadow element. (Written out per count of
    active scalars: a tuple's items are indexed by constants.)"""
    key = (module.__name__, n_active, parallel, n_vals, n_bars)
    if key not in _REVERSE_LOOPS:
        stores = "".join(f"{_BODY}per_thread[{j}, k] = derivs[{j}]" for j in range(n_active))
        setup = ("        tf = np.empty(1024, np.float64)\n"
                 "        ti = np.empty(1024, np.int64)\n")
        loops = _LOOPS.replace("{setup}", setup)
        vals, bars = _spread("vals", n_vals), _spread("bars", n_bars)
        _REVERSE_LOOPS[key] = _compiled_loop(f"""
def loop(g0, g1, g2, b0, b1, b2, vals, bars, per_thread, chunks, key):{loops}{_BODY}result, nf, ni = augmented({_IDX}{vals}, tf, 0, ti, 0, key + c){_BODY}derivs = adjoint({_IDX}{vals}{bars}, 0.0, tf, nf, ti, ni, key + c){stores}{_BODY}k += 1
""", {"augmented": _inlined(module.augmented_core), "adjoint": _inlined(module.adjoint)},
            parallel)
    return _REVERSE_LOOPS[key]
