"""Tests of the plan document: stable VROOM-like shape, times with offset, privacy."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
from shapely.geometry import LineString

from planner.model import Problem, Stop, Unit
from planner.plan_json import plan_to_json
from planner.solve import solve
from tests.planner.generated import lonlat, matrices

STEP_KEYS = {
    "type",
    "stop_id",
    "grid_id",
    "lon",
    "lat",
    "arrival",
    "departure",
    "service_s",
    "waiting_s",
}
SUMMARY_KEYS = {
    "shift_start",
    "shift_end",
    "timezone",
    "units",
    "visits",
    "unassigned",
    "distance_m",
    "duration_s",
    "risk_total",
    "risk_covered",
    "risk_covered_pct",
}


def _problem() -> Problem:
    xy = np.array([[0.0, 0.0], [400.0, 0.0], [800.0, 0.0], [9000.0, 9000.0]])
    travel, dist = matrices(xy)
    units = (
        Unit("car", "police_car", "drive", 0, shift_end_s=3600, allowed_grids=frozenset({"g1"})),
        Unit("vol", "volunteer", "walk", 0, shift_end_s=3600, allowed_grids=frozenset({"g2"})),
    )
    stops = (
        Stop("a", "g1", 1, prize=2.0),
        Stop("b", "g2", 2, prize=1.0),
        Stop("far", "g3", 3, prize=1.0, windows=((0, 60),)),
    )
    start = dt.datetime(2024, 3, 1, 23, 0, tzinfo=dt.UTC)
    return Problem(
        lonlat(xy), travel, units, stops, distance_m=dist, start=start, timezone="America/New_York"
    )


def test_shape_times_and_geometry() -> None:
    """The document has the fixed keys, local ISO times with offset and the given geometry."""
    p = _problem()
    plan = solve(p, time_limit_s=1, seed=0)
    calls: list[str] = []

    def path(lon: np.ndarray, lat: np.ndarray, mode: str) -> LineString:
        calls.append(mode)
        return LineString(zip(lon, lat, strict=True))

    doc = plan_to_json(p, plan, path_geometry=path)
    json.dumps(doc)
    assert set(doc["summary"]) >= SUMMARY_KEYS
    assert doc["summary"]["timezone"] == "America/New_York"
    assert doc["summary"]["shift_start"] == "2024-03-01T18:00:00-05:00"
    assert sorted(calls) == ["drive", "walk"]
    for route in doc["routes"]:
        assert {"unit_id", "kind", "mode", "steps", "distance_m", "duration_s", "geometry"} <= set(
            route
        )
        assert route["geometry"]["type"] == "LineString"
        types = [s["type"] for s in route["steps"]]
        assert types[0] == "start"
        assert types[-1] == "end"
        for s in route["steps"]:
            assert set(s) >= STEP_KEYS
            assert dt.datetime.fromisoformat(s["arrival"]).utcoffset() == dt.timedelta(hours=-5)
    assert doc["unassigned"] == [
        {"stop_id": "far", "grid_id": "g3", "reason": doc["unassigned"][0]["reason"]}
    ]
    assert doc["unassigned"][0]["reason"] == "no unit may enter grid g3"
    assert doc["summary"]["risk_covered_pct"] == 75.0


def test_incidents_only_on_police_routes() -> None:
    """Incident details go to police visit steps only, never to a volunteer's route."""
    p = _problem()
    plan = solve(p, time_limit_s=1, seed=0)
    rec = {
        "incident_id": "i1",
        "category": "theft",
        "occurred_at": "2024-02-01T00:00:00Z",
        "description": "x",
    }
    doc = plan_to_json(p, plan, incidents={"g1": [rec], "g2": [rec]})
    by_unit = {r["unit_id"]: r for r in doc["routes"]}
    car_visits = [s for s in by_unit["car"]["steps"] if s["type"] == "visit"]
    assert car_visits[0]["incidents"] == [rec]
    assert all("incidents" not in s for s in by_unit["vol"]["steps"])
    assert "i1" not in json.dumps(by_unit["vol"])


def test_route_line_includes_the_drive_to_a_break_at_the_station() -> None:
    """A meal break at the station puts the station on the route line between the visits
    before and after it: every leg actually driven is drawn."""
    from planner.model import Break

    xy = np.array([[0.0, 0.0], [3000.0, 0.0], [3200.0, 0.0]])
    travel, dist = matrices(xy)
    meal = Break("meal", 3600, 3700, 1800, location=0)
    car = Unit("car", "police_car", "drive", 0, shift_end_s=3 * 3600, breaks=(meal,))
    stops = (
        Stop("a", "g1", 1, windows=((0, 2400),)),
        Stop("b", "g2", 2, windows=((5400, 7200),)),
    )
    p = Problem(lonlat(xy), travel, (car,), stops, distance_m=dist)
    plan = solve(p, time_limit_s=1, seed=0, fill=False)
    kinds = [(s.kind, s.location) for s in plan.routes[0].steps]
    assert kinds == [("visit", 1), ("break", 0), ("visit", 2)]
    seen: list[list[tuple[float, float]]] = []

    def path(lon: np.ndarray, lat: np.ndarray, mode: str) -> LineString:
        seen.append(list(zip(lon.tolist(), lat.tolist(), strict=True)))
        return LineString(zip(lon, lat, strict=True))

    plan_to_json(p, plan, path_geometry=path)
    places = [p.locations.index(pt) for pt in seen[0]]
    assert places == [0, 1, 0, 2, 0]
