"""Find a function's source and environment: a ``def``, nested ``def``, ``lambda`` or Numba
dispatcher becomes a :class:`SourceFunction` holding its ``ast.FunctionDef`` (line numbers as in
the file), the file name, and the names it can see (the live globals, and the closure cells as they were when it was parsed).

Functions without source (builtins, ``exec``-made code, C extensions) are refused with an
:class:`~adtriad.ad_core.errors.ADError` that says what to do.
"""

from __future__ import annotations

import ast
import collections
import hashlib
import inspect
import textwrap
import types
from dataclasses import dataclass, field

from adtriad.ad_core.errors import ADError


@dataclass(eq=False)
class SourceFunction:
    """A user function ready for transformation."""

    func: types.FunctionType
    tree: ast.FunctionDef
    filename: str
    namespace: dict = field(repr=False)
    text: str = field(repr=False, default="")

    @property
    def name(self) -> str:
        return self.tree.name

    @property
    def digest(self) -> str:
        """Hash of the source text: part of every cache key."""
        # The tree (with positions) tells apart lambdas that share a line of source.
        ident = (f"{self.func.__module__}:{self.func.__qualname__}:{self.filename}\n"
                 f"{ast.dump(self.tree, include_attributes=True)}")
        return hashlib.sha256(ident.encode()).hexdigest()[:16]


def python_function(func) -> types.FunctionType:
    """The Python function behind a plain function or a Numba (CPU or CUDA) dispatcher."""
    inner = getattr(func, "py_func", None)
    if isinstance(inner, types.FunctionType):
        return inner
    if isinstance(func, types.FunctionType):
        return func
    raise ADError(
        f"cannot differentiate {func!r}: it is not a Python function or a Numba dispatcher. "
        "Pass a `def`, a `lambda`, a numba.njit function or a numba.cuda kernel/device function.")


_CACHE: dict[types.FunctionType, SourceFunction] = {}


def get_source_function(func) -> SourceFunction:
    """Parse ``func`` (cached per function object)."""
    py = python_function(func)
    found = _CACHE.get(py)
    if found is None:
        found = _CACHE[py] = _parse(py)
    return found


def register(py: types.FunctionType, tree: ast.FunctionDef, filename: str, namespace,
             text: str) -> SourceFunction:
    """Give a function made from a transformed tree (a stencil's kernel shifted to a point)
    that tree as its source, so it is differentiated like a function written in a file."""
    _CACHE[py] = SourceFunction(py, tree, filename, namespace, text)
    return _CACHE[py]


def _parse(py: types.FunctionType) -> SourceFunction:
    filename = py.__code__.co_filename
    try:
        lines, start = inspect.getsourcelines(py)
    except (OSError, TypeError) as exc:
        raise ADError(
            f"cannot differentiate {py.__qualname__}: its source is not available ({exc}). "
            "Define it in a .py file (not with exec/eval or in an interactive prompt without "
            "a file) so that its source can be read.") from None
    start = max(start, 1)
    text = textwrap.dedent("".join(lines))
    indent = len(lines[0]) - len(lines[0].lstrip())
    if py.__name__ == "<lambda>":
        tree = _lambda_tree(py, text, filename, start, indent)
    else:
        module = _parse_text(text, filename, py)
        tree = next((n for n in module.body if isinstance(n, ast.FunctionDef)), None)
        if tree is None:
            raise ADError(f"{filename}:{start}: no `def {py.__name__}` found in its source")
        ast.increment_lineno(module, start - 1)
        _shift_cols(module, indent)
        tree.decorator_list = []
    if py.__module__.startswith(GENERATED_PREFIX):
        _rename_generated_locals(tree, filename)
    namespace = collections.ChainMap({}, py.__globals__)  # live globals, closure cells first
    if py.__closure__:
        for name, cell in zip(py.__code__.co_freevars, py.__closure__):
            try:
                namespace.maps[0][name] = cell.cell_contents
            except ValueError:
                raise ADError(f"{filename}:{start}: closure variable {name!r} of "
                              f"{py.__qualname__} is not yet assigned") from None
    return SourceFunction(py, tree, filename, namespace, text)


