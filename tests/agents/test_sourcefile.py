"""Kernel sources imported from the user's file or a copy; a copy's locations mapped back."""

from __future__ import annotations

import pytest

from adtriad.agents.sourcefile import load_kernel, user_locations

SOURCE = "def f(x):\n    y = x * x\n    return {1: y}[1]\n"


def _refusal(func) -> str:
    from adtriad.ad_core import Active, Reverse, autodiff
    from adtriad.ad_core.errors import ADError

    with pytest.raises(ADError) as err:
        autodiff(Reverse, func, Active, Active(2.0))
    return str(err.value)


def test_a_file_that_holds_the_source_is_imported_itself(tmp_path):
    user = tmp_path / "mine.py"
    user.write_text(SOURCE.replace("x * x", "x * x + 0.0"))
    f = load_kernel(user.read_text(), "f", tmp_path / "copies", str(user))
    assert f.__code__.co_filename == str(user)
    assert f"{user}:3:12: cannot differentiate a dict" in _refusal(f)


def test_a_file_this_machine_lacks_is_named_through_its_copy(tmp_path):
    user = tmp_path / "elsewhere" / "mine.py"  # never written: the source came over the wire
    f = load_kernel(SOURCE, "f", tmp_path / "copies", str(user))
    assert f.__code__.co_filename.startswith(str(tmp_path / "copies"))
    message = user_locations(_refusal(f))
    assert f"{user}:3:12: cannot differentiate a dict" in message
    assert "adtriad_kernel_" not in message


def test_an_embedded_source_is_shifted_by_its_line_and_indent(tmp_path):
    source = SOURCE.replace("x * x", "x * x + 1.0")
    f = load_kernel(source, "f", tmp_path / "copies", "s.yaml", line=7, column=4)
    copy = f.__code__.co_filename
    assert f"s.yaml:9:16: cannot differentiate a dict" in user_locations(_refusal(f))
    frame = f'File "{copy}", line 2, in f'
    assert user_locations(frame) == 'File "s.yaml", line 8, in f'
    assert user_locations("no location here") == "no location here"
