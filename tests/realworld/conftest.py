"""Shared set-up of the real-world corpus tests: this folder goes on ``sys.path``, so that the
corpus (``tangent_functions.py``) and its harness (``corpus_harness.py``) import by their names,
as ``benchmarks/tangent_corpus.py`` imports them."""

from __future__ import annotations

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
