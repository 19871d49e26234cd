"""How events change the rest of a shift's problem (step 2 of :mod:`planner.shift_replan`).

A reported position becomes a new place whose travel times are the nearest known place's plus
the straight distance at a mode speed (:data:`MODE_SPEED_MPS`), :data:`DETOUR` longer; an
incident raises its grid's remaining stops (:data:`INCIDENT_BOOST`) and adds a stop there, open
from the incident for :data:`INCIDENT_WINDOW_S`, worth :data:`INCIDENT_PRIZE` times the shift's
best stop; a checkpoint becomes the planner's hard checkpoint; a unit out of service has no work
after its time (out and back in within the batch: a break of that length).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .checkpoints import checkpoint_stop, start_windows
from .events import Event, _haversine_m
from .model import Break, Problem, Stop, Unit
from .shift_file import ShiftState

__all__ = [
    "DETOUR",
    "INCIDENT_BOOST",
    "INCIDENT_PRIZE",
    "INCIDENT_WINDOW_S",
    "MODE_SPEED_MPS",
    "event_stops",
    "reachable_breaks",
    "units_after",
]

#: Straight-line speed (m/s) assumed between a reported point and the nearest known place.
MODE_SPEED_MPS = {"drive": 8.0, "walk": 1.3, "bike": 4.0}
#: Streets are longer than the straight line.
DETOUR = 1.3
#: Multiplier of the remaining stops' prizes in an incident's grid.
INCIDENT_BOOST = 2.0
#: An incident's stop is worth this many times the shift's best stop.
INCIDENT_PRIZE = 3.0
#: An incident's stop is open this long after the incident.
INCIDENT_WINDOW_S = 2 * 3600


def _add_places(
    problem: Problem, points: Sequence[tuple[float, float]]
) -> tuple[Problem, list[int]]:
    """Append places; travel from/to each is via its nearest known place (straight, slower)."""
    if not points:
        return problem, []
    n = len(problem.locations)
    lon = np.array([p[0] for p in problem.locations])
    lat = np.array([p[1] for p in problem.locations])
    near, extra_m = [], []
    for x, y in points:
        d = _haversine_m(x, y, lon, lat)
        k = int(np.argmin(d))
        near.append(k)
        extra_m.append(float(d[k]) * DETOUR)
    near_a, extra = np.array(near), np.array(extra_m)
    m = len(points)

    def grow(mat: np.ndarray, add: np.ndarray) -> np.ndarray:
        out = np.zeros((n + m, n + m))
        out[:n, :n] = mat
        out[n:, :n] = mat[near_a, :] + add[:, None]
        out[:n, n:] = mat[:, near_a] + add[None, :]
        out[n:, n:] = mat[np.ix_(near_a, near_a)] + add[:, None] + add[None, :]
        np.fill_diagonal(out, 0.0)
        return out

    travel = {
        mode: grow(np.asarray(t), extra / MODE_SPEED_MPS.get(mode, 4.0))
        for mode, t in problem.travel_s.items()
    }
    dist = (
        None
        if problem.distance_m is None
        else {mode: grow(np.asarray(d), extra) for mode, d in problem.distance_m.items()}
    )
    grown = dataclasses.replace(
        problem,
        locations=(*problem.locations, *points),
        travel_s=travel,
        distance_m=dist,
    )
    return grown, list(range(n, n + m))


def _grid_of(state: ShiftState, lon: float, lat: float) -> str | None:
    if not state.grid_ids:
        return None
    from geo.join import assign_grids

    got = assign_grids(np.array([lon]), np.array([lat]), state.grids())[0]
    return None if got is None else str(got)


def event_stops(
    state: ShiftState, problem: Problem, events: Sequence[Event]
) -> tuple[Problem, list[Stop], dict[str, float], dict[int, int]]:
    """Places and stops of incidents and checkpoints; boosts; places of reported positions."""
    best = max((s.prize for s in problem.stops), default=1.0) or 1.0
    horizon = problem.horizon_s
    points: list[tuple[float, float]] = []
    owners: list[tuple[str, Event, str | None]] = []
    for e in events:
        if e.lon is None or e.lat is None:
            continue
        assert e.lon is not None
        if e.type == "unit_position":
            owners.append(("position", e, None))
            points.append((e.lon, e.lat))
        elif e.type == "incident":
            owners.append(("incident", e, _grid_of(state, e.lon, e.lat)))
            points.append((e.lon, e.lat))
        elif e.type == "checkpoint":
            owners.append(("checkpoint", e, _grid_of(state, e.lon, e.lat)))
            points.append((e.lon, e.lat))
    grown, places = _add_places(problem, points)
    stops: list[Stop] = []
    boost: dict[str, float] = {}
    position_place: dict[int, int] = {}
    taken = set(problem.stop_index)
    for (what, e, grid), place in zip(owners, places, strict=True):
        if what == "position":
            position_place[e.index] = place
            continue
        if what == "incident":
            grid_id = grid or f"incident-area-{e.index}"
            if grid is not None:
                boost[grid] = boost.get(grid, 1.0) * INCIDENT_BOOST
            sid = f"incident:{e.index}:{e.category}"
            end = min(horizon, e.at_s + INCIDENT_WINDOW_S)
            stops.append(
                Stop(
                    sid if sid not in taken else f"{sid}:{len(taken)}",
                    grid_id,
                    place,
                    windows=((e.at_s, end),),
                    prize=INCIDENT_PRIZE * best * e.severity / 3,
                    kinds=frozenset({"police_car", "foot_patrol"}),
                )
            )
        else:
            sid = f"checkpoint:{e.name}"
            if sid in taken or any(s.stop_id == sid for s in stops):
                msg = f"events[{e.index}].name: checkpoint {e.name!r} is already in the plan"
                from .events import EventError

                raise EventError(msg, f"events.{e.index}.name")
            assert e.name is not None
            windows = start_windows(e.windows, dwell_s=e.dwell_s, first_s=0, last_s=horizon)
            stops.append(
                checkpoint_stop(
                    e.name,
                    location=place,
                    grid_id=grid,
                    windows=windows,
                    dwell_s=e.dwell_s,
                    kinds=e.kinds,
                )
            )
    return grown, stops, boost, position_place


def reachable_breaks(problem: Problem, unit: Unit) -> Unit:
    """A break at a place the unit can no longer reach in its window starts when it gets there
    (or is left out when that does not fit the shift)."""
    out = []
    for b in unit.breaks:
        if b.location is None:
            out.append(b)
            continue
        there = unit.shift_start_s + problem.travel(unit.mode, unit.start_location, b.location)
        if there <= b.latest_s:
            out.append(b)
        elif (
            there + b.duration_s + problem.travel(unit.mode, b.location, unit.end)
            <= unit.shift_end_s
        ):
            late = int(np.ceil(there))
            out.append(dataclasses.replace(b, earliest_s=max(b.earliest_s, late), latest_s=late))
    return dataclasses.replace(unit, breaks=tuple(out))


def units_after(
    rest: Problem,
    full: Problem,
    state: ShiftState,
    events: Sequence[Event],
    positions: dict[str, tuple[int, int]],
) -> tuple[dict[str, Unit | None], dict[str, int]]:
    """Each unit of the rest of the shift after the events (None: out of service)."""
    out: dict[str, Unit | None] = {}
    unavailable = dict(state.unavailable)
    by_unit: dict[str, list[Event]] = {}
    for e in events:
        if e.unit_id is not None and e.type in ("unit_unavailable", "unit_available"):
            by_unit.setdefault(e.unit_id, []).append(e)
    for u in rest.units:
        unit: Unit | None = None if u.unit_id in unavailable else u
        todo = by_unit.get(u.unit_id, [])
        k = 0
        while k < len(todo):
            e = todo[k]
            k += 1
            if e.type == "unit_available":
                if unit is None:
                    start = min(max(e.at_s, u.shift_start_s), u.shift_end_s)
                    place = positions.get(u.unit_id, (full.unit(u.unit_id).end, 0))[0]
                    unit = dataclasses.replace(
                        u,
                        start_location=place,
                        shift_start_s=start,
                        breaks=tuple(b for b in u.breaks if b.earliest_s >= start),
                    )
                    unavailable.pop(u.unit_id, None)
                continue
            if unit is None:
                continue  # already out
            back = next((x for x in todo[k:] if x.type == "unit_available"), None)
            if back is None:
                unavailable[u.unit_id] = e.at_s
                if e.at_s <= unit.shift_start_s:
                    unit = None
                else:
                    unit = dataclasses.replace(
                        unit,
                        shift_end_s=e.at_s,
                        breaks=tuple(b for b in unit.breaks if b.latest_s + b.duration_s <= e.at_s),
                    )
                continue
            k = todo.index(back) + 1
            until = min(back.at_s, unit.shift_end_s)
            if e.at_s <= unit.shift_start_s:
                unit = dataclasses.replace(
                    unit,
                    shift_start_s=max(unit.shift_start_s, until),
                    breaks=tuple(b for b in unit.breaks if b.earliest_s >= until),
                )
            else:
                # a break that fits before or after the time out stays (the backend keeps one
                # unit's breaks apart); one whose whole window falls in it is taken then
                gap = Break(f"out-of-service-{e.index}", e.at_s, e.at_s, until - e.at_s)
                kept_breaks = [
                    b
                    for b in unit.breaks
                    if b.earliest_s + b.duration_s <= e.at_s or b.latest_s >= until
                ]
                unit = dataclasses.replace(unit, breaks=(*kept_breaks, gap))
        out[u.unit_id] = unit
    return out, unavailable
