"""Every ```python block of the README and docs/ runs as written on this machine (a GPU or not),
and every documented result (``expression  # value``) is what the expression gives.

A file's blocks run in order in one fresh interpreter, from the repository root, as a reader
pasting them would; a line ``expr  # literal`` (the comment a Python literal, up to a ``;``)
becomes a check that ``expr`` equals it (floats to 1e-9, arrays elementwise).
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

EXPECT = '''
import math as _math
import numpy as _np

def _same(got, want):
    if isinstance(want, (tuple, list)):
        return (isinstance(got, (tuple, list, _np.ndarray)) and len(got) == len(want)
                and all(_same(g, w) for g, w in zip(got, want)))
    if want is None or isinstance(want, (bool, str)):
        return got == want
    return bool(_np.all(_np.isclose(_np.asarray(got, dtype=float), want, rtol=1e-9, atol=1e-12)))

def _expect(got, want, where):
    assert _same(got, want), f"{where}: documented {want!r}, got {got!r}"
'''


def _documented(line: str) -> tuple[str, object] | None:
    """(expression, value) when ``line`` is ``expr  # literal``; else None."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, IndentationError):
        return None
    comments = [t for t in tokens if t.type == tokenize.COMMENT]
    if not comments or line[:1].isspace():
        return None
    code = line[:comments[0].start[1]].rstrip()
    try:
        tree = ast.parse(code)
        value = ast.literal_eval(comments[0].string[1:].split(";")[0].strip())
    except (SyntaxError, ValueError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    expr = tree.body[0].value
    if isinstance(expr, ast.Call) and getattr(expr.func, "id", None) == "print" and len(expr.args) == 1:
        return ast.unparse(expr.args[0]), value  # the documented value is what is printed
    return f"({code})", value


def program(doc: Path) -> str:
    """The file's blocks as one script, documented results turned into checks."""
    lines, text = [EXPECT], doc.read_text(encoding="utf-8")
    for block in BLOCK.finditer(text):
        first = text[:block.start(1)].count("\n") + 1
        for offset, line in enumerate(block.group(1).splitlines()):
            documented = _documented(line)
            if documented is None:
                lines.append(line)
            else:
                code, value = documented
                lines.append(f"_expect({code}, {value!r}, {f'{doc.name}:{first + offset}'!r})")
    return "\n".join(lines) + "\n"


def test_a_documented_result_becomes_a_check():
    assert _documented("f(3.0)      # ((6.0,),)") == ("(f(3.0))", ((6.0,),))
    assert _documented("g(a)   # (5.0, None); da == [6, 12]") == ("(g(a))", (5.0, None))
    assert _documented("r.a, r.b   # (True, True)") == ("(r.a, r.b)", (True, True))
    assert _documented("print(run(x))   # 2.0") == ("run(x)", 2.0)
    assert _documented("x = f(3.0)  # 6.0") is None  # an assignment: shown, not checked
    assert _documented("f(x)  # da[t] is thread t's derivative") is None


@pytest.mark.parametrize("doc", [d for d in DOCS if BLOCK.search(d.read_text(encoding="utf-8"))],
                         ids=lambda d: d.name)
def test_the_examples_run_as_documented(doc, tmp_path):
    script = tmp_path / f"{doc.stem}_examples.py"
    script.write_text(program(doc), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**__import__("os").environ, "RAY_AUTH_MODE": "disabled"})
    assert proc.returncode == 0, proc.stderr[-3000:]
