"""The house tooling holds over the whole tree: ruff (lint and format) and mypy on the libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_lint_is_clean() -> None:
    """`ruff check .` finds nothing."""
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    """`ruff format --check .` would change nothing."""
    result = _run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_on_the_libraries() -> None:
    """mypy (configured in pyproject.toml: geo, planner, maps) reports no error."""
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
