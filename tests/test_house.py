"""House rules on the shape of the code that tooling does not check (STYLE.md, issue 18)."""

from __future__ import annotations

from tests.conftest import ROOT

#: Libraries and the service whose modules stay small (tests and benchmarks are not held to it).
PACKAGES = ("geo", "planner", "maps", "api")
#: "No module over ~600 lines": the test allows a little slack above 600.
MAX_LINES = 650


def _line_counts() -> dict[str, int]:
    counts = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            with path.open(encoding="utf-8") as handle:
                counts[path.relative_to(ROOT).as_posix()] = sum(1 for _ in handle)
    return counts


def test_no_module_over_the_limit() -> None:
    """Every module of geo/, planner/, maps/ and api/ has at most MAX_LINES lines."""
    counts = _line_counts()
    assert len(counts) > 100, "the packages were not found; is ROOT the repository root?"
    over = {name: n for name, n in counts.items() if n > MAX_LINES}
    assert not over, (
        f"modules over {MAX_LINES} lines: "
        + ", ".join(f"{name} ({n})" for name, n in sorted(over.items()))
        + "; split each into modules named for what they hold"
    )
