"""geo.rollup: per-leaf tables aggregate to every level of the hierarchy."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import GridError
from geo.rollup import roll_up

GRIDS = pd.DataFrame(
    {
        "grid_id": ["D1", "D2", "S1", "C1", "C2", "g1", "g2", "g3"],
        "level": [
            "district",
            "district",
            "street",
            "community",
            "community",
            "grid",
            "grid",
            "grid",
        ],
        "parent_id": [None, None, "D1", "S1", "S1", "C1", "C1", "C2"],
    }
)
# D2 is a leaf district (no children), C2 has one cell, C1 two.


def test_sums_at_every_level() -> None:
    """Each upper grid gets the sum of the leaves below it; every grid has exactly one row."""
    table = pd.DataFrame({"grid_id": ["g1", "g2", "g3", "D2"], "count": [1, 2, 4, 8]})
    out = roll_up(table, GRIDS, value_columns=["count"]).set_index("grid_id")
    assert out.index.tolist() == ["D1", "D2", "S1", "C1", "C2", "g1", "g2", "g3"]
    assert out["count"].to_dict() == {
        "D1": 7,
        "D2": 8,
        "S1": 7,
        "C1": 3,
        "C2": 4,
        "g1": 1,
        "g2": 2,
        "g3": 4,
    }
    assert out.loc["S1", "level"] == "street"


def test_other_aggregations_and_fill() -> None:
    """'mean' and 'max' aggregate leaf rows; grids with no rows get the fill value."""
    table = pd.DataFrame({"grid_id": ["g1", "g2", "g1"], "risk": [1.0, 3.0, 5.0]})
    mean = roll_up(table, GRIDS, value_columns=["risk"], how="mean").set_index("grid_id")["risk"]
    assert mean["C1"] == pytest.approx(3.0)
    assert mean["g1"] == pytest.approx(3.0)
    assert pd.isna(mean["C2"])
    top = roll_up(table, GRIDS, value_columns=["risk"], how="max", fill_value=0.0).set_index(
        "grid_id"
    )["risk"]
    assert top["D1"] == 5.0
    assert top["C2"] == 0.0


def test_rows_outside_are_ignored_and_unknown_ids_refused() -> None:
    """Rows with no grid_id (outside every grid) are skipped; a non-leaf or unknown id is an error."""
    table = pd.DataFrame({"grid_id": ["g1", None], "count": [1, 5]})
    assert (
        roll_up(table, GRIDS, value_columns=["count"]).set_index("grid_id").loc["D1", "count"] == 1
    )
    with pytest.raises(GridError, match="C1"):
        roll_up(pd.DataFrame({"grid_id": ["C1"], "count": [1]}), GRIDS, value_columns=["count"])
    with pytest.raises(GridError, match="lacks"):
        roll_up(table, GRIDS, value_columns=["nope"])


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["g1", "g2", "g3", "D2"]), st.integers(0, 100)), max_size=30)
)
def test_totals_are_preserved(rows: list[tuple[str, int]]) -> None:
    """Property: at each level the sum over that level's rows equals the table total (leaves counted once)."""
    table = pd.DataFrame(rows, columns=["grid_id", "count"])
    out = roll_up(table, GRIDS, value_columns=["count"])
    total = int(table["count"].sum())
    tops = out[out["parent_id"].isna()]
    assert int(tops["count"].sum()) == total
    leaves = out[out["grid_id"].isin(["g1", "g2", "g3", "D2"])]
    assert int(leaves["count"].sum()) == total
