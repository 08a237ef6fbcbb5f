"""Shared set-up of the whole test suite.

The suite runs on two pytest-xdist workers (``addopts`` in pyproject.toml). Tests that start
Ray, or the triad that runs on it, are put in one group, which ``--dist loadgroup`` runs on a
single worker: two local Ray instances started at once would compete for the same ports and
cores, and the fault tests time the actors they kill.
"""

from __future__ import annotations

import pathlib

import pytest

HERE = pathlib.Path(__file__).resolve().parent
# the folders and files whose tests start Ray or a triad
RAY_TESTS = ("agents", "sweeps", "test_cli.py", "test_config.py", "test_facade.py",
             "test_triad_cli.py", "test_mcp.py", "test_agent_cards.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        first = pathlib.Path(item.fspath).resolve().relative_to(HERE).parts[0]
        if first in RAY_TESTS:
            item.add_marker(pytest.mark.xdist_group("ray"))
