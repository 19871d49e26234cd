"""GPS tracks of units: read (GPX 1.1, CSV, API pings) and cleaned of what real receivers do.

A track frame has one row per fix: ``unit_id`` (str), ``at`` (timezone-aware), ``lon``, ``lat``
(EPSG:4326). :func:`clean_tracks` sorts each unit's fixes by time and drops, counting each:

- ``invalid``: missing or impossible coordinates or times;
- ``duplicates``: a second fix at the same time as one kept (the first is kept);
- ``jumps``: a fix the unit could only reach faster than ``max_speed_mps`` from the last fix
  kept (a multipath spike); when the fixes after a spike agree with each other and not with
  the last kept one, the last kept one was the spike and the track resumes from them.

``out_of_order`` counts fixes that arrived before an earlier time (kept, after sorting) and
``gaps`` the silences longer than ``max_gap_s`` (kept; time across a gap is never counted as
presence). Jitter is left in: presence is measured on grids and radii far larger than it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .errors import GeoError

__all__ = [
    "TRACK_COLUMNS",
    "TrackError",
    "TrackReport",
    "clean_tracks",
    "distance_m",
    "epoch_s",
    "read_gpx_folder",
    "read_track_csv",
    "read_tracks",
    "track_frame",
]

TRACK_COLUMNS = ("unit_id", "at", "lon", "lat")
#: Fastest plausible movement between two fixes (160 km/h).
MAX_SPEED_MPS = 45.0
#: Silences longer than this break a track.
MAX_GAP_S = 120.0


class TrackError(GeoError):
    """A GPS track file or batch is unusable (the message names the file, row and field)."""


@dataclass(frozen=True)
class TrackReport:
    """What cleaning one unit's track found."""

    unit_id: str
    points: int
    kept: int
    invalid: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    jumps: int = 0
    gaps: int = 0


def distance_m(lon0: ArrayLike, lat0: ArrayLike, lon1: ArrayLike, lat1: ArrayLike) -> np.ndarray:
    """Great-circle distance in metres, element-wise."""
    p0 = np.radians(np.asarray(lat0, dtype=float))
    p1 = np.radians(np.asarray(lat1, dtype=float))
    dl = np.radians(np.asarray(lon1, dtype=float) - np.asarray(lon0, dtype=float))
    h = np.sin((p1 - p0) / 2) ** 2 + np.cos(p0) * np.cos(p1) * np.sin(dl / 2) ** 2
    return np.asarray(2 * 6_371_008.8 * np.arcsin(np.sqrt(np.clip(h, 0, 1))))


