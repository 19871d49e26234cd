"""api.planning.shift_risk: the three risk sources a plan's stop prizes come from."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from api.planning import shift_risk
from geo.join import join_incidents
from planner.errors import PlannerError
from planner.units_file import parse_units


def _data() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A 4 x 4 grid of 250 m cells under one community, 120 days of incidents, one hot cell."""
    cells, ids = [], []
    for i in range(4):
        for j in range(4):
            x0, y0 = 485_000 + 250 * i, 4_425_000 + 250 * j
            cells.append(shapely.box(x0, y0, x0 + 250, y0 + 250))
            ids.append(f"c-{i}-{j}")
    grids = gpd.GeoDataFrame(
        {
            "grid_id": ["com", *ids],
            "level": ["community", *["grid"] * 16],
            "parent_id": [None, *["com"] * 16],
        },
        geometry=[shapely.box(485_000, 4_425_000, 486_000, 4_426_000), *cells],
        crs="EPSG:32618",
    ).to_crs("EPSG:4326")
    rng = np.random.default_rng(0)
    n = 600
    hot = rng.random(n) < 0.5
    x = np.where(hot, rng.uniform(485_000, 485_250, n), rng.uniform(485_000, 486_000, n))
    y = np.where(hot, rng.uniform(4_425_000, 4_425_250, n), rng.uniform(4_425_000, 4_426_000, n))
    incidents = gpd.GeoDataFrame(
        {
            "incident_id": [f"i{k}" for k in range(n)],
            "occurred_at": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.uniform(0, 120, n), unit="D"),
            "category": "Thefts",
        },
        geometry=gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:32618").to_crs("EPSG:4326"),
        crs="EPSG:4326",
    )
    return grids, join_incidents(incidents, grids)


def test_sources_give_prizes_and_the_forecast_a_why() -> None:
    """counts and forecast give a prize per grid (the hot cell first); forecast adds the shift
    forecast and a Chinese why, and judges its method on 28-day windows (a shift is too short);
    an unknown source is refused."""
    grids, joined = _data()
    units = parse_units(
        {
            "timezone": "UTC",
            "shift": {"start": "2024-04-30T18:00", "end": "2024-05-01T02:00"},
            "units": [{"unit_id": "car", "kind": "police_car", "depot": [-75.17, 39.97]}],
        }
    )
    before = joined.loc[joined["occurred_at"] < units.shift_start]
    counts = shift_risk(before, grids, units, source="counts")
    forecast = shift_risk(before, grids, units, source="forecast", lang="zh")
    for table in (counts, forecast):
        assert table.sort_values("prize", ascending=False)["grid_id"].iloc[0] == "c-0-0"
    assert "forecast_shift" in forecast.columns
    assert forecast["why"].str.contains("本班次预测").any()
    assert "windows of 28 days" in forecast.attrs["forecast_backtest"]
    assert "prize" not in shift_risk(before, grids, units, source="risk").columns
    with pytest.raises(PlannerError, match="risk source"):
        shift_risk(before, grids, units, source="crystal")


def test_flare_ups_come_from_near_repeat_categories_only() -> None:
    """600 thefts in one square kilometre chain into one giant cluster; the plan's flare-ups are
    looked for in burglary only (geo.alerts.near_repeat_categories), so no stop is raised by a
    theft chain, and three burglaries near each other in the last days raise their cell."""
    grids, joined = _data()
    units = parse_units(
        {
            "timezone": "UTC",
            "shift": {"start": "2024-04-30T18:00", "end": "2024-05-01T02:00"},
            "units": [{"unit_id": "car", "kind": "police_car", "depot": [-75.17, 39.97]}],
        }
    )
    before = joined.loc[joined["occurred_at"] < units.shift_start]
    plain = shift_risk(before, grids, units, source="forecast")
    assert not plain["why"].str.contains("flare-up").any()
    spot = shapely.Point(485_900, 4_425_900)  # cell c-3-3, a quiet corner
    burglaries = gpd.GeoDataFrame(
        {
            "incident_id": ["b1", "b2", "b3"],
            "occurred_at": pd.to_datetime(
                ["2024-04-27T10:00", "2024-04-28T22:00", "2024-04-29T03:00"], utc=True
            ),
            "category": "Burglary Residential",
        },
        geometry=gpd.GeoSeries([spot, spot, spot], crs="EPSG:32618").to_crs("EPSG:4326"),
        crs="EPSG:4326",
    )
    both = pd.concat([before, join_incidents(burglaries, grids)], ignore_index=True)
    raised = shift_risk(both, grids, units, source="forecast").set_index("grid_id")
    assert "near-repeat flare-up (3 incidents" in raised.loc["c-3-3", "why"]
    assert raised["why"].str.contains("flare-up").sum() == 1
