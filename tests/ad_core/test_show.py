"""`triad show` and derivative_source print readable generated code stamped with its origin."""

import subprocess
import sys
from pathlib import Path

import pytest

from adtriad.ad_core import ADError, Forward, Reverse, derivative_source


def poly(x):
    return x * x + 2.0 * x + 1.0


def test_reverse_source_is_stamped_with_origin():
    text = derivative_source(poly, Reverse)
    assert "def poly__augmented0(x, " in text and "def poly__adjoint0(x, " in text
    line = poly.__code__.co_firstlineno + 1
    assert f"{__file__}:{line}" in text
    compile(text, "generated", "exec")  # valid Python


def test_forward_source():
    text = derivative_source(poly, Forward)
    assert "def poly__tangent0(x, _ad_dot_x):" in text


def test_bad_type_spelling():
    with pytest.raises(ADError, match=r"cannot read the type 'floaty'"):
        derivative_source(poly, Reverse, ["floaty"])


def test_cli_show(tmp_path):
    target = Path(__file__).with_name("functions_for_show.py")
    proc = subprocess.run(
        [sys.executable, "-m", "adtriad.cli", "show", f"{target}:saxpy", "--mode", "reverse",
         "--types", "float64[::1]; float64; float64[::1]"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "def saxpy__adjoint0(y, a, x, _ad_bar_y, _ad_bar_x, _ad_seed" in proc.stdout
    assert f"{target}:3" in proc.stdout


def test_cli_show_bad_target():
    proc = subprocess.run([sys.executable, "-m", "adtriad.cli", "show", "no_such_module:f"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "cannot import 'no_such_module'" in proc.stderr


def _show(tmp_path, source, *args):
    """Run `triad show` on a file holding ``source``; (exit code, stderr, the file)."""
    path = tmp_path / "user_code.py"
    path.write_text(source)
    proc = subprocess.run([sys.executable, "-m", "adtriad.cli", "show", f"{path}:f", *args],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stderr, path


def test_cli_show_syntax_error_names_the_line(tmp_path):
    code, err, path = _show(tmp_path, "def f(x):\n    return x +\n")
    assert code == 2 and "Traceback" not in err
    assert f"{path}:2" in err and "not valid Python" in err


def test_cli_show_module_raising_at_import_names_the_line(tmp_path):
    code, err, path = _show(tmp_path, "import math\n\nLIMIT = math.sqrt(-1.0)\n\n"
                                      "def f(x):\n    return x\n")
    assert code == 2 and "Traceback" not in err
    assert f"{path}:3" in err and "ValueError" in err


def test_cli_show_array_argument_without_types_asks_for_types(tmp_path):
    code, err, path = _show(tmp_path, "def f(a, s):\n    t = 0.0\n    for i in range(a.shape[0]):\n"
                                      "        t += a[i] * s\n    return t\n", "--mode", "reverse")
    assert code == 2 and "Traceback" not in err
    assert f"{path}:3" in err and "--types" in err and "'a'" in err


def test_cli_show_directory_is_named_as_a_directory(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "adtriad.cli", "show", f"{tmp_path}/pkg.py:f"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no such Python file" in proc.stderr
    (tmp_path / "pkg.py").mkdir()
    proc = subprocess.run([sys.executable, "-m", "adtriad.cli", "show", f"{tmp_path}/pkg.py:f"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "a directory" in proc.stderr


def test_default_types_refuse_an_indexed_parameter():
    def total(a):
        return a[0] + a[1]

    with pytest.raises(ADError, match=r"test_show.py:\d+:\d+: parameter 'a' of total is used as an array"):
        derivative_source(total, Reverse)
