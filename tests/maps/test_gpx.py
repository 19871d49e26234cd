"""GPX 1.1 export: schema-valid, stops in visit order, times, dwell, track, privacy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gpxpy
import pytest
import xmlschema

from maps.errors import ExportError
from maps.gpx import plan_to_gpx
from tests.maps.conftest import SECRET


@pytest.fixture(scope="module")
def gpx_schema(schemas_dir: Path) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(schemas_dir / "gpx" / "1.1" / "gpx.xsd")


def test_gpx_is_schema_valid(plan: dict[str, Any], gpx_schema: xmlschema.XMLSchema) -> None:
    """Every unit's GPX validates against the official GPX 1.1 schema."""
    for route in plan["routes"]:
        gpx_schema.validate(plan_to_gpx(plan, route["unit_id"]))


def test_route_points_follow_visit_order(plan: dict[str, Any]) -> None:
    """<rte> lists start, the visits numbered 1..n in plan order, and end, with UTC times and dwell."""
    route = plan["routes"][0]
    doc = gpxpy.parse(plan_to_gpx(plan, route["unit_id"]))
    (rte,) = doc.routes
    visits = [s for s in route["steps"] if s["type"] == "visit"]
    names = [p.name for p in rte.points]
    assert names[0] == "start"
    assert names[-1] == "end"
    visit_points = [p for p in rte.points if p.type == "visit"]
    assert [p.name for p in visit_points] == [
        f"{i + 1} {s['grid_id']}" for i, s in enumerate(visits)
    ]
    first = visit_points[0]
    assert first.time is not None
    assert first.time.isoformat() == "2026-01-05T13:10:00+00:00"
    assert first.comment == "dwell 15 min"
    assert "dwell 15 min" in first.description
    assert (first.latitude, first.longitude) == (visits[0]["lat"], visits[0]["lon"])


def test_track_is_the_street_geometry(plan: dict[str, Any]) -> None:
    """<trk> carries every vertex of the route geometry, 6 decimals."""
    route = plan["routes"][0]
    doc = gpxpy.parse(plan_to_gpx(plan, route["unit_id"]))
    pts = [(p.longitude, p.latitude) for p in doc.tracks[0].segments[0].points]
    assert pts == [(round(x, 6), round(y, 6)) for x, y in route["geometry"]["coordinates"]]


def test_simplification_drops_vertices(plan: dict[str, Any]) -> None:
    """A 500 m tolerance keeps fewer track points but both ends."""
    route = plan["routes"][0]
    full = gpxpy.parse(plan_to_gpx(plan, route["unit_id"])).tracks[0].segments[0].points
    small = (
        gpxpy.parse(plan_to_gpx(plan, route["unit_id"], simplify_m=500))
        .tracks[0]
        .segments[0]
        .points
    )
    assert len(small) < len(full)
    assert (small[0].latitude, small[-1].latitude) == (full[0].latitude, full[-1].latitude)


def test_volunteer_gpx_carries_no_incident_details(plan: dict[str, Any]) -> None:
    """A volunteer's GPX has no incident id, category, description or personal field."""
    text = plan_to_gpx(plan, "volunteer-2")
    for needle in ("INC-SECRET", SECRET, "Jane Roe", "John Doe", "burglary", "incidents"):
        assert needle not in text


def test_police_gpx_may_carry_incident_summary(plan: dict[str, Any]) -> None:
    """A police car's GPX lists incident counts/categories but never descriptions or names."""
    text = plan_to_gpx(plan, "police_car-1")
    assert "incidents 1: INC-SECRET-00 burglary" in text
    for needle in (SECRET, "Jane Roe", "John Doe"):
        assert needle not in text


def test_unknown_unit_is_an_error(plan: dict[str, Any]) -> None:
    """Asking for a unit the plan lacks names the unit."""
    with pytest.raises(ExportError, match="nobody"):
        plan_to_gpx(plan, "nobody")
