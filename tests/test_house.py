"""House rules on the shape of the code that tooling does not check (STYLE.md, issue 18)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT

#: Libraries and the service whose modules stay small (tests and benchmarks are not held to it).
PACKAGES = ("geo", "planner", "maps", "api")
#: "No module over ~600 lines": the test allows a little slack above 600.
MAX_LINES = 650
#: Modules allowed over the limit for now. Other branches are changing these very files (the
#: forecast, and one lowering of a problem for every engine), so they are split there, not
#: here; remove each entry once its module is back under the limit. Nothing else belongs here.
ALLOWED_OVER = frozenset(
    {
        "geo/forecast.py",
        "planner/ortools_backend.py",
        "planner/portfolio_backend.py",
    }
)


def _line_counts() -> dict[str, int]:
    counts = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            with path.open(encoding="utf-8") as handle:
                counts[path.relative_to(ROOT).as_posix()] = sum(1 for _ in handle)
    return counts


def test_no_module_over_the_limit() -> None:
    """Every module of geo/, planner/, maps/ and api/ has at most MAX_LINES lines, except the
    allow-listed ones."""
    counts = _line_counts()
    assert len(counts) > 100, "the packages were not found; is ROOT the repository root?"
    over = {name: n for name, n in counts.items() if n > MAX_LINES and name not in ALLOWED_OVER}
    assert not over, (
        f"modules over {MAX_LINES} lines: "
        + ", ".join(f"{name} ({n})" for name, n in sorted(over.items()))
        + "; split each into modules named for what they hold"
    )


def test_allow_list_names_real_modules() -> None:
    """Each allow-listed module exists (a renamed or deleted one leaves a stale entry)."""
    missing = sorted(name for name in ALLOWED_OVER if not Path(ROOT, name).is_file())
    assert not missing, f"ALLOWED_OVER names modules that do not exist: {missing}"
