"""Plans: background jobs, the role-filtered result, the map and exports; a real plan on PHL data."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from api.services.grids import store_grids
from geo.incidents import load_incidents
from tests.api.conftest import stored_plan, token_headers
from tests.conftest import PHL, north_philly_grids


@pytest.mark.usefixtures("grids_stored")
def test_volunteer_sees_only_its_routes_without_incidents(app: Any, client: TestClient) -> None:
    """Staff see every route with incident summaries; a volunteer only its community's, bare."""
    plan_id = stored_plan(app)
    staff = client.get(f"/plans/{plan_id}", headers=token_headers("dispatcher")).json()
    assert [r["unit_id"] for r in staff["result"]["routes"]] == ["car-1", "vol-1"]
    assert "name and phone" in json.dumps(staff)
    volunteer = client.get(f"/plans/{plan_id}", headers=token_headers("volunteer"))
    body = volunteer.json()
    assert [r["unit_id"] for r in body["result"]["routes"]] == ["vol-1"]
    text = json.dumps(body)
    assert "incidents" not in text
    assert "name and phone" not in text
    other = client.get(f"/plans/{plan_id}", headers=token_headers("volunteer", community="C3"))
    assert other.status_code == 404
    gpx = client.get(
        f"/plans/{plan_id}/export?unit=vol-1&format=gpx", headers=token_headers("volunteer")
    )
    assert gpx.status_code == 200
    assert gpx.headers["content-type"].startswith("application/gpx+xml")
    assert b"<gpx" in gpx.content
    assert b"name and phone" not in gpx.content
    html = client.get(f"/plans/{plan_id}/map", headers=token_headers("volunteer")).text
    assert "name and phone" not in html
    assert "<html" in html.lower()


@pytest.mark.usefixtures("grids_stored")
def test_plan_requests_are_checked_before_queueing(app: Any, client: TestClient) -> None:
    """Bad units are a 422 naming the problem; a supervisor may not plan another district."""
    app.state.settings.network_path = Path("missing.osm")
    bad = client.post("/plans", json={"units": {"units": []}}, headers=token_headers("admin"))
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    units = {
        "timezone": "Asia/Shanghai",
        "shift": {"start": "2026-11-02T18:00", "end": "2026-11-03T02:00"},
        "units": [{"unit_id": "car-1", "kind": "police_car", "depot": [113.301, 23.101]}],
    }
    solver = client.post(
        "/plans", json={"units": units, "backend": "magic"}, headers=token_headers("admin")
    )
    assert solver.status_code == 422  # backends: ortools, portfolio
    key_site = {"name": "bank", "lon": 113.3, "lat": 23.1, "windows": ["9:00"]}
    bad_site = client.post(
        "/plans",
        json={"units": {**units, "checkpoints": [key_site]}},
        headers=token_headers("admin"),
    )
    assert bad_site.status_code == 422
    assert "checkpoints[0].windows[0]" in bad_site.text
    other = client.post(
        "/plans", json={"units": units, "district": "D2"}, headers=token_headers("supervisor")
    )
    assert other.status_code == 403
    queued = client.post("/plans", json={"units": units}, headers=token_headers("supervisor"))
    assert queued.status_code == 202
    href = queued.headers["location"]
    job = _wait(client, href, token_headers("supervisor"))
    assert job["status"] == "failed"  # the configured network file does not exist
    assert "missing.osm" in job["error"]
    assert job["district"] == "D1"


def _wait(client: TestClient, href: str, headers: dict[str, str], timeout_s: float = 600) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(href, headers=headers).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"plan job {href} did not finish in {timeout_s} s")


UNITS = """\
timezone: America/New_York
shift: {start: "2025-01-22T18:00", end: "2025-01-23T02:00"}
max_stops: 30
units:
  - {unit_id: car-1, kind: police_car, depot: [-75.1627, 39.9796]}
  - {unit_id: vol-1, kind: volunteer, mode: walk, depot: [-75.155, 39.982], grids: [NORTH_CENTRAL]}
"""


