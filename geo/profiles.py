"""Weekday-hour profiles: when in the week a grid's risk falls.

A profile is 168 shares, one per hour of the week (``weekday * 24 + hour``, Monday 00:00 = 0, in
the city's local time zone), summing to 1. The planner reads each grid's risky hours from it.

Raw per-grid profiles are noisy (a grid with three incidents has 165 empty hours), so they are
smoothed twice:

1. circularly along the week with a triangular kernel (``smoothing_hours`` either side, so
   Sunday 23:00 borrows from Monday 00:00);
2. shrunk towards the city-wide profile with ``prior_incidents`` pseudo-incidents: a grid with
   ``n`` incidents gets ``n / (n + prior_incidents)`` of its own shape and the rest of the city's.
   A grid with no incident gets the city-wide profile (and the city, with none at all, a flat one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import IncidentError

__all__ = [
    "HOURS_PER_WEEK",
    "PROFILE_COLUMNS",
    "hour_of_week",
    "profile_matrix",
    "smooth_circular",
]

HOURS_PER_WEEK = 168

#: Names of the 168 profile columns of a risk table, ``how_000`` .. ``how_167``.
PROFILE_COLUMNS: tuple[str, ...] = tuple(f"how_{h:03d}" for h in range(HOURS_PER_WEEK))


def hour_of_week(occurred_at: pd.Series | pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """Hour of the week of each timestamp in ``timezone`` (Monday 00:00-00:59 = 0, Sunday 23h = 167).

    Parameters
    ----------
    occurred_at
        Timezone-aware timestamps.
    timezone
        IANA zone name of the city, e.g. ``"America/New_York"``.

    Raises
    ------
    IncidentError
        When the timestamps carry no time zone.

    Examples
    --------
    >>> ts = pd.Series(pd.to_datetime(["2024-01-01 05:30Z", "2024-01-07 23:10Z"]))
    >>> hour_of_week(ts, "UTC").tolist()
    [5, 167]
    """
    index = pd.DatetimeIndex(occurred_at)
    if index.tz is None:
        msg = "incidents: occurred_at has no time zone; load it as UTC (tz-aware timestamps)"
        raise IncidentError(msg)
    local = index.tz_convert(timezone)
    return (local.day_of_week.to_numpy() * 24 + local.hour.to_numpy()).astype(np.int64)


def smooth_circular(matrix: np.ndarray, smoothing_hours: int) -> np.ndarray:
    """Smooth rows of a ``(n, 168)`` matrix along the week with a triangular kernel.

    The kernel has weights ``h + 1 - |k|`` for offsets ``k`` in ``-h..h`` (normalised), wrapping
    Sunday night onto Monday morning. Row sums are preserved. ``smoothing_hours=0`` returns a copy.

    >>> row = np.zeros((1, 168)); row[0, 0] = 4.0
    >>> smooth_circular(row, 1)[0, [167, 0, 1]].tolist()
    [1.0, 2.0, 1.0]
    """
    if smoothing_hours < 0:
        msg = f"smoothing_hours must be >= 0, got {smoothing_hours}"
        raise ValueError(msg)
    out = np.asarray(matrix, dtype=float).copy()
    if smoothing_hours == 0:
        return out
    offsets = np.arange(-smoothing_hours, smoothing_hours + 1)
    kernel = (smoothing_hours + 1 - np.abs(offsets)).astype(float)
    kernel /= kernel.sum()
    smoothed = np.zeros_like(out)
    for offset, weight in zip(offsets, kernel, strict=True):
        smoothed += weight * np.roll(out, int(offset), axis=1)
    return smoothed


def _shares(matrix: np.ndarray) -> np.ndarray:
    """Rows divided by their sums; rows summing to zero stay zero."""
    totals = matrix.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, matrix / np.where(totals > 0, totals, 1.0), 0.0)


def profile_matrix(
    group: np.ndarray,
    how: np.ndarray,
    weights: np.ndarray,
    n_groups: int,
    *,
    smoothing_hours: int = 1,
    prior_incidents: float = 5.0,
) -> np.ndarray:
    """Smoothed weekday-hour profiles of ``n_groups`` groups (rows sum to 1).

    Parameters
    ----------
    group
        Integer group (grid) index of each incident, ``0 <= group < n_groups``.
    how
        Hour of the week of each incident (see :func:`hour_of_week`).
    weights
        Weight of each incident (its risk contribution); non-negative.
    n_groups
        Number of rows of the result.
    smoothing_hours
        Half-width of the circular triangular kernel (0 = no smoothing along the week).
    prior_incidents
        Pseudo-incidents of the city-wide profile added to each group (0 = no shrinkage).

    Returns
    -------
    numpy.ndarray
        ``(n_groups, 168)`` shares. Groups without incidents get the city-wide profile; when
        there are no incidents at all, every row is flat (1/168).
    """
    group = np.asarray(group, dtype=np.int64)
    how = np.asarray(how, dtype=np.int64)
    weights = np.asarray(weights, dtype=float)
    if group.size and (group.min() < 0 or group.max() >= n_groups):
        msg = f"group indices must lie in 0..{n_groups - 1}"
        raise ValueError(msg)
    if how.size and (how.min() < 0 or how.max() >= HOURS_PER_WEEK):
        msg = "hour-of-week values must lie in 0..167"
        raise ValueError(msg)
    flat = group * HOURS_PER_WEEK + how
    raw = np.bincount(flat, weights=weights, minlength=n_groups * HOURS_PER_WEEK)
    raw = raw.reshape(n_groups, HOURS_PER_WEEK)
    counts = np.bincount(group, minlength=n_groups).astype(float)
    # A group whose decayed weights all underflowed to 0 still has a shape: its plain counts.
    lost = (counts > 0) & (raw.sum(axis=1) <= 0)
    if lost.any():
        pick = lost[group]
        plain = np.bincount(flat[pick], minlength=n_groups * HOURS_PER_WEEK)
        raw[lost] = plain.reshape(n_groups, HOURS_PER_WEEK)[lost]

    city_raw = np.bincount(how, minlength=HOURS_PER_WEEK).astype(float)[None, :]
    city = _shares(smooth_circular(city_raw, smoothing_hours))[0]
    if city.sum() <= 0:
        city = np.full(HOURS_PER_WEEK, 1.0 / HOURS_PER_WEEK)

    own = _shares(smooth_circular(raw, smoothing_hours))
    alpha = (counts / (counts + prior_incidents)) if prior_incidents > 0 else (counts > 0) * 1.0
    alpha = alpha[:, None]
    return alpha * own + (1.0 - alpha) * city[None, :]
