"""Dosage: the presence each grid was planned to get and the presence the tracks delivered.

Planned: per unit and grid, from each visit step's arrival to its departure (waiting included:
the unit is there). Delivered: the time a unit's cleaned track (:func:`geo.tracks.clean_tracks`)
spent in a grid in *continuous stays*: fixes (a running median of ``SMOOTH_FIXES``, so that the
jitter of a unit standing by a grid edge does not flip it between grids) are joined to leaf grids by the project's exact
join (:func:`geo.join.assign_grids`, the same rule as incidents); consecutive fixes in one grid
at most ``max_gap_s`` apart form a run; a run broken by a short excursion (at most
``max_excursion_s`` elsewhere, e.g. jitter over a grid edge) and resumed in the same grid is one
run, credited to the grid of its median place; runs of at least ``min_stay_s`` are stays (passing through is not presence). Both are split
by hour of shift (hour 0 starts at the shift start).

A planned visit is delivered when the unit's track was within ``visit_radius_m`` of the stop's
place, between the previous step's departure and the next step's arrival (at most ``slack_s``
before or after the visit), for at least ``visit_share`` of its planned presence (by place, not
by grid: a stop on a grid edge is visited whichever side the fixes fall).
A checkpoint (a step of type ``checkpoint``, or a visit whose stop id starts ``checkpoint:``)
is checked in when the track stays within ``radius_m`` of it for its dwell, or explicitly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geo.join import GridIndex, assign_grids
from geo.tracks import distance_m, epoch_s

from .errors import PlannerError

__all__ = ["Dosage", "dosage", "planned_steps", "stays"]

#: Fixes in the running median that positions are joined to grids by.
SMOOTH_FIXES = 5
#: Runs shorter than this are passing through, not presence.
MIN_STAY_S = 120.0
#: Fixes further apart than this do not make a run.
MAX_GAP_S = 120.0
#: A run may leave its grid this long (GPS jitter over an edge) and still be one stay.
MAX_EXCURSION_S = 90.0
#: A visit counts when stays overlap its time, widened by this, for ``visit_share`` of it.
SLACK_S = 1800.0
VISIT_SHARE = 0.5
#: A visit is made by presence within this distance of the stop's place.
VISIT_RADIUS_M = 75.0
#: A check-in from a track: within this radius for the checkpoint's dwell.
RADIUS_M = 50.0


@dataclass(frozen=True)
class Dosage:
    """Planned against delivered presence.

    Attributes
    ----------
    table
        ``unit_id, grid_id, hour, planned_s, delivered_s`` (hour of shift, 0-based).
    units
        Per unit: ``unit_id, planned_s, delivered_s, delivered_elsewhere_s, visits_planned,
        visits_delivered, missed`` (stop ids), ``track`` (cleaning counts when given).
    checkpoints
        Per checkpoint step: ``stop_id, name, unit_id, planned_at, checked_in, at, by``.
    """

    table: pd.DataFrame
    units: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]

    def by_grid(self) -> pd.DataFrame:
        """Planned and delivered seconds per grid (all units, all hours)."""
        return (
            self.table.groupby("grid_id", as_index=False)[["planned_s", "delivered_s"]]
            .sum()
            .sort_values("grid_id", ignore_index=True)
        )


def _time(value: Any, where: str) -> pd.Timestamp:
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError):
        msg = f"plan: {where}: {value!r} is not a time"
        raise PlannerError(msg) from None
    if t.tzinfo is None:
        msg = f"plan: {where}: {value!r} has no UTC offset"
        raise PlannerError(msg)
    return t.tz_convert("UTC")


def _is_checkpoint(step: Mapping[str, Any]) -> bool:
    return step.get("type") == "checkpoint" or str(step.get("stop_id") or "").startswith(
        "checkpoint:"
    )


def planned_steps(plan: Mapping[str, Any]) -> pd.DataFrame:
    """Visit and checkpoint steps: ``unit_id, stop_id, grid_id, lon, lat, start, end, service_s,
    checkpoint`` (times UTC, arrival to departure)."""
    rows = []
    for r, route in enumerate(plan.get("routes", [])):
        for k, step in enumerate(route.get("steps", [])):
            if step.get("type") not in ("visit", "checkpoint"):
                continue
            where = f"routes[{r}].steps[{k}]"
            rows.append(
                {
                    "unit_id": str(route["unit_id"]),
                    "stop_id": str(step.get("stop_id")),
                    "grid_id": None if step.get("grid_id") is None else str(step["grid_id"]),
                    "lon": float(step["lon"]),
                    "lat": float(step["lat"]),
                    "start": _time(step["arrival"], f"{where}.arrival"),
                    "end": _time(step["departure"], f"{where}.departure"),
                    "service_s": float(step.get("service_s") or 0),
                    "checkpoint": _is_checkpoint(step),
                    "name": str(step.get("name") or step.get("stop_id") or "").removeprefix(
                        "checkpoint:"
                    ),
                }
            )
    columns = ["unit_id", "stop_id", "grid_id", "lon", "lat", "start", "end", "service_s"]
    return pd.DataFrame(rows, columns=[*columns, "checkpoint", "name"])


def stays(
    tracks: pd.DataFrame,
    grids: Any,
    *,
    min_stay_s: float = MIN_STAY_S,
    max_gap_s: float = MAX_GAP_S,
    max_excursion_s: float = MAX_EXCURSION_S,
) -> pd.DataFrame:
    """Continuous stays of cleaned tracks in leaf grids: ``unit_id, grid_id, start, end``.

    ``grids`` is a grids frame or a :class:`geo.join.GridIndex`.
    """
    columns = ["unit_id", "grid_id", "start", "end"]
    if tracks.empty:
        return pd.DataFrame(columns=columns)
    # a running median over SMOOTH_FIXES fixes takes the jitter off a unit standing near a grid
    # edge and leaves straight movement where it is
    by_unit = tracks.groupby("unit_id", sort=False)
    lon = by_unit["lon"].transform(
        lambda x: x.rolling(SMOOTH_FIXES, center=True, min_periods=1).median()
    )
    lat = by_unit["lat"].transform(
        lambda x: x.rolling(SMOOTH_FIXES, center=True, min_periods=1).median()
    )
    grid = assign_grids(lon.to_numpy(float), lat.to_numpy(float), grids)
    out = []
    for unit, idx in tracks.groupby("unit_id", sort=True).indices.items():
        t = epoch_s(tracks["at"].iloc[idx])
        g = grid[idx]
        runs: list[list[Any]] = []  # [grid, start, end, first fix, last fix]
        for k in range(len(t)):
            if runs and runs[-1][0] == g[k] and t[k] - runs[-1][2] <= max_gap_s:
                runs[-1][2], runs[-1][4] = t[k], k
            else:
                runs.append([g[k], t[k], t[k], k, k])
        merged: list[list[Any]] = []
        for run in runs:
            if merged and merged[-1][0] == run[0] and run[1] - merged[-1][2] <= max_gap_s:
                merged[-1][2], merged[-1][4] = run[2], run[4]
                continue
            # back in the grid of an earlier run after a short excursion: one stay
            j = next((k for k in range(len(merged) - 1, -1, -1) if merged[k][0] == run[0]), -1)
            if run[0] is not None and j >= 0 and run[1] - merged[j][2] <= max_excursion_s:
                merged[j][2], merged[j][4] = run[2], run[4]
                del merged[j + 1 :]
            else:
                merged.append(list(run))
        long = [m for m in merged if m[0] is not None and m[2] - m[1] >= min_stay_s]
        if not long:
            continue
        # a stay belongs to the grid of its median place: a unit standing by a grid edge
        # jitters across it, its median does not
        ulon, ulat = lon.to_numpy(float)[idx], lat.to_numpy(float)[idx]
        mid_lon = np.array([np.median(ulon[m[3] : m[4] + 1]) for m in long])
        mid_lat = np.array([np.median(ulat[m[3] : m[4] + 1]) for m in long])
        where = assign_grids(mid_lon, mid_lat, grids)
        for m, g_mid in zip(long, where, strict=True):
            out.append((str(unit), str(g_mid if g_mid is not None else m[0]), m[1], m[2]))
    frame = pd.DataFrame(out, columns=columns)
    for c in ("start", "end"):
        frame[c] = pd.to_datetime(frame[c], unit="s", utc=True)
    return frame


def _by_hour(
    start: pd.Timestamp, end: pd.Timestamp, origin: pd.Timestamp
) -> list[tuple[int, float]]:
    """Seconds of [start, end) in each hour of shift."""
    a = (start - origin).total_seconds()
    b = (end - origin).total_seconds()
    out = []
    h = int(np.floor(a / 3600))
    while a < b:
        edge = (h + 1) * 3600.0
        piece = min(b, edge) - a
        if piece > 0:
            out.append((h, piece))
        a, h = min(b, edge), h + 1
    return out


def _time_near(
    fixes: pd.DataFrame,
    lon: float,
    lat: float,
    t0: pd.Timestamp,
    t1: pd.Timestamp,
    radius_m: float,
    max_gap_s: float,
) -> float:
    """Seconds between t0 and t1 the track spent within ``radius_m`` of a place."""
    if fixes.empty:
        return 0.0
    inside = fixes.loc[(fixes["at"] >= t0) & (fixes["at"] <= t1)]
    if len(inside) < 2:
        return 0.0
    near = distance_m(inside["lon"].to_numpy(float), inside["lat"].to_numpy(float), lon, lat)
    t = epoch_s(inside["at"])
    both = (near[1:] <= radius_m) & (near[:-1] <= radius_m)
    dt_s = np.diff(t)
    return float(dt_s[both & (dt_s <= max_gap_s)].sum())


def _checkin(
    fixes: pd.DataFrame, lon: float, lat: float, dwell_s: float, radius_m: float, max_gap_s: float
) -> pd.Timestamp | None:
    if fixes.empty:
        return None
    near = (
        distance_m(
            fixes["lon"].to_numpy(float),
            fixes["lat"].to_numpy(float),
            np.float64(lon),
            np.float64(lat),
        )
        <= radius_m
    )
    t = epoch_s(fixes["at"])
    start = None
    last = None
    for k in range(len(t)):
        if near[k] and start is not None and last is not None and t[k] - last <= max_gap_s:
            last = t[k]
        elif near[k]:
            start, last = t[k], t[k]
        else:
            start = last = None
        if start is not None and last is not None and last - start >= max(dwell_s, 0.0):
            return pd.Timestamp(start, unit="s", tz="UTC")
    return None


def dosage(
    plan: Mapping[str, Any],
    tracks: pd.DataFrame,
    grids: Any,
    *,
    checkins: Sequence[Mapping[str, Any]] = (),
    reports: Mapping[str, Any] | None = None,
    radius_m: float = RADIUS_M,
    visit_radius_m: float = VISIT_RADIUS_M,
    min_stay_s: float = MIN_STAY_S,
    max_gap_s: float = MAX_GAP_S,
    slack_s: float = SLACK_S,
    visit_share: float = VISIT_SHARE,
) -> Dosage:
    """Planned against delivered presence per unit, grid and hour of shift.

    Parameters
    ----------
    plan
        The plan document (any version).
    tracks
        Cleaned tracks (:func:`geo.tracks.clean_tracks`); units without a track delivered nothing.
    grids
        Leaf grids (a grids frame or a :class:`geo.join.GridIndex`).
    checkins
        Explicit check-ins ``{checkpoint, unit_id, at}`` (checkpoint name or stop id).
    reports
        Cleaning counts per unit (:class:`geo.tracks.TrackReport`), copied into ``units``.
    """
    summary = plan.get("summary", {})
    if "shift_start" not in summary:
        msg = "plan: summary.shift_start is missing; pass a plan document"
        raise PlannerError(msg)
    origin = _time(summary["shift_start"], "summary.shift_start")
    steps = planned_steps(plan)
    index = grids if isinstance(grids, GridIndex) else GridIndex.build(grids)
    found = stays(tracks, index, min_stay_s=min_stay_s, max_gap_s=max_gap_s)
    cells: dict[tuple[str, str, int], list[float]] = {}
    for s in steps.itertuples(index=False):
        if s.grid_id is None:
            continue
        for h, sec in _by_hour(s.start, s.end, origin):
            cells.setdefault((s.unit_id, s.grid_id, h), [0.0, 0.0])[0] += sec
    for s in found.itertuples(index=False):
        for h, sec in _by_hour(s.start, s.end, origin):
            cells.setdefault((s.unit_id, s.grid_id, h), [0.0, 0.0])[1] += sec
    table = pd.DataFrame(
        [(u, g, h, round(p, 1), round(d, 1)) for (u, g, h), (p, d) in sorted(cells.items())],
        columns=["unit_id", "grid_id", "hour", "planned_s", "delivered_s"],
    )
    explicit: dict[str, pd.Timestamp] = {}
    for c in checkins:
        name = str(c["checkpoint"]).removeprefix("checkpoint:")
        at = _time(c["at"], "checkin.at")
        explicit[name] = min(explicit.get(name, at), at)
    units = []
    checkpoints = []
    unit_ids = [str(r["unit_id"]) for r in plan.get("routes", [])]
    for unit in unit_ids:
        mine = steps.loc[steps["unit_id"] == unit]
        fixes = tracks.loc[tracks["unit_id"] == unit] if not tracks.empty else tracks
        planned_grids = set(mine["grid_id"].dropna())
        rows = table.loc[table["unit_id"] == unit]
        missed = []
        delivered = 0
        visits = 0
        order = list(mine.itertuples(index=False))
        for k, s in enumerate(order):
            if s.checkpoint:
                at = _checkin(fixes, s.lon, s.lat, s.service_s, radius_m, max_gap_s)
                by = "track" if at is not None else None
                if s.name in explicit:
                    at, by = explicit[s.name], "explicit"
                checkpoints.append(
                    {
                        "stop_id": s.stop_id,
                        "name": s.name,
                        "unit_id": unit,
                        "planned_at": s.start.isoformat(),
                        "checked_in": at is not None,
                        "at": None if at is None else at.isoformat(),
                        "by": by,
                    }
                )
                visits += 1
                if at is not None:
                    delivered += 1
                else:
                    missed.append(s.stop_id)
                continue
            visits += 1
            # presence between the previous step's departure and the next step's arrival
            # (at most slack_s either side) belongs to this visit
            wide0 = s.start - dt.timedelta(seconds=slack_s)
            wide1 = s.end + dt.timedelta(seconds=slack_s)
            if k > 0:
                wide0 = max(wide0, order[k - 1].end)
            if k + 1 < len(order):
                wide1 = min(wide1, order[k + 1].start)
            need = visit_share * max((s.end - s.start).total_seconds(), s.service_s, 1.0)
            if _time_near(fixes, s.lon, s.lat, wide0, wide1, visit_radius_m, max_gap_s) >= need:
                delivered += 1
            else:
                missed.append(s.stop_id)
        in_planned = rows["grid_id"].isin(planned_grids)
        entry: dict[str, Any] = {
            "unit_id": unit,
            "planned_s": round(float(rows["planned_s"].sum()), 1),
            "delivered_s": round(float(rows.loc[in_planned, "delivered_s"].sum()), 1),
            "delivered_elsewhere_s": round(float(rows.loc[~in_planned, "delivered_s"].sum()), 1),
            "visits_planned": visits,
            "visits_delivered": delivered,
            "missed": missed,
        }
        if reports is not None and unit in reports:
            rep = reports[unit]
            entry["track"] = {
                k: getattr(rep, k)
                for k in (
                    "points",
                    "kept",
                    "invalid",
                    "duplicates",
                    "out_of_order",
                    "jumps",
                    "gaps",
                )
            }
        units.append(entry)
    return Dosage(table=table, units=units, checkpoints=checkpoints)
