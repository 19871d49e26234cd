"""Tests of geo.patrol_risk and geo.grid_forecast: the shift forecast on the city's grids and the
prize that warnings, flare-ups and Gi* hot spots raise, with a why in English and Chinese."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.grid_forecast import forecast_grids, grid_space
from geo.patrol_risk import patrol_prize, shift_forecast, shift_shares
from geo.profiles import PROFILE_COLUMNS
from planner.stops import stop_table

SHIFT = ("2024-05-06 08:00", "2024-05-06 16:00")  # a Monday, local time
TZ = "UTC"


def _table(n: int = 4) -> pd.DataFrame:
    """A risk table of ``n`` grids with a flat weekly profile and equal forecasts."""
    table = pd.DataFrame({"grid_id": [f"g{i}" for i in range(n)]})
    table["risk"] = 1.0
    table["count"] = 3
    table["forecast_shift"] = 0.5
    flat = pd.DataFrame(
        np.full((n, 168), 1 / 168), columns=list(PROFILE_COLUMNS), index=table.index
    )
    return pd.concat([table, flat], axis=1)


def _grids() -> gpd.GeoDataFrame:
    """Two communities of 3 x 3 cells of 200 m each, side by side (UTM 18N)."""
    rows = [("A", "community", None), ("B", "community", None)]
    geoms = [
        shapely.box(485_000, 4_425_000, 485_600, 4_425_600),
        shapely.box(485_600, 4_425_000, 486_200, 4_425_600),
    ]
    for c, x_off in (("A", 0), ("B", 600)):
        for i in range(3):
            for j in range(3):
                x0, y0 = 485_000 + x_off + 200 * i, 4_425_000 + 200 * j
                rows.append((f"{c}{i}{j}", "grid", c))
                geoms.append(shapely.box(x0, y0, x0 + 200, y0 + 200))
    frame = pd.DataFrame(rows, columns=["grid_id", "level", "parent_id"])
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:32618").to_crs("EPSG:4326")


def test_shift_shares_count_the_shift_hours_of_the_profile() -> None:
    """An 8-hour shift takes 8/168 of a flat week; a profile all in one hour gives that hour's
    share only when the shift covers it (half of it for half an hour)."""
    flat = np.full((1, 168), 1 / 168)
    assert shift_shares(flat, *SHIFT, TZ)[0] == pytest.approx(8 / 168)
    spike = np.zeros((1, 168))
    spike[0, 9] = 1.0  # Monday 09:00
    assert shift_shares(spike, *SHIFT, TZ)[0] == pytest.approx(1.0)
    assert shift_shares(spike, "2024-05-06 09:30", "2024-05-06 12:00", TZ)[0] == pytest.approx(0.5)
    assert shift_shares(spike, "2024-05-07 08:00", "2024-05-07 16:00", TZ)[0] == 0.0


def test_a_significant_gi_hot_spot_outranks_an_isolated_count() -> None:
    """Two grids with the same forecast and count: the one in a significant Gi* cluster gets the
    larger prize; a positive but non-significant z changes nothing."""
    table = _table(3)
    table["gi_z"] = [3.0, 0.5, 1.0]
    table["gi_p"] = [0.001, 0.3, 0.16]
    out = patrol_prize(table, shift_start=SHIFT[0], shift_end=SHIFT[1], timezone=TZ)
    assert out["prize"].iloc[0] > out["prize"].iloc[1] == out["prize"].iloc[2]
    assert "Gi*" in out["why"].iloc[0]
    assert "Gi*" not in out["why"].iloc[1]


def test_a_warning_raises_its_grid_and_decays_over_the_next_shifts() -> None:
    """A trend warning raises its grid by its ratio over the baseline; a week after its latest
    incident half of the lift is left, and after many weeks almost none."""
    table = _table(2)
    table["warning"] = [True, False]
    table["ratio"] = [2.0, 1.0]
    table["last_incident"] = pd.Timestamp("2024-05-06 07:00", tz="UTC")
    today = patrol_prize(table, shift_start=SHIFT[0], shift_end=SHIFT[1], timezone=TZ)
    assert today["boost"].iloc[0] == pytest.approx(1 + 0.5 ** (1 / 24 / 7), rel=1e-6)
    assert today["boost"].iloc[1] == 1.0
    week = patrol_prize(
        table, shift_start="2024-05-13 07:00", shift_end="2024-05-13 15:00", timezone=TZ
    )
    assert week["boost"].iloc[0] == pytest.approx(1.5)
    later = patrol_prize(
        table, shift_start="2024-08-13 07:00", shift_end="2024-08-13 15:00", timezone=TZ
    )
    assert later["boost"].iloc[0] == pytest.approx(1.0, abs=1e-3)
    assert "rising (2.0x its baseline)" in today["why"].iloc[0]


def test_a_flare_up_raises_the_grids_it_touches_and_says_so_in_chinese() -> None:
    """An active near-repeat flare-up lifts its grids (by its decay factor) and is named in the
    Chinese why; one that has not happened yet (after the shift start) is ignored."""
    table = _table(3)
    flareups = pd.DataFrame(
        {
            "grid_ids": ["g0,g1", "g2"],
            "incidents": [4, 5],
            "last": [
                pd.Timestamp("2024-05-05 08:00", tz="UTC"),
                pd.Timestamp("2024-06-01", tz="UTC"),
            ],
        }
    )
    out = patrol_prize(
        table, shift_start=SHIFT[0], shift_end=SHIFT[1], timezone=TZ, flareups=flareups, lang="zh"
    )
    assert out["boost"].iloc[0] == pytest.approx(1 + 0.5 ** (1 / 7))
    assert out["boost"].iloc[2] == 1.0
    assert "近重复聚集(4 起, 1 天前)" in out["why"].iloc[0]
    assert out["why"].iloc[0].startswith("本班次预测 0.5 起")
    with pytest.raises(Exception, match="language"):
        patrol_prize(table, shift_start=SHIFT[0], shift_end=SHIFT[1], timezone=TZ, lang="fr")


def test_stops_take_the_prize_and_why_from_the_table() -> None:
    """planner.stops ranks stops by the table's prize (not its risk) and carries each why."""
    table = _table(3)
    table["gi_z"] = [0.0, 4.0, 0.0]
    table["gi_p"] = [0.5, 0.0001, 0.5]
    scored = patrol_prize(table, shift_start=SHIFT[0], shift_end=SHIFT[1], timezone=TZ)
    stops = stop_table(
        scored,
        shift_start=pd.Timestamp(SHIFT[0], tz=TZ),
        shift_end=pd.Timestamp(SHIFT[1], tz=TZ),
        timezone=TZ,
    )
    assert stops["grid_id"].iloc[0] == "g1"
    assert stops["shift_risk"].iloc[0] == pytest.approx(scored["prize"].iloc[1])
    assert "Gi*" in stops["why"].iloc[0]


