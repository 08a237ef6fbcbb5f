"""From a user function's AST to the normalized form of :mod:`~adtriad.ad_core.ir`.

Contract: the result computes exactly what the user function computes. Each statement holds
one operation on atoms (ANF); augmented assignment, tuple unpacking, chained comparisons,
``and``/``or`` (short-circuit kept) and conditional expressions are desugared; ``while`` loops
test their condition inside the body; ``break``, ``continue`` and early ``return`` become flags
that guard the rest of their block, so every loop leaves only at the end of an iteration.
A target never appears among its own operands (``x = x * y`` becomes ``t = x * y; x = t``).

Anything outside the supported subset is refused here (this is the fence) with an
:class:`ADError` naming ``file:line:col`` and saying what to write instead.
"""

from __future__ import annotations

import ast
import copy
import numbers
import types
from dataclasses import dataclass, field

import numba
import numpy as np

from adtriad.ad_core import array_primitives, ir, naming, rules
from adtriad.ad_core.errors import ADError
from adtriad.ad_core.resolve import (GUVECTORIZED, NESTED, STENCIL, VECTORIZED,
                                     function_key, is_autodiff, is_guvectorized, is_stencil,
                                     is_user_function, is_vectorized, lookup)
from adtriad.ad_core.source import SourceFunction, register


@dataclass
class NormalFunction:
    """A normalized function: parameters, body ending in one Return, and its environment."""

    source: SourceFunction
    params: list[str]
    body: list
    bindings: dict = field(default_factory=dict)  # Ref text -> object for generated code
    user_callees: dict = field(default_factory=dict)  # Fn.text -> SourceFunction
    inlined: dict = field(default_factory=dict)  # global/closure name -> number written in code
    resolved: dict = field(default_factory=dict)  # global/closure name -> object it denoted
    ruled: dict = field(default_factory=dict)  # Fn.text -> function with custom rules
    # hidden Const parameters (the last params): global/closure arrays read afresh at every
    # call, own ones and those of the user functions called: param -> zero-argument getter
    hidden: dict = field(default_factory=dict)
    # callees always called as generated code (and typed by their normalized primal):
    # those reading hidden parameters, and those that are generated_only: Fn.text -> callee
    hidden_callees: dict = field(default_factory=dict)
    # its Python source compiles only under the user's Numba options, which the engine does not
    # keep (a stencil made from a lambda inside a parallel=True function)
    generated_only: bool = False

    def hidden_values(self) -> list:
        """The current values of the hidden parameters, in parameter order."""
        return [get() for get in self.hidden.values()]

    def stale(self) -> bool:
        """Has a global this function reads been rebound since it was normalized?"""
        for name, obj in self.resolved.items():
            try:
                now = lookup(self.source.namespace, name)
            except KeyError:
                return True
            if now is not obj and not (isinstance(obj, (int, float)) and now == obj
                                       and type(now) is type(obj)):
                return True
        return False

    @property
    def name(self) -> str:
        return self.source.name


@dataclass
class _Loop:
    brk: str | None
    skip: str | None


def normalize(sf: SourceFunction, hidden: bool = True) -> NormalFunction:
    """Normalize (and fence) one function. With ``hidden``, global and closure arrays become
    hidden Const parameters (read at each call, as Python would); without, they are bound
    into the generated code as constants (Numba's semantics for compiled callers: kernels and
    ``autodiff_deferred``)."""
    return _Normalizer(sf, hidden).run()


_NORMAL: dict = {}
_IN_PROGRESS: list = []


def normalized(sf: SourceFunction, hidden: bool = True) -> NormalFunction:
    """:func:`normalize`, cached per (function, flavor); callees are normalized first (their
    hidden parameters become the caller's), so a call cycle is refused here."""
    key = (sf, hidden)
    if key not in _NORMAL:
        if sf in _IN_PROGRESS:
            path = _IN_PROGRESS[_IN_PROGRESS.index(sf):] + [sf]
            raise ADError(f"{sf.filename}:{sf.tree.lineno}: {sf.name} calls itself "
                          f"({' -> '.join(p.name for p in path)}); recursive functions cannot "
                          "be differentiated: rewrite the recursion as a loop")
        _IN_PROGRESS.append(sf)
        try:
            _NORMAL[key] = normalize(sf, hidden)
        finally:
            _IN_PROGRESS.remove(sf)
    return _NORMAL[key]


def refresh(sf: SourceFunction, seen: set | None = None) -> bool:
    """Drop the normalized forms of every function of the call tree that reads a global that
    was rebound since (and of its callers); True when anything changed."""
    seen = set() if seen is None else seen
    if sf in seen:
        return False
    seen.add(sf)
    changed = False
    for key in [k for k in _NORMAL if k[0] is sf]:
        nf = _NORMAL[key]
        callees_changed = any([refresh(c, seen) for c in nf.user_callees.values()])
        if nf.stale() or callees_changed:
            del _NORMAL[key]
            changed = True
    return changed


_DIRECT_JUMPS = (ast.Break, ast.Continue)
# functions the normalizer's own rewrites call, by the reserved names they are written with
_UNRAVEL, _SIZE_OF = naming.PREFIX + "_unravel", naming.PREFIX + "_size_of"
_HELPERS = {_UNRAVEL: array_primitives.unravel, _SIZE_OF: array_primitives.size_of}
_REFUSED = {
    ast.With: "`with` blocks", ast.AsyncWith: "`async with`", ast.Try: "`try` blocks",
    ast.Raise: "`raise`", ast.Assert: "`assert` (check inputs before calling)",
    ast.Global: "`global`", ast.Nonlocal: "`nonlocal`", ast.Delete: "`del`",
    ast.FunctionDef: "a nested `def` inside the differentiated function (define it outside)",
    ast.ClassDef: "a class definition", ast.Import: "`import` inside the function",
    ast.ImportFrom: "`import` inside the function",
    ast.Lambda: "a `lambda` inside the function that is not bound once to a name and only "
                "called (bind it once, `f = lambda x: ...`, and call it, or define a function "
                "outside)",
    ast.DictComp: "a dict comprehension", ast.SetComp: "a set comprehension",
    ast.Dict: "a dict", ast.Set: "a set", ast.JoinedStr: "an f-string",
    ast.Yield: "`yield`", ast.Await: "`await`", ast.Starred: "`*` unpacking",
    ast.NamedExpr: "`:=`",
}


