"""Tests of geo.alerts: Benjamini-Hochberg, trend warnings, near-repeat flare-ups."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.alerts import benjamini_hochberg, near_repeats, trend_alerts

NOW = pd.Timestamp("2024-03-01", tz="UTC")


def _grids(n: int) -> gpd.GeoDataFrame:
    """n leaf cells in a row, under one community."""
    cells = [shapely.box(-75.16 + 0.01 * i, 39.98, -75.15 + 0.01 * i, 39.99) for i in range(n)]
    return gpd.GeoDataFrame(
        {
            "grid_id": ["c", *[f"g{i}" for i in range(n)]],
            "level": ["community", *["grid"] * n],
            "parent_id": [None, *["c"] * n],
            "name": ["c", *[f"g{i}" for i in range(n)]],
        },
        geometry=[shapely.box(-75.16, 39.98, -75.16 + 0.01 * n, 39.99), *cells],
        crs="EPSG:4326",
    )


def _incidents(grid_id: str, days_ago: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"grid_id": grid_id, "occurred_at": NOW - pd.to_timedelta(days_ago, unit="D")}
    )


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=50))
def test_bh_q_values_are_monotone_and_bounded(p: list[float]) -> None:
    """q >= p, q <= 1, and q preserves the order of p."""
    p_arr = np.array(p)
    q = benjamini_hochberg(p_arr)
    assert (q >= p_arr - 1e-12).all()
    assert (q <= 1).all()
    order = np.argsort(p_arr, kind="stable")
    assert (np.diff(q[order]) >= -1e-12).all()


def test_bh_matches_hand_computation() -> None:
    """BH on four p-values gives the textbook q-values; NaN stays out of the family."""
    q = benjamini_hochberg(np.array([0.01, 0.02, 0.03, 0.5, np.nan]))
    np.testing.assert_allclose(q[:4], [0.04, 0.04, 0.04, 0.5])
    assert np.isnan(q[4])


def test_bh_gives_the_former_hand_written_q_values() -> None:
    """On a fixed input with ties, zeros, a one and NaNs, the q-values are those of the former
    hand-written Benjamini-Hochberg (step-up minimum, capped at 1), computed before it was
    replaced by scipy.stats.false_discovery_control."""
    nan = np.nan
    p = np.array([0.0, 1.0, 0.4667, nan, 0.027, 0.0, 0.0, 0.5538, 0.5064, nan, 0.0278, 0.0216])
    third, fifth = 0.6153333333333333, 0.04633333333333333
    former = [0.0, 1.0, third, nan, fifth, 0.0, 0.0, third, third, nan, fifth, fifth]
    np.testing.assert_allclose(benjamini_hochberg(p), former, rtol=1e-12, atol=0)
    assert np.isnan(benjamini_hochberg(np.array([nan, nan]))).all()


def test_surge_is_flagged_and_steady_grids_are_not() -> None:
    """A grid whose last 28 days hold 30 incidents after 1/week for a year is warned;
    grids at a steady rate are not (FDR control across 20 grids)."""
    rng = np.random.default_rng(0)
    frames = [_incidents("g0", np.concatenate([rng.uniform(0, 28, 30), rng.uniform(28, 393, 52)]))]
    frames += [_incidents(f"g{i}", rng.uniform(0, 393, 60)) for i in range(1, 20)]
    joined = pd.concat(frames, ignore_index=True)
    out = trend_alerts(joined, _grids(20), now=NOW).set_index("grid_id")
    assert out.loc["g0", "warning"]
    assert out.loc["g0", "trend"] == "up"
    assert out.loc["g0", "ratio"] > 5
    assert out["warning"].sum() == 1


def test_sparse_grids_are_omitted_with_reason() -> None:
    """Grids with too few incidents carry no p-value, no warning, and a reason."""
    joined = pd.concat([_incidents("g0", np.array([1.0])), _incidents("g1", np.array([390.0]))])
    out = trend_alerts(joined, _grids(2), now=NOW, min_incidents=3)
    assert out["p_up"].isna().all()
    assert not out["warning"].any()
    assert out["reason"].str.contains("too few").all()


def test_short_history_is_omitted_with_reason() -> None:
    """When the data start inside the recent window there is no baseline to test against."""
    joined = _incidents("g0", np.arange(10.0))
    out = trend_alerts(joined, _grids(1), now=NOW)
    assert out.loc[0, "reason"].startswith("baseline shorter")
    assert out.loc[0, "trend"] is None


def _points(rows: list[tuple[float, float, float, str]]) -> gpd.GeoDataFrame:
    """Incidents from (east metres, north metres, days after Jan 1, category) near Philadelphia."""
    metric = gpd.GeoSeries(
        [shapely.Point(485_000 + e, 4_425_000 + n) for e, n, _, _ in rows], crs="EPSG:32618"
    )
    return gpd.GeoDataFrame(
        {
            "incident_id": [f"i{k}" for k in range(len(rows))],
            "occurred_at": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta([d for _, _, d, _ in rows], unit="D"),
            "category": [c for _, _, _, c in rows],
            "grid_id": "g0",
        },
        geometry=metric.to_crs("EPSG:4326"),
        crs="EPSG:4326",
    )


def test_near_repeat_chain_is_found() -> None:
    """Three burglaries 150 m and 5 days apart form one flare-up; far or late ones do not."""
    b = "Burglary Residential"
    incidents = _points(
        [
            (0, 0, 0, b),
            (150, 0, 5, b),
            (300, 0, 9, b),  # chained through the second
            (5000, 0, 1, b),  # far away
            (0, 0, 30, b),  # too late
            (10, 0, 2, "Thefts"),  # other category
        ]
    )
    out = near_repeats(incidents, categories=[b], min_incidents=3, now="2024-01-12")
    assert len(out) == 1
    assert out.loc[0, "incidents"] == 3
    assert out.loc[0, "incident_ids"] == "i0,i1,i2"
    assert out.loc[0, "active"]
    assert out.loc[0, "grid_ids"] == "g0"


def test_near_repeat_distance_is_euclidean_not_box() -> None:
    """Two incidents 190 m east and 190 m north apart (269 m) are not near repeats at 200 m."""
    incidents = _points([(0, 0, 0, "x"), (190, 190, 1, "x")])
    assert near_repeats(incidents, min_incidents=2).empty


def test_near_repeats_with_too_few_incidents() -> None:
    """Fewer incidents than a flare-up needs give an empty frame with the columns."""
    out = near_repeats(_points([(0, 0, 0, "x")]), min_incidents=3)
    assert out.empty
    assert "flareup_id" in out.columns


@pytest.mark.parametrize("alpha", [0.0, 1.5])
def test_alpha_must_be_a_rate(alpha: float) -> None:
    """alpha outside (0, 1) is rejected."""
    with pytest.raises(ValueError, match="alpha"):
        trend_alerts(_incidents("g0", np.array([1.0])), _grids(1), now=NOW, alpha=alpha)