def test_grid_forecast_scores_leaves_rolls_up_and_feeds_the_shift() -> None:
    """forecast_grids scores the leaf grids (the busy one first), its expected counts sum to the
    recent rate times the horizon and roll up to the communities; shift_forecast puts it on
    the shift's hours."""
    grids = _grids()
    rng = np.random.default_rng(1)
    n = 600
    busy = rng.random(n) < 0.5
    x = np.where(busy, rng.uniform(485_000, 485_200, n), rng.uniform(485_000, 486_200, n))
    y = np.where(busy, rng.uniform(4_425_000, 4_425_200, n), rng.uniform(4_425_000, 4_425_600, n))
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:32618").to_crs("EPSG:4326")
    space = grid_space(grids)
    joined = gpd.GeoDataFrame(
        {
            "occurred_at": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.uniform(0, 120, n), unit="D"),
            "category": "x",
            "grid_id": [
                space.ids[int(i)]
                for i in np.argmin(
                    (
                        np.subtract.outer(
                            gpd.GeoSeries(pts).to_crs("EPSG:32618").x.to_numpy(), space.x
                        )
                    )
                    ** 2
                    + (
                        np.subtract.outer(
                            gpd.GeoSeries(pts).to_crs("EPSG:32618").y.to_numpy(), space.y
                        )
                    )
                    ** 2,
                    axis=1,
                )
            ],
        },
        geometry=pts,
        crs="EPSG:4326",
    )
    fc = forecast_grids(joined, grids, train_until="2024-04-01", horizon_days=7)
    leaves = fc.loc[fc["level"] == "grid"]
    assert leaves.sort_values("rank")["grid_id"].iloc[0] == "A00"
    history = joined.loc[joined["occurred_at"] < pd.Timestamp("2024-04-01", tz="UTC")]
    days = (pd.Timestamp("2024-04-01", tz="UTC") - history["occurred_at"].min()) / pd.Timedelta(
        days=1
    )
    assert leaves["expected"].sum() == pytest.approx(len(history) / days * 7)
    a = fc.loc[fc["grid_id"] == "A", "expected"].iloc[0]
    assert a == pytest.approx(leaves.loc[leaves["parent_id"] == "A", "expected"].sum())
    assert fc.attrs["backtest"] is not None
    table = _table(1).iloc[:0]
    table = pd.concat([table, _table(18).assign(grid_id=list(leaves["grid_id"]))])
    shifted = shift_forecast(table, fc, shift_start=SHIFT[0], shift_end=SHIFT[1], timezone=TZ)
    per_day = leaves.set_index("grid_id")["expected_per_day"]
    np.testing.assert_allclose(
        shifted["forecast_shift"], per_day.reindex(shifted["grid_id"]).to_numpy() * 7 * 8 / 168
    )


def test_grid_smoothing_keeps_the_total() -> None:
    """Spreading values over neighbouring grids moves them but keeps their sum."""
    space = grid_space(_grids())
    values = np.zeros(space.n_cells)
    values[4] = 10.0
    smooth = space.smooth(values, 1.0)
    assert smooth.sum() == pytest.approx(10.0)
    assert 0 < smooth[4] < 10.0
