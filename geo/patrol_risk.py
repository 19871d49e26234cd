"""What a shift's patrols should weigh: the forecast for the shift's hours raised by live signals.

:func:`shift_forecast` puts a grid forecast (:func:`geo.grid_forecast.forecast_grids`) on the
shift's clock: a grid expecting ``e`` incidents a day expects ``7 e * sum(how_h * w_h)`` in the
shift, the sum over the shift's weekday hours ``h`` of the grid's weekday-hour profile (shares of
the week), ``w_h`` the part of each clock hour inside the shift.

:func:`patrol_prize` turns a risk table into the planner's ``prize`` and a short ``why`` per grid:

``prize = base * (1 + gi_weight [Gi* hot spot]) * (1 + trend_boost + flareup_boost)``

- ``base``: ``forecast_shift`` when the table has it, else the shift's part of ``risk`` (the
  recency-decayed, severity-weighted risk times the profile's share of the shift's hours);
- a significant Gi* hot spot (``gi_z > 0``, ``gi_p < gi_alpha``) weighs ``1 + gi_weight``
  (default 1.5): a grid inside a cluster of high grids outranks an isolated grid with the same
  count, whose count is more likely chance;
- a trend warning (``warning``) adds ``min(ratio, max_ratio) - 1`` (the recent rate over the
  baseline, capped at 3), a near-repeat flare-up touching the grid adds ``flareup_weight``
  (default 1); both decay with the age of their latest incident, ``0.5 ** (age_days /
  signal_half_life_days)`` (default half-life 7 days, the near-repeat window of the burglary
  literature): a warning raised today still lifts its grid for the next shifts, at half strength a
  week on, and fades out unless new incidents renew it.

``why`` names the forecast and each signal that moved the prize, in English or Simplified Chinese
(``lang``), e.g. ``"forecast 1.4 incidents this shift; rising (2.5x its baseline); near-repeat
flare-up (4 incidents, last 1 d ago); Gi* hot spot (z 3.1)"`` /
``"本班次预测 1.4 起; 上升(基线的 2.5 倍); 近重复聚集(4 起, 1 天前); Gi* 热点(z 3.1)"``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from datetime import datetime

import numpy as np
import pandas as pd

from .errors import GeoError
from .hotspots import to_timestamp
from .profiles import PROFILE_COLUMNS

__all__ = ["LANGUAGES", "patrol_prize", "shift_forecast", "shift_shares"]

LANGUAGES: tuple[str, ...] = ("en", "zh")

_DAY_NS = 86_400 * 10**9

_TEXT = {
    "en": {
        "forecast": "forecast {v} incidents this shift",
        "risk": "risk {v} this shift",
        "rising": "rising ({v:.1f}x its baseline)",
        "flareup": "near-repeat flare-up ({n} incidents, last {d:.0f} d ago)",
        "gi": "Gi* hot spot (z {v:.1f})",
        "presence": "presence patrol (no recorded risk this shift)",
        "sep": "; ",
    },
    "zh": {
        "forecast": "本班次预测 {v} 起",
        "risk": "本班次风险 {v}",
        "rising": "上升(基线的 {v:.1f} 倍)",
        "flareup": "近重复聚集({n} 起, {d:.0f} 天前)",
        "gi": "Gi* 热点(z {v:.1f})",
        "presence": "见警巡逻(本班次无记录风险)",
        "sep": "; ",
    },
}


def _amount(value: float) -> str:
    """An expected count as a reader wants it: two significant figures, never "0.0".

    >>> [_amount(v) for v in (12.34, 1.44, 0.5, 0.042, 0.004)]
    ['12', '1.4', '0.5', '0.042', '<0.01']
    """
    if value >= 10:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    if value >= 0.01:
        return f"{value:.2g}"
    return "<0.01"


def shift_shares(
    profiles: np.ndarray,
    shift_start: str | datetime | pd.Timestamp,
    shift_end: str | datetime | pd.Timestamp,
    timezone: str,
) -> np.ndarray:
    """Share of each grid's week falling inside the shift (profiles: ``(n, 168)`` rows of shares).

    Hours cut by the shift's ends count pro rata; a shift longer than a week counts hours again.

    >>> p = np.full((1, 168), 1 / 168)
    >>> round(float(shift_shares(p, "2024-01-01 08:00", "2024-01-01 20:00", "UTC")[0]) * 168, 6)
    12.0
    """
    start = to_timestamp(shift_start, timezone).tz_convert(timezone)
    end = to_timestamp(shift_end, timezone).tz_convert(timezone)
    if end <= start:
        msg = f"shift ends ({end}) at or before it starts ({start})"
        raise GeoError(msg)
    cuts = [start]
    t = start.floor("h") + pd.Timedelta(hours=1)
    while t < end:
        cuts.append(t)
        t += pd.Timedelta(hours=1)
    cuts.append(end)
    shares = np.zeros(len(profiles))
    for a, b in itertools.pairwise(cuts):
        weight = (b - a) / dt.timedelta(hours=1)
        shares += np.asarray(profiles, dtype=float)[:, a.weekday() * 24 + a.hour] * weight
    return shares


def _profiles(table: pd.DataFrame) -> np.ndarray:
    if all(c in table.columns for c in PROFILE_COLUMNS):
        return table[list(PROFILE_COLUMNS)].to_numpy(dtype=float)
    return np.full((len(table), len(PROFILE_COLUMNS)), 1.0 / len(PROFILE_COLUMNS))


def shift_forecast(
    table: pd.DataFrame,
    forecast: pd.DataFrame,
    *,
    shift_start: str | datetime | pd.Timestamp,
    shift_end: str | datetime | pd.Timestamp,
    timezone: str,
) -> pd.DataFrame:
    """The risk table with the forecast for the shift's hours.

    Parameters
    ----------
    table
        Risk table (``grid_id``, ``how_000``..``how_167``; a flat week without them).
    forecast
        Grid forecast with ``grid_id``, ``expected_per_day`` (:func:`geo.grid_forecast.forecast_grids`)
        and ``method``.
    shift_start, shift_end, timezone
        The shift (naive = local time).

    Returns
    -------
    pandas.DataFrame
        A copy with ``forecast_per_day``, ``forecast_shift`` (incidents expected in the shift's
        hours) and ``forecast_method``; grids the forecast does not know get 0.
    """
    missing = [c for c in ("grid_id", "expected_per_day") if c not in forecast.columns]
    if missing:
        msg = f"forecast: columns {missing} are missing; make it with geo.grid_forecast"
        raise GeoError(msg)
    out = table.copy()
    per_day = (
        pd.to_numeric(forecast.set_index(forecast["grid_id"].astype(str))["expected_per_day"])
        .reindex(out["grid_id"].astype(str))
        .fillna(0.0)
        .to_numpy(dtype=float)
    )
    shares = shift_shares(_profiles(out), shift_start, shift_end, timezone)
    out["forecast_per_day"] = per_day
    out["forecast_shift"] = per_day * 7.0 * shares
    out["forecast_method"] = str(forecast["method"].iloc[0]) if "method" in forecast else None
    return out


def _flareup_boost(
    ids: pd.Index, flareups: pd.DataFrame | None, now_ns: int, half_life_days: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per grid: the strongest flare-up decay factor, its size and its age in days."""
    n = len(ids)
    decay, size, age = np.zeros(n), np.zeros(n, dtype=np.int64), np.full(n, np.nan)
    if flareups is None or len(flareups) == 0:
        return decay, size, age
    for row in flareups.itertuples(index=False):
        grids = [g for g in str(getattr(row, "grid_ids", "") or "").split(",") if g]
        last = pd.Timestamp(row.last)
        last = last.tz_localize("UTC") if last.tzinfo is None else last
        days = (now_ns - int(last.value)) / _DAY_NS
        if days < 0:
            continue  # after now: not known yet
        factor = 0.5 ** (days / half_life_days)
        pos = ids.get_indexer(grids)
        for p in pos[pos >= 0]:
            if factor > decay[p]:
                decay[p], size[p], age[p] = factor, int(row.incidents), days
    return decay, size, age


