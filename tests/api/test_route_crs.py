"""Route files and views in GCJ-02 / BD-09 for Chinese handheld map apps (``crs=``), WGS84 by default."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import gpxpy
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from geo.crs import to_gcj02, wgs84_to_bd09
from maps.coords import points_in_crs
from maps.gpx import plan_to_gpx
from tests.api.conftest import CELL_POINT, stored_plan, token_headers

G11 = CELL_POINT["g11"]  # a Guangzhou point: mainland China, so it is shifted


def _gcj(lon: float, lat: float) -> tuple[float, float]:
    x, y = to_gcj02([lon], [lat])
    return float(x[0]), float(y[0])


def _first_visit(route: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in route["steps"] if s["type"] == "visit")


@pytest.mark.usefixtures("grids_stored")
def test_export_gpx_and_geojson_in_gcj02(app: Any, client: TestClient) -> None:
    """``/export?crs=gcj02`` shifts every point as geo.crs does; without it the file is WGS84."""
    plan_id = stored_plan(app)
    admin = token_headers("admin")
    url = f"/plans/{plan_id}/export?unit=car-1"
    plain = gpxpy.parse(client.get(f"{url}&format=gpx", headers=admin).text)
    shifted = client.get(f"{url}&format=gpx&crs=gcj02", headers=admin)
    assert shifted.status_code == 200, shifted.text
    moved = gpxpy.parse(shifted.text)
    first, moved_first = plain.routes[0].points[1], moved.routes[0].points[1]
    assert (first.longitude, first.latitude) == pytest.approx(G11)
    assert (moved_first.longitude, moved_first.latitude) == pytest.approx(_gcj(*G11), abs=1e-6)
    geo = client.get(f"{url}&format=geojson&crs=bd09", headers=admin).json()
    points = [f for f in geo["features"] if f["geometry"]["type"] == "Point"]
    bx, by = wgs84_to_bd09([G11[0]], [G11[1]])
    assert any(
        f["geometry"]["coordinates"] == pytest.approx([float(bx[0]), float(by[0])], abs=1e-6)
        for f in points
    )


@pytest.mark.usefixtures("grids_stored")
def test_route_view_in_gcj02_has_its_own_etag(app: Any, client: TestClient) -> None:
    """``/routes/{unit}?crs=gcj02`` (JSON, KML) is shifted, with an ETag distinct from WGS84's;
    a volunteer gets its own route shifted too; an unknown crs is a 422."""
    plan_id = stored_plan(app)
    admin = token_headers("admin")
    plain = client.get(f"/plans/{plan_id}/routes/car-1", headers=admin)
    shifted = client.get(f"/plans/{plan_id}/routes/car-1?crs=gcj02", headers=admin)
    assert shifted.status_code == 200, shifted.text
    assert plain.headers["ETag"] != shifted.headers["ETag"]
    assert (_first_visit(plain.json())["lon"], _first_visit(plain.json())["lat"]) == pytest.approx(
        G11
    )
    visit = _first_visit(shifted.json())
    assert (visit["lon"], visit["lat"]) == pytest.approx(_gcj(*G11), abs=1e-6)
    line = shifted.json()["geometry"]["coordinates"][1]
    assert line == pytest.approx(list(_gcj(*G11)), abs=1e-6)
    kml = client.get(
        f"/plans/{plan_id}/routes/vol-1?format=kml&crs=gcj02", headers=token_headers("volunteer")
    )
    assert kml.status_code == 200, kml.text
    gx, gy = _gcj(*G11)
    assert re.search(rf"{gx:.5f}\d*,{gy:.5f}", kml.text), kml.text[:400]
    bad = client.get(f"/plans/{plan_id}/routes/car-1?crs=utm", headers=admin)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_outside_mainland_nothing_moves() -> None:
    """Philadelphia and Hong Kong points are the same in every output CRS (mainland only)."""
    for crs in ("wgs84", "gcj02", "bd09"):
        lon, lat = points_in_crs([-75.1627, 114.172], [39.9796, 22.297], crs)
        assert lon.tolist() == [-75.1627, 114.172]
        assert lat.tolist() == [39.9796, 22.297]


def test_plan_gpx_in_crs() -> None:
    """``plan_to_gpx(crs=...)`` writes the shifted route points; the plan itself is not changed."""
    plan = {
        "routes": [
            {
                "unit_id": "car-1",
                "kind": "police_car",
                "steps": [{"type": "visit", "grid_id": "g11", "lon": G11[0], "lat": G11[1]}],
                "geometry": {"type": "LineString", "coordinates": [list(G11), list(G11)]},
            }
        ]
    }
    before = json.dumps(plan)
    doc = gpxpy.parse(plan_to_gpx(plan, "car-1", crs="gcj02"))
    point = doc.routes[0].points[0]
    assert (point.longitude, point.latitude) == pytest.approx(_gcj(*G11), abs=1e-6)
    assert json.dumps(plan) == before


UNITS = """timezone: Asia/Shanghai
shift: {start: '2026-11-02T18:00', end: '2026-11-02T22:00'}
units:
  - {unit_id: car-1, kind: police_car, depot: [113.305, 23.105]}
"""


def test_units_check_shows_depots_in_crs(tmp_path: Path) -> None:
    """``units check --crs gcj02`` shows depots shifted; a bad --crs is one line, exit 2."""
    path = tmp_path / "units.yaml"
    path.write_text(UNITS)
    result = CliRunner().invoke(cli, ["units", "check", str(path), "--crs", "gcj02"])
    assert result.exit_code == 0, result.output
    gx, gy = _gcj(113.305, 23.105)
    assert f"{gx:.5f}," in result.output  # the table may wrap the cell
    assert f"{gy:.5f}" in result.output
    assert "depot (gcj02)" in result.output
    plain = CliRunner().invoke(cli, ["units", "check", str(path)])
    assert "113.30500," in plain.output
    assert f"{gx:.5f}," not in plain.output
    bad = CliRunner().invoke(cli, ["units", "check", str(path), "--crs", "utm"])
    assert bad.exit_code == 2
    assert "--crs 'utm': use one of wgs84, gcj02, bd09" in bad.output