GENERATED_PREFIX = "adtriad_"  # modules of generated derivative code


def _rename_generated_locals(tree: ast.FunctionDef, filename: str) -> None:
    """Derivative code differentiated again (second order) has locals named like the names
    the engine generates; give them another prefix (``_ad_x`` -> ``_ad1_x``) so the two
    generations of names cannot collide."""
    local = {a.arg for a in tree.args.args}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
    renames = {n: "_ad1" + n[3:] for n in local if n.startswith("_ad_")}
    clash = set(renames.values()) & local
    if clash:
        raise ADError(f"{filename}:{tree.lineno}: cannot differentiate {tree.name} again: its "
                      f"names {sorted(clash)} collide with renamed generated names")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in renames:
            node.id = renames[node.id]
        elif isinstance(node, ast.arg) and node.arg in renames:
            node.arg = renames[node.arg]


def _parse_text(text: str, filename: str, py) -> ast.Module:
    try:
        return ast.parse(text, filename)
    except SyntaxError:
        pass
    # A lambda inside a larger expression spanning lines: parse the first line as best we can.
    raise ADError(f"{filename}: could not parse the source of {py.__qualname__}; "
                  "define it as a plain `def` in a .py file")


def _shift_cols(tree: ast.AST, indent: int) -> None:
    for node in ast.walk(tree):
        if hasattr(node, "col_offset"):
            node.col_offset += indent


def _lambda_tree(py, text: str, filename: str, start: int, indent: int) -> ast.FunctionDef:
    """Cut the lambda out of its line(s) and turn it into an equivalent ``def``."""
    candidates = _lambda_candidates(text)
    if not candidates:
        raise ADError(f"{filename}:{start}: could not find the source of this lambda; "
                      "define it as a one-line lambda or a `def`")
    def signature(code):  # what tells lambdas on one line apart (bytecode varies by context)
        # a name the lambda closes over is a free variable in place and a global when the
        # lambda is compiled alone: compare the names it reads, whichever kind they are
        return (sorted(set(code.co_names) | set(code.co_freevars)), code.co_consts,
                code.co_varnames, code.co_argcount)

    matches = []
    for node in candidates:
        outer = compile(ast.Expression(body=node), filename, "eval")
        code = next((c for c in outer.co_consts if isinstance(c, types.CodeType)), None)
        if code is not None and signature(code) == signature(py.__code__):
            matches.append(node)
    if len({ast.dump(m) for m in matches}) != 1:
        raise ADError(f"{filename}:{start}: cannot tell which lambda on this line is meant; "
                      "give it a line of its own or make it a `def`")
    match = matches[0]
    fdef = ast.FunctionDef(name="lambda_", args=match.args,
                           body=[ast.Return(value=match.body)], decorator_list=[],
                           returns=None, type_params=[])
    ast.copy_location(fdef, match)
    ast.copy_location(fdef.body[0], match.body)
    module = ast.Module(body=[fdef], type_ignores=[])
    ast.fix_missing_locations(module)
    ast.increment_lineno(module, start - 1)
    _shift_cols(module, indent)
    return fdef


def _lambda_candidates(text: str) -> list[ast.Lambda]:
    """All lambda nodes in the text, trimming trailing lines until it parses."""
    lines = text.splitlines()
    for end in range(len(lines), 0, -1):
        chunk = "\n".join(lines[:end]).strip()
        for attempt in (chunk, chunk.rstrip(",);"), "(" + chunk.rstrip(",") + ")",
                        chunk + " pass"):
            try:
                tree = ast.parse(attempt)
            except SyntaxError:
                continue
            return [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
    return []
