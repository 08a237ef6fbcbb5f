"""The normalized form every pass works on: one operation per statement.

Atoms are :class:`Name`, :class:`Const` or :class:`Ref` (a global object spelled in generated
code, such as ``np.float32``). Expressions hold only atoms. Statements are assignments to a
name, stores into an array element, call statements, ``If`` on an atom, counted ``For`` over a
range, ``While`` (``while True`` that leaves when its exit flag is set at the end of an
iteration) and one final ``Return``. ``break``, ``continue`` and early returns have been turned
into flags by :mod:`~adtriad.ad_core.normalize`, so every loop exits only at the end of an
iteration: that is what makes loops reversible from a trip count.

:func:`to_source` prints statements back as Python; every line can carry its origin.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Const:
    value: Any


@dataclass(frozen=True)
class Ref:
    """A global object, spelled ``text`` in generated code (bound in the module namespace)."""

    text: str


Atom = Union[Name, Const, Ref]


@dataclass(frozen=True)
class Slice:
    lower: Atom | None
    upper: Atom | None
    step: Atom | None


@dataclass(frozen=True)
class Fn:
    """A resolved callee: ``key`` selects its derivative rule; ``text`` is how code spells it."""

    key: str
    text: str
    obj: Any = None
    user: Any = None  # a SourceFunction for user functions


@dataclass
class BinOp:
    op: str
    left: Atom
    right: Atom


@dataclass
class UnaryOp:
    op: str
    operand: Atom


@dataclass
class Compare:
    op: str
    left: Atom
    right: Atom


@dataclass
class Call:
    fn: Fn
    args: list
    kwargs: dict = field(default_factory=dict)


@dataclass
class Method:
    """``obj.method(args)``, e.g. ``a.copy()``."""

    obj: Name
    method: str
    args: list = field(default_factory=list)


@dataclass
class Index:
    value: Name
    index: tuple  # of Atom | Slice


@dataclass
class Attr:
    value: Name
    attr: str


@dataclass
class TupleExpr:
    elts: list


@dataclass
class ListExpr:
    elts: list


Expr = Union[Atom, BinOp, UnaryOp, Compare, Call, Method, Index, Attr, TupleExpr, ListExpr]


@dataclass
class Loc:
    filename: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.col + 1}"


@dataclass
class Assign:
    target: str
    value: Expr
    loc: Loc
    inplace: bool = False  # came from `name op= value` (in place when name is an array)


@dataclass
class Store:
    target: str
    index: tuple
    value: Atom
    loc: Loc


@dataclass
class ExprStmt:
    value: Call
    loc: Loc


@dataclass
class If:
    test: Atom
    body: list
    orelse: list
    loc: Loc


@dataclass
class For:
    var: str
    start: Atom
    stop: Atom
    step: Atom
    body: list
    exit_flag: str | None
    loc: Loc
    uid: int = 0


@dataclass
class While:
    body: list
    exit_flag: str
    loc: Loc
    uid: int = 0


@dataclass
class Return:
    value: Atom | None
    loc: Loc


Stmt = Union[Assign, Store, ExprStmt, If, For, While, Return]

BINOPS = {"Add": "+", "Sub": "-", "Mult": "*", "Div": "/", "FloorDiv": "//", "Mod": "%",
          "Pow": "**", "MatMult": "@", "BitAnd": "&", "BitOr": "|", "BitXor": "^",
          "LShift": "<<", "RShift": ">>"}
CMPOPS = {"Lt": "<", "LtE": "<=", "Gt": ">", "GtE": ">=", "Eq": "==", "NotEq": "!=",
          "Is": "is", "IsNot": "is not"}
UNARYOPS = {"USub": "-", "UAdd": "+", "Not": "not ", "Invert": "~"}


def atom_src(a) -> str:
    if isinstance(a, Name):
        return a.id
    if isinstance(a, Ref):
        return a.text
    if isinstance(a, Slice):
        parts = ["" if p is None else atom_src(p) for p in (a.lower, a.upper, a.step)]
        return ":".join(parts[:2]) if a.step is None else ":".join(parts)
    if isinstance(a, Const):
        if isinstance(a.value, float) and not math.isfinite(a.value):
            # repr gives `inf`/`nan`, names generated code does not have
            return ("math.nan" if math.isnan(a.value) else
                    "math.inf" if a.value > 0 else "-math.inf")
        return repr(a.value)
    raise TypeError(a)


def index_src(index: tuple) -> str:
    if not index:  # a 0-d array's element: a[()]
        return "()"
    if len(index) == 1:
        return atom_src(index[0])
    return ", ".join(atom_src(i) for i in index)


def expr_src(e) -> str:
    """Python source of an expression."""
    if isinstance(e, (Name, Const, Ref, Slice)):
        return atom_src(e)
    if isinstance(e, BinOp):
        return f"{atom_src(e.left)} {e.op} {atom_src(e.right)}"
    if isinstance(e, UnaryOp):
        return f"{e.op}{atom_src(e.operand)}"
    if isinstance(e, Compare):
        return f"{atom_src(e.left)} {e.op} {atom_src(e.right)}"
    if isinstance(e, Call):
        args = [atom_src(a) if not isinstance(a, ListExpr) else expr_src(a) for a in e.args]
        args += [f"{k}={atom_src(v)}" for k, v in e.kwargs.items()]
        return f"{e.fn.text}({', '.join(args)})"
    if isinstance(e, Method):
        return f"{e.obj.id}.{e.method}({', '.join(atom_src(a) for a in e.args)})"
    if isinstance(e, Index):
        return f"{e.value.id}[{index_src(e.index)}]"
    if isinstance(e, Attr):
        return f"{e.value.id}.{e.attr}"
    if isinstance(e, TupleExpr):
        inner = ", ".join(atom_src(a) for a in e.elts)
        return f"({inner},)" if len(e.elts) == 1 else f"({inner})"
    if isinstance(e, ListExpr):
        return "[" + ", ".join(atom_src(a) for a in e.elts) + "]"
    raise TypeError(e)


def expr_names(e) -> list[str]:
    """Names an expression reads (in order, with repeats)."""
    out: list[str] = []

    def add(a):
        if isinstance(a, Name):
            out.append(a.id)
        elif isinstance(a, Slice):
            for p in (a.lower, a.upper, a.step):
                add(p)
        elif isinstance(a, ListExpr):
            for x in a.elts:
                add(x)

    if isinstance(e, (Name, Const, Ref)):
        add(e)
    elif isinstance(e, (BinOp, Compare)):
        add(e.left)
        add(e.right)
    elif isinstance(e, UnaryOp):
        add(e.operand)
    elif isinstance(e, Call):
        for a in list(e.args) + list(e.kwargs.values()):
            add(a)
    elif isinstance(e, Method):
        add(e.obj)
        for a in e.args:
            add(a)
    elif isinstance(e, Index):
        add(e.value)
        for a in e.index:
            add(a)
    elif isinstance(e, Attr):
        add(e.value)
    elif isinstance(e, (TupleExpr, ListExpr)):
        for a in e.elts:
            add(a)
    return out


def operands(e) -> list:
    """The operands of an expression a rule applies to: the object of a method or attribute
    comes first."""
    if isinstance(e, BinOp):
        return [e.left, e.right]
    if isinstance(e, UnaryOp):
        return [e.operand]
    if isinstance(e, Method):
        return [e.obj] + list(e.args)
    if isinstance(e, Attr):
        return [e.value]
    return list(e.args)


def reads(s) -> set[str]:
    """Names one statement reads itself (not the statements nested in it); a store reads the
    array it writes into (a part of it stays)."""
    if isinstance(s, Assign):
        return set(expr_names(s.value))
    if isinstance(s, Store):
        return {s.target} | set(expr_names(TupleExpr(list(s.index) + [s.value])))
    if isinstance(s, ExprStmt):
        return set(expr_names(s.value))
    if isinstance(s, If):
        return set(expr_names(s.test))
    if isinstance(s, For):
        return set(expr_names(TupleExpr([s.start, s.stop, s.step])))
    if isinstance(s, Return) and s.value is not None:
        return set(expr_names(s.value))
    return set()


def reads_within(s) -> set[str]:
    """Names a statement and everything nested in it read."""
    return set().union(*(reads(x) for x in walk([s])))


def assigned_in(stmts) -> set[str]:
    """Names the statements (and those nested in them) assign: targets and loop variables."""
    return {x.target if isinstance(x, Assign) else x.var for x in walk(stmts)
            if isinstance(x, (Assign, For))}


def blocks(s) -> list[list]:
    """The statement lists nested directly in ``s``."""
    if isinstance(s, If):
        return [s.body, s.orelse]
    if isinstance(s, (For, While)):
        return [s.body]
    return []


def rewrite(stmts: list, fn=lambda s: [s]) -> list:
    """Copies of the statements, nested blocks first, each replaced by the list ``fn`` gives
    for it (by default itself: a copy whose blocks can be changed without touching the
    original; expressions are shared, never mutated)."""
    out = []
    for s in stmts:
        s = copy.copy(s)
        if isinstance(s, If):
            s.body, s.orelse = rewrite(s.body, fn), rewrite(s.orelse, fn)
        elif isinstance(s, (For, While)):
            s.body = rewrite(s.body, fn)
        out.extend(fn(s))
    return out


def renamed(node, mapping):
    """A copy of statements (or of one statement or expression) with the names in
    ``mapping`` (a dict, or a function of the name) replaced, where read and where
    assigned."""
    if callable(mapping) and not isinstance(mapping, dict):
        mapping = _Renaming(mapping)
    if isinstance(node, list):
        return [renamed(x, mapping) for x in node]
    if isinstance(node, tuple):
        return tuple(renamed(x, mapping) for x in node)
    if isinstance(node, dict):
        return {k: renamed(v, mapping) for k, v in node.items()}
    if isinstance(node, Name):
        return Name(mapping.get(node.id, node.id))
    if isinstance(node, (Const, Ref, Fn, Loc)) or not dataclasses.is_dataclass(node):
        return node
    changes = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if f.name in ("target", "var", "exit_flag") and isinstance(value, str):
            changes[f.name] = mapping.get(value, value)
        else:
            changes[f.name] = renamed(value, mapping)
    return dataclasses.replace(node, **changes)


class _Renaming(dict):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def get(self, name, default=None):
        return self.fn(name)


def walk(stmts):
    """Every statement, depth first, in program order."""
    for s in stmts:
        yield s
        if isinstance(s, If):
            yield from walk(s.body)
            yield from walk(s.orelse)
        elif isinstance(s, (For, While)):
            yield from walk(s.body)


def to_source(stmts, indent: int = 1, stamp: bool = False) -> list[str]:
    """Primal Python lines for statements (used for typing and for readable output)."""
    pad = "    " * indent
    lines: list[str] = []

    def tag(s):
        return f"  # {s.loc.filename}:{s.loc.line}" if stamp else ""

    for s in stmts:
        if isinstance(s, Assign):
            lines.append(f"{pad}{s.target} = {expr_src(s.value)}{tag(s)}")
        elif isinstance(s, Store):
            lines.append(f"{pad}{s.target}[{index_src(s.index)}] = {atom_src(s.value)}{tag(s)}")
        elif isinstance(s, ExprStmt):
            lines.append(f"{pad}{expr_src(s.value)}{tag(s)}")
        elif isinstance(s, If):
            if s.body:
                lines.append(f"{pad}if {atom_src(s.test)}:{tag(s)}")
                lines += to_source(s.body, indent + 1, stamp)
                if s.orelse:
                    lines.append(f"{pad}else:")
                    lines += to_source(s.orelse, indent + 1, stamp)
            else:
                lines.append(f"{pad}if not {atom_src(s.test)}:{tag(s)}")
                lines += to_source(s.orelse, indent + 1, stamp) or [pad + "    pass"]
        elif isinstance(s, For):
            rng = f"range({atom_src(s.start)}, {atom_src(s.stop)}, {atom_src(s.step)})"
            lines.append(f"{pad}for {s.var} in {rng}:{tag(s)}")
            lines += to_source(s.body, indent + 1, stamp)
            if s.exit_flag:
                lines.append(f"{pad}    if {s.exit_flag}:")
                lines.append(f"{pad}        break")
            elif not s.body:
                lines.append(pad + "    pass")
        elif isinstance(s, While):
            lines.append(f"{pad}while True:{tag(s)}")
            lines += to_source(s.body, indent + 1, stamp)
            lines.append(f"{pad}    if {s.exit_flag}:")
            lines.append(f"{pad}        break")
        elif isinstance(s, Return):
            val = "" if s.value is None else " " + atom_src(s.value)
            lines.append(f"{pad}return{val}{tag(s)}")
        else:
            raise TypeError(s)
    return lines
