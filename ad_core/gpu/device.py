"""What generated code needs to run as CUDA device code, and the analyses that decide it.

Contract:
- :func:`exclusive_arrays` reads a kernel's per-thread function and returns the array
  parameters that every access indexes with the thread's own index (``i = cuda.grid(1)`` and
  only ``a[i]``; ``i, j = cuda.grid(2)`` and only ``a[i, j]``; ``i = cuda.threadIdx.x``), each
  with the launch condition under which that index is unique to the thread (a 1-D launch for
  ``cuda.grid(1)``: with more grid dimensions two threads share ``i``). Adjoints of those
  arrays are added without atomics when the condition holds.
- :func:`atomic_arrays` finds the array parameters a kernel changes only with
  ``cuda.atomic.add``: their adjoints are read, never zeroed, so threads can share them.
- :func:`tape_bound` reads a generated device module and returns how many values one thread
  pushes on each tape, or None where a loop pushes (the count then depends on trip counts).
- :func:`log_add` (compiled, callable from device code) appends one shared adjoint
  contribution to a thread's log; :func:`reduce_logs` adds every logged contribution into its
  shadow in thread order, which makes the deterministic mode's sums bit-reproducible.
"""

from __future__ import annotations

import ast

import numpy as np

# The thread parameters of kernels.THREAD_PARAMS, as the conditions below spell them.
_ONE_D_LAUNCH = "(_gdy == 1 and _gdz == 1 and _bdy == 1 and _bdz == 1)"
_ONE_BLOCK = "(_gdx == 1 and _gdy == 1 and _gdz == 1 and _bdy == 1 and _bdz == 1)"
_TWO_D_LAUNCH = "(_gdz == 1 and _bdz == 1)"


def _parents(tree) -> dict:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def thread_index_kind(node, cuda_names: set) -> str | None:
    """'grid1', 'grid2' or 'tid' for ``cuda.grid(1)``, ``cuda.grid(2)``, ``cuda.threadIdx.x``."""
    def is_cuda(n):
        return isinstance(n, ast.Name) and n.id in cuda_names
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            is_cuda(node.func.value) and node.func.attr == "grid" and len(node.args) == 1 and \
            isinstance(node.args[0], ast.Constant) and node.args[0].value in (1, 2):
        return f"grid{node.args[0].value}"
    if isinstance(node, ast.Attribute) and node.attr == "x" and \
            isinstance(node.value, ast.Attribute) and node.value.attr == "threadIdx" and \
            is_cuda(node.value.value):
        return "tid"
    return None


def exclusive_arrays(fdef: ast.FunctionDef, cuda_names: set) -> dict:
    """{array parameter: launch condition} for a kernel's (not yet rewritten) def."""
    stores: dict[str, int] = {}
    for node in ast.walk(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stores[node.id] = stores.get(node.id, 0) + 1
    own: dict = {}  # index pattern (a name or a pair of names) -> condition
    for s in fdef.body:
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1):
            continue
        kind, target = thread_index_kind(s.value, cuda_names), s.targets[0]
        if kind in ("grid1", "tid") and isinstance(target, ast.Name) and stores[target.id] == 1:
            own[target.id] = _ONE_D_LAUNCH if kind == "grid1" else _ONE_BLOCK
        elif kind == "grid2" and isinstance(target, ast.Tuple) and len(target.elts) == 2 and \
                all(isinstance(e, ast.Name) and stores[e.id] == 1 for e in target.elts):
            own[(target.elts[0].id, target.elts[1].id)] = _TWO_D_LAUNCH
    params = {a.arg for a in fdef.args.args}
    found: dict = {}
    refused: set = set()
    parents = _parents(fdef)
    for node in ast.walk(fdef):
        if not (isinstance(node, ast.Name) and node.id in params):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.attr in ("shape", "size", "ndim"):
            continue  # reading a shape touches no element
        pattern = None
        if isinstance(parent, ast.Subscript) and parent.value is node:
            idx = parent.slice
            if isinstance(idx, ast.Name):
                pattern = idx.id
            elif isinstance(idx, ast.Tuple) and all(isinstance(e, ast.Name) for e in idx.elts):
                pattern = tuple(e.id for e in idx.elts)
        condition = own.get(pattern)
        if condition is None or found.get(node.id, condition) != condition:
            refused.add(node.id)
        else:
            found[node.id] = condition
    return {name: cond for name, cond in found.items() if name not in refused}


def written_arrays(fdef: ast.FunctionDef) -> set | None:
    """The parameters a kernel may write: every one used other than by reading its elements
    or its shape. None when it may write memory that is no parameter (a global array, shared
    memory), or calls anything that could."""
    params = {a.arg for a in fdef.args.args}
    assigned = {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Store)}
    parents = _parents(fdef)
    written: set = set()
    for node in ast.walk(fdef):
        if isinstance(node, ast.Attribute) and node.attr in ("shared", "syncthreads"):
            return None  # threads of a block share memory
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            base = node.value
            if not isinstance(base, ast.Name) or base.id not in params | assigned:
                return None
        if not (isinstance(node, ast.Name) and node.id in params):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.attr in ("shape", "size", "ndim"):
            continue
        if isinstance(parent, ast.Subscript) and parent.value is node and \
                isinstance(parent.ctx, ast.Load):
            continue
        written.add(node.id)
    stored_locals = {n.value.id for n in ast.walk(fdef) if isinstance(n, ast.Subscript)
                     and isinstance(n.ctx, ast.Store) and isinstance(n.value, ast.Name)
                     and n.value.id not in params}
    for node in ast.walk(fdef):  # a written local bound to a parameter's memory (a view)
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in stored_locals for t in node.targets) and \
                any(isinstance(n, ast.Name) and n.id in params for n in ast.walk(node.value)):
            return None
    return written


