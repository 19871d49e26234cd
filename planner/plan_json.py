"""A plan as the VROOM-like JSON document every consumer reads (maps, exports, the API).

Shape (stable)::

    {"summary": {"shift_start", "shift_end", "timezone", "units", "visits", "unassigned",
                 "distance_m", "duration_s", "risk_total", "risk_covered", "risk_covered_pct", ...},
     "routes": [{"unit_id", "kind", "mode", "steps": [{"type", "stop_id", "grid_id", "lon", "lat",
                 "arrival", "departure", "service_s", "waiting_s"}, ...],
                 "distance_m", "duration_s", "geometry"}],
     "unassigned": [{"stop_id", "grid_id", "reason"}]}

Times are ISO 8601 with the offset of the problem's time zone. Step types are ``start``,
``visit``, ``checkpoint`` (a key site, with its ``name``), ``break`` and ``end``; a break names
itself in ``break_id``; a presence dose (a visit
that fills free time at a grid's base risk) has ``"presence": true``. The summary also names
the units that do not patrol (``idle_units``: ``unit_id`` and ``reason``; they are never counted
in ``unassigned``, which counts stops), ``idle_share`` (waiting or off-route share of the shift
time), ``early_units`` and ``warnings`` (units ending over 30 minutes early with risk left,
checkpoints not met) and ``checkpoints`` (``name``, ``met``, and ``unit_id``/``start``/``end``
or the ``reason``). Police routes' visit steps
may carry the incidents of the grid they visit; other kinds never do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry import LineString, mapping

from .errors import PlannerError
from .evaluate import Evaluation, UnitMetrics, evaluate
from .model import Plan, Problem, Route, Unit

__all__ = ["PathGeometry", "plan_to_json"]

#: ``(lon, lat, mode) -> LineString`` along the streets through the points in order
#: (``geo.network.Network.path`` has this signature).
PathGeometry = Callable[[np.ndarray, np.ndarray, str], Any]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _clock(problem: Problem) -> Callable[[int], str]:
    try:
        zone = ZoneInfo(problem.timezone)
    except (KeyError, ValueError) as exc:
        msg = f"problem timezone {problem.timezone!r} is not an IANA time zone"
        raise PlannerError(msg) from exc
    origin = problem.start or _EPOCH

    def iso(seconds: int) -> str:
        return (origin + dt.timedelta(seconds=int(seconds))).astimezone(zone).isoformat()

    return iso


def _straight(lon: np.ndarray, lat: np.ndarray, mode: str) -> LineString:
    points = list(zip(lon.tolist(), lat.tolist(), strict=True))
    if len(points) == 1:
        points = points * 2
    return LineString(points)


def _geometry(geom: Any) -> dict[str, Any]:
    if isinstance(geom, Mapping):
        return dict(geom)
    if isinstance(geom, shapely.Geometry):
        return dict(mapping(geom))
    msg = f"path_geometry returned {type(geom).__name__}, expected a LineString or GeoJSON dict"
    raise PlannerError(msg)


def _route_json(
    problem: Problem,
    unit: Unit,
    route: Route,
    iso: Callable[[int], str],
    path_geometry: PathGeometry,
    metrics: UnitMetrics,
    incidents: Mapping[str, Sequence[Mapping[str, Any]]] | None,
) -> dict[str, Any]:
    def point(loc: int) -> tuple[float, float]:
        return problem.locations[loc]

    steps: list[dict[str, Any]] = []

    def add(kind: str, loc: int, arrival: int, start: int, departure: int, **extra: Any) -> None:
        lon, lat = point(loc)
        steps.append(
            {
                "type": kind,
                "stop_id": extra.pop("stop_id", None),
                "grid_id": extra.pop("grid_id", None),
                "lon": lon,
                "lat": lat,
                "arrival": iso(arrival),
                "departure": iso(departure),
                "service_s": int(departure - start),
                "waiting_s": int(start - arrival),
                **extra,
            }
        )

    add("start", unit.start_location, route.start_s, route.start_s, route.start_s)
    path = [unit.start_location]
    placed = {b.break_id for b in unit.breaks if b.location is not None}
    for s in route.steps:
        if s.kind == "break":
            add("break", s.location, s.arrival_s, s.start_s, s.departure_s, break_id=s.stop_id)
            if s.stop_id in placed and path[-1] != s.location:
                path.append(s.location)  # the drive to the break's place (and on from it)
            continue
        stop = problem.stop(s.stop_id)
        extra: dict[str, Any] = {"stop_id": stop.stop_id, "grid_id": stop.grid_id}
        if stop.checkpoint is not None:
            extra["name"] = stop.checkpoint
            add("checkpoint", s.location, s.arrival_s, s.start_s, s.departure_s, **extra)
            path.append(s.location)
            continue
        extra["visit_number"] = s.visit_number
        extra["risk"] = round(float(stop.prize_of_visit(s.visit_number)), 6)
        if stop.presence:
            extra["presence"] = True
        if unit.is_police and incidents is not None and stop.grid_id in incidents:
            extra["incidents"] = [dict(i) for i in incidents[stop.grid_id]]
        add("visit", s.location, s.arrival_s, s.start_s, s.departure_s, **extra)
        path.append(s.location)
    add("end", unit.end, route.end_s, route.end_s, route.end_s)
    path.append(unit.end)
    lon = np.array([problem.locations[i][0] for i in path])
    lat = np.array([problem.locations[i][1] for i in path])
    return {
        "unit_id": unit.unit_id,
        "kind": unit.kind,
        "mode": unit.mode,
        "steps": steps,
        "distance_m": round(float(metrics.distance_m), 1),
        "risk_covered": round(float(metrics.risk_covered), 6),
        "duration_s": int(route.end_s - route.start_s),
        "geometry": _geometry(path_geometry(lon, lat, unit.mode)),
    }


def _checkpoints(problem: Problem, plan: Plan, iso: Callable[[int], str]) -> list[dict[str, Any]]:
    """Each checkpoint: met (by whom, when) or not (why)."""
    made = {v.stop_id: (r.unit_id, v) for r in plan.routes for v in r.visits}
    reasons = {u.stop_id: u.reason for u in plan.unassigned if u.stop_id is not None}
    out = []
    for stop in problem.stops:
        if stop.checkpoint is None:
            continue
        entry: dict[str, Any] = {"name": stop.checkpoint, "stop_id": stop.stop_id}
        if stop.stop_id in made:
            unit_id, v = made[stop.stop_id]
            entry |= {
                "met": True,
                "unit_id": unit_id,
                "start": iso(v.start_s),
                "end": iso(v.departure_s),
            }
        else:
            entry |= {"met": False, "reason": reasons.get(stop.stop_id, "not visited")}
        out.append(entry)
    return out


def plan_to_json(
    problem: Problem,
    plan: Plan,
    *,
    path_geometry: PathGeometry | None = None,
    incidents: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    evaluation: Evaluation | None = None,
) -> dict[str, Any]:
    """Write ``plan`` as the VROOM-like plan document.

    Parameters
    ----------
    problem
        The problem the plan solves (for places, times and the time zone).
    plan
        The plan.
    path_geometry
        ``(lon, lat, mode) -> LineString`` through the route's places along the streets, e.g.
        ``network.path``; straight segments when None.
    incidents
        Incident records per grid id (``incident_id``, ``category``, ``occurred_at``,
        ``description``) attached to police visit steps only; never to other kinds.
    evaluation
        The plan's evaluation, computed when None.

    Returns
    -------
    dict
        JSON-serialisable plan document.
    """
    ev = evaluation or evaluate(problem, plan)
    iso = _clock(problem)
    geometry = path_geometry or _straight
    units = {u.unit_id: u for u in problem.units}
    metrics = {m.unit_id: m for m in ev.units}
    routes = [
        _route_json(problem, units[r.unit_id], r, iso, geometry, metrics[r.unit_id], incidents)
        for r in plan.routes
    ]
    unassigned = []
    for u in plan.unassigned:
        entry: dict[str, Any] = {"stop_id": u.stop_id, "grid_id": u.grid_id, "reason": u.reason}
        if u.unit_id is not None:
            entry["unit_id"] = u.unit_id
        unassigned.append(entry)
    shift_start = min((u.shift_start_s for u in problem.units), default=0)
    summary = {
        "shift_start": iso(shift_start),
        "shift_end": iso(problem.horizon_s),
        "timezone": problem.timezone,
        "units": len(problem.units),
        "routes": len(routes),
        "visits": sum(len(r.visits) for r in plan.routes),
        "unassigned": sum(1 for u in plan.unassigned if u.stop_id is not None),
        "distance_m": round(ev.distance_m, 1),
        "duration_s": int(ev.duration_s),
        "waiting_s": int(ev.waiting_s),
        "risk_total": round(ev.risk_total, 6),
        "risk_covered": round(ev.risk_covered, 6),
        "risk_covered_pct": round(ev.risk_covered_pct, 3),
        "presence_min": {k: round(v, 2) for k, v in sorted(ev.presence_min.items())},
        "readiness": [
            {
                "start": iso(r.start_s),
                "within_3min": round(r.within_3min, 4),
                "within_5min": round(r.within_5min, 4),
            }
            for r in ev.readiness
        ],
        "backend": plan.backend,
        "seed": plan.seed,
        "valid": ev.ok,
        "presence_risk": round(ev.presence_risk, 6),
        "idle_share": round(ev.idle_share, 4),
        "idle_units": [
            {"unit_id": u.unit_id, "reason": u.reason}
            for u in plan.unassigned
            if u.stop_id is None and u.unit_id is not None
        ],
        "early_units": list(ev.early_units),
        "warnings": list(ev.warnings),
        "checkpoints": _checkpoints(problem, plan, iso),
    }
    return {"summary": summary, "routes": routes, "unassigned": unassigned}