def epoch_s(times: pd.Series) -> np.ndarray:
    """Seconds since 1970 of timezone-aware times (any resolution)."""
    return np.asarray((times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(float))


def track_frame(rows: list[dict[str, object]] | pd.DataFrame) -> pd.DataFrame:
    """A track frame from rows (``unit_id``, ``at``, ``lon``, ``lat``), times as UTC."""
    frame = pd.DataFrame(rows, columns=list(TRACK_COLUMNS))
    frame["unit_id"] = frame["unit_id"].astype(str)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    frame["lon"] = pd.to_numeric(frame["lon"], errors="coerce").astype(float)
    frame["lat"] = pd.to_numeric(frame["lat"], errors="coerce").astype(float)
    return frame


def read_track_csv(path: str | Path, *, timezone: str = "UTC") -> pd.DataFrame:
    """A CSV of ``unit_id, at, lon, lat`` (times without an offset are in ``timezone``).

    Raises
    ------
    TrackError
        Naming the file, the (1-based, header = 1) line and the column at fault.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        msg = f"{path}: not a readable CSV ({exc})"
        raise TrackError(msg) from None
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in TRACK_COLUMNS if c not in raw.columns]
    if missing:
        msg = f"{path}: column(s) {', '.join(missing)} missing; expected unit_id, at, lon, lat"
        raise TrackError(msg)
    rows = []
    for i, r in enumerate(raw.itertuples(index=False), start=2):
        unit = str(r.unit_id).strip()
        if not unit:
            msg = f"{path}: line {i}: unit_id is empty"
            raise TrackError(msg)
        try:
            at = pd.Timestamp(str(r.at).strip())
        except ValueError:
            msg = f"{path}: line {i}: at {r.at!r} is not a time (ISO 8601)"
            raise TrackError(msg) from None
        if at is pd.NaT:
            msg = f"{path}: line {i}: at is empty"
            raise TrackError(msg)
        at = at.tz_localize(timezone) if at.tzinfo is None else at
        values = []
        for name in ("lon", "lat"):
            text = str(getattr(r, name)).strip()
            try:
                values.append(float(text))
            except ValueError:
                msg = f"{path}: line {i}: {name} {text!r} is not a number"
                raise TrackError(msg) from None
        rows.append({"unit_id": unit, "at": at, "lon": values[0], "lat": values[1]})
    return track_frame(rows)


def read_gpx_folder(folder: str | Path) -> pd.DataFrame:
    """Every ``<unit_id>.gpx`` (GPX 1.1 tracks) of a folder; fixes need a ``<time>``.

    Raises
    ------
    TrackError
        Naming the file (and the fix) at fault.
    """
    import gpxpy
    import gpxpy.gpx

    folder = Path(folder)
    files = sorted(folder.glob("*.gpx"))
    if not files:
        msg = f"{folder}: no <unit_id>.gpx files"
        raise TrackError(msg)
    rows: list[dict[str, object]] = []
    for path in files:
        try:
            doc = gpxpy.parse(path.read_text(encoding="utf-8"))
        except (gpxpy.gpx.GPXException, ValueError, UnicodeDecodeError) as exc:
            msg = f"{path}: not a GPX file ({exc})"
            raise TrackError(msg) from None
        k = 0
        for track in doc.tracks:
            for segment in track.segments:
                for point in segment.points:
                    k += 1
                    if point.time is None:
                        msg = f"{path}: track point {k} has no <time>; a track needs times"
                        raise TrackError(msg)
                    at = pd.Timestamp(point.time)
                    at = at.tz_localize("UTC") if at.tzinfo is None else at
                    rows.append(
                        {
                            "unit_id": path.stem,
                            "at": at,
                            "lon": point.longitude,
                            "lat": point.latitude,
                        }
                    )
        if k == 0:
            msg = f"{path}: no track points (<trk><trkseg><trkpt>)"
            raise TrackError(msg)
    return track_frame(rows)


def read_tracks(path: str | Path, *, timezone: str = "UTC") -> pd.DataFrame:
    """A folder of ``<unit_id>.gpx`` files or one CSV file."""
    path = Path(path)
    if path.is_dir():
        return read_gpx_folder(path)
    if not path.is_file():
        msg = f"{path}: no such tracks file or folder"
        raise TrackError(msg)
    return read_track_csv(path, timezone=timezone)


def _clean_one(
    unit: str, group: pd.DataFrame, max_speed_mps: float, max_gap_s: float
) -> tuple[pd.DataFrame, TrackReport]:
    n = len(group)
    ok = (
        group["lon"].between(-180, 180)
        & group["lat"].between(-90, 90)
        & group["at"].notna()
        & np.isfinite(group["lon"])
        & np.isfinite(group["lat"])
    )
    valid = group.loc[ok]
    t = epoch_s(valid["at"])
    out_of_order = int(np.count_nonzero(t[1:] < np.maximum.accumulate(t)[:-1])) if len(t) else 0
    valid = valid.sort_values("at", kind="stable")
    dup = valid["at"].duplicated(keep="first")
    valid = valid.loc[~dup]
    lon, lat = valid["lon"].to_numpy(), valid["lat"].to_numpy()
    secs = epoch_s(valid["at"])
    keep: list[int] = []
    jumps = 0
    rejected: list[int] = []
    for i in range(len(valid)):
        if not keep:
            keep.append(i)
            continue
        j = keep[-1]
        dt = max(secs[i] - secs[j], 1.0)
        speed = float(distance_m(lon[j], lat[j], lon[i], lat[i])) / dt
        if speed <= max_speed_mps:
            keep.append(i)
            rejected = []
            continue
        rejected.append(i)
        jumps += 1
        if len(rejected) >= 3:
            a, b, c = rejected[-3:]
            consistent = all(
                float(distance_m(lon[x], lat[x], lon[y], lat[y])) / max(secs[y] - secs[x], 1.0)
                <= max_speed_mps
                for x, y in ((a, b), (b, c))
            )
            if consistent:  # the last kept fix was the spike: resume from the agreeing ones
                keep.pop()
                keep.extend(rejected[-3:])
                jumps -= 2
                rejected = []
    kept = valid.iloc[keep]
    ks = secs[keep]
    gaps = int(np.count_nonzero(np.diff(ks) > max_gap_s)) if len(ks) > 1 else 0
    report = TrackReport(
        unit_id=unit,
        points=n,
        kept=len(kept),
        invalid=int(n - ok.sum()),
        duplicates=int(dup.sum()),
        out_of_order=out_of_order,
        jumps=jumps,
        gaps=gaps,
    )
    return kept, report


def clean_tracks(
    tracks: pd.DataFrame,
    *,
    max_speed_mps: float = MAX_SPEED_MPS,
    max_gap_s: float = MAX_GAP_S,
) -> tuple[pd.DataFrame, dict[str, TrackReport]]:
    """Clean every unit's track (see the module docstring).

    Returns
    -------
    tuple
        The kept fixes sorted by unit and time, and a :class:`TrackReport` per unit.
    """
    missing = [c for c in TRACK_COLUMNS if c not in tracks.columns]
    if missing:
        msg = f"tracks: column(s) {', '.join(missing)} missing; expected unit_id, at, lon, lat"
        raise TrackError(msg)
    if not math.isfinite(max_speed_mps) or max_speed_mps <= 0:
        msg = f"max_speed_mps must be > 0, got {max_speed_mps}"
        raise TrackError(msg)
    frames, reports = [], {}
    for unit, group in tracks.groupby("unit_id", sort=True):
        kept, report = _clean_one(str(unit), group, max_speed_mps, max_gap_s)
        frames.append(kept)
        reports[str(unit)] = report
    if not frames:
        return track_frame([]), reports
    return pd.concat(frames, ignore_index=True), reports