class _Normalizer:
    def __init__(self, sf: SourceFunction, hidden: bool = True):
        self.sf = sf
        self.hide_arrays = hidden
        self.hidden: dict = {}
        self.hidden_callees: dict = {}
        self.n = 0
        self.bindings: dict = {}
        self.user_callees: dict = {}
        self.inlined: dict = {}
        self.resolved: dict = {}
        self.ruled: dict = {}
        self.loops: list[_Loop] = []
        fdef = sf.tree
        self.params = [a.arg for a in fdef.args.posonlyargs + fdef.args.args +
                       fdef.args.kwonlyargs]
        self.locals = set(self.params)
        for node in ast.walk(fdef):
            for t in self._targets(node):
                self.locals |= _bound_names(t)
        self.lambdas = _local_lambdas(fdef)
        self.list_names = _list_names(fdef)
        self.stencil_makers = _stencil_calls(fdef)
        self.inlining: list = []  # lambdas being inlined (one calling itself is refused)
        returns = [n for n in ast.walk(fdef) if isinstance(n, ast.Return)]
        last = fdef.body[-1] if fdef.body else None
        self.early = bool(returns) and not (len(returns) == 1 and returns[0] is last)
        self.returns_value = any(r.value is not None for r in returns)

    @staticmethod
    def _targets(node):
        if isinstance(node, ast.Assign):
            return node.targets
        if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)):
            return [node.target]
        return []

    # ---- helpers -------------------------------------------------------------------------
    def loc(self, node) -> ir.Loc:
        return ir.Loc(self.sf.filename, getattr(node, "lineno", self.sf.tree.lineno),
                      getattr(node, "col_offset", 0))

    def refuse(self, node, what: str, instead: str = "") -> ADError:
        msg = f"{self.loc(node)}: cannot differentiate {what} in {self.sf.name}"
        return ADError(msg + (f"; {instead}" if instead else ""))

    def fresh(self) -> str:
        self.n += 1
        return naming.temp(self.n)

    def fresh_flag(self, kind: str) -> str:
        self.n += 1
        return naming.flag(kind, self.n)

    def run(self) -> NormalFunction:
        fdef = self.sf.tree
        args = fdef.args
        if args.vararg or args.kwarg:
            raise self.refuse(fdef, "*args or **kwargs parameters",
                              "give the function named parameters")
        for name in self.locals:
            if name.startswith(naming.PREFIX + "_"):
                raise self.refuse(fdef, f"the name {name!r}",
                                  f"names starting with {naming.PREFIX + '_'!r} are reserved; "
                                  "rename it")
        allowed = {id(lam) for lam in self.lambdas.values()} | {
            id(n.func.args[0]) for n in ast.walk(fdef)
            if isinstance(n, ast.Call) and id(n.func) in self.stencil_makers}
        for node in ast.walk(fdef):
            if node is not fdef and type(node) in _REFUSED and id(node) not in allowed:
                raise self.refuse(node, _REFUSED[type(node)])
        stmts = list(fdef.body)
        if stmts and isinstance(stmts[0], ast.Expr) and isinstance(stmts[0].value, ast.Constant) \
                and isinstance(stmts[0].value.value, str):
            stmts = stmts[1:]  # docstring
        if self.returns_value and _may_end_without_return(stmts):
            raise self.refuse(fdef, "a function that returns a value on some paths and can "
                                    "reach its end without one (Python returns None there)",
                              "end it with a `return` of the same kind of value")
        body = []
        if self.early:
            body.append(ir.Assign(naming.RET_FLAG, ir.Const(False), self.loc(fdef)))
        body += self.block(stmts)
        end = self.loc(stmts[-1] if stmts else fdef)
        if self.early:
            value = ir.Name(naming.RET_VALUE) if self.returns_value else None
            body.append(ir.Return(value, end))
        elif not body or not isinstance(body[-1], ir.Return):
            body.append(ir.Return(None, end))
        return NormalFunction(self.sf, self.params + list(self.hidden), body, self.bindings,
                              self.user_callees, self.inlined, self.resolved, self.ruled,
                              self.hidden, self.hidden_callees,
                              generated_only=bool(self.stencil_makers))

    # ---- statements ----------------------------------------------------------------------
    def block(self, stmts: list) -> list:
        out: list = []
        for i, s in enumerate(stmts):
            if isinstance(s, ast.Break):
                loop = self.loops[-1]
                out += [self.set_flag(loop.brk, s), self.set_flag(loop.skip, s)]
                return out
            if isinstance(s, ast.Continue):
                out.append(self.set_flag(self.loops[-1].skip, s))
                return out
            if isinstance(s, ast.Return) and self.early:
                out += self.early_return(s)
                return out
            out += self.stmt(s)
            if i + 1 < len(stmts) and self.may_jump(s):
                rest = self.block(stmts[i + 1:])
                if rest:
                    flag = self.loops[-1].skip if self.loops else naming.RET_FLAG
                    out.append(ir.If(ir.Name(flag), [], rest, self.loc(stmts[i + 1])))
                return out
        return out

    def set_flag(self, name: str, node) -> ir.Assign:
        return ir.Assign(name, ir.Const(True), self.loc(node))

    def early_return(self, s: ast.Return) -> list:
        out: list = []
        if s.value is not None:
            value = self.atom(s.value, out)
            out.append(ir.Assign(naming.RET_VALUE, value, self.loc(s)))
        out.append(self.set_flag(naming.RET_FLAG, s))
        for loop in self.loops:
            out += [self.set_flag(loop.brk, s), self.set_flag(loop.skip, s)]
        return out

    def may_jump(self, s) -> bool:
        """Can executing ``s`` leave the rest of the current block unexecuted?"""
        if self.early and any(isinstance(n, ast.Return) for n in ast.walk(s)):
            return True
        if not self.loops or isinstance(s, (ast.For, ast.While)):
            return False
        return _contains_direct(s, _DIRECT_JUMPS)

    def stmt(self, s) -> list:
        out: list = []
        if isinstance(s, ast.Assign):
            for target in s.targets:
                if isinstance(target, ast.Name) and isinstance(s.value, ast.Name) \
                        and target.id == s.value.id:
                    continue  # `t = t` changes nothing (reverse mode took it for a new binding)
                self.assign(target, s.value, out, s)
        elif isinstance(s, ast.AnnAssign):
            if s.value is None:
                return out
            self.assign(s.target, s.value, out, s)
        elif isinstance(s, ast.AugAssign):
            op = ast.BinOp(left=_load(s.target), op=s.op, right=s.value)
            ast.copy_location(op, s)
            ast.fix_missing_locations(op)
            self.assign(s.target, op, out, s)
            if isinstance(s.target, ast.Name):
                out[-1].inplace = True
        elif isinstance(s, ast.Expr):
            if isinstance(s.value, ast.Constant):
                return out
            if not isinstance(s.value, ast.Call):
                raise self.refuse(s, "an expression statement that is not a call")
            value = self.expr(s.value, out)
            if isinstance(value, ir.Method) and value.method == "append" and \
                    len(value.args) == 1:
                # a list built by appends: made an array after typing (lists.py), or refused
                out.append(ir.ExprStmt(value, self.loc(s)))
            elif isinstance(value, ir.Method):
                # a method called for its effect changes its object (a.fill(v), l.append(v)):
                # invisible to the generators, so it is refused rather than dropped
                raise self.refuse(s, f"the method call `{_unparse(s.value)}` as a statement",
                                  "write the change as element or slice stores "
                                  "(`a[:] = v` for a.fill(v)); keep values in NumPy arrays, "
                                  "not lists")
            if isinstance(value, ir.Call):
                out.append(ir.ExprStmt(value, self.loc(s)))
        elif isinstance(s, ast.If):
            test = self.atom(s.test, out)
            out.append(ir.If(test, self.block(s.body), self.block(s.orelse), self.loc(s)))
        elif isinstance(s, ast.For):
            out += self.for_loop(s)
        elif isinstance(s, ast.While):
            out += self.while_loop(s)
        elif isinstance(s, ast.Return):
            value = None if s.value is None else self.atom(s.value, out)
            out.append(ir.Return(value, self.loc(s)))
        elif isinstance(s, ast.Pass):
            pass
        elif isinstance(s, (ast.Break, ast.Continue)):
            raise self.refuse(s, "`break`/`continue` outside a loop")
        else:
            raise self.refuse(s, f"a `{type(s).__name__}` statement")
        return out

    def assign(self, target, value_node, out: list, s) -> None:
        loc = self.loc(s)
        if any(value_node is lam for lam in self.lambdas.values()):
            return  # a local lambda: inlined where it is called (lambda_call)
        if isinstance(target, ast.Name):
            value = self.expr(value_node, out)
            if target.id in ir.expr_names(value) and not isinstance(value, ir.Name):
                tmp = self.fresh()
                out.append(ir.Assign(tmp, value, loc))
                value = ir.Name(tmp)
            out.append(ir.Assign(target.id, value, loc))
        elif isinstance(target, ast.Subscript):
            array = self.array_name(target.value, out)
            index = self.index(target.slice, out)
            val = self.atom(value_node, out)
            out.append(ir.Store(array, index, val, loc))
        elif isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value_node, (ast.Tuple, ast.List)):
                if len(value_node.elts) != len(target.elts):
                    raise self.refuse(s, "unpacking with mismatched lengths")
                atoms = []
                for v in value_node.elts:  # evaluate every right side before any store
                    a = self.atom(v, out)
                    if isinstance(a, ir.Name):
                        tmp = self.fresh()
                        out.append(ir.Assign(tmp, a, loc))
                        a = ir.Name(tmp)
                    atoms.append(a)
                for t, a in zip(target.elts, atoms):
                    self.assign(t, _AtomNode(a), out, s)
            else:
                whole = self.atom(value_node, out)
                if not isinstance(whole, ir.Name):
                    raise self.refuse(s, "unpacking a constant")
                for k, t in enumerate(target.elts):
                    tmp = self.fresh()
                    out.append(ir.Assign(tmp, ir.Index(whole, (ir.Const(k),)), loc))
                    self.assign(t, _AtomNode(ir.Name(tmp)), out, s)
        else:
            raise self.refuse(s, f"assignment to a {type(target).__name__}")

    def for_loop(self, s: ast.For) -> list:
        out: list = []
        if s.orelse:
            raise self.refuse(s, "`for ... else`", "move the else part after the loop with a flag")
        it = s.iter
        if not (isinstance(it, ast.Call) and self.is_range(it.func) and not it.keywords):
            return self.iteration_loop(s)
        if not isinstance(s.target, ast.Name):
            raise self.refuse(s.target, "a tuple loop target", "loop over range and index")
        bounds = [self.atom(a, out) for a in it.args]
        if len(bounds) == 1:
            bounds = [ir.Const(0), bounds[0], ir.Const(1)]
        elif len(bounds) == 2:
            bounds.append(ir.Const(1))
        elif len(bounds) != 3:
            raise self.refuse(it, "range() with no or more than three arguments")
        if isinstance(bounds[2], ir.Const) and bounds[2].value == 0:
            raise self.refuse(it, "range() with step 0")
        loop = self.new_loop(s, need_brk=False)
        if loop.brk:
            out.append(ir.Assign(loop.brk, ir.Const(False), self.loc(s)))
        self.loops.append(loop)
        body = ([ir.Assign(loop.skip, ir.Const(False), self.loc(s))] if loop.skip else [])
        body += self.block(s.body)
        self.loops.pop()
        self.n += 1
        out.append(ir.For(s.target.id, *bounds, body, loop.brk, self.loc(s), uid=self.n))
        return out

    def is_range(self, func) -> bool:
        """``range``, or Numba's ``prange`` (its iterations are independent, so running them
        in order, as the derivative code does, gives the same result)."""
        if not isinstance(func, (ast.Name, ast.Attribute)) or self.is_local_value(func):
            return False
        try:
            obj = self.global_object(func)
        except ADError:
            return False
        return obj is range or obj is numba.prange

    def iteration_loop(self, s: ast.For) -> list:
        """``for x in a``, ``enumerate(a[, start])`` and ``zip(a, b, ...)`` over arrays,
        tuples or lists, as a counted loop that indexes them (each sequence is evaluated
        once, before the loop, as Python does)."""
        it, target = s.iter, s.target
        kind = None
        if isinstance(it, ast.Call) and isinstance(it.func, (ast.Name, ast.Attribute)) and \
                not self.is_local_value(it.func):
            obj = self.global_object(it.func)
            kind = {enumerate: "enumerate", zip: "zip", np.ndindex: "ndindex",
                    np.ndenumerate: "ndenumerate"}.get(obj)
            if kind is None:
                raise self.refuse(it, f"a `for` loop over {_unparse(it)}",
                                  "loop over range(...), an array, enumerate(...), zip(...), "
                                  "np.ndindex(...) or np.ndenumerate(...)")
        if kind in ("ndindex", "ndenumerate"):
            return self.index_loop(s, kind, it.args, it.keywords)
        if isinstance(it, ast.Attribute) and it.attr == "flat":
            return self.index_loop(s, "flat", [it.value], [])
        if kind == "enumerate":
            start = it.args[1] if len(it.args) > 1 else next(
                (k.value for k in it.keywords if k.arg == "start"), ast.Constant(0))
            if not (isinstance(target, ast.Tuple) and len(target.elts) == 2) or not it.args:
                raise self.refuse(s.target, "an enumerate loop without an `i, x` target")
            sequences, targets = [it.args[0]], [target.elts[1]]
            counter_target = target.elts[0]
        elif kind == "zip":
            if it.keywords or not (isinstance(target, ast.Tuple)
                                   and len(target.elts) == len(it.args)):
                raise self.refuse(s.target, "a zip loop without one target per sequence")
            sequences, targets, counter_target = list(it.args), list(target.elts), None
        else:
            sequences, targets, counter_target = [it], [target], None
        pre: list = []
        names = []
        for seq in sequences:
            name = self.fresh_local("seq")
            pre.append(ast.Assign(targets=[ast.Name(name, ast.Store())], value=seq))
            names.append(name)
        lengths = [ast.Call(ast.Name("len", ast.Load()), [ast.Name(n, ast.Load())], [])
                   for n in names]
        count = lengths[0] if len(lengths) == 1 else \
            ast.Call(ast.Name("min", ast.Load()), lengths, [])
        k = self.fresh_local("k")
        body: list = []
        if counter_target is not None:
            body.append(ast.Assign(targets=[counter_target], value=ast.BinOp(
                ast.Name(k, ast.Load()), ast.Add(), start)))
        for t, n in zip(targets, names):
            body.append(ast.Assign(targets=[t], value=ast.Subscript(
                ast.Name(n, ast.Load()), ast.Name(k, ast.Load()), ast.Load())))
        loop = ast.For(target=ast.Name(k, ast.Store()), iter=ast.Call(
            ast.Name("range", ast.Load()), [count], []), body=body + s.body, orelse=[])
        out: list = []
        for node in pre + [loop]:
            ast.copy_location(node, s)
        for node in pre + [loop]:
            ast.fix_missing_locations(node)
            out += self.stmt(node)
        return out

    def index_loop(self, s: ast.For, kind: str, args: list, keywords: list) -> list:
        """``for i in np.ndindex(shape)`` (or ``np.ndindex(n, m)``), ``for i, x in
        np.ndenumerate(a)`` and ``for x in a.flat`` as a counted loop over the flat index,
        unravelled in C order (the rank is known only once the arguments are typed:
        ``_prim.unravel`` is compiled per rank)."""
        target = s.target
        if keywords or not args or (kind != "ndindex" and len(args) != 1):
            raise self.refuse(s.iter, f"np.{kind} with these arguments")
        if kind == "ndenumerate" and not (isinstance(target, ast.Tuple)
                                          and len(target.elts) == 2):
            raise self.refuse(target, "an ndenumerate loop without an `index, x` target")
        name = lambda n: ast.Name(n, ast.Load())  # noqa: E731
        pre: list = []
        seq = shape = self.fresh_local("seq")
        pre.append(ast.Assign(targets=[ast.Name(seq, ast.Store())], value=(
            ast.Tuple(list(args), ast.Load()) if len(args) > 1 else args[0])))
        if kind != "ndindex":
            shape = self.fresh_local("shape")
            pre.append(ast.Assign(targets=[ast.Name(shape, ast.Store())],
                                  value=ast.Attribute(name(seq), "shape", ast.Load())))
        k = self.fresh_local("k")
        index, element = {"ndindex": (target, None), "flat": (None, target)}.get(
            kind) or target.elts
        if index is None:
            index = ast.Name(self.fresh_local("index"), ast.Store())
        body = [ast.Assign(targets=[index], value=ast.Call(
            name(_UNRAVEL), [name(k), name(shape)], []))]
        if element is not None:
            body.append(ast.Assign(targets=[element], value=ast.Subscript(
                name(seq), _load(index), ast.Load())))
        count = ast.Call(name(_SIZE_OF), [name(shape)], [])
        loop = ast.For(target=ast.Name(k, ast.Store()), iter=ast.Call(
            name("range"), [count], []), body=body + s.body, orelse=[])
        out: list = []
        for node in pre + [loop]:
            ast.copy_location(node, s)
            ast.fix_missing_locations(node)
            out += self.stmt(node)
        return out

    def fresh_local(self, kind: str) -> str:
        name = self.fresh_flag(kind)
        self.locals.add(name)
        return name

    def while_loop(self, s: ast.While) -> list:
        if s.orelse:
            raise self.refuse(s, "`while ... else`", "move the else part after the loop with a flag")
        loop = self.new_loop(s, need_brk=True)
        out = [ir.Assign(loop.brk, ir.Const(False), self.loc(s))]
        self.loops.append(loop)
        body = ([ir.Assign(loop.skip, ir.Const(False), self.loc(s))] if loop.skip else [])
        test = self.atom(s.test, body)
        inner = self.block(s.body)
        body.append(ir.If(test, inner, [self.set_flag(loop.brk, s)], self.loc(s)))
        self.loops.pop()
        self.n += 1
        out.append(ir.While(body, loop.brk, self.loc(s), uid=self.n))
        return out

    def new_loop(self, s, need_brk: bool) -> _Loop:
        jumps = _contains_direct(s, _DIRECT_JUMPS, skip_self=True)
        returns = self.early and any(isinstance(n, ast.Return) for n in ast.walk(s))
        has_break = _contains_direct(s, (ast.Break,), skip_self=True)
        brk = self.fresh_flag("exit") if (need_brk or has_break or returns) else None
        skip = self.fresh_flag("skip") if (jumps or returns) else None
        return _Loop(brk, skip)

    # ---- expressions ---------------------------------------------------------------------
    def atom(self, node, out: list):
        value = self.expr(node, out)
        if isinstance(value, (ir.Name, ir.Const, ir.Ref)):
            return value
        tmp = self.fresh()
        out.append(ir.Assign(tmp, value, self.loc(node)))
        return ir.Name(tmp)

    def expr(self, node, out: list):
        if isinstance(node, _AtomNode):
            return node.atom
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bool, int, float)) or node.value is None:
                return ir.Const(node.value)
            raise self.refuse(node, f"the constant {node.value!r}", "use numbers only")
        if isinstance(node, ast.Name):
            if node.id in self.locals:
                return ir.Name(node.id)
            return self.global_value(node.id, node)
        if isinstance(node, ast.BinOp):
            left = self.atom(node.left, out)
            right = self.atom(node.right, out)
            return ir.BinOp(ir.BINOPS[type(node.op).__name__], left, right)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) and \
                    type(node.operand.value) in (int, float):
                return ir.Const(-node.operand.value)  # a negative number (axis=-1)
            operand = self.atom(node.operand, out)
            return ir.UnaryOp(ir.UNARYOPS[type(node.op).__name__], operand)
        if isinstance(node, ast.Compare):
            return self.compare(node, out)
        if isinstance(node, ast.BoolOp):
            return self.boolop(node, out)
        if isinstance(node, ast.IfExp):
            test = self.atom(node.test, out)
            tmp = self.fresh()
            body, orelse = [], []
            body.append(ir.Assign(tmp, self.expr(node.body, body), self.loc(node)))
            orelse.append(ir.Assign(tmp, self.expr(node.orelse, orelse), self.loc(node)))
            out.append(ir.If(test, body, orelse, self.loc(node)))
            return ir.Name(tmp)
        if isinstance(node, ast.Call):
            return self.call(node, out)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return self.comprehension(node, out)
        if isinstance(node, ast.Subscript):
            value = self.array_name(node.value, out)
            return ir.Index(ir.Name(value), self.index(node.slice, out))
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in self.locals:
                return ir.Attr(ir.Name(node.value.id), node.attr)  # typing checks it exists
            obj = self.global_object(node)
            return self.value_of(obj, node, _dotted(node))
        if isinstance(node, (ast.Tuple, ast.List)):
            elts = [self.atom(e, out) for e in node.elts]
            return ir.TupleExpr(elts) if isinstance(node, ast.Tuple) else ir.ListExpr(elts)
        raise self.refuse(node, f"the expression `{_unparse(node)}`")

    def comprehension(self, node, out: list):
        """``[e for t in s if c ...]`` (and a generator expression, evaluated at once: the
        code is pure) as the list a loop builds: ``L = []``, then the loops and conditions
        around ``L.append(e)``. Its variables get names of their own, as in Python 3."""
        name = self.fresh_local("list")
        rename = {}
        for g in node.generators:
            if g.is_async:
                raise self.refuse(node, "an async comprehension")
            for t in _bound_names(g.target):
                rename[t] = self.fresh_local("item")

        def renamed(n):
            return _Renamed(rename).visit(copy.deepcopy(n))
        body = [ast.Expr(ast.Call(ast.Attribute(ast.Name(name, ast.Load()), "append",
                                                ast.Load()), [renamed(node.elt)], []))]
        for k, g in reversed(list(enumerate(node.generators))):
            for cond in reversed(g.ifs):
                body = [ast.If(renamed(cond), body, [])]
            # the first sequence is evaluated where the comprehension is (its names are not
            # the comprehension's), the others inside it
            body = [ast.For(renamed(g.target), g.iter if k == 0 else renamed(g.iter), body, [])]
        out.append(ir.Assign(name, ir.ListExpr([]), self.loc(node)))
        for st in body:
            for sub in ast.walk(st):  # what was made here is placed at the comprehension
                if "lineno" in sub._attributes and not hasattr(sub, "lineno"):
                    ast.copy_location(sub, node)
            out += self.stmt(st)
        return ir.Name(name)

    def compare(self, node: ast.Compare, out: list):
        if len(node.ops) == 1:
            left = self.atom(node.left, out)
            right = self.atom(node.comparators[0], out)
            return ir.Compare(ir.CMPOPS[type(node.ops[0]).__name__], left, right)
        parts = []
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            parts.append(ast.copy_location(ast.Compare(left=left, ops=[op], comparators=[right]),
                                           node))
            left = right
        return self.boolop(ast.copy_location(ast.BoolOp(op=ast.And(), values=parts), node), out)

    def boolop(self, node: ast.BoolOp, out: list):
        """``a and b`` keeps short-circuit evaluation: b is computed only when needed."""
        tmp = self.fresh()
        out.append(ir.Assign(tmp, self.expr(node.values[0], out), self.loc(node)))
        block = out
        for value in node.values[1:]:
            inner: list = []
            inner.append(ir.Assign(tmp, self.expr(value, inner), self.loc(value)))
            if isinstance(node.op, ast.And):
                block.append(ir.If(ir.Name(tmp), inner, [], self.loc(value)))
            else:
                block.append(ir.If(ir.Name(tmp), [], inner, self.loc(value)))
            block = inner
        return ir.Name(tmp)

    def call(self, node: ast.Call, out: list):
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.lambdas:
            return self.lambda_call(self.lambdas[func.id], node, out)
        if isinstance(func, ast.Call) and id(func) in self.stencil_makers:
            func = self.stencil_of_lambda(func, node.args)
        if isinstance(func, ast.Attribute) and self.is_local_value(func.value):
            if node.keywords:
                raise self.refuse(node, f"keyword arguments to .{func.attr}()")
            obj = self.atom(func.value, out)  # `(a * a).max()`: the object is computed first
            if not isinstance(obj, ir.Name):
                raise self.refuse(node, f"calling .{func.attr}() on a constant")
            args = [self.atom(a, out) for a in node.args]
            return ir.Method(obj, func.attr, args)
        obj = self.global_object(func)
        if is_autodiff(obj):
            return self.nested_call(node, out)
        args = []
        for a in node.args:
            if isinstance(a, ast.List):
                args.append(ir.ListExpr([self.atom(e, out) for e in a.elts]))
            else:
                args.append(self.atom(a, out))
        kwargs = {k.arg: self.atom(k.value, out) for k in node.keywords}
        if None in kwargs:
            raise self.refuse(node, "`**kwargs` in a call")
        fn = function_key(obj)
        if fn is not None and fn.key in ("np.sum", "sum") and len(args) == 1 and \
                not kwargs and self.is_list(node.args[0]):
            # a list of numbers is summed as the array it makes (Numba types no other way)
            as_array = self.fresh()
            out.append(ir.Assign(as_array, ir.Call(function_key(np.array), args), self.loc(node)))
            fn, args = function_key(np.sum), [ir.Name(as_array)]
        ruleset = rules.lookup(obj) if fn is None else None
        if ruleset is not None:
            text = f"{naming.PREFIX}_ruled_{ruleset.func.__name__}_{ruleset.ident}"
            fn = ir.Fn("rule", text, ruleset.func)
            self.ruled[text] = ruleset.func
            if kwargs:
                raise self.refuse(node, f"keyword arguments in the call to {ruleset.name}",
                                  "pass them positionally")
        elif fn is None and is_user_function(obj):
            from adtriad.ad_core.source import get_source_function
            callee = get_source_function(obj)
            text = f"{naming.PREFIX}_user_{callee.name}_{callee.digest[:8]}"
            fn = ir.Fn("user", text, obj, callee)
            self.user_callees[text] = callee
            args = self.bound_arguments(node, callee, args, kwargs)
            kwargs = {}
            inner = normalized(callee, self.hide_arrays)
            if _returns_built_tuple(inner):
                return self.inline(inner, args, callee, out)
            if inner.hidden or inner.generated_only:
                # the callee's globals, read afresh, are passed down by the caller
                self.hidden_callees[text] = inner
                for param, get in inner.hidden.items():
                    mine = f"{param}_{callee.digest[:6]}"
                    self.hidden[mine] = get
                    args.append(ir.Name(mine))
        elif fn is None and is_vectorized(obj):
            from adtriad.ad_core.source import get_source_function
            point = get_source_function(obj._dispatcher.py_func)
            text = f"{naming.PREFIX}_vectorized_{point.name}_{point.digest[:8]}"
            fn = ir.Fn(VECTORIZED, text, obj)
            self.bindings[text] = obj  # for typing; lowered to Python after it
            # its Python source is differentiated: it is part of what the code depends on
            self.user_callees[f"{naming.PREFIX}_user_{point.name}_{point.digest[:8]}"] = point
        elif fn is None and is_guvectorized(obj):
            from adtriad.ad_core import decorated
            from adtriad.ad_core.source import get_source_function
            if kwargs or len(args) != len(obj.gufunc_builder.sin):
                raise self.refuse(node, f"a call to the @guvectorize function {_unparse(func)} "
                                        "with an output argument or keywords",
                                  "pass the inputs only and use the result")
            try:
                stand_in = decorated.gufunc_stand_in(obj)
            except ValueError as exc:
                raise self.refuse(node, f"the @guvectorize function {_unparse(func)} ({exc})",
                                  "write the loop over the elements") from None
            point = get_source_function(obj.gufunc_builder.py_func)
            text = f"{naming.PREFIX}_guvectorized_{point.name}_{point.digest[:8]}"
            fn = ir.Fn(GUVECTORIZED, text, obj)
            self.bindings[text] = stand_in  # for typing; lowered to Python after it
            self.user_callees[f"{naming.PREFIX}_user_{point.name}_{point.digest[:8]}"] = point
        elif fn is None and is_stencil(obj):
            from adtriad.ad_core.source import get_source_function
            point = get_source_function(obj.kernel_ir.func_id.func)
            text = f"{naming.PREFIX}_stencil_{point.name}_{point.digest[:8]}"
            fn = ir.Fn(STENCIL, text, obj)
            self.bindings[text] = obj  # for typing; lowered to Python after it
            self.user_callees[f"{naming.PREFIX}_user_{point.name}_{point.digest[:8]}"] = point
        elif fn is None and isinstance(obj, type) and issubclass(obj, np.generic):
            fn = ir.Fn(f"np.{obj.__name__}", f"np.{obj.__name__}", obj)
        elif fn is None:
            raise self.refuse(node, f"a call to {_unparse(func)} ({type(obj).__name__})",
                              "call math/NumPy functions or Python/Numba functions")
        if fn.key == "range":
            raise self.refuse(node, "range() outside a for loop")
        return ir.Call(fn, args, kwargs)

    def nested_call(self, node: ast.Call, out: list):
        """``autodiff_deferred(mode, f, ret, *annotations)`` (or ``autodiff``) inside the
        function: a ``nested`` call of the annotations' values and shadows (nested.py)."""
        from adtriad.ad_core import nested as nesting
        from adtriad.ad_core.annotations import (Active, Const, Duplicated, DuplicatedNoNeed,
                                                 Mode)
        from adtriad.ad_core.source import get_source_function
        if node.keywords or len(node.args) < 3:
            raise self.refuse(node, "this nested differentiation call",
                              "write autodiff_deferred(Forward or Reverse, f, ret, *args)")
        mode = self.global_object(node.args[0])
        if not isinstance(mode, Mode) or mode.name not in ("Forward", "Reverse"):
            raise self.refuse(node.args[0], "nested differentiation in this mode",
                              "use Forward or Reverse")
        f = self.global_object(node.args[1])
        if not is_user_function(f):
            raise self.refuse(node.args[1], "nested differentiation of this object",
                              "pass a Python or numba.njit function defined at module level")
        rest = node.args[2:]
        if isinstance(rest[0], (ast.Name, ast.Attribute)) and not self.is_local_value(rest[0]) \
                and self.global_object(rest[0]) in (Active, Const, Duplicated, DuplicatedNoNeed):
            rest = rest[1:]  # the return activity
        kinds, flat = [], []
        for a in rest:
            cls = self.global_object(a.func) if isinstance(a, ast.Call) and isinstance(
                a.func, (ast.Name, ast.Attribute)) and not self.is_local_value(a.func) else None
            if cls in (Duplicated, DuplicatedNoNeed) and len(a.args) == 2 and not a.keywords:
                kinds.append("dup")
                flat += [self.atom(a.args[0], out), self.atom(a.args[1], out)]
            elif cls is Const and len(a.args) == 1 and not a.keywords:
                kinds.append("const")
                flat.append(self.atom(a.args[0], out))
            elif cls is Active:
                raise self.refuse(a, "an Active argument of a nested differentiation call",
                                  "pass scalars inside an array, as Duplicated(x, dx)")
            elif isinstance(cls, type):
                raise self.refuse(a, f"the annotation {cls.__name__} in a nested call",
                                  "use Duplicated or Const")
            else:
                kinds.append("const")
                flat.append(self.atom(a, out))
        described = nesting.Nested(mode.name, f, tuple(kinds))
        sf = get_source_function(f)
        self.n += 1
        text = f"{naming.PREFIX}_nested_{sf.name}_{self.n}"
        self.bindings[text] = nesting.stand_in(described)  # for typing; lowered after it
        # f's source is part of what the code depends on
        self.user_callees[f"{naming.PREFIX}_user_{sf.name}_{sf.digest[:8]}"] = sf
        return ir.Call(ir.Fn(NESTED, text, described), flat)

    def lambda_call(self, lam: ast.Lambda, node: ast.Call, out: list):
        """A call of a lambda bound in the function: its arguments are evaluated into
        temporaries, then its body with the parameters replaced by them (names it reads
        from the function are read at the call, as Python does)."""
        a = lam.args
        params = [p.arg for p in a.posonlyargs + a.args]
        if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or node.keywords or \
                len(node.args) != len(params):
            raise self.refuse(node, "this call of a local lambda (defaults, keywords, * or a "
                                    "different number of arguments)",
                              "call it with one positional argument per parameter")
        if lam in self.inlining:
            raise self.refuse(node, "a lambda that calls itself")
        mapping = {}
        for p, arg in zip(params, node.args):
            mapping[p] = self.fresh_local("arg")
            bind = ast.Assign(targets=[ast.Name(mapping[p], ast.Store())], value=arg)
            ast.copy_location(bind, node)
            ast.fix_missing_locations(bind)
            out += self.stmt(bind)
        body = _Renamed(mapping).visit(copy.deepcopy(lam.body))
        self.inlining.append(lam)
        try:
            return self.expr(body, out)
        finally:
            self.inlining.pop()

    def stencil_of_lambda(self, maker: ast.Call, args: list) -> ast.Name:
        """``numba.stencil(lambda a, c: ...)(A, c)`` inside the function: the stencil is made
        once, here, from the lambda written as a function (its source the user's lines), and
        called like a global stencil. An integer argument that is a constant of the function
        (``c = 2``) is written into the kernel, as Numba's parallel stencil pass does, so
        relative indices in it stay constant."""
        lam = copy.deepcopy(maker.args[0])
        constants = _int_constants(self.sf.tree)
        fixed = {}
        for p, arg in zip(lam.args.args, args):
            value = arg.value if isinstance(arg, ast.Constant) else \
                constants.get(arg.id) if isinstance(arg, ast.Name) else None
            if isinstance(value, int) and not isinstance(value, bool):
                fixed[p.arg] = value
        lam.body = _Constants(fixed).visit(lam.body)
        free = {n.id for n in ast.walk(lam.body) if isinstance(n, ast.Name)} - \
            {p.arg for p in lam.args.args}
        if free & self.locals:
            raise self.refuse(lam, "a stencil lambda reading the function's variables "
                                   f"({', '.join(sorted(free & self.locals))})",
                              "pass them to the stencil as arguments")
        try:
            options = {k.arg: ast.literal_eval(k.value) for k in maker.keywords}
        except ValueError:
            raise self.refuse(maker, "stencil options that are not constants") from None
        if self.global_object(maker.func) is not numba.stencil:
            raise self.refuse(maker, f"calling the result of {_unparse(maker.func)}")
        tree = ast.FunctionDef(name=f"stencil_line{lam.lineno}", args=lam.args,
                               body=[ast.Return(lam.body)], decorator_list=[], returns=None)
        ast.copy_location(tree, lam)
        ast.fix_missing_locations(tree)
        key = (self.sf.digest, lam.lineno, lam.col_offset, tuple(sorted(fixed.items())))
        if key not in _LAMBDA_STENCILS:
            code = compile(ast.Module([tree], []), self.sf.filename, "exec")
            namespace: dict = {}
            exec(code, self.sf.func.__globals__, namespace)
            kernel = namespace[tree.name]
            register(kernel, tree, self.sf.filename, self.sf.namespace, self.sf.text)
            _LAMBDA_STENCILS[key] = numba.stencil(kernel, **options)
        name = f"{naming.PREFIX}_stencil_{abs(hash(key))}"
        _HELPERS[name] = _LAMBDA_STENCILS[key]
        return ast.copy_location(ast.Name(name, ast.Load()), maker)

    def inline(self, inner: NormalFunction, args: list, callee, out: list):
        """A callee returning a tuple it builds (``return call, put``) is written into the
        caller, its names prefixed, so the tuple's elements can be split into variables
        (rewrites.scalarize_tuples) and carry derivatives; returns the tuple's name."""
        prefix = self.fresh_flag("inline")
        hidden = {p: f"{p}_{callee.digest[:6]}" for p in inner.hidden}
        rename = lambda n: hidden.get(n, f"{prefix}_{n}")  # noqa: E731
        loc = inner.body[-1].loc
        for param, arg in zip(inner.params, args):
            out.append(ir.Assign(rename(param), arg, loc))
        body = ir.renamed(inner.body, rename)
        for s in ir.walk(body):  # loop counters are named by uid: give the copies new ones
            if isinstance(s, (ir.For, ir.While)):
                self.n += 1
                s.uid = self.n
        out += body[:-1]
        for param, get in inner.hidden.items():
            self.hidden[hidden[param]] = get
        self.bindings.update(inner.bindings)
        self.user_callees.update(inner.user_callees)
        self.ruled.update(inner.ruled)
        self.hidden_callees.update(inner.hidden_callees)
        self.inlined.update({f"{callee.name}.{k}": v for k, v in inner.inlined.items()})
        return body[-1].value

    def bound_arguments(self, node, callee, args: list, kwargs: dict) -> list:
        """A user function's arguments in parameter order: keyword arguments put in place,
        and the defaults of parameters not given (numbers and booleans)."""
        py = callee.func
        code = py.__code__
        names = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
        if len(args) > code.co_argcount:
            raise self.refuse(node, f"a call to {callee.name} with {len(args)} positional "
                                    f"arguments (it takes {code.co_argcount})")
        defaults = dict(zip(names[code.co_argcount - len(py.__defaults__ or ()):
                                  code.co_argcount], py.__defaults__ or ()))
        defaults.update(py.__kwdefaults__ or {})
        bound = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names or key in bound:
                raise self.refuse(node, f"the keyword argument {key!r} in the call to "
                                        f"{callee.name}", "pass each parameter once, by name")
            bound[key] = value
        out = []
        for name in names:
            if name in bound:
                out.append(bound[name])
            elif isinstance(defaults.get(name), (bool, int, float)):
                out.append(ir.Const(defaults[name]))
            else:
                raise self.refuse(node, f"a call to {callee.name} without {name!r}"
                                  + (" (its default is not a number)" if name in defaults
                                     else ""), f"pass {name} explicitly")
        return out

    def is_list(self, node) -> bool:
        """Is ``node`` a list written in the function (a literal, a comprehension, or a name
        only ever bound to one)?"""
        if isinstance(node, (ast.List, ast.ListComp, ast.GeneratorExp)):
            return True
        return isinstance(node, ast.Name) and node.id in self.list_names

    def is_local_value(self, node) -> bool:
        """Is ``node`` a value of this function (a local, or an expression), rather than a
        module or global object whose attribute is called (``np.linalg.norm``)?"""
        while isinstance(node, ast.Attribute):
            node = node.value
        if not isinstance(node, ast.Name) or node.id in self.locals:
            return True
        try:  # a global array's methods are called on it like a local's
            return isinstance(lookup(self.sf.namespace, node.id), np.ndarray)
        except KeyError:
            return False

    def array_name(self, node, out: list) -> str:
        value = self.atom(node, out)
        if isinstance(value, ir.Name):
            return value.id
        if isinstance(value, ir.Ref):
            tmp = self.fresh()
            out.append(ir.Assign(tmp, value, self.loc(node)))
            return tmp
        raise self.refuse(node, "indexing something that is not an array or tuple")

    def index(self, node, out: list) -> tuple:
        elts = node.elts if isinstance(node, ast.Tuple) else [node]
        result = []
        for e in elts:
            if isinstance(e, ast.Slice):
                parts = [None if p is None else self.atom(p, out) for p in (e.lower, e.upper, e.step)]
                result.append(ir.Slice(*parts))
            else:
                result.append(self.atom(e, out))
        return tuple(result)

    # ---- globals -------------------------------------------------------------------------
    def global_object(self, node):
        if isinstance(node, ast.Name):
            if node.id in self.locals:
                raise self.refuse(node, f"calling the local variable {node.id!r}")
            try:
                return self.lookup(node.id)
            except KeyError:
                raise self.refuse(node, f"the undefined name {node.id!r}") from None
        if isinstance(node, ast.Attribute):
            base = self.global_object(node.value)
            try:
                return getattr(base, node.attr)
            except AttributeError:
                raise self.refuse(node, f"the undefined attribute {_unparse(node)}") from None
        raise self.refuse(node, f"calling `{_unparse(node)}`")

    def lookup(self, name: str):
        if name in _HELPERS:  # reserved names the normalizer itself writes
            return _HELPERS[name]
        obj = lookup(self.sf.namespace, name)
        self.resolved[name] = obj
        return obj

    def global_value(self, name: str, node):
        try:
            obj = self.lookup(name)
        except KeyError:
            raise self.refuse(node, f"the undefined name {name!r}") from None
        return self.value_of(obj, node, name)

    def value_of(self, obj, node, spelled: str):
        """A global or closure value: numbers are written into the code (and recorded, since
        they are part of what the generated code computes), other objects are bound."""
        if obj is None:  # np.newaxis, in an index
            self.inlined[spelled] = None
            return ir.Const(None)
        if isinstance(obj, (bool, np.bool_)):
            self.inlined[spelled] = bool(obj)
            return ir.Const(bool(obj))
        if isinstance(obj, numbers.Integral):
            self.inlined[spelled] = int(obj)
            return ir.Const(int(obj))
        if isinstance(obj, numbers.Real) and not isinstance(obj, np.floating):
            self.inlined[spelled] = float(obj)
            return ir.Const(float(obj))
        if isinstance(obj, np.floating):
            return self.bind(obj, spelled)
        if isinstance(obj, type) and issubclass(obj, np.generic):
            return ir.Ref(f"np.{obj.__name__}")
        if isinstance(obj, np.ndarray) and self.hide_arrays:
            return self.hide(spelled)
        if isinstance(obj, (np.ndarray, tuple)):
            return self.bind(obj, spelled)
        if isinstance(obj, types.ModuleType):
            raise self.refuse(node, f"the module {spelled} used as a value")
        raise self.refuse(node, f"the global {spelled!r} of type {type(obj).__name__}",
                          "pass it as an argument")

    def hide(self, spelled: str) -> ir.Name:
        """A global array as a hidden parameter, fetched by name at every call."""
        param = naming.hidden(spelled)
        if param not in self.hidden:
            namespace, path = self.sf.namespace, spelled.split(".")

            def get(namespace=namespace, path=path):
                obj = lookup(namespace, path[0])
                for attr in path[1:]:
                    obj = getattr(obj, attr)
                return obj
            self.hidden[param] = get
        return ir.Name(param)

    def bind(self, obj, spelled: str) -> ir.Ref:
        text = f"{naming.PREFIX}_global_{spelled.replace('.', '_')}"
        self.bindings[text] = obj
        return ir.Ref(text)


