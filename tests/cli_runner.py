"""What the command-line tests share: a CliRunner keeping stderr apart from stdout, and a
fixture putting structlog back after each test (the CLI configures it)."""

import pytest
import structlog
from typer.testing import CliRunner

try:  # click < 8.2 mixes stderr into stdout unless told not to
    runner = CliRunner(mix_stderr=False)
except TypeError:
    runner = CliRunner()


@pytest.fixture(autouse=True)
def _reset_structlog():
    yield
    structlog.reset_defaults()
