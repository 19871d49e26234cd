"""Tests for geo.categories: the editable category -> severity table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geo.categories import DEFAULT_SEVERITY, CategoryTable, default_categories, load_categories
from geo.errors import IncidentError
from tests.conftest import PHL


def test_default_table_covers_every_philadelphia_category(phl_dir: Path) -> None:
    """Every text_general_code in the 2025 and 2016 Philadelphia files has a severity."""
    codes: set[str] = set()
    for path in [
        PHL / "phl_incidents_2025-01.csv",
        *sorted((PHL / "incidents_2016").glob("*.csv")),
    ]:
        codes |= set(pd.read_csv(path, usecols=["text_general_code"])["text_general_code"].dropna())
    assert len(codes) >= 28
    assert default_categories().classify(sorted(codes)).unknown == ()


def test_default_table_has_common_chinese_categories() -> None:
    """盗窃, 抢劫, 诈骗 and 纠纷 are listed, robbery more severe than a dispute."""
    result = default_categories().classify(["盗窃", "抢劫", "诈骗", "纠纷"])
    assert result.unknown == ()
    theft, robbery, fraud, dispute = result.severity.tolist()
    assert robbery > theft >= dispute
    assert fraud >= dispute


def test_unknown_categories_get_the_default_and_are_reported() -> None:
    """A category the table lacks gets the default severity, group 'unknown', and is listed."""
    result = default_categories().classify(["Thefts", "Alien abduction", None])
    assert result.severity[1] == DEFAULT_SEVERITY
    assert result.group[1] == "unknown"
    assert "Alien abduction" in result.unknown


def test_matching_ignores_case_and_spacing() -> None:
    """'  thefts ' and 'driving under the influence' find their rows."""
    result = default_categories().classify(["  thefts ", "driving under the influence"])
    assert result.unknown == ()


def test_user_table_is_read_and_checked(tmp_path: Path) -> None:
    """An edited CSV is used as written; a severity outside 1..5 is refused with the line."""
    good = tmp_path / "cats.csv"
    good.write_text(
        "category,severity,group\nNoise,1,order\nBurglary,5,property\n", encoding="utf-8"
    )
    table = load_categories(good)
    assert table.classify(["Burglary"]).severity.tolist() == [5]
    bad = tmp_path / "bad.csv"
    bad.write_text("category,severity,group\nNoise,7,order\n", encoding="utf-8")
    with pytest.raises(IncidentError, match="line 2"):
        load_categories(bad)


def test_repeated_category_is_refused() -> None:
    """Two rows for the same category (after case folding) are an error, not a silent pick."""
    frame = pd.DataFrame({"category": ["Theft", "theft"], "severity": [1, 2], "group": ["a", "b"]})
    with pytest.raises(IncidentError, match="repeats"):
        CategoryTable(frame)
