"""Tests of geo.forecast and geo.forecast_eval: lattice, methods, PAI/PEI* scoring."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import GeoError, IncidentError
from geo.forecast import (
    DEFAULT_METHOD,
    METHODS,
    CellEvents,
    Lattice,
    cell_events,
    forecast,
    make_lattice,
    score_cells,
)
from geo.forecast_eval import SQ_MI_M2, flag_cells, score_forecast, window_end
from tests.conftest import require

UTM18 = "EPSG:32618"
DAY_NS = 86_400 * 10**9


def _incidents(east: np.ndarray, north: np.ndarray, days: np.ndarray, category="x"):
    """Incidents at metric offsets (UTM 18N, Philadelphia) and days after 2016-01-01."""
    pts = gpd.GeoSeries(gpd.points_from_xy(485_000 + east, 4_425_000 + north), crs=UTM18)
    return gpd.GeoDataFrame(
        {
            "incident_id": [f"i{k}" for k in range(len(days))],
            "occurred_at": pd.Timestamp("2016-01-01", tz="UTC") + pd.to_timedelta(days, unit="D"),
            "category": category,
        },
        geometry=pts.to_crs("EPSG:4326"),
        crs="EPSG:4326",
    )


def _area(size_m: float = 2000.0) -> gpd.GeoDataFrame:
    box = shapely.box(485_000, 4_425_000, 485_000 + size_m, 4_425_000 + size_m)
    return gpd.GeoDataFrame(geometry=[box], crs=UTM18).to_crs("EPSG:4326")


def test_lattice_cells_are_square_in_metres_and_ids_stable() -> None:
    """Cells are cell_m squares in UTM; the same area gives the same ids; points land inside."""
    inc = _incidents(np.array([10.0, 990.0]), np.array([10.0, 1500.0]), np.array([0.0, 1.0]))
    lon, lat = inc.geometry.x.to_numpy(), inc.geometry.y.to_numpy()
    lattice = make_lattice(lon, lat, cell_m=200.0, area=_area())
    again = make_lattice(lon, lat, cell_m=200.0, area=_area())
    cells = lattice.cells()
    assert cells.crs.to_epsg() == 4326
    metric = cells.to_crs(UTM18)
    np.testing.assert_allclose(metric.area, 40_000.0, rtol=1e-6)
    assert cells["cell_id"].tolist() == again.cells()["cell_id"].tolist()
    assert cells["cell_id"].is_unique
    events, outside = cell_events(inc, lattice)
    assert outside == 0
    for pos, point in zip(events.cell, inc.to_crs(UTM18).geometry, strict=True):
        assert metric.geometry.iloc[pos].contains(point)


def test_lattice_without_area_covers_the_points() -> None:
    """Without an area the lattice covers the incidents' convex hull; a bad size is an error."""
    inc = _incidents(np.array([0.0, 1000.0, 0.0]), np.array([0.0, 0.0, 1000.0]), np.zeros(3))
    lattice = make_lattice(inc.geometry.x, inc.geometry.y, cell_m=100.0)
    _, outside = cell_events(inc, lattice)
    assert outside == 0
    with pytest.raises(GeoError, match="cell size"):
        make_lattice(inc.geometry.x, inc.geometry.y, cell_m=0.0)


