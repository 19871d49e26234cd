"""Hotspot forecasts on a square lattice: which cells will see the most incidents next.

The cells are a :class:`~geo.forecast_lattice.Lattice` (square cells of ``cell_m`` metres in the
incidents' UTM zone, :mod:`geo.forecast_lattice`; re-exported here); :mod:`geo.grid_forecast`
scores a city's own grids the same way.

Methods (all score cells by expected incidents in the horizon after ``train_until``, using only
incidents before it):

``auto`` (default)
    Backtests the candidates (:data:`geo.forecast_select.AUTO_CANDIDATES`) on windows inside the
    training history and keeps the best only when it beat ``naive`` there by a margin, else
    ``naive`` (:mod:`geo.forecast_select`). :func:`forecast` reports the choice and the scores.
``naive``
    Count in the past 365 days (the baseline of the NIJ challenge write-ups).
``naive_prior``
    ``naive``, ties between cells with the same count broken by the ``shrinkage`` score: the
    same ranking wherever the counts differ, so it can only reorder equal counts (sparse data
    have many).
``recency``
    Exponentially decayed counts (``half_life_days``).
``kde``
    Recency-decayed counts smoothed by a Gaussian kernel (``bandwidth_cells``) on the lattice.
``shrinkage``
    Empirical-Bayes (Gamma-Poisson) shrinkage of the cell's past-year count toward a prior count:
    the count smoothed by a Gaussian kernel (``bandwidth_m``) and, for one category, the
    all-incident count times the category's local share (both counts smoothed at
    ``share_bandwidth_m``), half and half (``context_weight``). With ``n`` the cell's count and
    ``P`` its prior count over the same year, the score is the posterior mean up to a constant,
    ``(n + alpha) * P / (P + alpha)``: ``alpha`` (pseudo-incidents) sets how strongly a thin
    history leans on the prior; cells with many incidents keep their own count. No fitting,
    milliseconds per forecast; the defaults were chosen on validation months only.
``stacked``
    A non-negative least-squares blend of history features (own rates over 14 days, 60 days and
    up to a year, the year's rate smoothed at 1 and 2.5 cells, and, for one category, the
    all-incident rates scaled by the category's share), its weights fitted on earlier origins of
    the same history (labels: the next ``max(horizon, 28)`` days, origins a week apart). Cheap
    (about a second) and adaptive: sparse categories lean on the all-incident map, frequent
    ones on their own counts.
``gbm``
    Gradient-boosted Poisson regression of the count in the next ``horizon_days`` on per-cell
    history features (rates over 7..365 days, their kernel-smoothed versions at several bandwidths,
    and the same for all categories when forecasting one), trained on earlier origins of the same
    history as ``stacked``, scikit-learn's ``HistGradientBoostingRegressor``. About 30 CPU
    seconds per forecast.

:data:`DEFAULT_METHOD` is ``auto``: the choice is made per data set, per category and per horizon,
on the history before the forecast origin only (see ``benchmarks/forecast.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import GeoError, IncidentError
from .forecast_lattice import CellEvents, Lattice, cell_events, make_lattice
from .forecast_select import AUTO_CANDIDATES, Backtest, backtest_methods

__all__ = [
    "AUTO_PARAMS",
    "DEFAULT_METHOD",
    "METHODS",
    "CellEvents",
    "Lattice",
    "cell_events",
    "choose_method",
    "forecast",
    "make_lattice",
    "score_cells",
]

METHODS: tuple[str, ...] = (
    "auto",
    "naive",
    "naive_prior",
    "recency",
    "kde",
    "shrinkage",
    "stacked",
    "gbm",
)
DEFAULT_METHOD = "auto"

#: Area the backtest of ``auto`` flags (the NIJ rule's largest, square miles).
FLAG_SQ_MI = 0.75
_SQ_MI_M2 = 2_589_988.110336

_DAY_NS = 86_400 * 10**9


# --- scoring -------------------------------------------------------------------------------


def _smooth(lattice: Lattice, values: np.ndarray, bandwidth_cells: float) -> np.ndarray:
    return lattice.smooth(values, bandwidth_cells)


def _decayed(events: CellEvents, t_ns: int, n: int, half_life_days: float) -> np.ndarray:
    age = (t_ns - events.time_ns) / _DAY_NS
    return np.bincount(events.cell, weights=np.exp2(-age / half_life_days), minlength=n)


_RATE_WINDOWS = (7, 28, 91, 182, 365)
_FEATURE_BANDWIDTHS = (1.0, 2.5)


def _features(
    lattice: Lattice, events: CellEvents, t_ns: int, start_ns: int, prefix: str
) -> dict[str, np.ndarray]:
    """Per-cell history features at origin ``t_ns`` from events in ``[start_ns, t_ns)``."""
    n = lattice.n_cells
    hist = events.between(start_ns, t_ns)
    span_days = max((t_ns - start_ns) / _DAY_NS, 1.0)
    out: dict[str, np.ndarray] = {}
    for days in _RATE_WINDOWS:
        window = min(days, span_days)
        rate = hist.between(t_ns - int(days * _DAY_NS), t_ns).counts(n) / window
        out[f"{prefix}rate{days}"] = rate
        if days in (28, 365):
            for bw in _FEATURE_BANDWIDTHS:
                out[f"{prefix}rate{days}_s{bw}"] = _smooth(lattice, rate, bw)
    for hl in (14.0, 60.0):
        out[f"{prefix}decay{int(hl)}"] = _decayed(hist, t_ns, n, hl) / hl
    return out


def _gbm_scores(
    lattice: Lattice,
    events: CellEvents,
    train_until_ns: int,
    horizon_days: float,
    context: CellEvents | None,
    params: Mapping[str, Any],
) -> np.ndarray:
    from ._optional import require

    require("sklearn.ensemble")  # the [ml] extra: a missing one names it
    from sklearn.ensemble import HistGradientBoostingRegressor

    n = lattice.n_cells
    if events.time_ns.size == 0:
        return np.zeros(n)
    start_ns = int(events.time_ns[0])
    if context is not None and context.time_ns.size:
        start_ns = min(start_ns, int(context.time_ns[0]))
    # Labels cover at least ``label_min_days`` (sparse categories need the signal); the ranking
    # of expected rates barely depends on the horizon beyond that.
    label_days = max(float(horizon_days), float(params.get("label_min_days", 28.0)))
    horizon_ns = int(label_days * _DAY_NS)

    def design(t_ns: int) -> pd.DataFrame:
        cols = _features(lattice, events, t_ns, start_ns, "")
        if context is not None:
            cols.update(_features(lattice, context, t_ns, start_ns, "all_"))
        return pd.DataFrame(cols)

    origins = _training_origins(start_ns, train_until_ns, horizon_ns, params)
    xs = [design(origin) for origin in origins]
    ys = [events.between(origin, origin + horizon_ns).counts(n) for origin in origins]
    fallback = _decayed(events, train_until_ns, n, 60.0)
    if not xs:
        # too little history to learn from: fall back to recency-weighted counts
        return fallback
    x_train = pd.concat(xs, ignore_index=True)
    y_train = np.concatenate(ys)
    if y_train.sum() == 0:
        return fallback
    model = HistGradientBoostingRegressor(
        loss="poisson",
        learning_rate=float(params.get("learning_rate", 0.05)),
        max_iter=int(params.get("max_iter", 100)),
        max_leaf_nodes=int(params.get("max_leaf_nodes", 15)),
        min_samples_leaf=int(params.get("min_samples_leaf", 200)),
        l2_regularization=float(params.get("l2_regularization", 1.0)),
        random_state=int(params.get("seed", 0)),
    )
    model.fit(x_train, y_train)
    predicted = np.asarray(model.predict(design(train_until_ns)), dtype=float)
    # Trees predict in steps: break ties between equal predictions by recency-weighted counts.
    tiebreak = fallback / (fallback.max() + 1.0)
    return predicted * (1.0 + 1e-6 * tiebreak)


def _training_origins(
    start_ns: int, train_until_ns: int, label_ns: int, params: Mapping[str, Any]
) -> list[int]:
    """Earlier origins whose labels end by ``train_until_ns``, newest first, each with history."""
    step_ns = int(float(params.get("step_days", 7.0)) * _DAY_NS)
    min_history_ns = int(float(params.get("min_history_days", 28.0)) * _DAY_NS)
    max_origins = int(params.get("max_origins", 12))
    origins: list[int] = []
    origin = train_until_ns - label_ns
    while origin - start_ns >= min_history_ns and len(origins) < max_origins:
        origins.append(origin)
        origin -= step_ns
    return origins


def _stack_features(
    lattice: Lattice, events: CellEvents, context: CellEvents | None, t_ns: int, start_ns: int
) -> np.ndarray:
    """Linear-blend features at origin ``t_ns``: own rates at three time scales, smoothed
    long-term rates, and (for one category) the all-incident rates scaled by its share."""
    n = lattice.n_cells
    span_days = min(max((t_ns - start_ns) / _DAY_NS, 1.0), 365.0)
    long_start = t_ns - int(span_days * _DAY_NS)
    own = events.between(long_start, t_ns)
    long_rate = own.counts(n) / span_days
    cols = [
        _decayed(own, t_ns, n, 14.0) / 14.0,
        _decayed(own, t_ns, n, 60.0) / 60.0,
        long_rate,
        _smooth(lattice, long_rate, 1.0),
        _smooth(lattice, long_rate, 2.5),
    ]
    if context is not None:
        ctx = context.between(long_start, t_ns)
        share = own.cell.size / max(ctx.cell.size, 1)
        ctx_rate = ctx.counts(n) / span_days * share
        cols += [
            ctx_rate,
            _smooth(lattice, ctx_rate, 1.0),
            _decayed(ctx, t_ns, n, 60.0) / 60.0 * share,
        ]
    return np.column_stack(cols)


def _stacked_scores(
    lattice: Lattice,
    events: CellEvents,
    train_until_ns: int,
    horizon_days: float,
    context: CellEvents | None,
    params: Mapping[str, Any],
) -> np.ndarray:
    """Non-negative least-squares blend of history features, fitted on earlier origins."""
    from scipy.optimize import nnls

    n = lattice.n_cells
    fallback = _decayed(events, train_until_ns, n, 60.0)
    if events.time_ns.size == 0:
        return fallback
    start_ns = int(events.time_ns[0])
    if context is not None and context.time_ns.size:
        start_ns = min(start_ns, int(context.time_ns[0]))
    label_days = max(float(horizon_days), float(params.get("label_min_days", 28.0)))
    label_ns = int(label_days * _DAY_NS)
    origins = _training_origins(start_ns, train_until_ns, label_ns, params)
    if not origins:
        return fallback
    x = np.vstack([_stack_features(lattice, events, context, o, start_ns) for o in origins])
    y = np.concatenate([events.between(o, o + label_ns).counts(n) / label_days for o in origins])
    if y.sum() == 0:
        return fallback
    # ||Xw - y|| = ||Rw - Q'y|| + const: solve the small triangular problem.
    q, r = np.linalg.qr(x)
    weights, _ = nnls(r, q.T @ y)
    if not weights.any():
        return fallback
    scores = _stack_features(lattice, events, context, train_until_ns, start_ns) @ weights
    tiebreak = fallback / (fallback.max() + 1.0)
    return scores * (1.0 + 1e-6 * tiebreak) + 1e-12 * tiebreak


def _shrinkage_scores(
    lattice: Lattice,
    events: CellEvents,
    train_until_ns: int,
    context: CellEvents | None,
    params: Mapping[str, Any],
) -> np.ndarray:
    """Gamma-Poisson posterior mean of each cell's rate, up to a constant (see the module doc).

    With a Gamma prior of shape ``alpha`` and mean ``P / T`` (``P`` the prior count over the
    ``T`` days of history), a cell with ``n`` incidents has the posterior mean rate
    ``(n + alpha) / (T + alpha * T / P)``, proportional to ``(n + alpha) * P / (P + alpha)``.
    """
    n = lattice.n_cells
    start_ns = train_until_ns - 365 * _DAY_NS
    own = events.between(start_ns, train_until_ns).counts(n)
    if not own.any():
        return own
    alpha = float(params.get("alpha", 1.5))
    bandwidth = float(params.get("bandwidth_m", 370.0)) / lattice.cell_m
    prior = _smooth(lattice, own, bandwidth)
    weight = float(params.get("context_weight", 0.5))
    if context is not None and weight > 0:
        everything = context.between(start_ns, train_until_ns).counts(n)
        share_bandwidth = float(params.get("share_bandwidth_m", 1500.0)) / lattice.cell_m
        # The category's share of all incidents around each cell, shrunk by one pseudo-incident
        # toward its global share: where the category is rare the all-incident map says little.
        overall = own.sum() / max(everything.sum(), 1.0)
        local = _smooth(lattice, own, share_bandwidth)
        local_all = _smooth(lattice, everything, share_bandwidth)
        share = (local + overall) / (local_all + 1.0)
        prior = (1.0 - weight) * prior + weight * everything * share
    prior = np.maximum(prior, 0.0)
    return (own + alpha) * prior / (prior + alpha)


def score_cells(
    lattice: Lattice,
    events: CellEvents,
    *,
    train_until_ns: int,
    horizon_days: float,
    method: str = DEFAULT_METHOD,
    context: CellEvents | None = None,
    params: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """Score every lattice cell (higher = more incidents expected in the horizon).

    Parameters
    ----------
    lattice
        The cells.
    events
        Incidents to forecast (one category or all), located on ``lattice``; only those before
        ``train_until_ns`` are used.
    train_until_ns
        Forecast origin, UTC nanoseconds.
    horizon_days
        Length of the forecast period (the ``gbm`` target).
    method
        One of :data:`METHODS`.
    context
        All incidents, when ``events`` is one category (``shrinkage``, ``stacked`` and ``gbm``
        borrow from it).
    params
        Method options: ``alpha``, ``bandwidth_m``, ``share_bandwidth_m``, ``context_weight``
        (shrinkage), ``half_life_days`` (recency, kde), ``bandwidth_cells`` (kde),
        ``step_days``, ``max_origins``, ``learning_rate``, ``max_iter`` ... (gbm),
        ``candidates``, ``margin``, ``flag_sq_mi`` (auto).
    """
    params = dict(params or {})
    n = lattice.n_cells
    past = events.before(train_until_ns)
    if context is not None:
        context = context.before(train_until_ns)
    if method == "auto":
        chosen = choose_method(
            lattice,
            past,
            train_until_ns=train_until_ns,
            horizon_days=horizon_days,
            context=context,
            params=params,
        )
        return score_cells(
            lattice,
            past,
            train_until_ns=train_until_ns,
            horizon_days=horizon_days,
            method=chosen.method,
            context=context,
            params=params,
        )
    if method == "naive":
        return past.between(train_until_ns - 365 * _DAY_NS, train_until_ns).counts(n)
    if method == "naive_prior":
        counts = past.between(train_until_ns - 365 * _DAY_NS, train_until_ns).counts(n)
        prior = _shrinkage_scores(lattice, past, train_until_ns, context, params)
        top = float(prior.max()) if prior.size else 0.0
        # below one incident: breaks ties between equal counts, never reorders different ones
        return counts + (0.5 * prior / top if top > 0 else 0.0)
    if method == "recency":
        return _decayed(past, train_until_ns, n, float(params.get("half_life_days", 60.0)))
    if method == "kde":
        decayed = _decayed(past, train_until_ns, n, float(params.get("half_life_days", 180.0)))
        return _smooth(lattice, decayed, float(params.get("bandwidth_cells", 0.5)))
    if method == "shrinkage":
        return _shrinkage_scores(lattice, past, train_until_ns, context, params)
    if method == "stacked":
        return _stacked_scores(lattice, past, train_until_ns, horizon_days, context, params)
    if method == "gbm":
        return _gbm_scores(lattice, past, train_until_ns, horizon_days, context, params)
    msg = f"unknown forecast method {method!r}; choose one of {', '.join(METHODS)}"
    raise GeoError(msg)


def choose_method(
    lattice: Lattice,
    events: CellEvents,
    *,
    train_until_ns: int,
    horizon_days: float,
    context: CellEvents | None = None,
    params: Mapping[str, Any] | None = None,
    candidates: tuple[str, ...] | None = None,
) -> Backtest:
    """Backtest the candidates on the history before ``train_until_ns`` and choose one.

    See :mod:`geo.forecast_select`. ``params`` may set ``candidates``, ``margin`` and
    ``flag_sq_mi`` (area flagged in the backtest, default :data:`FLAG_SQ_MI`); the other keys go
    to the candidate methods.
    """
    params = dict(params or {})
    names = tuple(candidates or params.pop("candidates", None) or AUTO_CANDIDATES)
    names = tuple(m for m in names if m != "auto")
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        msg = f"unknown forecast method {unknown[0]!r}; choose one of {', '.join(METHODS[1:])}"
        raise GeoError(msg)
    margin = float(params.pop("margin", 0.03))
    label_days = max(float(horizon_days), float(params.pop("backtest_min_days", 0.0)))
    max_origins = int(params.pop("backtest_origins", 8))
    history_share = float(params.pop("backtest_history_share", 0.0))
    alpha = float(params.pop("backtest_alpha", 1.0))
    flag_m2 = float(params.pop("flag_sq_mi", FLAG_SQ_MI)) * _SQ_MI_M2
    past = events.before(train_until_ns)
    ctx = context.before(train_until_ns) if context is not None else None
    first = int(past.time_ns[0]) if past.time_ns.size else train_until_ns
    if ctx is not None and ctx.time_ns.size:
        first = min(first, int(ctx.time_ns[0]))
    # Backtest origins see at least ``history_share`` of the history the forecast sees (capped at
    # naive's year): a prior's edge shrinks as history grows, so a thinner history would flatter it.
    history_days = (train_until_ns - first) / _DAY_NS
    min_history = max(28.0, history_share * min(history_days, 365.0))
    inner = dict(params)
    inner.setdefault("max_origins", 4)  # stacked inside a backtest: fewer fitting origins

    def score(method: str, origin_ns: int, horizon: float) -> np.ndarray:
        return score_cells(
            lattice,
            past,
            train_until_ns=origin_ns,
            horizon_days=horizon,
            method=method,
            context=ctx,
            params=inner,
        )

    def actual(start_ns: int, end_ns: int) -> np.ndarray:
        return past.between(start_ns, end_ns).counts(lattice.n_cells)

    return backtest_methods(
        score,
        actual,
        first_ns=first,
        train_until_ns=train_until_ns,
        horizon_days=label_days,
        area_m2=lattice.areas_m2,
        flag_m2=flag_m2,
        candidates=names,
        margin=margin,
        max_origins=max_origins,
        min_history_days=min_history,
        step_days=7.0 if label_days > horizon_days else None,
        alpha=alpha,
    )


def forecast(
    incidents: pd.DataFrame,
    *,
    train_until: str | pd.Timestamp,
    horizon_days: float = 7.0,
    cell_m: float = 183.0,
    method: str = DEFAULT_METHOD,
    category: str | None = None,
    area: gpd.GeoDataFrame | None = None,
    params: Mapping[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    """Forecast cells: a square lattice over the area with a ``score`` per cell.

    Parameters
    ----------
    incidents
        Incidents (``occurred_at``, ``category``, point geometry in EPSG:4326); only those before
        ``train_until`` are used.
    train_until
        Forecast origin (a naive value is UTC).
    horizon_days
        Forecast period after ``train_until``.
    cell_m
        Cell side in metres (183 m = 600 ft, the NIJ challenge's smallest cells).
    method
        One of :data:`METHODS`.
    category
        Forecast only this category (all incidents still inform ``shrinkage``, ``stacked`` and
        ``gbm``).
    area
        Study area polygons; default the convex hull of the incidents before ``train_until``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell (EPSG:4326): ``cell_id``, ``ix``, ``iy``, ``area_m2``, ``score``,
        ``rank`` (1 = highest), ``method`` (the one that scored: ``auto`` names its choice),
        ``requested_method``, ``backtest`` (``auto``: the backtest as JSON text, see
        :meth:`geo.forecast_select.Backtest.as_dict`; else None), ``train_until``,
        ``horizon_days``, ``category``. ``attrs["backtest"]`` holds the
        :class:`~geo.forecast_select.Backtest` (None unless ``auto``).
    """
    if method not in METHODS:
        msg = f"unknown forecast method {method!r}; choose one of {', '.join(METHODS)}"
        raise GeoError(msg)
    origin = pd.Timestamp(train_until)
    origin = origin.tz_localize("UTC") if origin.tzinfo is None else origin.tz_convert("UTC")
    origin_ns = int(origin.as_unit("ns").value)
    times = pd.DatetimeIndex(incidents["occurred_at"]) if "occurred_at" in incidents else None
    if times is None or times.tz is None:
        msg = "incidents: occurred_at must be present and timezone-aware (UTC)"
        raise IncidentError(msg)
    history = incidents.loc[(times.as_unit("ns").asi8 < origin_ns) & ~times.isna()]
    if category is not None:
        if "category" not in incidents.columns:
            msg = "incidents: no 'category' column to select --category from"
            raise IncidentError(msg)
        chosen = history.loc[history["category"].astype(str) == category]
        if chosen.empty:
            known = ", ".join(sorted(history["category"].astype(str).unique())[:10])
            msg = f"incidents: no incident of category {category!r} before {origin}; known: {known}"
            raise IncidentError(msg)
    else:
        chosen = history
    geom = gpd.GeoSeries(history.geometry) if isinstance(history, gpd.GeoDataFrame) else None
    lon = shapely.get_x(geom.to_numpy()) if geom is not None else history["lon"].to_numpy()
    lat = shapely.get_y(geom.to_numpy()) if geom is not None else history["lat"].to_numpy()
    lattice = make_lattice(lon, lat, cell_m=cell_m, area=area)
    events, _ = cell_events(chosen, lattice)
    context = cell_events(history, lattice)[0] if category is not None else None
    backtest = None
    chosen = method
    if method == "auto":
        backtest = choose_method(
            lattice,
            events,
            train_until_ns=origin_ns,
            horizon_days=horizon_days,
            context=context,
            params=params,
        )
        chosen = backtest.method
        params = {k: v for k, v in (params or {}).items() if k not in AUTO_PARAMS}
    scores = score_cells(
        lattice,
        events,
        train_until_ns=origin_ns,
        horizon_days=horizon_days,
        method=chosen,
        context=context,
        params=params,
    )
    cells = lattice.cells()
    cells["score"] = scores
    cells["rank"] = _ranks(scores)
    cells["method"] = chosen
    cells["requested_method"] = method
    cells["backtest"] = backtest.to_json() if backtest is not None else None
    cells.attrs["backtest"] = backtest
    cells["train_until"] = origin.isoformat()
    cells["horizon_days"] = float(horizon_days)
    cells["category"] = category if category is not None else "all"
    return cells


#: Options of ``auto`` itself (the rest of ``params`` goes to the candidate methods).
AUTO_PARAMS = (
    "candidates",
    "margin",
    "flag_sq_mi",
    "backtest_min_days",
    "backtest_origins",
    "backtest_history_share",
    "backtest_alpha",
)


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks, highest score first, ties by cell order (deterministic)."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    ranks = np.empty(order.size, dtype=np.int64)
    ranks[order] = np.arange(1, order.size + 1)
    return ranks
