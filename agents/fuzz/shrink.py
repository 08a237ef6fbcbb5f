"""Shrinking a failing program: smaller programs that still fail the same way, and the test they become.

Contract: :func:`shrink` takes a program, a predicate ``still_fails(program) -> bool`` and a time
budget, and returns the smallest program it found for which the predicate holds (the original
when none). Candidates, tried greedily (the first that still fails is taken, then its own
candidates), are: a statement deleted; an ``if``/``for``/``while`` replaced by one of its bodies;
a call of a helper replaced by one of its arguments and an unused helper deleted (so helpers
inline away); a sub-expression replaced by one of its operands or by ``0.5``; a numeric
constant replaced by a simpler one (0, 1, 0.5); an int argument lowered. A candidate must
parse and be shorter (or simpler in its ints) than the program it came from.

:func:`regression_test` writes the shrunk program as a pytest module that checks it with
:func:`~adtriad.agents.fuzz.check.check_program` and fails while the engine still gets it wrong.
"""

from __future__ import annotations

import ast
import copy
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from adtriad.agents.fuzz.generator import Program

__all__ = ["shrink", "regression_test"]


def shrink(program: Program, still_fails: Callable[[Program], bool], budget_s: float = 120.0,
           log: Callable[[str], None] | None = None) -> tuple[Program, int]:
    """(the smallest failing program found, candidates tried); see the module contract."""
    best, tried = program, 0
    seen = {(program.source, program.int_values)}
    deadline = time.monotonic() + budget_s
    progress = True
    while progress and time.monotonic() < deadline:
        progress = False
        for candidate in _candidates(best):
            if time.monotonic() >= deadline:
                break
            if (candidate.source, candidate.int_values) in seen:
                continue
            seen.add((candidate.source, candidate.int_values))
            tried += 1
            if still_fails(candidate):
                best, progress = candidate, True
                if log is not None:
                    log(f"shrunk to {len(best.source.splitlines())} lines ({tried} tried)")
                break
    return best, tried


def _candidates(program: Program) -> Iterator[Program]:
    for k, value in enumerate(program.int_values):  # fewer trips first: shorter runs
        for smaller in range(value):
            ints = program.int_values[:k] + (smaller,) + program.int_values[k + 1:]
            yield replace(program, int_values=ints)
    for phase in (_statement_candidates, _call_candidates, _expression_candidates):
        for tree in phase(program.source):
            source = _render(tree)
            if source is not None and len(source) < len(program.source):
                yield replace(program, source=source)


# ----------------------------------------------------------------------------------------------
# Statements


def _bodies(tree: ast.AST):
    """Every statement list in the module, with its owner (to keep function bodies non-empty)."""
    for node in ast.walk(tree):
        for attr in ("body", "orelse"):
            body = getattr(node, attr, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield node, attr, body


def _statement_candidates(source: str) -> Iterator[ast.AST]:
    n_bodies = len(list(_bodies(ast.parse(source))))
    for b in range(n_bodies):
        length = len(list(_bodies(ast.parse(source)))[b][2])
        for i in range(length):
            tree = ast.parse(source)
            owner, attr, body = list(_bodies(tree))[b]
            stmt = body[i]
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(owner, ast.FunctionDef) and isinstance(stmt, ast.Return) and i == length - 1:
                continue  # a function keeps its final return (else it returns None)
            del body[i]
            if not body:
                if isinstance(owner, ast.FunctionDef) or attr == "body":
                    body.append(ast.Pass())
                else:
                    setattr(owner, attr, [])
            yield tree
            for part in ("body", "orelse"):  # a compound statement replaced by one of its bodies
                tree = ast.parse(source)
                _, _, body = list(_bodies(tree))[b]
                inner = getattr(body[i], part, None)
                if isinstance(body[i], (ast.If, ast.For, ast.While)) and inner:
                    body[i:i + 1] = inner
                    yield tree
    tree = ast.parse(source)  # the entry without its decorator
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "f" and node.decorator_list:
            node.decorator_list = []
            yield tree


def _call_candidates(source: str) -> Iterator[ast.AST]:
    """Helpers inlined away: a call replaced by an argument; a helper nobody calls deleted."""
    tree = ast.parse(source)
    helpers = {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name != "f"}
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    for name in sorted(helpers - called):
        tree = ast.parse(source)
        tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name == name)]
        yield tree
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id in helpers]
    for k, call in enumerate(calls):
        for j in range(len(call.args)):
            tree = ast.parse(source)
            target = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                      and isinstance(n.func, ast.Name) and n.func.id in helpers][k]
            _swap(tree, target, target.args[j])
            yield tree