def test_flag_cells_follows_the_nij_area_rule() -> None:
    """0.75 sq mi of 183 m cells is 58 cells; areas outside 0.25..0.75 are refused."""
    scores = np.arange(1000.0)
    flagged = flag_cells(scores, 183.0**2, area_sq_mi=0.75)
    assert flagged.size == int(0.75 * SQ_MI_M2 // 183.0**2) == 58
    assert set(flagged) == set(range(999, 999 - 58, -1))
    with pytest.raises(GeoError, match=r"0\.25"):
        flag_cells(scores, 183.0**2, area_sq_mi=1.0)


def test_pai_and_pei_by_hand() -> None:
    """PAI = hit rate / area fraction; PEI* = hits / best possible with as many cells."""
    area = 0.25 * SQ_MI_M2 / 2  # two cells make 0.25 sq mi
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    actual = np.array([1, 0, 3, 0, 0, 0, 0, 0, 0, 6])
    result = score_forecast(scores, actual, area, area_sq_mi=0.25)
    assert result.flagged_cells == 2
    assert result.hits == 1
    assert result.pai == pytest.approx((1 / 10) / (2 / 10))
    assert result.pei_star == pytest.approx(1 / 9)


def test_empty_window_is_omitted_with_reason() -> None:
    """A window without incidents has no PAI or PEI*, and says why."""
    result = score_forecast(np.ones(100), np.zeros(100), 183.0**2)
    assert result.pai is None
    assert result.pei_star is None
    assert "no incident" in (result.reason or "")


def test_windows_follow_the_calendar() -> None:
    """NIJ windows: 1 week, 2 weeks, 1, 2 and 3 calendar months."""
    t0 = pd.Timestamp("2016-03-01", tz="UTC")
    assert window_end(t0, "2w") == pd.Timestamp("2016-03-15", tz="UTC")
    assert window_end(t0, "3m") == pd.Timestamp("2016-06-01", tz="UTC")
    with pytest.raises(GeoError, match="window"):
        window_end(t0, "5y")


def _lattice_and_events(seed: int = 0, n: int = 400):
    """A 20x20 lattice of 100 m cells and random events over 200 days."""
    rng = np.random.default_rng(seed)
    inc = _incidents(rng.uniform(0, 2000, n), rng.uniform(0, 2000, n), rng.uniform(0, 200, n))
    lattice = make_lattice(inc.geometry.x, inc.geometry.y, cell_m=100.0, area=_area())
    events, _ = cell_events(inc, lattice)
    return lattice, events


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(METHODS), st.integers(0, 1000))
def test_methods_never_look_past_the_origin(method: str, seed: int) -> None:
    """Adding incidents after train_until leaves every method's scores unchanged."""
    if method == "gbm":
        return  # covered (cheaply) below; 30 s per fit is too slow for a property test
    lattice, events = _lattice_and_events(seed)
    origin = int(pd.Timestamp("2016-05-01", tz="UTC").value)
    before = CellEvents(
        events.cell[events.time_ns < origin], events.time_ns[events.time_ns < origin]
    )
    a = score_cells(lattice, events, train_until_ns=origin, horizon_days=7, method=method)
    b = score_cells(lattice, before, train_until_ns=origin, horizon_days=7, method=method)
    np.testing.assert_allclose(a, b)
    assert a.shape == (lattice.n_cells,)
    assert np.isfinite(a).all()


def test_naive_is_past_year_counts() -> None:
    """The naive baseline counts incidents of the 365 days before the origin."""
    lattice, events = _lattice_and_events()
    origin = int(pd.Timestamp("2016-05-01", tz="UTC").value)
    naive = score_cells(lattice, events, train_until_ns=origin, horizon_days=7, method="naive")
    assert naive.sum() == (events.time_ns < origin).sum()


def _hotspot_scene() -> tuple[
    np.random.Generator, np.ndarray, np.ndarray, gpd.GeoDataFrame, Lattice, CellEvents
]:
    """A 300 m all-incident hotspot (9 cells of 100 m) in the corner of a 2 km area, over
    background incidents, in 240 days: ``(rng, xy, days, incidents, lattice, events)``; the
    generator goes on from where the scene left it."""
    rng = np.random.default_rng(3)
    hot = rng.uniform(0, 300, (1500, 2))
    spread = rng.uniform(0, 2000, (5000, 2))
    xy = np.vstack([hot, spread])
    days = rng.uniform(0, 240, len(xy))
    everything = _incidents(xy[:, 0], xy[:, 1], days)
    lattice = make_lattice(everything.geometry.x, everything.geometry.y, cell_m=100.0, area=_area())
    context, _ = cell_events(everything, lattice)
    return rng, xy, days, everything, lattice, context


