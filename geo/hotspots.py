"""Risk per grid: counts by window, severity-weighted recency-decayed risk, weekday-hour profile.

:func:`risk_table` turns joined incidents (see DESIGN.md) into one row per leaf grid. Everything is
vectorised (one ``bincount`` per column), so 100k grids by 1M incidents take seconds.

Definitions
-----------
- ``count``: incidents in the grid that occurred at or before ``now`` (incidents after ``now``
  are ignored and counted in ``table.attrs["incidents_after_now"]``).
- ``count_<w>d``: incidents in the last ``w`` days, ``now - w days < occurred_at <= now``.
- ``risk``: ``sum(severity * 0.5 ** (age_days / half_life_days))``; a missing ``severity`` column
  counts every incident as severity 1.
- ``area_km2``, ``count_per_km2``, ``risk_per_km2`` (area measured in the grids' UTM zone) and,
  where the grids carry ``households``, ``count_per_household`` and ``risk_per_household``
  (None where the household count is unknown or zero).
- ``how_000`` .. ``how_167``: the weekday-hour profile (:mod:`geo.profiles`), the share of the
  grid's risk in each hour of the week in local time, smoothed and shrunk towards the city-wide
  profile; ``profile_source`` says ``"grid"`` (the grid's own incidents shaped it) or ``"city"``
  (no incident: the city-wide profile is used as the fallback).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import GridError, IncidentError
from .hierarchy import leaf_grids
from .profiles import PROFILE_COLUMNS, hour_of_week, profile_matrix

__all__ = ["DEFAULT_WINDOWS_DAYS", "incident_weights", "risk_table", "to_timestamp"]

#: Count windows of a risk table, in days before ``now``.
DEFAULT_WINDOWS_DAYS: tuple[int, ...] = (7, 28, 90, 365)

_DAY_NS = 86_400 * 10**9


def to_timestamp(value: str | datetime | pd.Timestamp, timezone: str = "UTC") -> pd.Timestamp:
    """A timezone-aware UTC timestamp; a naive value is read as local time in ``timezone``.

    >>> str(to_timestamp("2016-06-01 12:00", "America/New_York"))
    '2016-06-01 16:00:00+00:00'
    """
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        msg = f"not a date/time: {value!r}; use ISO 8601, e.g. 2016-06-01T00:00"
        raise IncidentError(msg)
    if ts.tzinfo is None:
        ts = ts.tz_localize(timezone)
    return ts.tz_convert("UTC")


def _occurred_ns(joined: pd.DataFrame) -> np.ndarray:
    if "occurred_at" not in joined.columns:
        msg = "incidents: column 'occurred_at' is missing; load incidents with geo.incidents"
        raise IncidentError(msg)
    occurred = joined["occurred_at"]
    if not isinstance(occurred.dtype, pd.DatetimeTZDtype):
        msg = "incidents: occurred_at must be timezone-aware timestamps (UTC); got " + str(
            occurred.dtype
        )
        raise IncidentError(msg)
    if occurred.isna().any():
        row = int(np.flatnonzero(occurred.isna().to_numpy())[0])
        msg = f"incidents: row {row} has no occurred_at; drop or fix it before scoring"
        raise IncidentError(msg)
    return pd.DatetimeIndex(occurred).as_unit("ns").asi8


def _severity(joined: pd.DataFrame) -> np.ndarray:
    if "severity" not in joined.columns:
        return np.ones(len(joined))
    severity = pd.to_numeric(joined["severity"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(severity) | (severity < 1) | (severity > 5)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        msg = (
            f"incidents: row {row} has severity {joined['severity'].iloc[row]!r}; "
            "severity must be an integer 1..5 (edit the category table)"
        )
        raise IncidentError(msg)
    return severity


def incident_weights(
    occurred_ns: np.ndarray, severity: np.ndarray, now_ns: int, half_life_days: float
) -> np.ndarray:
    """Severity times the recency decay ``0.5 ** (age_days / half_life_days)``.

    >>> incident_weights(np.array([0, 0]), np.array([1.0, 4.0]), 2 * 86_400 * 10**9, 2.0).tolist()
    [0.5, 2.0]
    """
    if not half_life_days > 0:
        msg = f"half_life_days must be > 0, got {half_life_days}"
        raise ValueError(msg)
    age_days = (now_ns - np.asarray(occurred_ns, dtype=np.int64)) / _DAY_NS
    return np.asarray(severity, dtype=float) * np.exp2(-age_days / half_life_days)


def _area_km2(grids: gpd.GeoDataFrame) -> np.ndarray:
    if grids.crs is None:
        msg = "grids: no CRS; grids at rest are EPSG:4326 (load them with geo.grids.load_grids)"
        raise GridError(msg)
    if len(grids) == 0:
        return np.zeros(0)
    metric = grids.to_crs(grids.estimate_utm_crs()) if grids.crs.is_geographic else grids
    return metric.geometry.area.to_numpy() / 1e6


def _per(values: np.ndarray, denominator: np.ndarray) -> pd.Series:
    known = np.isfinite(denominator) & (denominator > 0)
    out = np.where(known, values / np.where(known, denominator, 1.0), np.nan)
    series = pd.Series(out, dtype=object)
    return series.where(known, None)


def risk_table(
    joined: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    *,
    now: str | datetime | pd.Timestamp,
    half_life_days: float = 30.0,
    timezone: str = "UTC",
    windows_days: Sequence[int] = DEFAULT_WINDOWS_DAYS,
    smoothing_hours: int = 1,
    prior_incidents: float = 5.0,
) -> pd.DataFrame:
    """One row per leaf grid (zeros where no incident) with counts, risk and weekday-hour profile.

    Parameters
    ----------
    joined
        Joined incidents: ``occurred_at`` (tz-aware), ``grid_id`` (leaf id or None), optional
        ``severity`` (1..5). Incidents with ``grid_id`` None are counted in
        ``table.attrs["incidents_outside"]``.
    grids
        Grids frame (all levels); the table has one row per leaf, in the grids' order.
    now
        The moment of the table; a naive value is local time in ``timezone``.
    half_life_days
        Half-life of the recency decay of ``risk``.
    timezone
        The city's IANA time zone; the profile is in its local hours.
    windows_days
        Count windows, one ``count_<w>d`` column each.
    smoothing_hours, prior_incidents
        Profile smoothing (see :func:`geo.profiles.profile_matrix`).

    Returns
    -------
    pandas.DataFrame
        Columns ``grid_id``, ``level``, ``parent_id``, ``count``, ``count_<w>d``..., ``risk``,
        ``area_km2``, ``count_per_km2``, ``risk_per_km2``, ``count_per_household``,
        ``risk_per_household``, ``profile_source``, ``how_000``..``how_167``.

    Raises
    ------
    IncidentError
        Missing or naive ``occurred_at``, severity outside 1..5.
    GridError
        An incident's ``grid_id`` is not a leaf of ``grids`` (joined with other grids).
    """
    if "grid_id" not in joined.columns:
        msg = "incidents: column 'grid_id' is missing; join them first (geo.join.join_incidents)"
        raise IncidentError(msg)
    leaves = leaf_grids(grids)
    leaf_ids = pd.Index(leaves["grid_id"].astype(str))
    if leaf_ids.has_duplicates:
        dup = leaf_ids[leaf_ids.duplicated()][0]
        msg = f"grids: grid_id {dup!r} appears more than once; ids must be unique"
        raise GridError(msg)
    now_ts = to_timestamp(now, timezone)
    now_ns = int(now_ts.value)

    occurred_ns = _occurred_ns(joined)
    severity = _severity(joined)
    gid = joined["grid_id"]
    inside = gid.notna().to_numpy()
    before = occurred_ns <= now_ns
    keep = inside & before
    idx = leaf_ids.get_indexer(gid[keep].astype(str))
    if (idx < 0).any():
        unknown = gid[keep].astype(str).to_numpy()[idx < 0][0]
        msg = (
            f"incidents: grid_id {unknown!r} is not a leaf of the grids; "
            "join the incidents with the same grids file"
        )
        raise GridError(msg)
    occ = occurred_ns[keep]
    n = len(leaf_ids)

    table = pd.DataFrame({"grid_id": leaf_ids.to_numpy(dtype=object)})
    table["level"] = leaves["level"].to_numpy() if "level" in leaves else "grid"
    table["parent_id"] = leaves["parent_id"].to_numpy() if "parent_id" in leaves else None
    table["count"] = np.bincount(idx, minlength=n).astype(np.int64)
    for days in windows_days:
        recent = occ > now_ns - int(days) * _DAY_NS
        table[f"count_{int(days)}d"] = np.bincount(idx[recent], minlength=n).astype(np.int64)
    weights = incident_weights(occ, severity[keep], now_ns, half_life_days)
    table["risk"] = np.bincount(idx, weights=weights, minlength=n)

    area = _area_km2(leaves)
    table["area_km2"] = area
    table["count_per_km2"] = _per(table["count"].to_numpy(dtype=float), area)
    table["risk_per_km2"] = _per(table["risk"].to_numpy(), area)
    if "households" in leaves.columns:
        households = pd.to_numeric(leaves["households"], errors="coerce").to_numpy(dtype=float)
    else:
        households = np.full(n, np.nan)
    table["count_per_household"] = _per(table["count"].to_numpy(dtype=float), households)
    table["risk_per_household"] = _per(table["risk"].to_numpy(), households)

    how = hour_of_week(joined["occurred_at"][keep], timezone)
    profiles = profile_matrix(
        idx,
        how,
        weights,
        n,
        smoothing_hours=smoothing_hours,
        prior_incidents=prior_incidents,
    )
    table["profile_source"] = np.where(table["count"].to_numpy() > 0, "grid", "city")
    table = pd.concat(
        [table, pd.DataFrame(profiles, columns=list(PROFILE_COLUMNS), index=table.index)],
        axis=1,
    )
    table.attrs["now"] = now_ts.isoformat()
    table.attrs["timezone"] = timezone
    table.attrs["half_life_days"] = float(half_life_days)
    table.attrs["incidents_outside"] = int((~inside).sum())
    table.attrs["incidents_after_now"] = int((inside & ~before).sum())
    return table
