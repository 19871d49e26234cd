"""The README's commands and CI stay in step."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """.ci/run runs the README's second command verbatim (the first command it runs after the
    system set-up), then the quick suite on Python 3.13; the demo installs the runtime lock
    only and the tests the test lock."""
    demo, test = _commands()[:2]
    assert "patrolgrid demo" in demo
    assert "-r requirements.lock -e . " in demo
    assert "pytest --slow" in test
    assert "-r requirements-test.lock" in test
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci.count(test) == 1
    at = ci.index(test)
    assert ci[at - 1 : at + 3] == ["readme_tests() {", test, "}", "readme_tests"]  # then run
    after = "\n".join(ci[at + 3 :])
    assert "python3.13" in after
    assert "pytest -p no:cacheprovider" in after
    assert "--slow" not in after
