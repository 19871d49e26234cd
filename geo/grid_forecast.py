"""Forecasts on the city's own grids: the leaf grids of the hierarchy, rolled up to every level.

:mod:`geo.forecast` scores square cells; a city patrols its own grids (beats, communities,
网格). :class:`GridSpace` lets every forecast method run on leaf grids of any shape: the methods
need a cell index per incident, the cells' areas and a spatial smoothing, and here the smoothing
is a Gaussian kernel between the grids' representative points (``bandwidth_cells`` times the
grids' typical side, the square root of their median area), each grid's mass spread over its
neighbours and kept (columns sum to one). ``auto`` backtests on the grids themselves.

:func:`forecast_grids` returns one row per grid of every level: the leaf's score and rank, and
``expected``, the incidents expected in the horizon: the scores scaled so that they sum to the
city's incident rate over the last year (or the history, when shorter) times the horizon. Upper
levels sum their leaves' ``expected`` (:func:`geo.rollup.roll_up`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from scipy import sparse
from scipy.spatial import cKDTree

from .errors import GridError, IncidentError
from .forecast import (
    AUTO_PARAMS,
    DEFAULT_METHOD,
    METHODS,
    CellEvents,
    Lattice,
    choose_method,
    score_cells,
)
from .hierarchy import leaf_grids
from .hotspots import to_timestamp
from .rollup import roll_up

__all__ = ["GridSpace", "forecast_grids", "grid_events", "grid_space"]

_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class GridSpace(Lattice):
    """Leaf grids as forecast cells: ids, areas and representative points (metres)."""

    ids: tuple[str, ...] = ()
    grid_areas_m2: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    x: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    y: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    _kernels: dict[float, sparse.csr_matrix] = field(default_factory=dict, repr=False)

    @property
    def areas_m2(self) -> np.ndarray:
        """Area of each grid in square metres."""
        return self.grid_areas_m2

    @property
    def cell_area_m2(self) -> float:
        """Median grid area in square metres."""
        return float(np.median(self.grid_areas_m2)) if self.grid_areas_m2.size else 0.0

    def smooth(self, values: np.ndarray, bandwidth_cells: float) -> np.ndarray:
        """Values spread by a Gaussian kernel of ``bandwidth_cells`` typical grid sides."""
        values = np.asarray(values, dtype=float)
        if bandwidth_cells <= 0 or self.n_cells == 0:
            return values
        key = round(float(bandwidth_cells), 6)
        kernel = self._kernels.get(key)
        if kernel is None:
            sigma = bandwidth_cells * self.cell_m
            tree = cKDTree(np.column_stack([self.x, self.y]))
            dist = tree.sparse_distance_matrix(tree, 3.0 * sigma, output_type="coo_matrix")
            weights = np.exp(-0.5 * (dist.data / sigma) ** 2)
            matrix = sparse.coo_matrix(
                (weights, (dist.row, dist.col)), shape=(self.n_cells, self.n_cells)
            ).tocsr()
            matrix = matrix + sparse.identity(self.n_cells, format="csr")  # d = 0 is not stored
            column = np.asarray(matrix.sum(axis=0)).ravel()
            kernel = (matrix @ sparse.diags(1.0 / np.where(column > 0, column, 1.0))).tocsr()
            self._kernels[key] = kernel
        return np.asarray(kernel @ values, dtype=float)


def grid_space(grids: gpd.GeoDataFrame) -> GridSpace:
    """The leaf grids of ``grids`` as a :class:`GridSpace` (in the leaves' order)."""
    leaves = leaf_grids(grids)
    if leaves.crs is None:
        msg = "grids: no CRS; grids at rest are EPSG:4326 (load them with geo.grids.load_grids)"
        raise GridError(msg)
    if len(leaves) == 0:
        msg = "grids: no leaf grid to forecast on"
        raise GridError(msg)
    crs = leaves.geometry.estimate_utm_crs()
    metric = leaves.geometry.to_crs(crs)
    areas = metric.area.to_numpy()
    points = metric.representative_point()
    side = float(np.sqrt(np.median(areas))) if np.median(areas) > 0 else 1.0
    n = len(leaves)
    return GridSpace(
        CRS(crs),
        side,
        0,
        0,
        n,
        1,
        np.arange(n),
        ids=tuple(leaves["grid_id"].astype(str)),
        grid_areas_m2=areas,
        x=points.x.to_numpy(),
        y=points.y.to_numpy(),
    )


def grid_events(joined: pd.DataFrame, space: GridSpace) -> CellEvents:
    """Joined incidents (``grid_id``, ``occurred_at``) as events on the leaf grids, by time."""
    if "grid_id" not in joined.columns or "occurred_at" not in joined.columns:
        msg = "incidents: need 'grid_id' and 'occurred_at'; join them first (geo.join)"
        raise IncidentError(msg)
    times = pd.DatetimeIndex(joined["occurred_at"])
    if times.tz is None:
        msg = "incidents: occurred_at must be timezone-aware (UTC)"
        raise IncidentError(msg)
    index = pd.Index(space.ids)
    pos = index.get_indexer(joined["grid_id"].astype(str).where(joined["grid_id"].notna(), None))
    t = times.as_unit("ns").asi8
    ok = (pos >= 0) & ~times.isna()
    order = np.argsort(t[ok], kind="stable")
    return CellEvents(pos[ok][order], t[ok][order])


def forecast_grids(
    joined: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    *,
    train_until: str | datetime | pd.Timestamp,
    horizon_days: float = 7.0,
    method: str = DEFAULT_METHOD,
    category: str | None = None,
    timezone: str = "UTC",
    params: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Forecast every leaf grid and roll the expected counts up to every level.

    Parameters
    ----------
    joined
        Joined incidents (``grid_id``, ``occurred_at``, ``category``); only those before
        ``train_until`` are read.
    grids
        Grids (all levels).
    train_until
        Forecast origin (naive = local time in ``timezone``).
    horizon_days
        Days ahead.
    method
        One of :data:`geo.forecast.METHODS` (``auto`` backtests on the grids).
    category
        Only this category (all incidents still inform the methods that borrow from them).
    params
        Method options (see :func:`geo.forecast.score_cells`); ``auto`` flags 0.75 sq mi of
        grids (at least one) in its backtest unless ``flag_sq_mi`` says otherwise.

    Returns
    -------
    pandas.DataFrame
        One row per grid of every level (top level first, :func:`geo.rollup.roll_up` order):
        ``grid_id``, ``level``, ``parent_id``, ``expected`` (incidents in the horizon),
        ``expected_per_day``; leaves also ``score``, ``rank`` (1 = highest among leaves), upper
        grids None there; every row ``method`` (the one that scored), ``train_until``,
        ``horizon_days``, ``category``. ``attrs["backtest"]`` holds ``auto``'s
        :class:`~geo.forecast_select.Backtest`.
    """
    if method not in METHODS:
        msg = f"unknown forecast method {method!r}; choose one of {', '.join(METHODS)}"
        raise GridError(msg)
    origin = to_timestamp(train_until, timezone)
    origin_ns = int(origin.value)
    space = grid_space(grids)
    everything = grid_events(joined, space).before(origin_ns)
    if category is not None:
        chosen = joined.loc[joined["category"].astype(str) == category]
        events = grid_events(chosen, space).before(origin_ns)
        context: CellEvents | None = everything
    else:
        events, context = everything, None
    backtest = None
    chosen_method = method
    if method == "auto":
        backtest = choose_method(
            space,
            events,
            train_until_ns=origin_ns,
            horizon_days=horizon_days,
            context=context,
            params=params,
        )
        chosen_method = backtest.method
    scores = score_cells(
        space,
        events,
        train_until_ns=origin_ns,
        horizon_days=horizon_days,
        method=chosen_method,
        context=context,
        params={k: v for k, v in (params or {}).items() if k not in AUTO_PARAMS},
    )
    scores = np.maximum(np.nan_to_num(np.asarray(scores, dtype=float)), 0.0)
    # calibrate: the scores share the city's recent rate (last year, or the history if shorter)
    first = int(events.time_ns[0]) if events.time_ns.size else origin_ns
    span_days = min(365.0, max((origin_ns - first) / _DAY_NS, 1.0))
    recent = events.between(origin_ns - int(span_days * _DAY_NS), origin_ns).cell.size
    rate = recent / span_days
    total = float(scores.sum())
    per_day = scores / total * rate if total > 0 else np.zeros_like(scores)
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(1, order.size + 1)
    leaves = pd.DataFrame(
        {
            "grid_id": list(space.ids),
            "expected": per_day * float(horizon_days),
            "expected_per_day": per_day,
        }
    )
    rolled = roll_up(leaves, grids, value_columns=["expected", "expected_per_day"], how="sum")
    leaf_index = pd.Index(space.ids)
    pos = leaf_index.get_indexer(rolled["grid_id"].astype(str))
    rolled["score"] = pd.Series(np.where(pos >= 0, scores[pos], np.nan)).astype(object)
    rolled.loc[pos < 0, "score"] = None
    rolled["rank"] = pd.Series(np.where(pos >= 0, rank[pos], 0)).astype(object)
    rolled.loc[pos < 0, "rank"] = None
    rolled["method"] = chosen_method
    rolled["train_until"] = origin.isoformat()
    rolled["horizon_days"] = float(horizon_days)
    rolled["category"] = category if category is not None else "all"
    rolled.attrs["backtest"] = backtest
    return rolled
