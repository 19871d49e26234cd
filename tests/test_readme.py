"""The README's commands and CI stay in step."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """.ci/run's last command is the README's second command, verbatim."""
    demo, test = _commands()[:2]
    assert "patrolgrid demo" in demo
    assert "pytest --slow" in test
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == test
