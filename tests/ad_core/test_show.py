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
