"""The full hotspot table: risk, Gi*, kernel density, trend warning and a short "why" per grid.

:func:`hotspot_table` runs every per-leaf statistic over one joined-incidents frame;
:func:`roll_up_risk` carries counts, risk, rates and the weekday-hour profile to every level of the
hierarchy (the profile of an upper grid is the risk-weighted mean of its leaves' profiles). The
statistics (Gi*, density, trend) stay per leaf: they compare grids of one size.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd

from .alerts import near_repeat_categories, near_repeats, trend_alerts
from .hierarchy import leaf_grids
from .hotspot_stats import getis_ord, kernel_density
from .hotspots import (
    _occurred_ns,
    _severity,
    incident_weights,
    risk_table,
    to_timestamp,
)
from .profiles import HOURS_PER_WEEK, PROFILE_COLUMNS
from .rollup import roll_up
from .weights import GridWeights, grid_weights

__all__ = [
    "HotspotReport",
    "explain",
    "grid_flareups",
    "hotspot_report",
    "hotspot_table",
    "peak_hours",
    "roll_up_risk",
]

_DAY_NS = 86_400 * 10**9
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _block_labels(block_hours: int) -> np.ndarray:
    labels = []
    for start in range(HOURS_PER_WEEK):
        day, hour = divmod(start, 24)
        end = hour + block_hours
        if end <= 24:
            labels.append(f"{_WEEKDAYS[day]} {hour:02d}-{end:02d}h")
        else:
            labels.append(
                f"{_WEEKDAYS[day]} {hour:02d}h-{_WEEKDAYS[(day + 1) % 7]} {end - 24:02d}h"
            )
    return np.array(labels, dtype=object)


def peak_hours(profiles: np.ndarray, *, block_hours: int = 3) -> list[str]:
    """The busiest block of ``block_hours`` consecutive hours of each weekly profile, as text.

    >>> p = np.zeros((1, 168)); p[0, 4 * 24 + 21 : 4 * 24 + 24] = 1
    >>> peak_hours(p)
    ['Fri 21-24h']
    """
    profiles = np.atleast_2d(np.asarray(profiles, dtype=float))
    sums = sum(np.roll(profiles, -k, axis=1) for k in range(block_hours))
    return _block_labels(block_hours)[np.argmax(sums, axis=1)].tolist()


def explain(
    joined: pd.DataFrame,
    table: pd.DataFrame,
    *,
    weights: np.ndarray,
    top: int = 2,
) -> pd.Series:
    """A short reason per grid: top categories by share of risk, peak hours, trend.

    Parameters
    ----------
    joined
        The incidents behind ``table`` (``grid_id``, ``category``), already limited to those
        counted in it.
    table
        Risk table rows (``grid_id``, ``count``, profile columns; ``trend``/``ratio`` if present).
    weights
        Risk weight of each row of ``joined``.
    top
        How many categories to name.

    Returns
    -------
    pandas.Series
        Text aligned with ``table`` ("no incidents" for empty grids).
    """
    index = pd.Index(table["grid_id"].astype(str))
    parts = []
    if "category" in joined.columns and len(joined):
        frame = pd.DataFrame(
            {
                "grid_id": joined["grid_id"].astype(str).to_numpy(),
                "category": joined["category"].astype(str).to_numpy(),
                "w": weights,
            }
        )
        by = frame.groupby(["grid_id", "category"], sort=False)["w"].sum().reset_index()
        total = by.groupby("grid_id")["w"].transform("sum")
        # weights that all decayed to 0 (a very short half-life) share the grid equally
        equal = 1.0 / by.groupby("grid_id")["w"].transform("size")
        by["share"] = (by["w"] / total.where(total > 0)).fillna(equal)
        by = by.sort_values(["grid_id", "share", "category"], ascending=[True, False, True])
        by["rank"] = by.groupby("grid_id").cumcount()
        by["text"] = (
            by["category"] + " " + (by["share"] * 100).round().astype(int).astype(str) + "%"
        )
        categories = pd.Series("", index=index, dtype=object)
        for k in range(top):
            kth = by.loc[by["rank"] == k].set_index("grid_id")["text"].reindex(index)
            sep = "" if k == 0 else ", "
            categories = categories.where(kth.isna(), categories + sep + kth.fillna(""))
        parts.append(categories.to_numpy(dtype=object))
    peaks = np.array(peak_hours(table[list(PROFILE_COLUMNS)].to_numpy()), dtype=object)
    parts.append("peak " + peaks)
    if "trend" in table.columns:
        ratio = pd.to_numeric(table["ratio"], errors="coerce").to_numpy(dtype=float)
        rising = np.array([f"rising ({r:.1f}x its baseline)" for r in np.nan_to_num(ratio)])
        trend = table["trend"].to_numpy(dtype=object)
        parts.append(np.where(trend == "up", rising, np.where(trend == "down", "falling", "")))
    text = pd.Series(parts[0], dtype=object)
    for part in parts[1:]:
        part = pd.Series(part, dtype=object)
        text = text.where(part == "", np.where(text == "", part, text + "; " + part))
    has = table["count"].to_numpy() > 0
    return pd.Series(np.where(has, text.to_numpy(dtype=object), "no incidents"), index=table.index)


def hotspot_table(
    joined: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    *,
    now: str | datetime | pd.Timestamp,
    timezone: str = "UTC",
    half_life_days: float = 30.0,
    recent_days: float = 28.0,
    baseline_days: float = 365.0,
    alpha: float = 0.05,
    kde_bandwidth_m: float = 250.0,
    weights: GridWeights | None = None,
    categories: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Risk table plus Gi*, kernel density, trend warning and "why", one row per leaf grid.

    Parameters
    ----------
    joined
        Joined incidents (point geometry, ``occurred_at``, ``grid_id``, ``category``,
        optional ``severity``).
    grids
        Grids frame (all levels).
    now, timezone, half_life_days
        As in :func:`geo.hotspots.risk_table`.
    recent_days, baseline_days, alpha
        As in :func:`geo.alerts.trend_alerts`.
    kde_bandwidth_m
        Kernel density bandwidth (:func:`geo.hotspot_stats.kernel_density`).
    weights
        Spatial weights between the leaves (default :func:`geo.weights.grid_weights`).
    categories
        Only these categories (None = all).

    Returns
    -------
    pandas.DataFrame
        The risk table's columns and ``gi_z``, ``gi_p``, ``gi_reason``, ``kde``,
        ``recent_count``, ``baseline_count``, ``expected``, ``ratio``, ``q_up``, ``trend``,
        ``warning``, ``trend_reason``, ``last_incident`` (UTC, NaT without incidents), ``why``.
    """
    if categories is not None:
        joined = joined.loc[joined["category"].astype(str).isin([str(c) for c in categories])]
    table = risk_table(joined, grids, now=now, timezone=timezone, half_life_days=half_life_days)
    leaves = leaf_grids(grids)
    now_ns = int(to_timestamp(now, timezone).value)
    occurred = _occurred_ns(joined)
    counted = joined["grid_id"].notna().to_numpy() & (occurred <= now_ns)
    used = joined.loc[counted]
    w_inc = incident_weights(occurred[counted], _severity(joined)[counted], now_ns, half_life_days)

    spatial = weights if weights is not None else grid_weights(leaves)
    gi = getis_ord(table["risk"].to_numpy(), spatial)
    table["gi_z"] = gi["gi_z"].to_numpy()
    table["gi_p"] = gi["gi_p"].to_numpy()
    table["gi_reason"] = gi["gi_reason"].to_numpy()
    geom = used.geometry if isinstance(used, gpd.GeoDataFrame) else None
    lon = geom.x.to_numpy() if geom is not None else np.zeros(0)
    lat = geom.y.to_numpy() if geom is not None else np.zeros(0)
    table["kde"] = kernel_density(lon, lat, leaves, weights=w_inc, bandwidth_m=kde_bandwidth_m)
    trend = trend_alerts(
        joined,
        grids,
        now=now,
        recent_days=recent_days,
        baseline_days=baseline_days,
        alpha=alpha,
        timezone=timezone,
    )
    for column in (
        "recent_count",
        "baseline_count",
        "expected",
        "ratio",
        "q_up",
        "trend",
        "warning",
    ):
        table[column] = trend[column].to_numpy()
    table["trend_reason"] = trend["reason"].to_numpy()
    last = (
        pd.Series(occurred[counted], dtype="int64")
        .groupby(used["grid_id"].astype(str).to_numpy())
        .max()
    )
    last_ns = last.reindex(table["grid_id"].astype(str))
    table["last_incident"] = pd.to_datetime(last_ns.to_numpy(dtype=float), utc=True)
    table["why"] = explain(used, table, weights=w_inc).to_numpy()
    return table