@pytest.mark.slow
def test_real_plan_over_http(app: Any, client: TestClient, tmp_path: Path) -> None:
    """North Philadelphia: grids stored, incidents ingested over HTTP, a plan job planned and
    served; the configured category table's police-only categories keep the volunteer off those
    grids' risk stops (as the CLI's --categories does)."""
    with app.state.database.session() as session:
        store_grids(session, north_philly_grids())
    app.state.grid_cache.invalidate()
    incidents = load_incidents(PHL / "phl_incidents_2025-01.csv").incidents
    rows = [
        {
            "incident_id": str(r.incident_id),
            "occurred_at": pd.Timestamp(r.occurred_at).isoformat(),
            "category": str(r.category),
            "severity": int(r.severity),
            "lon": float(r.geometry.x),
            "lat": float(r.geometry.y),
        }
        for r in incidents.itertuples()
        if r.geometry is not None and not r.geometry.is_empty
    ]
    admin = token_headers("admin")
    accepted = 0
    for start in range(0, len(rows), 5000):
        answer = client.post(
            "/incidents", json={"incidents": rows[start : start + 5000]}, headers=admin
        )
        assert answer.status_code == 200, answer.text
        accepted += answer.json()["accepted"]
    assert accepted == len({r["incident_id"] for r in rows})
    app.state.settings.network_path = PHL / "temple_north_philly.osm"
    table = tmp_path / "categories.yaml"
    table.write_text(
        "categories:\n"
        "  Thefts: {severity: 2, group: property, police_only: true}\n"
        "  Other Assaults: {severity: 3, group: violent, police_only: true}\n"
        "  All Other Offenses: {severity: 1, group: other, police_only: true}\n",
        encoding="utf-8",
    )
    app.state.settings.categories = str(table)
    response = client.post(
        "/plans", json={"units": yaml.safe_load(UNITS), "time_limit_s": 2, "seed": 1}, headers=admin
    )
    assert response.status_code == 202
    job = _wait(client, response.headers["location"], admin)
    assert job["status"] == "done", job["error"]
    summary = job["result"]["summary"]
    assert summary["visits"] > 0
    assert 0 < summary["risk_covered_pct"] <= 100
    police_only = set(summary["police_only_grids"])
    assert police_only
    volunteer_route = next(r for r in job["result"]["routes"] if r["unit_id"] == "vol-1")
    risk_stops = {
        s["grid_id"]
        for s in volunteer_route["steps"]
        if s["type"] == "visit" and not str(s["stop_id"]).endswith("~p")
    }
    assert not police_only & risk_stops
    volunteer = token_headers("volunteer", community="NORTH_CENTRAL")
    mine = client.get(response.headers["location"], headers=volunteer).json()["result"]["routes"]
    assert [r["unit_id"] for r in mine] == ["vol-1"]
    assert all("incidents" not in s for s in mine[0]["steps"])
    page = client.get(f"/plans/{job['plan_id']}/map", headers=admin)
    assert page.status_code == 200
    assert len(page.text) > 10_000
    assert '"close":' in page.text, "staff popups carry the workflow metrics"
    own = client.get(f"/plans/{job['plan_id']}/map", headers=volunteer)
    assert own.status_code == 200
    assert '"close":' not in own.text
    gpx = client.get(f"/plans/{job['plan_id']}/export?unit=car-1&format=gpx", headers=admin)
    assert gpx.status_code == 200
    assert b"<trk" in gpx.content
    # the shift in motion: version 0 was stored with the job; a re-plan follows the streets
    car = next(r for r in job["result"]["routes"] if r["unit_id"] == "car-1")
    visit = next(s for s in car["steps"] if s["type"] == "visit")
    events = {
        "events": [
            {
                "type": "unit_position",
                "unit_id": "car-1",
                "lon": visit["lon"],
                "lat": visit["lat"],
                "at": "20:00",
            },
            {
                "type": "incident",
                "lon": visit["lon"],
                "lat": visit["lat"],
                "at": "20:00",
                "category": "robbery",
            },
        ],
        "time_limit_s": 1,
    }
    replanned = client.post(f"/plans/{job['plan_id']}/events", json=events, headers=admin)
    assert replanned.status_code == 200, replanned.text
    assert replanned.json()["version"] == 1
    new = client.get(f"/plans/{job['plan_id']}/routes/car-1", headers=admin).json()
    assert new["changed"] is True
    assert len(new["geometry"]["coordinates"]) > len(new["steps"])  # along the streets
