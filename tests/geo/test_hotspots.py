"""Tests of geo.hotspots: the risk table per leaf grid."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import GridError, IncidentError
from geo.hotspots import risk_table, to_timestamp
from geo.profiles import PROFILE_COLUMNS

NOW = "2024-03-01T00:00:00Z"


def _grids() -> gpd.GeoDataFrame:
    """One community with three 0.01-degree leaf cells side by side (Philadelphia)."""
    cells = [shapely.box(-75.16 + 0.01 * i, 39.98, -75.15 + 0.01 * i, 39.99) for i in range(3)]
    community = shapely.box(-75.16, 39.98, -75.13, 39.99)
    return gpd.GeoDataFrame(
        {
            "grid_id": ["c1", "c1-a", "c1-b", "c1-c"],
            "level": ["community", "grid", "grid", "grid"],
            "parent_id": [None, "c1", "c1", "c1"],
            "name": ["C", "A", "B", "C3"],
            "households": [None, 100, 0, None],
        },
        geometry=[community, *cells],
        crs="EPSG:4326",
    )


def _joined(rows: list[tuple[str | None, str, int]]) -> pd.DataFrame:
    """Joined incidents from (grid_id, UTC time, severity) triples."""
    return pd.DataFrame(
        {
            "incident_id": [f"i{k}" for k in range(len(rows))],
            "grid_id": [g for g, _, _ in rows],
            "occurred_at": pd.to_datetime([t for _, t, _ in rows], utc=True),
            "category": "Thefts",
            "severity": [s for _, _, s in rows],
        }
    )


def test_one_row_per_leaf_with_zeros_where_none() -> None:
    """Every leaf grid gets a row (in grid order), empty grids with zero counts and risk."""
    joined = _joined([("c1-a", "2024-02-28T10:00Z", 2)])
    table = risk_table(joined, _grids(), now=NOW)
    assert table["grid_id"].tolist() == ["c1-a", "c1-b", "c1-c"]
    assert table["count"].tolist() == [1, 0, 0]
    assert table.loc[1, "risk"] == 0.0
    assert table.loc[1, "profile_source"] == "city"


def test_window_counts_and_future_incidents() -> None:
    """Window counts include (now - w, now]; incidents after now are ignored and reported."""
    joined = _joined(
        [
            ("c1-a", "2024-02-27T00:00Z", 1),  # 3 days
            ("c1-a", "2024-02-01T00:00Z", 1),  # 29 days
            ("c1-a", "2023-06-01T00:00Z", 1),  # 274 days
            ("c1-a", "2022-01-01T00:00Z", 1),  # > 365 days
            ("c1-a", "2024-03-05T00:00Z", 1),  # after now
            (None, "2024-02-27T00:00Z", 1),  # outside every grid
        ]
    )
    table = risk_table(joined, _grids(), now=NOW).set_index("grid_id")
    row = table.loc["c1-a"]
    assert row["count"] == 4
    assert (row["count_7d"], row["count_28d"], row["count_90d"], row["count_365d"]) == (1, 1, 2, 3)
    assert table.attrs["incidents_after_now"] == 1
    assert table.attrs["incidents_outside"] == 1


def test_risk_is_severity_weighted_and_halves_per_half_life() -> None:
    """An incident one half-life old counts half its severity."""
    joined = _joined([("c1-a", "2024-02-20T00:00Z", 4), ("c1-b", "2024-03-01T00:00Z", 3)])
    table = risk_table(joined, _grids(), now=NOW, half_life_days=10.0).set_index("grid_id")
    assert table.loc["c1-a", "risk"] == pytest.approx(2.0)
    assert table.loc["c1-b", "risk"] == pytest.approx(3.0)


def test_missing_severity_counts_as_one() -> None:
    """Without a severity column every incident weighs 1."""
    joined = _joined([("c1-a", NOW, 5)]).drop(columns="severity")
    table = risk_table(joined, _grids(), now=NOW)
    assert table.loc[0, "risk"] == pytest.approx(1.0)


def test_profiles_sum_to_one_and_peak_at_local_hour() -> None:
    """The 168 shares sum to 1 in every row and peak at the incidents' local hour of week."""
    # Fridays 2024-02-16 and 2024-02-23 at 23:30 New York time = Saturday 04:30 UTC.
    joined = _joined([("c1-a", "2024-02-17T04:30Z", 1), ("c1-a", "2024-02-24T04:30Z", 1)])
    table = risk_table(joined, _grids(), now=NOW, timezone="America/New_York")
    profiles = table[list(PROFILE_COLUMNS)].to_numpy()
    np.testing.assert_allclose(profiles.sum(axis=1), 1.0)
    assert profiles[0].argmax() == 4 * 24 + 23
    # an empty grid takes the city-wide profile as its fallback
    np.testing.assert_allclose(profiles[1], profiles[2])


def test_rates_where_known() -> None:
    """Rates per household exist only where households are known and positive; area in km2."""
    joined = _joined([("c1-a", NOW, 1), ("c1-b", NOW, 1)])
    table = risk_table(joined, _grids(), now=NOW).set_index("grid_id")
    assert table.loc["c1-a", "count_per_household"] == pytest.approx(0.01)
    assert table.loc["c1-b", "count_per_household"] is None
    assert table.loc["c1-c", "count_per_household"] is None
    # 0.01 degree cells at 40N: about 1.11 km x 0.85 km
    assert table.loc["c1-a", "area_km2"] == pytest.approx(0.948, rel=0.02)
    assert table.loc["c1-a", "count_per_km2"] == pytest.approx(1 / table.loc["c1-a", "area_km2"])


def test_bad_input_is_reported_with_the_field() -> None:
    """Unknown grid ids, bad severities and naive times raise errors naming the field."""
    with pytest.raises(GridError, match="not a leaf"):
        risk_table(_joined([("nope", NOW, 1)]), _grids(), now=NOW)
    with pytest.raises(IncidentError, match="severity"):
        risk_table(_joined([("c1-a", NOW, 9)]), _grids(), now=NOW)
    naive = _joined([("c1-a", NOW, 1)])
    naive["occurred_at"] = naive["occurred_at"].dt.tz_localize(None)
    with pytest.raises(IncidentError, match="timezone-aware"):
        risk_table(naive, _grids(), now=NOW)
    with pytest.raises(IncidentError, match="grid_id"):
        risk_table(naive.drop(columns="grid_id"), _grids(), now=NOW)


def test_no_incidents_at_all() -> None:
    """An empty incident frame gives zeros and flat profiles, not NaN."""
    table = risk_table(_joined([]), _grids(), now=NOW)
    assert table["count"].sum() == 0
    assert not table[list(PROFILE_COLUMNS)].isna().any().any()


def test_naive_now_is_local_time() -> None:
    """A naive `now` is read in the city's zone."""
    assert to_timestamp("2024-03-01 00:00", "America/New_York") == pd.Timestamp(
        "2024-03-01 05:00", tz="UTC"
    )