def test_stacked_uses_all_incidents_for_a_sparse_category() -> None:
    """With few incidents of one category but a clear all-incident hotspot, the stacked model
    flags more of the hotspot than the category's own past counts do."""
    rng, xy, _, everything, lattice, context = _hotspot_scene()
    sparse = everything.iloc[rng.choice(len(xy), 60, replace=False)]
    own, _ = cell_events(sparse, lattice)
    origin = int(pd.Timestamp("2016-07-01", tz="UTC").value)
    truth = context.between(origin, origin + 60 * DAY_NS).counts(lattice.n_cells)
    kwargs = {"train_until_ns": origin, "horizon_days": 60.0, "context": context}
    stacked = score_cells(lattice, own, method="stacked", **kwargs)
    naive = score_cells(lattice, own, method="naive", **kwargs)
    top_stacked = np.argsort(-stacked, kind="stable")[:9]
    top_naive = np.argsort(-naive, kind="stable")[:9]
    assert truth[top_stacked].sum() > truth[top_naive].sum()


def test_gbm_runs_on_a_small_lattice() -> None:
    """The gradient-boosted model fits and scores every cell with finite values."""
    lattice, events = _lattice_and_events(n=600)
    origin = int(pd.Timestamp("2016-06-01", tz="UTC").value)
    scores = score_cells(
        lattice,
        events,
        train_until_ns=origin,
        horizon_days=7,
        method="gbm",
        params={"max_iter": 10, "max_origins": 3},
    )
    assert scores.shape == (lattice.n_cells,)
    assert np.isfinite(scores).all()


def test_forecast_frame() -> None:
    """forecast() returns every cell in EPSG:4326 with score, rank 1..n and its settings."""
    rng = np.random.default_rng(5)
    inc = _incidents(rng.uniform(0, 2000, 300), rng.uniform(0, 2000, 300), rng.uniform(0, 100, 300))
    cells = forecast(inc, train_until="2016-03-01", horizon_days=7, cell_m=250.0, area=_area())
    assert cells.crs.to_epsg() == 4326
    assert sorted(cells["rank"]) == list(range(1, len(cells) + 1))
    assert cells.loc[cells["rank"] == 1, "score"].iloc[0] == cells["score"].max()
    assert DEFAULT_METHOD == "auto"
    assert (cells["requested_method"] == "auto").all()
    assert cells["method"].iloc[0] in METHODS
    assert cells["method"].iloc[0] != "auto"
    assert cells.attrs["backtest"].method == cells["method"].iloc[0]
    assert (cells["train_until"] == "2016-03-01T00:00:00+00:00").all()
    with pytest.raises(IncidentError, match="category"):
        forecast(inc, train_until="2016-03-01", category="Arson", area=_area())
    with pytest.raises(GeoError, match="method"):
        forecast(inc, train_until="2016-03-01", method="crystal-ball", area=_area())


@pytest.mark.slow
def test_philadelphia_forecast_beats_chance_by_far(phl_dir) -> None:
    """On real data (Jan-Feb 2016 -> first two weeks of March) the default method flags
    0.75 sq mi holding many times its share of incidents (PAI > 5) and is within 5 % of naive."""
    from geo.incidents import load_incidents

    paths = [phl_dir / "incidents_2016" / f"incidents_2016_0{m}.csv" for m in (1, 2, 3)]
    require(all(p.exists() for p in paths), "the 2016 Philadelphia incidents")
    inc = pd.concat([load_incidents(p).incidents for p in paths], ignore_index=True)
    inc = gpd.GeoDataFrame(inc, crs="EPSG:4326")
    origin = pd.Timestamp("2016-03-01", tz="UTC")
    lattice = make_lattice(inc.geometry.x, inc.geometry.y, cell_m=183.0)
    events, _ = cell_events(inc, lattice)
    actual = events.between(int(origin.value), int(window_end(origin, "2w").value)).counts(
        lattice.n_cells
    )
    results = {}
    for method in ("naive", DEFAULT_METHOD):
        scores = score_cells(
            lattice, events, train_until_ns=int(origin.value), horizon_days=14, method=method
        )
        results[method] = score_forecast(scores, actual, lattice.cell_area_m2)
    assert results[DEFAULT_METHOD].pai > 5
    assert results[DEFAULT_METHOD].pai >= 0.95 * results["naive"].pai