def atomic_arrays(fdef: ast.FunctionDef, cuda_names: set) -> tuple[set, list]:
    """The array parameters a kernel changes only through ``cuda.atomic.add(a, index, value)``
    (and otherwise reads at most the shape of); and the lines of atomics outside that form."""
    def is_atomic_add(node):
        f = node.func if isinstance(node, ast.Call) else None
        return isinstance(f, ast.Attribute) and f.attr == "add" and \
            isinstance(f.value, ast.Attribute) and f.value.attr == "atomic" and \
            isinstance(f.value.value, ast.Name) and f.value.value.id in cuda_names
    parents = _parents(fdef)
    params = {a.arg for a in fdef.args.args}
    found, other = set(), []
    for node in ast.walk(fdef):
        if isinstance(node, ast.Attribute) and node.attr == "atomic" and \
                isinstance(node.value, ast.Name) and node.value.id in cuda_names:
            call = parents.get(parents.get(node))
            if is_atomic_add(call) and len(call.args) == 3 and \
                    isinstance(call.args[0], ast.Name) and call.args[0].id in params and \
                    isinstance(parents.get(call), ast.Expr):
                found.add(call.args[0].id)
            else:
                other.append(node.lineno)
    for node in ast.walk(fdef):
        if isinstance(node, ast.Name) and node.id in found:
            parent = parents.get(node)
            if isinstance(parent, ast.Attribute) and parent.attr in ("shape", "size", "ndim"):
                continue
            if not (is_atomic_add(parent) and parent.args[0] is node):
                other.append(node.lineno)
    return found, sorted(set(other))


def tape_bound(source: str) -> tuple | None:
    """(float pushes, int pushes) of one thread's augmented sweep and adjoint results, read
    from a generated device module; None where a push sits in a loop."""
    tree = ast.parse(source)
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    memo: dict = {}

    def bound(name: str):
        if name not in memo:
            memo[name] = None
            memo[name] = count(functions[name].body)
        return memo[name]

    def count(stmts):
        total = [0, 0]
        for node in stmts:
            for sub in ast.walk(node):
                if isinstance(sub, ast.AugAssign) and isinstance(sub.op, ast.Add) and \
                        isinstance(sub.target, ast.Name) and sub.target.id in ("_ad_tape_nf", "_ad_tape_ni"):
                    if _inside_loop(node, sub):
                        return None
                    total[sub.target.id.endswith("ni")] += 1
                elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and \
                        sub.func.id in functions:
                    inner = bound(sub.func.id)
                    if inner is None or _inside_loop(node, sub):
                        return None
                    total[0] += inner[0]
                    total[1] += inner[1]
        return tuple(total)

    aug = next((n for n in functions if "__augmented" in n), None)
    adj = next((n for n in functions if "__adjoint" in n), None)
    if aug is None or adj is None:
        return None
    first, second = bound(aug), bound(adj)
    if first is None or second is None:
        return None
    # the adjoint pops what the augmented sweep pushed before it pushes its results
    return (first[0] + second[0], first[1] + second[1])


def _inside_loop(root, target) -> bool:
    """Is ``target`` inside a for/while loop under ``root`` (root included)?"""
    def walk(node, in_loop):
        if node is target:
            return in_loop
        loop = in_loop or isinstance(node, (ast.For, ast.While))
        for child in ast.iter_child_nodes(node):
            found = walk(child, loop)
            if found is not None:
                return found
        return None
    return bool(walk(root, False))


SLOT_SHIFT = 40  # a log key is slot << SLOT_SHIFT | flat index


def log_add(log_v, log_k, slot, flat, value):
    """Append ``value`` for element ``flat`` of shadow ``slot``; ``log_k[0]`` counts entries
    (and goes on counting past the capacity, so the launcher sees how many were needed).
    Generated device modules compile it as a CUDA device function."""
    n = log_k[0]
    if n < log_v.shape[0]:
        log_v[n] = value
        log_k[n + 1] = (slot << SLOT_SHIFT) | flat
    log_k[0] = n + 1


def reduce_logs(log_v: np.ndarray, log_k: np.ndarray, shadows: list) -> None:
    """Add every thread's logged contributions into ``shadows`` (host arrays, by slot) in
    thread order, then entry order: the same sums, in the same order, on every run."""
    counts = log_k[:, 0]
    entries = np.arange(log_v.shape[1])[None, :] < counts[:, None]
    values = log_v[entries]                 # row-major: thread order, then entry order
    keys = log_k[:, 1:][entries]
    slots = keys >> SLOT_SHIFT
    flats = keys & ((1 << SLOT_SHIFT) - 1)
    for slot, shadow in enumerate(shadows):
        mine = slots == slot
        if np.any(mine):
            flat_view = shadow.reshape(-1)  # shadows are contiguous (checked by the launcher)
            np.add.at(flat_view, flats[mine], values[mine].astype(shadow.dtype))
