"""Random programs in the subset the engine claims to differentiate, and the harness that checks them.

The generator writes the Python source of a module holding a function ``f`` with a few float
scalar parameters (``x``, ``y``, ``r``), one or two float64 array parameters (``a``, ``b``) and one or
two int parameters (``n``, ``m``, between 0 and :data:`NMAX`), plus zero to two helper functions
(``g0``, ``g1``, each ``@numba.njit``) that ``f`` calls. The programs use what API.md lists under
"What can be differentiated": ``for`` loops over ``range`` with bounds taken from the int
parameters (so 0, 1 and several trips occur), nested loops, ``while`` loops with a counter,
``if/elif/else`` on float and int comparisons, ``break``, ``continue``, early ``return``, scalar
overwrites, array element reads and writes (including reads of overwritten elements), a local
array made once at the top (``np.zeros``, ``np.empty`` then filled, ``np.zeros_like``, ``np.copy``),
``math`` functions, ``min``/``max`` and tuples built and unpacked. Values stay bounded (assignments
inside loops are squashed with ``tanh``/``sin``; ``log``, ``sqrt``, ``atan2`` and ``hypot`` only see
arguments away from their singularities), so programs never overflow or leave a domain.

One generator serves two drivers: :func:`programs` (a Hypothesis strategy, whose draws Hypothesis
shrinks) and :func:`random_program` (a seeded ``random.Random``, for the fuzzing script). Every
choice is ordered simplest first, so shrinking makes programs shorter.

The harness (:func:`run_program`) writes the module to a real file (the engine reads source with
``inspect.getsource``), imports it, checks that ``numba.njit`` compiles the primal and agrees with
Python, draws inputs away from branch switches (see :func:`stable_inputs`) and calls
``check_grads`` in the requested modes, classifying the result per mode as ``ok``, ``refused``
(an ``ADError``), ``wrong`` (a mismatch) or ``crash`` (any other exception).
"""

from __future__ import annotations

import ast
import atexit
import importlib
import importlib.util
import itertools
import math
import operator
import os
import random
import re
import shutil
import sys
import tempfile
import traceback
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

NMAX = 3  # int parameters take values 0..NMAX
LMIN, LMAX = 4, 6  # array lengths (every int variable stays a valid index below LMIN)
MAX_LOOP_DEPTH = 3

__all__ = [
    "Program",
    "Outcome",
    "programs",
    "random_program",
    "generate",
    "run_program",
    "run_source",
    "load_module",
    "stable_inputs",
]


# ----------------------------------------------------------------------------------------------
# Choices: a Hypothesis draw or a seeded random source; the first option is always the simplest