class _AtomNode(ast.expr):
    """An already-lowered atom standing where the normalizer expects an AST node."""

    def __init__(self, atom):
        super().__init__()
        self.atom = atom


def _returns_built_tuple(nf: NormalFunction) -> bool:
    """Does ``nf`` end by returning a tuple it builds once (and return nowhere else)?"""
    result = nf.body[-1].value
    if not isinstance(result, ir.Name) or result.id == naming.RET_VALUE:
        return False
    defs = [s for s in ir.walk(nf.body) if isinstance(s, ir.Assign) and s.target == result.id]
    return len(defs) == 1 and isinstance(defs[0].value, ir.TupleExpr)


def _may_end_without_return(stmts: list) -> bool:
    """Can running ``stmts`` reach their end (no return on some path)?"""
    if not stmts:
        return True
    last = stmts[-1]
    if isinstance(last, ast.Return):
        return False
    if isinstance(last, ast.If):
        return _may_end_without_return(last.body) or _may_end_without_return(last.orelse)
    if isinstance(last, ast.While) and isinstance(last.test, ast.Constant) and last.test.value \
            and not _contains_direct(last, (ast.Break,), skip_self=True):
        return False  # `while True:` left only by its returns
    return True


def _bound_names(target) -> set:
    """Names an assignment target binds (``a[i] = v`` binds none: it writes into ``a``)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*map(_bound_names, target.elts)) if target.elts else set()
    return set()


def _load(target):
    node = ast.parse(ast.unparse(target), mode="eval").body
    ast.copy_location(node, target)
    for sub in ast.walk(node):
        ast.copy_location(sub, target)
    return node


def _dotted(node) -> str:
    return ast.unparse(node)


def _unparse(node) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - defensive
        return type(node).__name__


def _contains_direct(s, kinds, skip_self: bool = False) -> bool:
    """Does ``s`` contain a ``kinds`` statement not nested inside an inner loop?"""
    stack = list(ast.iter_child_nodes(s)) if skip_self or isinstance(s, (ast.For, ast.While)) \
        else [s]
    while stack:
        node = stack.pop()
        if isinstance(node, kinds):
            return True
        if isinstance(node, (ast.For, ast.While)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


_LAMBDA_STENCILS: dict = {}  # (function digest, line, col) -> the stencil its lambda makes


class _Renamed(ast.NodeTransformer):
    def __init__(self, mapping: dict):
        self.mapping = mapping

    def visit_Name(self, node):
        if node.id in self.mapping:
            return ast.copy_location(ast.Name(self.mapping[node.id], node.ctx), node)
        return node


class _Constants(ast.NodeTransformer):
    def __init__(self, values: dict):
        self.values = values

    def visit_Name(self, node):
        if node.id in self.values and isinstance(node.ctx, ast.Load):
            return ast.copy_location(ast.Constant(self.values[node.id]), node)
        return node


def _bindings_count(fdef) -> dict:
    """How many statements bind each local name (assignments and loop targets)."""
    counts: dict = {}
    for node in ast.walk(fdef):
        for t in _Normalizer._targets(node):
            for name in _bound_names(t):
                counts[name] = counts.get(name, 0) + 1
    return counts


def _bound_once_to(fdef, kind) -> dict:
    """Locals bound by one statement only, ``name = <an ast node of type kind>``: name ->
    that node."""
    counts = _bindings_count(fdef)
    return {node.targets[0].id: node.value for node in ast.walk(fdef)
            if isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and isinstance(node.value, kind)
            and counts.get(node.targets[0].id) == 1}


def _int_constants(fdef) -> dict:
    """Locals bound once, to an integer literal: name -> value."""
    return {n: c.value for n, c in _bound_once_to(fdef, ast.Constant).items()}


def _list_names(fdef) -> set:
    """Locals every assignment binds to a list literal or comprehension."""
    lists, others = set(), set()
    for node in ast.walk(fdef):
        for t in _Normalizer._targets(node):
            listed = isinstance(node, ast.Assign) and isinstance(
                node.value, (ast.List, ast.ListComp, ast.GeneratorExp))
            for name in _bound_names(t):
                (lists if listed and isinstance(t, ast.Name) else others).add(name)
    return lists - others


def _local_lambdas(fdef) -> dict:
    """Lambdas bound once to a local name that is only ever called (``f = lambda x: x * x``
    then ``f(y)``): name -> the lambda."""
    called = {id(n.func) for n in ast.walk(fdef) if isinstance(n, ast.Call)}
    uses = [n for n in ast.walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    return {name: lam for name, lam in _bound_once_to(fdef, ast.Lambda).items()
            if all(id(u) in called for u in uses if u.id == name)}


def _stencil_calls(fdef) -> set:
    """``numba.stencil(lambda ...)`` calls whose result is called at once (ids)."""
    return {id(n.func) for n in ast.walk(fdef) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Call) and len(n.func.args) == 1
            and isinstance(n.func.args[0], ast.Lambda)
            and _dotted(n.func.func).split(".")[-1] == "stencil"}
