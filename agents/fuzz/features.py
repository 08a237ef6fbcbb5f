"""What a program is made of, as a feature vector, and the maximum-entropy choice of programs over it.

Contract: :data:`FEATURES` is one table, feature name -> predicate over a program's parsed
source (and its int arguments); :func:`features` gives the names that hold for a program, from
its source alone (so it applies to any program, generated or not). :func:`maxent_program` draws
the program of a seed so that the feature vectors of many seeds spread as evenly as the
generator allows: it writes :data:`CANDIDATES` programs from the seed and picks one with weight
``Π_j 0.5 / q_j(x_j)``, where ``q_j`` is the generator's own frequency of feature ``j``
(measured once per process on :data:`PILOT` programs). That resamples the generator's
distribution towards independent fair coins over the features — the maximum-entropy
distribution over the feature vector — instead of uniform choices over grammar rules, which
make rare combinations (a ``while`` with a ``break`` inside a nested loop calling a helper)
rarer still. Deterministic: the same seed gives the same program everywhere.
"""

from __future__ import annotations

import ast
import functools
import random
from collections.abc import Callable

from adtriad.agents.fuzz.generator import Program, random_program

__all__ = ["FEATURES", "CANDIDATES", "PILOT", "features", "feature_frequencies", "maxent_program"]

CANDIDATES = 8
PILOT = 500


class _Shape:
    """One walk over a module: its nodes by type, what occurs inside loops, the loop depth."""

    def __init__(self, tree: ast.Module, ints: tuple[int, ...]):
        self.tree, self.ints = tree, ints
        self.nodes: dict[type, list[ast.AST]] = {}
        self.in_loops: set[type] = set()
        self.depth = 0
        self._walk(tree, 0)
        self.helpers = {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name != "f"}
        self.called = set()
        for call in self.of(ast.Call):
            f = call.func
            self.called.add(f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else "")

    def _walk(self, node: ast.AST, depth: int) -> None:
        self.nodes.setdefault(type(node), []).append(node)
        if depth:
            self.in_loops.add(type(node))
        depth += isinstance(node, (ast.For, ast.While))
        self.depth = max(self.depth, depth)
        for child in ast.iter_child_nodes(node):
            self._walk(child, depth)

    def of(self, kind: type) -> list:
        return self.nodes.get(kind, [])

    def calls(self, *names: str) -> bool:
        return not self.called.isdisjoint(names)

    def stores(self, aug: bool, sliced: bool = False) -> bool:
        if aug:
            return any(isinstance(n.target, ast.Subscript) for n in self.of(ast.AugAssign))
        return any(isinstance(t, ast.Subscript) and (not sliced or isinstance(t.slice, ast.Slice))
                   for n in self.of(ast.Assign) for t in n.targets)

    def early_return(self) -> bool:
        lasts = {id(fn.body[-1]) for fn in self.of(ast.FunctionDef) if fn.body}
        return any(id(r) not in lasts for r in self.of(ast.Return))

    def local_array(self) -> bool:
        makers = ("zeros", "empty", "zeros_like", "copy", "empty_like", "ones")
        return any(isinstance(n.value, ast.Call) and isinstance(n.value.func, ast.Attribute)
                   and n.value.func.attr in makers for n in self.of(ast.Assign))

    def numpy_elementwise(self) -> bool:
        return any(isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)
                   and n.func.value.id == "np" and n.func.attr in ("sin", "tanh", "cos", "exp")
                   for n in self.of(ast.Call))


FEATURES: dict[str, Callable[[_Shape], bool]] = {
    "for": lambda s: bool(s.of(ast.For)),
    "nested loops": lambda s: s.depth >= 2,
    "three loops deep": lambda s: s.depth >= 3,
    "while": lambda s: bool(s.of(ast.While)),
    "break": lambda s: ast.Break in s.in_loops,
    "continue": lambda s: ast.Continue in s.in_loops,
    "return in a loop": lambda s: ast.Return in s.in_loops,
    "early return": lambda s: s.early_return(),
    "if": lambda s: bool(s.of(ast.If)),
    "else": lambda s: any(n.orelse for n in s.of(ast.If)),
    "conditional expression": lambda s: bool(s.of(ast.IfExp)),
    "array store": lambda s: s.stores(aug=False),
    "in-place array update": lambda s: s.stores(aug=True),
    "slice write": lambda s: s.stores(aug=False, sliced=True),
    "local array": lambda s: s.local_array(),
    "helper call": lambda s: s.calls(*s.helpers),
    "two helpers": lambda s: len(s.helpers) >= 2,
    "numpy reduction": lambda s: s.calls("sum", "mean", "dot"),
    "numpy elementwise": lambda s: s.numpy_elementwise(),
    "min/max": lambda s: s.calls("min", "max"),
    "tuple": lambda s: bool(s.of(ast.Tuple)),
    "two-argument math": lambda s: s.calls("atan2", "hypot", "pow"),
    "zero trips": lambda s: 0 in s.ints,
    "jitted entry": lambda s: any(n.name == "f" and n.decorator_list for n in s.of(ast.FunctionDef)),
}


def features(program: Program) -> tuple[str, ...]:
    """The names of :data:`FEATURES` that hold for ``program`` (in the table's order)."""
    shape = _Shape(ast.parse(program.source), tuple(program.int_values))
    return tuple(name for name, holds in FEATURES.items() if holds(shape))


@functools.lru_cache(maxsize=8)
def feature_frequencies(min_statements: int = 5, max_statements: int = 20) -> dict[str, float]:
    """How often the plain generator shows each feature (over :data:`PILOT` fixed seeds)."""
    counts = dict.fromkeys(FEATURES, 0)
    for k in range(PILOT):
        for name in features(random_program(10_000_019 + k, min_statements, max_statements)):
            counts[name] += 1
    return {name: min(0.98, max(0.02, n / PILOT)) for name, n in counts.items()}


def maxent_program(seed: int, min_statements: int = 5, max_statements: int = 20) -> Program:
    """The program of ``seed``, resampled towards maximum entropy over :data:`FEATURES`."""
    q = feature_frequencies(min_statements, max_statements)
    rng = random.Random(seed)
    candidates = [random_program(rng.getrandbits(48), min_statements, max_statements) for _ in range(CANDIDATES)]
    weights = []
    for program in candidates:
        present = set(features(program))
        w = 1.0
        for name, p in q.items():
            w *= 0.5 / (p if name in present else 1.0 - p)
        weights.append(w)
    return rng.choices(candidates, weights)[0]