# ----------------------------------------------------------------------------------------------
# Expressions and constants


_ARRAY_MAKERS = ("zeros", "empty", "zeros_like", "empty_like", "copy", "ones", "full")


def _replacements(node: ast.expr) -> list[ast.expr]:
    out: list[ast.expr] = []
    if isinstance(node, ast.BinOp):
        out += [node.left, node.right]
    elif isinstance(node, ast.UnaryOp):
        out.append(node.operand)
    elif isinstance(node, ast.IfExp):
        out += [node.body, node.orelse]
    elif isinstance(node, ast.BoolOp):
        out += list(node.values)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr not in _ARRAY_MAKERS:
        out += [a for a in node.args if not isinstance(a, ast.Constant)]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
        out += list(node.args)
    elif isinstance(node, ast.Constant) and isinstance(node.value, float) and node.value not in (0.0, 0.5, 1.0):
        out += [ast.Constant(0.5), ast.Constant(1.0), ast.Constant(0.0)]
    if isinstance(node, (ast.BinOp, ast.Call, ast.Subscript, ast.UnaryOp, ast.IfExp)) and not (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"):
        out.append(ast.Constant(0.5))
    return out


def _expression_candidates(source: str) -> Iterator[ast.AST]:
    nodes = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.expr)]
    for k, node in enumerate(nodes):
        for r in range(len(_replacements(node))):
            tree = ast.parse(source)
            target = [n for n in ast.walk(tree) if isinstance(n, ast.expr)][k]
            _swap(tree, target, copy.deepcopy(_replacements(target)[r]))
            yield tree


def _swap(tree: ast.AST, target: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, name, new)
            elif isinstance(value, list):
                for j, item in enumerate(value):
                    if item is target:
                        value[j] = new


def _render(tree: ast.AST) -> str | None:
    try:
        source = ast.unparse(ast.fix_missing_locations(tree))
        compile(source, "<candidate>", "exec")
    except (SyntaxError, ValueError, TypeError):
        return None
    # the generator's layout: two blank lines before each top-level def
    source = re.sub(r"\n+((?:@[^\n]+\n)*)def ", lambda m: "\n\n\n" + m.group(1) + "def ", source)
    return source + "\n"


# ----------------------------------------------------------------------------------------------
# The regression test


def regression_test(program: Program, modes: tuple[str, ...], found: str) -> str:
    """A pytest module that checks ``program`` in ``modes`` and fails while it is wrong or crashes
    (a refusal passes: refusing is the engine's way of not being wrong)."""
    return f'''"""A program the fuzzer found: {found}

Shrunk by adtriad.agents.fuzz.shrink; checked against the dual-number oracle in {", ".join(modes)}.
"""

from adtriad.agents.fuzz.check import check_program
from adtriad.agents.fuzz.generator import Program

SOURCE = {program.source!r}

PROGRAM = Program(SOURCE, {program.floats!r}, {program.arrays!r}, {program.ints!r}, {program.int_values!r},
                  {program.input_seed!r}, inputs={program.inputs!r})


def test_the_engine_is_right_or_refuses():
    verdict = check_program(PROGRAM, modes={modes!r})
    assert verdict.status in ("ok", "refused", "nondiff"), verdict.detail
'''
