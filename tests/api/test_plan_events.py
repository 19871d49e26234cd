"""Re-plans over HTTP, routes by version (ETag, 304), check-ins; roles as everywhere else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.db.models import Plan, PlanVersion
from benchmarks._shift import city_shift
from planner.plan_json import plan_to_json
from planner.shift_file import shift_bytes
from tests.api.conftest import token_headers

EVENTS = {
    "events": [
        {"type": "unit_unavailable", "unit_id": "car-2", "at": "20:00"},
        {"type": "incident", "lon": -75.14, "lat": 39.985, "at": "20:05", "category": "robbery"},
    ],
    "time_limit_s": 1,
}


def stored_shift(app: Any, plan_id: str = "shift1", district: str = "D1") -> dict[str, Any]:
    """Store a finished plan job of a generated shift with its version 0; returns the document."""
    state, plan = city_shift(0, n_units=4, n_stops=40)
    doc = plan_to_json(state.problem, plan)
    now = datetime.now(UTC)
    with app.state.database.session() as session:
        session.add(
            Plan(
                plan_id=plan_id,
                status="done",
                created_at=now,
                updated_at=now,
                created_by="test",
                district_id=district,
                request={},
                result={"plan": doc, "risk": []},
            )
        )
        session.flush()
        session.add(
            PlanVersion(
                plan_id=plan_id,
                version=0,
                created_at=now,
                created_by="test",
                events=None,
                document=doc,
                shift=shift_bytes(state),
            )
        )
    return doc


@pytest.mark.usefixtures("grids_stored")
def test_events_replan_and_routes_by_version(app: Any, client: TestClient) -> None:
    """A re-plan changes car-2 and one more route; unchanged routes keep their ETag (304)."""
    stored_shift(app)
    admin = token_headers("admin")
    before = {}
    for unit in ("car-1", "car-2", "car-3", "car-4"):
        got = client.get(f"/plans/shift1/routes/{unit}", headers=admin)
        assert got.status_code == 200
        before[unit] = got.headers["etag"]
        again = client.get(
            f"/plans/shift1/routes/{unit}", headers={**admin, "If-None-Match": got.headers["etag"]}
        )
        assert again.status_code == 304
    answer = client.post("/plans/shift1/events", json=EVENTS, headers=token_headers("dispatcher"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["version"] == 1
    assert body["summary"]["solve_s"] <= 5
    changed = {r["unit_id"]: r["changed"] for r in body["routes"]}
    assert changed["car-2"] is True
    for unit, was in before.items():
        polled = client.get(f"/plans/shift1/routes/{unit}", headers={**admin, "If-None-Match": was})
        assert polled.status_code == (200 if changed[unit] else 304)
        if changed[unit]:
            assert polled.headers["x-plan-version"] == "1"
    gpx = client.get("/plans/shift1/routes/car-2?format=gpx", headers=admin)
    assert gpx.headers["content-type"].startswith("application/gpx+xml")
    kml = client.get("/plans/shift1/export?unit=car-2&format=kml", headers=admin)
    assert kml.status_code == 200
    job = client.get("/plans/shift1", headers=admin).json()
    assert job["result"]["summary"]["version"] == 1
    # the next batch may not rewrite history
    old = client.post(
        "/plans/shift1/events",
        json={"events": [{"type": "unit_available", "unit_id": "car-2", "at": "19:00"}]},
        headers=admin,
    )
    assert old.status_code == 422
    assert old.json()["field"] == "body.events.0.at"


@pytest.mark.usefixtures("grids_stored")
def test_bad_events_store_nothing(app: Any, client: TestClient) -> None:
    """A bad event is a 422 naming index and field; the plan stays at version 0."""
    doc = stored_shift(app)
    bad = dict(EVENTS)
    bad["events"] = [
        *EVENTS["events"],
        {"type": "unit_position", "unit_id": "car-7", "lon": 0, "lat": 0, "at": "20:00"},
    ]
    answer = client.post("/plans/shift1/events", json=bad, headers=token_headers("admin"))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["field"] == "body.events.2.unit_id"
    job = client.get("/plans/shift1", headers=token_headers("admin")).json()
    assert job["result"] == doc | {"routes": job["result"]["routes"]}
    assert "version" not in job["result"]["summary"]


@pytest.mark.usefixtures("grids_stored")
def test_roles_on_shift_paths(app: Any, client: TestClient) -> None:
    """Supervisors of another district see 404, volunteers may not re-plan; check-ins checked."""
    stored_shift(app)
    other = token_headers("supervisor", district="D2")
    assert client.post("/plans/shift1/events", json=EVENTS, headers=other).status_code == 404
    assert client.get("/plans/shift1/routes/car-1", headers=other).status_code == 404
    volunteer = token_headers("volunteer")
    assert client.post("/plans/shift1/events", json=EVENTS, headers=volunteer).status_code == 403
    assert client.get("/plans/shift1/routes/car-1", headers=volunteer).status_code == 404
    assert client.post("/plans/shift1/events", json=EVENTS).status_code == 401
    own = token_headers("supervisor")
    bad = client.post(
        "/plans/shift1/checkins",
        json={"checkpoint": "bank", "unit_id": "car-1", "at": "2025-01-22T21:10:00-05:00"},
        headers=own,
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "body.checkpoint"
    checkpoint = {
        "events": [
            {
                "type": "checkpoint",
                "name": "bank",
                "lon": -75.15,
                "lat": 39.98,
                "windows": [["21:00", "22:00"]],
                "dwell_min": 10,
                "at": "20:30",
            }
        ],
        "time_limit_s": 1,
    }
    answer = client.post("/plans/shift1/events", json=checkpoint, headers=own)
    assert answer.status_code == 200
    # the key site is a hard checkpoint: a "checkpoint" step named bank, met, in the GPX and KML
    (met,) = answer.json()["summary"]["checkpoints"]
    assert met["met"] is True
    unit = met["unit_id"]
    route = client.get(f"/plans/shift1/routes/{unit}", headers=own).json()
    (step,) = [s for s in route["steps"] if s.get("name") == "bank"]
    assert step["type"] == "checkpoint"
    for fmt in ("gpx", "kml"):
        got = client.get(f"/plans/shift1/routes/{unit}?format={fmt}", headers=own)
        assert "checkpoint bank" in got.text
    ok = client.post(
        "/plans/shift1/checkins",
        json={"checkpoint": "bank", "unit_id": "car-1", "at": "2025-01-22T21:10:00-05:00"},
        headers=own,
    )
    assert ok.status_code == 201, ok.text


@pytest.mark.usefixtures("grids_stored")
def test_racing_replans_lose_nothing(app: Any, client: TestClient) -> None:
    """Two re-plans of one version at once: one stores version 1, the other gets 409; no row lost."""
    import threading

    import sqlalchemy as sa

    from api.problems import ProblemError
    from api.services import shift as service

    stored_shift(app)
    database = app.state.database
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def replan() -> None:
        barrier.wait()
        try:
            done = service.replan(
                database, "shift1", {"events": EVENTS["events"]}, actor="t", time_limit_s=1
            )
            outcomes.append(done.result.state.version)
        except ProblemError as exc:
            outcomes.append(exc.status)

    threads = [threading.Thread(target=replan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes, key=str) == sorted([1, 409], key=str)
    with database.sessions() as session:
        versions = session.scalars(
            sa.select(PlanVersion.version).where(PlanVersion.plan_id == "shift1")
        ).all()
    assert sorted(versions) == [0, 1]
    job = client.get("/plans/shift1", headers=token_headers("admin")).json()
    assert job["result"]["summary"]["version"] == 1
