"""Raw incident columns to contract values, with a reason for every row that cannot be used.

Private to :mod:`geo.incidents`. Each function returns the cleaned values and an object array
of reasons (None where the row is fine); :func:`first_reason` keeps the first problem found per
row: coordinates (missing, impossible, ``(0, 0)``, converted to WGS84), timestamps (missing,
unreadable; naive ones in ``timezone`` with daylight-saving counts) and ids (given, or hashed
from time, place and category).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .crs import check_degrees, to_wgs84
from .errors import CRSError, IncidentError

__all__ = ["clean_ids", "coordinates", "first_reason", "hash_ids", "timestamps"]

_TZ_SUFFIX = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")


def first_reason(reasons: np.ndarray, new: np.ndarray) -> None:
    """Record ``new`` reasons where a row has none yet (the first problem found wins)."""
    new = np.asarray(new, dtype=object)
    mask = pd.isna(reasons) & ~pd.isna(new)
    reasons[mask] = new[mask]


def coordinates(
    x: np.ndarray, y: np.ndarray, crs: object, source: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS84 ``(lon, lat, reasons)`` of coordinates in ``crs`` (a file mostly in metres raises)."""
    reasons = np.full(len(x), None, dtype=object)
    missing = ~(np.isfinite(x) & np.isfinite(y))
    reasons[missing] = "missing coordinates"
    lon = np.full(len(x), np.nan)
    lat = np.full(len(x), np.nan)
    ok = ~missing
    metres = ok & ((np.abs(x) > 180) | (np.abs(y) > 90))
    if metres.sum() > ok.sum() / 2:  # most rows, not a stray typo: the file is in metres
        try:
            check_degrees(x[ok], y[ok], crs, f"incidents file {source}")
        except CRSError as exc:
            msg = str(exc).replace("--crs", "--incidents-crs")
            raise IncidentError(msg) from None
    try:
        lon[ok], lat[ok] = to_wgs84(x[ok], y[ok], crs)
    except CRSError as exc:
        msg = f"incidents file {source}: {exc}"
        raise IncidentError(msg) from None
    impossible = ok & ~(
        np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    )
    reasons[impossible] = [
        f"impossible coordinates ({a:g}, {b:g}) in {crs}; expected lon -180..180, lat -90..90"
        for a, b in zip(x[impossible], y[impossible], strict=True)
    ]
    null_island = ok & ~impossible & (lon == 0) & (lat == 0)
    reasons[null_island] = "coordinates (0, 0): a missing location written as zeros"
    return lon, lat, reasons


def timestamps(
    values: pd.Series, timezone: str | None, source: Path
) -> tuple[pd.Series, np.ndarray, tuple[int, int, int]]:
    """UTC times, reasons, and ``(dst_gap, dst_repeat, naive_as_utc)`` counts."""
    text = values.astype(object).where(values.notna(), None)
    text = text.map(lambda v: None if v is None else str(v).strip() or None)
    reasons = np.full(len(text), None, dtype=object)
    reasons[text.isna().to_numpy()] = "missing timestamp"
    dst = (0, 0, 0)
    has_offset = text.str.contains(_TZ_SUFFIX, na=False).to_numpy(bool)
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    if has_offset.any():
        result[has_offset] = _parse(text[has_offset], utc=True)
    naive = text.notna().to_numpy() & ~has_offset
    if naive.any():
        local = _parse(text[naive], utc=False)
        if local.dt.tz is not None:  # e.g. parsed from a datetime column that carried a zone
            result[naive] = local.dt.tz_convert("UTC")
        else:
            try:
                zoned = local.dt.tz_localize(
                    timezone or "UTC", ambiguous=True, nonexistent="shift_forward"
                )
            except Exception as exc:
                msg = f"incidents file {source}: unknown time zone {timezone!r} ({exc})"
                raise IncidentError(msg) from None
            result[naive] = zoned.dt.tz_convert("UTC")
            if timezone is not None:
                dst = (*_dst_counts(local, timezone), 0)
            else:
                dst = (0, 0, int(local.notna().sum()))
    unreadable = text.notna().to_numpy() & result.isna().to_numpy()
    reasons[unreadable] = [f"unreadable timestamp {v!r}" for v in text[unreadable]]
    return result.reset_index(drop=True), reasons, dst


def _dst_counts(local: pd.Series, timezone: str) -> tuple[int, int]:
    """How many wall times fall in a daylight-saving gap, and how many in a repeated hour."""
    present = local.dropna()
    gap = present.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").isna()
    repeat = present.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").isna()
    n_gap = int(gap.sum()) - int((gap & repeat).sum())
    return n_gap, int(repeat.sum())


def _parse(text: pd.Series, *, utc: bool) -> pd.Series:
    """ISO 8601 quickly; anything else element by element."""
    parsed = pd.to_datetime(text, utc=utc, format="ISO8601", errors="coerce")
    retry = parsed.isna() & text.notna()
    if retry.any():
        parsed[retry] = pd.to_datetime(text[retry], utc=utc, format="mixed", errors="coerce")
    return parsed.astype("datetime64[us, UTC]" if utc else "datetime64[us]")


def clean_ids(values: pd.Series) -> pd.Series:
    """Ids as stripped strings (``12.0`` read from a number is ``12``); None where missing."""
    ids = values.astype(object).map(
        lambda v: None if v is None or pd.isna(v) else re.sub(r"\.0+$", "", str(v).strip()) or None
    )
    return ids.astype(object)


def hash_ids(
    occurred: pd.Series, lon: np.ndarray, lat: np.ndarray, category: pd.Series
) -> pd.Series:
    """Stable ids for rows without one: a hash of time, place and category."""
    keys = [
        f"{t.isoformat() if not pd.isna(t) else ''}|{a:.7f}|{b:.7f}|{c or ''}"
        for t, a, b, c in zip(occurred, lon, lat, category, strict=True)
    ]
    return pd.Series(
        ["h" + hashlib.sha1(k.encode(), usedforsecurity=False).hexdigest()[:15] for k in keys],
        dtype=object,
    )