class Chooser:
    def integer(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[self.integer(0, len(seq) - 1)]

    def weighted(self, table: Sequence[tuple[int, Any]]) -> Any:
        table = [(w, v) for w, v in table if w > 0]
        total = sum(w for w, _ in table)
        r = self.integer(0, total - 1)
        for w, v in table:
            if r < w:
                return v
            r -= w
        raise AssertionError("unreachable")

    def chance(self, p: float) -> bool:
        return self.integer(0, 99) >= 100 - round(100 * p)


class RandomChooser(Chooser):
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser(Chooser):
    def __init__(self, draw: Callable):
        from hypothesis import strategies as st

        self.draw = draw
        self.st = st

    def integer(self, lo: int, hi: int) -> int:
        return lo if lo == hi else self.draw(self.st.integers(lo, hi))


# ----------------------------------------------------------------------------------------------
# Programs


@dataclass(frozen=True)
class Program:
    """Source of a module defining ``f``, how to call it, and the seed of its float inputs."""

    source: str
    floats: tuple[str, ...]
    arrays: tuple[tuple[str, int], ...]
    ints: tuple[str, ...]
    int_values: tuple[int, ...]
    input_seed: int = 0

    @property
    def params(self) -> tuple[str, ...]:
        return self.floats + tuple(a for a, _ in self.arrays) + self.ints

    def __repr__(self) -> str:  # readable in Hypothesis' falsifying-example report
        ints = ", ".join(f"{k}={v}" for k, v in zip(self.ints, self.int_values))
        shapes = ", ".join(f"{a}: {L}" for a, L in self.arrays)
        return (f"Program(ints: {ints}; array lengths: {shapes}; input_seed={self.input_seed}; source:\n"
                f"{self.source})")


@dataclass
class _Scope:
    floats: list[str]
    writable: list[str]
    arrays: dict[str, int]  # name -> length
    writable_arrays: list[str]
    ints: dict[str, tuple[int, int]]  # name -> (lowest, highest) value
    sizes: dict[str, str] = field(default_factory=dict)  # array -> how to write its length

    def child(self) -> "_Scope":
        return _Scope(list(self.floats), list(self.writable), dict(self.arrays), list(self.writable_arrays),
                      dict(self.ints), dict(self.sizes))


_CONSTS = ("0.5", "1.5", "-0.75", "2.0", "0.25", "-1.25", "0.1", "3.0")
_THRESH = ("0.0", "0.3", "-0.2", "0.5", "-0.6", "0.8", "0.1")


class _Gen:
    def __init__(self, ch: Chooser, min_statements: int = 5, max_statements: int = 20, numpy: bool = True):
        self.ch = ch
        self.numpy = numpy  # also whole-array NumPy reads and slice writes
        self.min_statements, self.max_statements = min_statements, max_statements
        self.lines: list[str] = []
        self.budget = 0
        self.loop_depth = 0
        self.branch_depth = 0
        self.in_helper = False
        self.in_while = 0
        self.helpers: list[tuple[str, str]] = []  # (name, kind): "ff" (u, v) or "fai" (u, c, k)
        self.counter = itertools.count()

    # -- output --
    def emit(self, ind: int, text: str) -> None:
        self.lines.append("    " * ind + text)

    # -- ints and indices --
    def index(self, sc: _Scope, arr: str | None, length: int, negative: bool = True) -> str:
        """An int expression that is a valid index into an array of ``length`` elements
        (``negative``: ``-1`` may be chosen)."""
        ch = self.ch
        opts: list[tuple[int, str]] = [(2, str(ch.integer(0, length - 1)))]
        for name, (lo, hi) in sc.ints.items():
            if lo >= 0 and hi <= length - 1:
                opts.append((5, name))
                if arr is not None and arr in sc.sizes:
                    opts.append((1, f"{sc.sizes[arr]} - 1 - {name}"))
                else:
                    opts.append((1, f"{length - 1} - {name}"))
            if lo >= 0 and hi + 1 <= length - 1:
                opts.append((2, f"{name} + 1"))
            if lo >= 0:
                k = ch.integer(1, 3)
                opts.append((1, f"({name} + {k}) % {length}"))
        if negative:
            opts.append((1, "-1"))
        return ch.weighted(opts)

    # -- float expressions --
    def atom(self, sc: _Scope) -> str:
        ch = self.ch
        opts = [(5, "var"), (1, "const")]
        if sc.arrays:
            opts.append((4, "arr"))
        if sc.ints:
            opts.append((1, "int"))
        if sc.arrays and self.numpy:
            opts.append((1, "numpy"))
        kind = ch.weighted(opts)
        if kind == "var":
            return ch.pick(sc.floats)
        if kind == "const":
            return ch.pick(_CONSTS)
        if kind == "arr":
            arr = ch.pick(sorted(sc.arrays))
            return f"{arr}[{self.index(sc, arr, sc.arrays[arr])}]"
        if kind == "numpy":
            arr = ch.pick(sorted(sc.arrays))
            other = ch.pick(sorted(b for b, L in sc.arrays.items() if L == sc.arrays[arr]))
            forms = [f"np.sum({arr})", f"np.mean({arr})", f"np.dot({arr}, {other})"]
            if self.loop_depth == 0 and self.branch_depth == 0 and not self.in_helper:  # a temporary array
                forms.append(f"np.sum(np.sin({arr}) * {other})")
            return ch.pick(forms)
        name = ch.pick(sorted(sc.ints))
        return ch.pick([f"0.25 * {name}", f"float({name})", f"({name} - 1.5)"])

    def expr(self, sc: _Scope, depth: int = 2) -> str:
        ch = self.ch
        if depth <= 0 or ch.chance(0.3):
            return self.atom(sc)
        d = depth - 1
        kind = ch.weighted([
            (6, "binop"), (3, "sin"), (2, "cos"), (3, "tanh"), (1, "exp"), (1, "log"), (1, "sqrt"),
            (1, "atan2"), (1, "hypot"), (2, "pow"), (1, "div"), (1, "neg"), (1, "minmax"), (1, "atan"),
            (1, "ifexp"),
        ])
        e = lambda: self.expr(sc, d)  # noqa: E731
        if kind == "binop":
            return f"({e()} {ch.pick(['+', '*', '-'])} {e()})"
        if kind in ("sin", "cos", "tanh", "atan"):
            return f"math.{kind}({e()})"
        if kind == "exp":
            return f"math.exp({ch.pick(['math.sin', 'math.tanh', 'math.cos'])}({e()}))"
        if kind == "log":
            u = e()
            return ch.pick([f"math.log(1.0 + {u} * {u})", f"math.log(2.0 + math.sin({u}))"])
        if kind == "sqrt":
            u = e()
            return ch.pick([f"math.sqrt(1.0 + {u} * {u})", f"math.sqrt(1.5 + math.cos({u}))"])
        if kind == "atan2":
            return f"math.atan2({e()}, 1.5 + math.cos({e()}))"
        if kind == "hypot":
            return ch.pick([f"math.hypot({e()}, 0.5)", f"math.hypot({e()}, 1.0 + math.sin({e()}) ** 2)"])
        if kind == "pow":
            u = e()
            return ch.pick([f"{u} ** 2", f"{u} ** 3", f"math.pow({u}, 2)", f"math.pow({u}, 3.0)"])
        if kind == "div":
            u = e()
            return ch.pick([f"{e()} / (1.0 + {u} * {u})", f"{e()} / (2.0 + math.cos({u}))"])
        if kind == "neg":
            return f"-{e()}"
        if kind == "minmax":
            return f"{ch.pick(['max', 'min'])}({e()}, {e()})"
        self.branch_depth += 1
        try:
            return f"({e()} if {self.cond(sc, 1)} else {e()})"
        finally:
            self.branch_depth -= 1

    def squashed(self, sc: _Scope, target: str | None) -> str:
        """A bounded right-hand side (loop-carried values must not grow without bound)."""
        ch = self.ch
        u = self.expr(sc)
        forms = [f"math.tanh({u})", f"math.sin({u})"]
        if target is not None:
            forms += [f"0.5 * {target} + 0.5 * math.tanh({u})",
                      f"{target} * math.tanh({u}) + 0.25 * math.sin({self.expr(sc, 1)})",
                      f"math.tanh({target} * {self.atom(sc)} + {u})"]
        return ch.pick(forms)

    def cond(self, sc: _Scope, depth: int = 2) -> str:
        ch = self.ch
        opts = [(6, "ff"), (3, "fc")]
        if sc.ints:
            opts += [(2, "int"), (1, "mixed")]
        if depth > 1:
            opts += [(1, "and"), (1, "or"), (1, "not"), (1, "chain")]
        kind = ch.weighted(opts)
        cmp = lambda: ch.pick(["<", ">", "<=", ">="])  # noqa: E731
        if kind == "ff":
            return f"{self.expr(sc, 1)} {cmp()} {self.expr(sc, 1)}"
        if kind == "fc":
            return f"{self.expr(sc, 1)} {cmp()} {ch.pick(_THRESH)}"
        if kind == "int":
            i = ch.pick(sorted(sc.ints))
            j = ch.pick(sorted(sc.ints))
            return ch.pick([f"{i} < {j}", f"{i} % 2 == 0", f"{i} == {j}", f"{i} > 0", f"{i} >= {j} - 1",
                            f"{i} != 1"])
        if kind == "mixed":
            i = ch.pick(sorted(sc.ints))
            return f"{self.expr(sc, 1)} {cmp()} 0.3 * {i}"
        if kind == "and":
            return f"{self.cond(sc, 1)} and {self.cond(sc, 1)}"
        if kind == "or":
            return f"{self.cond(sc, 1)} or {self.cond(sc, 1)}"
        if kind == "not":
            return f"not ({self.cond(sc, 1)})"
        return f"-0.5 < {self.expr(sc, 1)} < 0.5"

    # -- statements --
    def block(self, sc: _Scope, ind: int, most: int, *, can_exit: bool = False) -> None:
        """Between 1 and ``most`` statements; ``can_exit``: may end with break/continue/return."""
        n = self.ch.integer(1, max(1, most))
        start = len(self.lines)
        for k in range(n):
            if self.budget <= 0 and len(self.lines) > start:
                break
            if self.statement(sc, ind, last=(k == n - 1), can_exit=can_exit):
                break  # an unconditional exit ends the block
        if len(self.lines) == start:
            self.assign(sc, ind)

    def statement(self, sc: _Scope, ind: int, *, last: bool, can_exit: bool) -> bool:
        """Emit one statement; True when it was an unconditional break/continue/return."""
        ch = self.ch
        self.budget -= 1
        in_loop = self.loop_depth > 0
        opts = [(5, "assign"), (3, "aug")]
        if sc.writable_arrays:
            opts.append((4, "store"))
            if self.numpy and self.loop_depth == 0 and self.branch_depth == 0 and not self.in_helper:
                opts.append((1, "slice"))  # inside loops and branches: refused in reverse mode
        if self.loop_depth < MAX_LOOP_DEPTH and self.budget > 1:
            opts.append((4, "for"))
            if self.in_while == 0:
                opts.append((1, "while"))
        if self.budget > 1:
            opts.append((4, "if"))
        opts.append((1, "tuple"))
        if any(kind == "ff" or sc.arrays for _, kind in self.helpers):
            opts.append((3, "call"))
        opts.append((1, "return"))
        if in_loop:
            opts.append((2, "breakcont"))
        if last and can_exit:
            opts.append((1, "exit"))
        kind = ch.weighted(opts)
        if kind == "assign":
            self.assign(sc, ind)
        elif kind == "aug":
            self.aug(sc, ind)
        elif kind == "store":
            self.store(sc, ind)
        elif kind == "slice":
            self.slice_store(sc, ind)
        elif kind == "for":
            self.for_loop(sc, ind)
        elif kind == "while":
            self.while_loop(sc, ind)
        elif kind == "if":
            self.if_stmt(sc, ind)
        elif kind == "tuple":
            self.tuple_stmt(sc, ind)
        elif kind == "call":
            self.call(sc, ind)
        elif kind == "return":
            self.emit(ind, f"if {self.cond(sc)}:")
            self.emit(ind + 1, f"return {self.expr(sc)}")
        elif kind == "breakcont":
            self.emit(ind, f"if {self.cond(sc)}:")
            self.emit(ind + 1, ch.pick(["break", "continue"]))
        else:
            exits = ["return"] + (["break", "continue"] if in_loop else [])
            what = ch.pick(exits)
            self.emit(ind, f"return {self.expr(sc)}" if what == "return" else what)
            return True
        return False

    def assign(self, sc: _Scope, ind: int) -> None:
        target = self.ch.pick(sc.writable)
        if self.loop_depth > 0 or self.in_while:
            rhs = self.squashed(sc, target)
        else:
            rhs = self.ch.pick([self.expr(sc), f"{target} * {self.atom(sc)} + {self.expr(sc, 1)}",
                                self.squashed(sc, target)])
        self.emit(ind, f"{target} = {rhs}")

    def aug(self, sc: _Scope, ind: int) -> None:
        ch = self.ch
        target = ch.pick(sc.writable)
        op = ch.pick(["+=", "-=", "*="])
        if op == "*=":
            rhs = ch.pick([f"math.tanh({self.expr(sc)})", f"0.5 + 0.25 * math.cos({self.expr(sc)})"])
        elif self.loop_depth > 0:
            rhs = f"0.5 * math.sin({self.expr(sc)})"
        else:
            rhs = self.expr(sc)
        self.emit(ind, f"{target} {op} {rhs}")

    def store(self, sc: _Scope, ind: int) -> None:
        ch = self.ch
        arr = ch.pick(sc.writable_arrays)
        target = f"{arr}[{self.index(sc, arr, sc.arrays[arr])}]"
        op = ch.pick(["=", "+=", "*=", "-="])
        if op == "*=":
            rhs = f"math.tanh({self.expr(sc)})"
        elif op == "=":
            rhs = self.squashed(sc, target if ch.chance(0.4) else None) if self.loop_depth else self.expr(sc)
        else:
            rhs = f"0.5 * math.sin({self.expr(sc)})" if self.loop_depth else self.expr(sc)
        self.emit(ind, f"{target} {op} {rhs}")

    def slice_store(self, sc: _Scope, ind: int) -> None:
        """A whole-array or basic-slice write of an element-wise NumPy expression."""
        ch = self.ch
        dst = ch.pick(sc.writable_arrays)
        L = sc.arrays[dst]
        src = ch.pick(sorted(b for b, n in sc.arrays.items() if n == L))
        if ch.chance(0.5):
            self.emit(ind, f"{dst}[:] = np.tanh({src} * {self.expr(sc, 1)} + {self.atom(sc)})")
        else:
            lo = ch.integer(0, L - 2)
            hi = ch.integer(lo + 1, L)
            self.emit(ind, f"{dst}[{lo}:{hi}] = np.sin({dst}[{lo}:{hi}] + {self.expr(sc, 1)})")

    def range_of(self, sc: _Scope) -> tuple[str, int, int]:
        """A ``range(...)`` call and the (lowest, highest) value its loop variable can take."""
        ch = self.ch
        opts: list[tuple[int, tuple[str, int, int]]] = []
        for name, (lo, hi) in sorted(sc.ints.items()):
            if lo < 0:
                continue
            opts.append((4, (f"range({name})", 0, hi - 1)))
            opts.append((1, (f"range({name} + 1)", 0, hi)))
            opts.append((1, (f"range(1, {name})", 1, hi - 1)))
            opts.append((1, (f"range({name} - 1, -1, -1)", 0, hi - 1)))
            for other, (lo2, hi2) in sorted(sc.ints.items()):
                if other != name and lo2 >= 0:
                    opts.append((1, (f"range({name}, {other})", lo, hi2 - 1)))
        for arr, L in sorted(sc.arrays.items()):
            size = sc.sizes.get(arr)
            if size is not None:
                opts.append((1, (f"range({size})", 0, L - 1)))
                opts.append((1, (f"range(0, {size}, 2)", 0, L - 1)))
        opts.append((1, ("range(2)", 0, 1)))
        text, lo, hi = ch.weighted(opts)
        return text, lo, max(lo, hi)

    def loop_var(self) -> str:
        return ("i", "j", "q", "l")[self.loop_depth]

    def for_loop(self, sc: _Scope, ind: int) -> None:
        text, lo, hi = self.range_of(sc)
        var = self.loop_var()
        self.emit(ind, f"for {var} in {text}:")
        body = sc.child()
        body.ints[var] = (lo, hi)
        self.loop_depth += 1
        self.block(body, ind + 1, 4, can_exit=True)
        self.loop_depth -= 1

    def while_loop(self, sc: _Scope, ind: int) -> None:
        ch = self.ch
        c = f"c{next(self.counter)}"
        opts = [(3, (name, hi)) for name, (lo, hi) in sorted(sc.ints.items()) if lo >= 0]
        opts.append((1, ("3", 3)))
        bound, hi = ch.weighted(opts)
        if ch.chance(0.3):
            bound, hi = f"{bound} + 1", hi + 1
        self.emit(ind, f"{c} = 0")
        guard = f"{c} < {bound}"
        if ch.chance(0.4):
            guard += f" and {self.cond(sc, 1)}"
        self.emit(ind, f"while {guard}:")
        self.emit(ind + 1, f"{c} += 1")
        body = sc.child()
        body.ints[c] = (1, max(1, hi))
        self.loop_depth += 1
        self.in_while += 1
        self.block(body, ind + 1, 3, can_exit=True)
        self.in_while -= 1
        self.loop_depth -= 1
        sc.ints[c] = (0, max(0, hi))

    def if_stmt(self, sc: _Scope, ind: int) -> None:
        self.branch_depth += 1
        try:
            self._if_stmt(sc, ind)
        finally:
            self.branch_depth -= 1

    def _if_stmt(self, sc: _Scope, ind: int) -> None:
        ch = self.ch
        self.emit(ind, f"if {self.cond(sc)}:")
        self.block(sc.child(), ind + 1, 3, can_exit=True)
        if ch.chance(0.25) and self.budget > 0:
            self.emit(ind, f"elif {self.cond(sc)}:")
            self.block(sc.child(), ind + 1, 2, can_exit=True)
        if ch.chance(0.45) and self.budget > 0:
            self.emit(ind, "else:")
            self.block(sc.child(), ind + 1, 2, can_exit=True)

    def tuple_stmt(self, sc: _Scope, ind: int) -> None:
        ch = self.ch
        if len(sc.writable) < 2:
            self.assign(sc, ind)
            return
        s, t = ch.pick(list(itertools.permutations(sc.writable, 2)))
        kind = ch.integer(0, 2)
        squash = self.loop_depth > 0
        e = (lambda: f"math.tanh({self.expr(sc)})") if squash else (lambda: self.expr(sc))
        if kind == 0:
            p = f"p{next(self.counter)}"
            self.emit(ind, f"{p} = ({e()}, {e()})")
            self.emit(ind, f"{s}, {t} = {p}")
        elif kind == 1:
            self.emit(ind, f"{s}, {t} = {t}, {s}")
        else:
            p = f"p{next(self.counter)}"
            self.emit(ind, f"{p} = ({e()}, {e()}, {e()})")
            self.emit(ind, f"{s} = {p}[0] * {p}[2] + {p}[1]")

    def call(self, sc: _Scope, ind: int) -> None:
        ch = self.ch
        name, kind = ch.pick([h for h in self.helpers if h[1] == "ff" or sc.arrays])
        target = ch.pick(sc.writable)
        if kind == "ff":
            args = f"{self.expr(sc, 1)}, {self.expr(sc, 1)}"
        else:
            arr = ch.pick(sorted(sc.arrays))
            args = f"{self.expr(sc, 1)}, {arr}, {self.index(sc, None, LMIN, negative=False)}"
        rhs = f"{name}({args})"
        if self.loop_depth > 0:
            rhs = f"math.tanh({rhs})"
        elif ch.chance(0.3):
            rhs = f"{target} + {rhs}"
        self.emit(ind, f"{target} = {rhs}")

    # -- functions --
    def helper(self, k: int) -> str:
        ch = self.ch
        kind = ch.pick(["ff", "fai"])
        name = f"g{k}"
        self.in_helper = True
        start = len(self.lines)
        if kind == "ff":
            self.emit(0, "@numba.njit")
            self.emit(0, f"def {name}(u, v):")
            sc = _Scope(["u", "v"], ["u", "v"], {}, [], {})
        else:
            self.emit(0, "@numba.njit")
            self.emit(0, f"def {name}(u, c, k):")
            sc = _Scope(["u"], ["u"], {"c": LMIN}, ["c"] if ch.chance(0.5) else [], {"k": (0, LMIN - 1)})
        self.emit(1, f"w = {self.expr(sc)}")
        sc.floats.append("w")
        sc.writable.append("w")
        self.budget = ch.integer(1, 4)
        self.block(sc, 1, 4)
        self.emit(1, f"return {self.expr(sc)}")
        self.lines.append("")
        self.lines.append("")
        self.helpers.append((name, kind))
        self.in_helper = False
        return "\n".join(self.lines[start:])

    def main(self) -> Program:
        ch = self.ch
        n_floats = ch.integer(1, 3)
        n_arrays = ch.integer(1, 2)
        n_ints = ch.integer(1, 2)
        floats = ("x", "y", "r")[:n_floats]
        arrays = tuple((("a", "b")[i], ch.integer(LMIN, LMAX)) for i in range(n_arrays))
        ints = ("n", "m")[:n_ints]
        lines_before = len(self.lines)
        for k in range(ch.weighted([(2, 0), (3, 1), (2, 2)])):
            self.helper(k)
        helpers_src = self.lines[lines_before:]
        self.lines = []
        if ch.chance(0.3):
            self.emit(0, "@numba.njit")
        self.emit(0, f"def f({', '.join(floats + tuple(a for a, _ in arrays) + ints)}):")
        sc = _Scope(list(floats), list(floats), dict(arrays), [a for a, _ in arrays],
                    {i: (0, NMAX) for i in ints}, {a: f"len({a})" for a, _ in arrays})
        # locals made at the top: two to four float scalars, maybe one array
        n_locals = ch.integer(2, 4)
        for name in ("s", "t", "u", "v")[:n_locals]:
            self.emit(1, f"{name} = {ch.weighted([(1, '0.0'), (3, self.expr(sc, 1))])}")
            sc.floats.append(name)
            sc.writable.append(name)
        if ch.chance(0.6):
            src, L = ch.pick(arrays)
            how = ch.integer(0, 4)
            if how == 0:
                self.emit(1, f"z = np.zeros(len({src}))")
            elif how == 1:
                self.emit(1, f"z = np.zeros({LMIN})")
                L = LMIN
            elif how == 2:
                self.emit(1, f"z = np.zeros_like({src})")
            elif how == 3:
                self.emit(1, f"z = np.copy({src})")
            else:
                self.emit(1, f"z = np.empty(len({src}))")
                self.emit(1, "for i in range(len(z)):")
                fill = sc.child()
                fill.ints["i"] = (0, L - 1)
                self.loop_depth += 1
                self.emit(2, f"z[i] = {self.expr(fill)}")
                self.loop_depth -= 1
            sc.arrays["z"] = L
            sc.writable_arrays.append("z")
            sc.sizes["z"] = "len(z)"
        self.budget = ch.integer(self.min_statements, self.max_statements)
        self.block(sc, 1, 12)
        while self.budget > 0:
            self.block(sc, 1, self.budget)
        ret = [name for name in sc.floats if name in ("s", "t", "u", "v") and ch.chance(0.6)] or ["s"]
        if ch.chance(0.5):
            ret.append(self.expr(sc))
        if "z" in sc.arrays and ch.chance(0.5):
            ret.append(f"z[{ch.integer(0, sc.arrays['z'] - 1)}]")
        self.emit(1, f"return {' + '.join(ret)}")
        header = ["import math", "", "import numba", "import numpy as np", "", ""]
        source = "\n".join(header + helpers_src + self.lines) + "\n"
        int_values = tuple(ch.integer(0, NMAX) for _ in ints)
        seed = ch.integer(0, 2**16)
        return Program(source, floats, arrays, ints, int_values, seed)


def generate(ch: Chooser, min_statements: int = 5, max_statements: int = 20, numpy: bool = True) -> Program:
    """One program, from any :class:`Chooser`; the statement budget of ``f`` is drawn between
    the bounds (helpers add up to four statements each, so ``f`` may reach about 25).
    ``numpy``: also use whole-array NumPy reads (``np.sum``, ``np.dot``...) and slice writes."""
    return _Gen(ch, min_statements, max_statements, numpy).main()


def random_program(seed: int, min_statements: int = 5, max_statements: int = 20, numpy: bool = True) -> Program:
    """The program a seed gives (for the fuzzing script; reproducible across runs)."""
    return generate(RandomChooser(seed), min_statements, max_statements, numpy)


def programs(min_statements: int = 5, max_statements: int = 20, numpy: bool = True):
    """A Hypothesis strategy of :class:`Program` (shrinks towards short, simple programs)."""
    from hypothesis import strategies as st

    @st.composite
    def _programs(draw):
        return generate(DrawChooser(draw), min_statements, max_statements, numpy)

    return _programs()


# ----------------------------------------------------------------------------------------------
# Loading: a real file (the engine reads the source) imported under a unique name

_DIR: str | None = None
_COUNT = itertools.count()


def _dir() -> str:
    global _DIR
    if _DIR is None:
        _DIR = tempfile.mkdtemp(prefix="adtriad-programs-")
        atexit.register(shutil.rmtree, _DIR, True)
    return _DIR


def load_module(source: str):
    """Write ``source`` to a new .py file and import it (a fresh module every call)."""
    name = f"adtriad_prog_{os.getpid()}_{next(_COUNT)}_{zlib.crc32(source.encode()):08x}"
    path = os.path.join(_dir(), name + ".py")
    with open(path, "w") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


# ----------------------------------------------------------------------------------------------
# Branch traces: the same program run as plain Python, recording every comparison's outcome


class _Instrument(ast.NodeTransformer):
    def __init__(self):
        self.k = 0

    def visit_FunctionDef(self, node):
        node.decorator_list = []
        self.generic_visit(node)
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        self.k += 1
        args: list[ast.expr] = [ast.Constant(self.k), node.left]
        for op, right in zip(node.ops, node.comparators):
            args += [ast.Constant(type(op).__name__), right]
        return ast.copy_location(ast.Call(ast.Name("_cmp_", ast.Load()), args, []), node)

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in ("min", "max") and len(node.args) == 2:
            self.k += 1
            new = ast.Call(ast.Name("_minmax_", ast.Load()),
                           [ast.Constant(self.k), ast.Constant(node.func.id), *node.args], [])
            return ast.copy_location(new, node)
        return node


_OPS = {"Lt": operator.lt, "Gt": operator.gt, "LtE": operator.le, "GtE": operator.ge,
        "Eq": operator.eq, "NotEq": operator.ne}


class _Trace:
    def __init__(self):
        self.outcomes: list[tuple[int, bool]] = []

    def cmp(self, k, left, *rest):
        result = True
        for op, right in zip(rest[0::2], rest[1::2]):
            r = bool(_OPS[op](left, right))
            self.outcomes.append((k, r))
            result = result and r
            left = right
        return result

    def minmax(self, k, which, u, v):
        self.outcomes.append((k, bool(u > v)))
        return max(u, v) if which == "max" else min(u, v)


def traced(source: str) -> Callable:
    """``f`` as plain Python; ``traced(src)(*args)`` returns (result, comparison outcomes)."""
    tree = _Instrument().visit(ast.parse(source))
    ast.fix_missing_locations(tree)
    code = compile(tree, "<traced program>", "exec")

    def run(*args):
        trace = _Trace()
        ns: dict[str, Any] = {"_cmp_": trace.cmp, "_minmax_": trace.minmax}
        exec(code, ns)
        res = ns["f"](*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
        return res, tuple(trace.outcomes)

    return run


def _float_inputs(program: Program, rng: np.random.Generator) -> list:
    vals: list[Any] = [float(rng.uniform(-1.5, 1.5)) for _ in program.floats]
    vals += [rng.uniform(-1.0, 1.0, L) for _, L in program.arrays]
    return vals


def _perturbed(vals: list, k: int, j: int | None, step: float, direction=None) -> list:
    out = [v.copy() if isinstance(v, np.ndarray) else v for v in vals]
    if direction is not None:
        for i, d in enumerate(direction):
            out[i] = out[i] + step * d
        return out
    if isinstance(out[k], np.ndarray):
        out[k][j] += step
    else:
        out[k] += step
    return out


def stable_inputs(program: Program, tries: int = 12, run: Callable | None = None) -> list | None:
    """Float inputs at which no comparison changes outcome within the finite-difference stencil.

    The checker's finite differences move each input element by up to 2h (h = 1e-3·max(1, |x|))
    for gradients, and all elements at once along random directions for tangents. Inputs are
    redrawn (from ``program.input_seed``) until the program's comparison outcomes are the same at
    the point and at ±1, ±2, ±3 such steps along every element and along 8 random directions.
    None when no such point was found, or the program fails in plain Python at every try.
    """
    run = run or traced(program.source)
    ints = list(program.int_values)
    rng = np.random.default_rng(program.input_seed)
    for _ in range(tries):
        vals = _float_inputs(program, rng)
        try:
            res, base = run(*vals, *ints)
            if not isinstance(res, float) or not math.isfinite(res) or abs(res) > 1e6:
                continue
            ok = True
            for k, v in enumerate(vals):
                for j in range(v.size if isinstance(v, np.ndarray) else 1):
                    x = float(v[j]) if isinstance(v, np.ndarray) else v
                    h = 1e-3 * max(1.0, abs(x))
                    for m in (-3, -2, -1, 1, 2, 3):
                        if run(*_perturbed(vals, k, j, m * h), *ints)[1] != base:
                            ok = False
                            break
                    if not ok:
                        break
                if not ok:
                    break
            if ok:
                xmax = max(float(np.max(np.abs(v))) if isinstance(v, np.ndarray) else abs(v) for v in vals)
                for _ in range(8):
                    d = [rng.standard_normal(v.shape) if isinstance(v, np.ndarray) else float(rng.standard_normal())
                         for v in vals]
                    tmax = max(float(np.max(np.abs(t))) if isinstance(t, np.ndarray) else abs(t) for t in d)
                    h = 1e-3 * max(1.0, xmax) / tmax
                    if any(run(*_perturbed(vals, 0, None, m * h, d), *ints)[1] != base for m in (-3, -2, -1, 1, 2, 3)):
                        ok = False
                        break
            if ok:
                return vals
        except Exception:  # a domain error, a bad index, a name a shrunk program lost...
            continue
    return None


# ----------------------------------------------------------------------------------------------
# Running one program through check_grads


class _RecordingEngine:
    """``adtriad.ad_core`` with every exception out of ``autodiff`` recorded by mode."""

    def __init__(self):
        self._engine = importlib.import_module("adtriad.ad_core")
        self.raised: dict[str, BaseException] = {}

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def autodiff(self, mode, *args, **kwargs):
        try:
            return self._engine.autodiff(mode, *args, **kwargs)
        except Exception as exc:
            for name in ("Reverse", "ReverseWithPrimal", "Forward", "ForwardWithPrimal"):
                if mode is getattr(self._engine, name, None):
                    self.raised[name] = exc
                    break
            else:
                self.raised[repr(mode)] = exc
            raise


@dataclass
class Outcome:
    """What happened to one program. ``status``: invalid, tie, ok, refused, wrong or crash."""

    status: str
    modes: dict[str, str] = field(default_factory=dict)  # mode -> ok / refused / wrong / crash
    detail: str = ""  # why invalid, the mismatch lines, or the exception
    refusals: dict[str, str] = field(default_factory=dict)  # mode -> first line of the ADError
    exceptions: dict[str, str] = field(default_factory=dict)  # mode -> formatted traceback
    args: list = field(default_factory=list)

    def key(self) -> tuple:
        """What a shrunk program must still show to count as the same failure."""
        if self.status == "crash":
            first = {m: _first_line_tb(self.exceptions.get(m, "")) for m, s in self.modes.items() if s == "crash"}
            return ("crash", tuple(sorted((m, d.split(":")[0]) for m, d in first.items())))
        if self.status == "wrong":
            return ("wrong", tuple(sorted(m for m, s in self.modes.items() if s == "wrong")))
        if self.status == "refused":
            return ("refused", tuple(sorted((m, normalized_message(r)) for m, r in self.refusals.items())))
        return (self.status,)


def normalized_message(line: str) -> str:
    """A message without file, line and column, and with the engine's numbered names unnumbered
    (so that the same refusal of two versions of a program compares equal)."""
    line = re.sub(r"\S*\.py:\d+(:\d+)?: ", "", line)
    return re.sub(r"\b(_ad\w*?)\d+\b", r"\1N", line)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def call_repr(program: Program, args: list) -> str:
    """The check_grads call a reproduction needs, with the inputs written out."""
    parts = []
    for name, v in zip(program.params, list(args) + list(program.int_values)):
        if name in program.floats:
            parts.append(f"Active({v!r})")
        elif isinstance(v, np.ndarray):
            parts.append(f"Duplicated(np.array({v.tolist()!r}), np.zeros({v.size}))")
        else:
            parts.append(repr(v))
    return "check_grads(f, " + ", ".join(parts) + ", modes=(\"Reverse\", \"Forward\"))"


def run_program(program: Program, modes: Sequence[str] = ("Reverse", "Forward")) -> Outcome:
    """Check one program with the engine (see the module docstring for the classification)."""
    import numba

    from adtriad.ad_core import ADTypeWarning
    from adtriad.ad_core.errors import ADError
    from adtriad.ad_core.testing import GradCheckError, check_grads

    try:
        run = traced(program.source)
        mod = load_module(program.source)
    except Exception as exc:  # the generator wrote something Python rejects
        return Outcome("invalid", detail=f"python: {_first_line(exc)}")
    args = stable_inputs(program, run=run)
    if args is None:
        return Outcome("tie", detail="no input away from a branch switch (or Python fails everywhere)")
    ints = list(program.int_values)
    f = mod.f
    try:
        jitted = f if hasattr(f, "py_func") else numba.njit(f)
        got = jitted(*[a.copy() if isinstance(a, np.ndarray) else a for a in args], *ints)
    except Exception as exc:
        return Outcome("invalid", detail=f"numba.njit: {_first_line(exc)}", args=args)
    want = run(*args, *ints)[0]
    if not (isinstance(got, float) and abs(got - want) <= 1e-9 * max(1.0, abs(want))):
        return Outcome("invalid", detail=f"numba gives {got!r}, Python {want!r}", args=args)

    engine = _RecordingEngine()
    annotated = [engine.Active(v) for v in args[: len(program.floats)]]
    annotated += [engine.Duplicated(v.copy(), np.zeros_like(v)) for v in args[len(program.floats):]]
    failures: list[str] = []
    outside: BaseException | None = None
    try:
        with warnings.catch_warnings():  # e.g. "len(a) drops the derivative": true and harmless here
            warnings.simplefilter("ignore", ADTypeWarning)
            check_grads(f, *annotated, *ints, modes=tuple(modes), engine=engine)
    except GradCheckError as err:
        failures = err.failures
    except Exception as exc:  # the checker itself failed: not the engine's mode calls
        outside = exc
    out = Outcome("ok", args=args)
    for mode in modes:
        exc = engine.raised.get(mode)
        if exc is not None:
            if isinstance(exc, ADError):
                out.modes[mode] = "refused"
                out.refusals[mode] = _first_line(exc)
            else:
                out.modes[mode] = "crash"
                out.exceptions[mode] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        elif any(line.startswith(f"[{mode}]") for line in failures):
            out.modes[mode] = "wrong"
        else:
            out.modes[mode] = "ok"
    if any(line.startswith("[dot product") for line in failures):
        out.modes["dot product"] = "wrong"
    mismatch = [line for line in failures if " the engine raised " not in line]
    if outside is not None:
        out.modes["check_grads"] = "crash"
        out.exceptions["check_grads"] = "".join(traceback.format_exception(type(outside), outside,
                                                                           outside.__traceback__))
    states = set(out.modes.values())
    out.status = ("crash" if "crash" in states else "wrong" if "wrong" in states
                  else "refused" if "refused" in states else "ok")
    lines = [f"{m}: {s}" for m, s in out.modes.items()]
    lines += [f"  {m} refused: {r}" for m, r in out.refusals.items()]
    lines += [f"  {m} raised: {_first_line_tb(t)}" for m, t in out.exceptions.items()]
    lines += [f"  {line}" for line in mismatch]
    out.detail = "\n".join(lines)
    return out


def _first_line_tb(tb: str) -> str:
    """The exception line of a formatted traceback (the last line starting with a name and ':')."""
    lines = [ln for ln in tb.strip().splitlines() if ln and not ln.startswith(" ")]
    for ln in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Warning|Exit)\b", ln):
            return ln
    return lines[-1] if lines else ""


def run_source(source: str, floats: Sequence[str], arrays: Sequence[tuple[str, int]], ints: Sequence[str],
               int_values: Sequence[int], input_seed: int = 0, modes=("Reverse", "Forward")) -> Outcome:
    """:func:`run_program` for hand-written source (regression tests)."""
    prog = Program(source, tuple(floats), tuple(tuple(a) for a in arrays), tuple(ints), tuple(int_values),
                   input_seed)
    return run_program(prog, modes)