def patrol_prize(
    table: pd.DataFrame,
    *,
    shift_start: str | datetime | pd.Timestamp,
    shift_end: str | datetime | pd.Timestamp,
    timezone: str,
    flareups: pd.DataFrame | None = None,
    lang: str = "en",
    signal_half_life_days: float = 7.0,
    gi_weight: float = 0.5,
    gi_alpha: float = 0.05,
    flareup_weight: float = 1.0,
    max_ratio: float = 3.0,
) -> pd.DataFrame:
    """The risk table with ``base``, ``boost``, ``prize`` and ``why`` for one shift (module doc).

    Parameters
    ----------
    table
        Risk table (``grid_id``; ``forecast_shift`` or ``risk`` with the profile; optional
        ``gi_z``/``gi_p``, ``warning``/``ratio`` and ``last_incident``, as
        :func:`geo.hotspot_report.hotspot_table` and :func:`shift_forecast` give them).
    shift_start, shift_end, timezone
        The shift; its start is the moment the signals' ages are measured at.
    flareups
        Near-repeat flare-ups (:func:`geo.alerts.near_repeats`: ``grid_ids``, ``incidents``,
        ``last``).
    lang
        ``"en"`` or ``"zh"``: the language of ``why``.
    signal_half_life_days, gi_weight, gi_alpha, flareup_weight, max_ratio
        The combination's settings (module doc).

    Returns
    -------
    pandas.DataFrame
        A copy with ``base`` (expected this shift before the signals), ``boost`` (the signals'
        multiplier, 1 = none), ``prize`` and ``why``.
    """
    if lang not in _TEXT:
        msg = f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}"
        raise GeoError(msg)
    if not signal_half_life_days > 0:
        msg = f"signal_half_life_days must be > 0, got {signal_half_life_days}"
        raise GeoError(msg)
    text = _TEXT[lang]
    out = table.copy()
    n = len(out)
    now_ns = int(to_timestamp(shift_start, timezone).value)
    if "forecast_shift" in out.columns:
        base = pd.to_numeric(out["forecast_shift"], errors="coerce").fillna(0.0).to_numpy()
        base_key = "forecast"
    elif "risk" in out.columns:
        shares = shift_shares(_profiles(out), shift_start, shift_end, timezone)
        base = pd.to_numeric(out["risk"], errors="coerce").fillna(0.0).to_numpy() * shares
        base_key = "risk"
    else:
        msg = "risk table: needs forecast_shift or risk (geo.hotspots.risk_table)"
        raise GeoError(msg)
    parts: list[list[str]] = [[text[base_key].format(v=_amount(v))] if v > 0 else [] for v in base]

    extra = np.zeros(n)
    if "warning" in out.columns:
        warned = out["warning"].fillna(False).astype(bool).to_numpy()
        # a warning without a ratio (no baseline) counts as doubling
        ratio_v = (
            np.nan_to_num(pd.to_numeric(out["ratio"], errors="coerce").to_numpy(float), nan=2.0)
            if "ratio" in out.columns
            else np.full(n, 2.0)
        )
        if "last_incident" in out.columns:
            last = pd.to_datetime(out["last_incident"], utc=True)
            age = (now_ns - pd.DatetimeIndex(last).as_unit("ns").asi8) / _DAY_NS
            age = np.where(last.isna().to_numpy(), 0.0, np.maximum(age, 0.0))
        else:
            age = np.zeros(n)
        trend = np.where(
            warned,
            (np.clip(ratio_v, 1.0, max_ratio) - 1.0) * 0.5 ** (age / signal_half_life_days),
            0.0,
        )
        extra += trend
        for i in np.flatnonzero(warned):
            parts[i].append(text["rising"].format(v=ratio_v[i]))
    decay, size, age_f = _flareup_boost(
        pd.Index(out["grid_id"].astype(str)), flareups, now_ns, signal_half_life_days
    )
    extra += flareup_weight * decay
    for i in np.flatnonzero(decay > 1.0 / 16):  # older than four half-lives: no longer named
        parts[i].append(text["flareup"].format(n=size[i], d=age_f[i]))
    gi = np.ones(n)
    if "gi_z" in out.columns and "gi_p" in out.columns:
        z = pd.to_numeric(out["gi_z"], errors="coerce").to_numpy(dtype=float)
        p = pd.to_numeric(out["gi_p"], errors="coerce").to_numpy(dtype=float)
        hot = np.nan_to_num(z) > 0
        hot &= np.nan_to_num(p, nan=1.0) < gi_alpha
        gi = np.where(hot, 1.0 + gi_weight, 1.0)
        for i in np.flatnonzero(hot):
            parts[i].append(text["gi"].format(v=z[i]))
    boost = gi * (1.0 + extra)
    out["base"] = base
    out["boost"] = boost
    out["prize"] = base * boost
    out["why"] = [text["sep"].join(p) if p else text["presence"] for p in parts]
    return out