_SUM_COLUMNS = ("count", "risk", "area_km2")


def roll_up_risk(table: pd.DataFrame, grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """Counts, risk, rates and the weekday-hour profile of every grid at every level.

    Sums ``count``, ``count_<w>d``, ``risk``, ``area_km2`` (and ``households`` of the leaves,
    unknown where any leaf's is unknown) over each upper grid's leaves; recomputes the per-km2 and per-household rates; the profile is the
    risk-weighted mean of the leaves' profiles (the leaves' mean where the risk is zero).
    Uses :func:`geo.rollup.roll_up`; returns its row order (top level first).
    """
    windows = [c for c in table.columns if c.startswith("count_") and c.endswith("d")]
    value_columns = [*_SUM_COLUMNS, *windows]
    leaves = leaf_grids(grids)
    frame = table[["grid_id", *value_columns]].copy()
    if "households" in leaves.columns:
        households = pd.to_numeric(leaves["households"], errors="coerce")
        frame["households"] = households.fillna(0).to_numpy()
        frame["households_unknown"] = households.isna().to_numpy().astype(int)
        value_columns += ["households", "households_unknown"]
    profiles = table[list(PROFILE_COLUMNS)].to_numpy()
    risk = table["risk"].to_numpy()
    weighted = pd.DataFrame(profiles * risk[:, None], columns=list(PROFILE_COLUMNS))
    plain = pd.DataFrame(profiles, columns=[f"plain_{c}" for c in PROFILE_COLUMNS])
    frame = pd.concat([frame.reset_index(drop=True), weighted, plain], axis=1)
    frame["n_leaves"] = 1
    with warnings.catch_warnings():
        # roll_up sets its 340 columns one by one; pandas warns about fragmentation only.
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        rolled = roll_up(
            frame,
            grids,
            value_columns=[*value_columns, *PROFILE_COLUMNS, *plain.columns, "n_leaves"],
            how="sum",
        ).copy()
    mass = rolled[list(PROFILE_COLUMNS)].to_numpy()
    totals = mass.sum(axis=1, keepdims=True)
    fallback = rolled[list(plain.columns)].to_numpy()
    n = np.maximum(rolled["n_leaves"].to_numpy(dtype=float), 1.0)[:, None]
    uniform = np.full(HOURS_PER_WEEK, 1.0 / HOURS_PER_WEEK)
    profile = np.where(
        totals > 0,
        mass / np.where(totals > 0, totals, 1.0),
        np.where(fallback.sum(axis=1, keepdims=True) > 0, fallback / n, uniform),
    )
    out = rolled.drop(columns=[*PROFILE_COLUMNS, *plain.columns])
    area = out["area_km2"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["count_per_km2"] = np.where(area > 0, out["count"] / area, np.nan)
        out["risk_per_km2"] = np.where(area > 0, out["risk"] / area, np.nan)
        if "households" in out.columns:
            hh = out["households"].to_numpy(dtype=float)
            hh = np.where(out.pop("households_unknown").to_numpy() > 0, np.nan, hh)
            out["households"] = hh
            out["count_per_household"] = np.where(hh > 0, out["count"] / hh, np.nan)
            out["risk_per_household"] = np.where(hh > 0, out["risk"] / hh, np.nan)
    return pd.concat([out, pd.DataFrame(profile, columns=list(PROFILE_COLUMNS))], axis=1)


@dataclass(frozen=True)
class HotspotReport:
    """Everything ``patrolgrid hotspots`` and ``GET /hotspots`` report, from one function.

    Attributes
    ----------
    table
        One row per leaf grid (:func:`hotspot_table`'s columns and ``flareup``: the grid holds an
        incident of a near-repeat flare-up active at ``now``).
    levels
        Every grid of every level (:func:`roll_up_risk`).
    flareups
        Near-repeat flare-ups (:func:`geo.alerts.near_repeats`).
    now
        The moment of the report (UTC).
    """

    table: pd.DataFrame
    levels: pd.DataFrame
    flareups: pd.DataFrame
    now: pd.Timestamp


def grid_flareups(
    joined: gpd.GeoDataFrame,
    *,
    now: pd.Timestamp,
    categories: Sequence[str] | None = None,
    distance_m: float = 200.0,
    days: float = 7.0,
) -> pd.DataFrame:
    """Near-repeat flare-ups (:func:`geo.alerts.near_repeats`) among the incidents joined to a
    grid up to ``now``, in ``categories``: by default
    :func:`geo.alerts.near_repeat_categories` of theirs (burglary), never every category (chained
    over all of them, a dense city's incidents make one flare-up that names every grid). The
    hotspot report and the planner's stop prizes both read flare-ups from here.
    """
    located = joined.loc[joined["grid_id"].notna()]
    located = located.loc[pd.DatetimeIndex(located["occurred_at"]) <= now]
    if categories is None:
        names = located["category"] if "category" in located else pd.Series([], dtype=str)
        categories = near_repeat_categories(names.astype(str))
    return near_repeats(located, distance_m=distance_m, days=days, categories=categories, now=now)


def hotspot_report(
    joined: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    *,
    now: str | datetime | pd.Timestamp | None = None,
    timezone: str = "UTC",
    half_life_days: float = 30.0,
    recent_days: float = 28.0,
    alpha: float = 0.05,
    categories: Sequence[str] | None = None,
    near_repeat_categories: Sequence[str] | None = None,
    near_repeat_m: float = 200.0,
    near_repeat_days: float = 7.0,
) -> HotspotReport:
    """The hotspot table, its roll-up and the near-repeat flare-ups at ``now``.

    ``now`` defaults to the latest incident; flare-ups are :func:`grid_flareups` (in
    ``near_repeat_categories``, default burglary). Other parameters as in :func:`hotspot_table`
    and :func:`geo.alerts.near_repeats`.
    """
    if now is None:
        latest = pd.Timestamp(joined["occurred_at"].max()) if len(joined) else pd.NaT
        moment = latest if latest is not pd.NaT else pd.Timestamp.now(tz="UTC")
    else:
        moment = to_timestamp(now, timezone)
    table = hotspot_table(
        joined,
        grids,
        now=moment,
        timezone=timezone,
        half_life_days=half_life_days,
        recent_days=recent_days,
        alpha=alpha,
        categories=categories,
    )
    flareups = grid_flareups(
        joined,
        now=moment,
        categories=near_repeat_categories or None,
        distance_m=near_repeat_m,
        days=near_repeat_days,
    )
    active: set[str] = set()
    if len(flareups):
        for ids in flareups.loc[flareups["active"], "grid_ids"]:
            active.update(g for g in str(ids).split(",") if g)
    table["flareup"] = table["grid_id"].astype(str).isin(active).to_numpy()
    return HotspotReport(table, roll_up_risk(table, grids), flareups, moment)
