"""Random programs in the subset the engine claims to differentiate, from a seed or any source of choices.

:func:`generate` writes the Python source of a module holding a function ``f`` with a few float
scalar parameters (``x``, ``y``, ``r``), one or two float64 array parameters (``a``, ``b``) and
one or two int parameters (``n``, ``m``, between 0 and :data:`NMAX`), plus zero to two helper
functions (``g0``, ``g1``, each ``@numba.njit``) that ``f`` calls. The programs use what API.md
lists under "What can be differentiated": ``for`` loops over ``range`` with bounds taken from
the int parameters (so 0, 1 and several trips occur), nested loops, ``while`` loops with a
counter, ``if/elif/else`` on float and int comparisons, ``break``, ``continue``, early
``return``, scalar overwrites, array element reads and writes (including reads of overwritten
elements), a local array made once at the top (``np.zeros``, ``np.empty`` then filled,
``np.zeros_like``, ``np.copy``), ``math`` functions, ``min``/``max``, whole-array NumPy reads and
slice writes, and tuples built and unpacked. Values stay bounded (assignments inside loops are
squashed with ``tanh``/``sin``; ``log``, ``sqrt``, ``atan2`` and ``hypot`` only see arguments
away from their singularities), so programs never overflow or leave a domain.

Choices come from a :class:`Chooser`: :class:`RandomChooser` (a seeded ``random.Random``;
:func:`random_program` gives the program of a seed, the same on every machine) or one that draws
from Hypothesis (the test suite's strategy), which shrinks the draws. Every choice is ordered
simplest first, so shrinking makes programs shorter.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Any, Sequence

NMAX = 3  # int parameters take values 0..NMAX
LMIN, LMAX = 4, 6  # array lengths (every int variable stays a valid index below LMIN)
MAX_LOOP_DEPTH = 3

__all__ = ["Chooser", "RandomChooser", "Program", "generate", "random_program", "NMAX", "LMIN", "LMAX"]


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


# ----------------------------------------------------------------------------------------------
# Programs


@dataclass(frozen=True)
class Program:
    """Source of a module defining ``f``, how to call it, and the seed of its float inputs
    (``inputs``, when given, are the float inputs themselves: a number per float parameter and
    a tuple per array, as a search found them)."""

    source: str
    floats: tuple[str, ...]
    arrays: tuple[tuple[str, int], ...]
    ints: tuple[str, ...]
    int_values: tuple[int, ...]
    input_seed: int = 0
    inputs: tuple | None = None

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
