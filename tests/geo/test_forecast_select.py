"""Tests of geo.forecast_select and ``auto``: backtests stay inside the history, naive is the
fallback, a clearly better candidate is chosen and reported."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.forecast import CellEvents, choose_method, make_lattice, score_cells
from geo.forecast_select import backtest_methods, backtest_origins, flagged_cells

DAY_NS = 86_400 * 10**9


#: flag about five 100 m cells
FLAG = {"flag_sq_mi": 5 * 100.0**2 / 2_589_988.110336}


def _lattice():
    """About 25 x 22 cells of 100 m over a small box in Philadelphia (UTM 18N)."""
    lon = np.array([-75.2, -75.17, -75.2, -75.17])
    lat = np.array([39.95, 39.95, 39.97, 39.97])
    return make_lattice(lon, lat, cell_m=100.0)


def _drifting(lattice, days: int = 400, seed: int = 0) -> CellEvents:
    """Events from a hot spot that jumps to a new cell every 30 days, plus uniform noise."""
    rng = np.random.default_rng(seed)
    n = lattice.n_cells
    cells, times = [], []
    for day in range(days):
        hot = (day // 30 * 37) % n
        k = rng.poisson(3)
        cells += [hot] * k + list(rng.integers(0, n, 2))
        times += list(day * DAY_NS + rng.integers(0, DAY_NS, k + 2))
    order = np.argsort(times, kind="stable")
    return CellEvents(np.asarray(cells)[order], np.asarray(times)[order])


def test_origins_end_by_the_forecast_origin() -> None:
    """Every backtest window [o, o + horizon) ends at or before the forecast origin, and each
    origin has the minimum history before it."""
    origin = 200 * DAY_NS
    for horizon in (7.0, 30.0, 91.0):
        origins = backtest_origins(0, origin, horizon, min_history_days=28)
        assert origins
        assert all(o + horizon * DAY_NS <= origin for o in origins)
        assert all(o >= 28 * DAY_NS for o in origins)


def test_backtest_never_reads_the_evaluation_period() -> None:
    """auto's choice and scores are the same whether or not incidents after the origin exist,
    and the backtest's ``actual`` is never asked for a window past the origin."""
    lattice = _lattice()
    events = _drifting(lattice)
    origin = 300 * DAY_NS
    before = events.before(origin)
    a = choose_method(lattice, events, train_until_ns=origin, horizon_days=14, params=FLAG)
    b = choose_method(lattice, before, train_until_ns=origin, horizon_days=14, params=FLAG)
    assert a.as_dict() == b.as_dict()
    np.testing.assert_allclose(
        score_cells(lattice, events, train_until_ns=origin, horizon_days=14, method="auto"),
        score_cells(lattice, before, train_until_ns=origin, horizon_days=14, method="auto"),
    )
    asked: list[int] = []

    def actual(start: int, end: int) -> np.ndarray:
        asked.append(end)
        return before.between(start, end).counts(lattice.n_cells)

    def score(method: str, o: int, horizon: float) -> np.ndarray:
        return score_cells(lattice, before, train_until_ns=o, horizon_days=horizon, method=method)

    backtest_methods(
        score,
        actual,
        first_ns=0,
        train_until_ns=origin,
        horizon_days=14,
        area_m2=lattice.areas_m2,
        flag_m2=5 * lattice.cell_area_m2,
    )
    assert asked
    assert max(asked) <= origin


def test_a_drifting_hot_spot_is_followed_by_a_recency_method() -> None:
    """When the hot spot moves every month, past-year counts lag and the backtest picks a
    method that weighs recent incidents, reporting beat-naive ratios above 1."""
    lattice = _lattice()
    events = _drifting(lattice)
    chosen = choose_method(
        lattice, events, train_until_ns=350 * DAY_NS, horizon_days=7, params=FLAG
    )
    assert chosen.method != "naive"
    assert chosen.ratios[chosen.method] > 1.5
    assert chosen.method in chosen.summary()


def test_without_a_better_candidate_naive_is_kept() -> None:
    """With steady, uniform noise no candidate beats naive significantly (sign test on): naive is
    the fallback, and with too little history there is no backtest at all."""
    lattice = _lattice()
    rng = np.random.default_rng(3)
    t = np.sort(rng.integers(0, 300 * DAY_NS, 3000))
    events = CellEvents(rng.integers(0, lattice.n_cells, t.size), t)
    chosen = choose_method(
        lattice,
        events,
        train_until_ns=300 * DAY_NS,
        horizon_days=14,
        params={**FLAG, "backtest_alpha": 0.05},
    )
    assert chosen.method == "naive"
    short = choose_method(
        lattice, events.before(20 * DAY_NS), train_until_ns=20 * DAY_NS, horizon_days=7
    )
    assert short.method == "naive"
    assert "history" in short.reason


def test_flagged_cells_flags_at_least_one_cell() -> None:
    """A cell larger than the flagged area is still flagged (a city's own grids can be large)."""
    assert flagged_cells(np.array([1.0, 2.0]), np.array([10.0, 10.0]), 1.0).tolist() == [1]
    record = choose_method.__doc__ or ""
    assert "history" in record
    assert pd.Timestamp(0, tz="UTC").isoformat().startswith("1970")
