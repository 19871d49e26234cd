"""AVL pings in (idempotent, all or nothing) and dosage over HTTP for supervisors."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests._tracks import simulate_track
from tests.api.conftest import token_headers
from tests.api.test_plan_events import stored_shift


def _pings(track: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"lon": float(r.lon), "lat": float(r.lat), "at": r.at.isoformat()}
        for r in track.itertuples(index=False)
    ]


def test_pings_are_idempotent_and_checked(client: TestClient) -> None:
    """A resent batch stores nothing twice; a bad ping refuses the batch naming it."""
    admin = token_headers("dispatcher")
    pings = [
        {"lon": -75.16, "lat": 39.97, "at": "2025-01-22T19:00:00-05:00"},
        {"lon": -75.161, "lat": 39.97, "at": "2025-01-22T19:00:10-05:00"},
        {"lon": -75.161, "lat": 39.97, "at": "2025-01-22T19:00:10-05:00"},
    ]
    first = client.post("/units/car-1/positions", json={"positions": pings}, headers=admin)
    assert first.status_code == 200, first.text
    assert first.json() == {"unit_id": "car-1", "accepted": 2, "duplicates": 1}
    again = client.post("/units/car-1/positions", json={"positions": pings[:2]}, headers=admin)
    assert again.json() == {"unit_id": "car-1", "accepted": 0, "duplicates": 2}
    bad = [*pings, {"lon": -75.16, "lat": 97.0, "at": "2025-01-22T19:01:00-05:00"}]
    refused = client.post("/units/car-1/positions", json={"positions": bad}, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["field"] == "body.positions.3.lat"
    naive = [{"lon": -75.16, "lat": 39.97, "at": "2025-01-22T19:05:00"}]
    refused = client.post("/units/car-1/positions", json={"positions": naive}, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["field"] == "body.positions.0.at"
    for role, status in (("supervisor", 403), ("volunteer", 403)):
        answer = client.post(
            "/units/car-1/positions", json={"positions": pings}, headers=token_headers(role)
        )
        assert answer.status_code == status


@pytest.mark.usefixtures("grids_stored")
def test_dosage_from_stored_pings(app: Any, client: TestClient) -> None:
    """Pings of a unit that followed its plan and one that stopped halfway: the right shares."""
    doc = stored_shift(app)
    routes = {r["unit_id"]: r for r in doc["routes"]}
    full = routes["car-3"]
    part = routes["car-4"]
    visits = [s for s in part["steps"] if s["type"] == "visit"]
    cut = pd.Timestamp(visits[len(visits) // 2 - 1]["departure"]) + pd.Timedelta(minutes=1)
    writer = token_headers("dispatcher")
    for unit, track in (
        ("car-3", simulate_track(full, seed=1)),
        ("car-4", simulate_track(part, until=cut, seed=2)),
    ):
        pings = _pings(track)
        for k in range(0, len(pings), 1000):
            answer = client.post(
                f"/units/{unit}/positions", json={"positions": pings[k : k + 1000]}, headers=writer
            )
            assert answer.status_code == 200
    sup = token_headers("supervisor")
    body = client.get("/plans/shift1/dosage", headers=sup).json()
    units = {u["unit_id"]: u for u in body["units"]}
    assert 0.85 <= units["car-3"]["delivered_s"] / units["car-3"]["planned_s"] <= 1.15
    assert units["car-3"]["missed"] == []
    assert units["car-4"]["missed"] == [s["stop_id"] for s in visits[len(visits) // 2 :]]
    assert units["car-1"]["delivered_s"] == 0
    csv = client.get("/plans/shift1/dosage?format=csv", headers=sup)
    assert csv.text.startswith("unit_id,grid_id,hour,planned_s,delivered_s")
    assert (
        "Delivered against planned"
        in client.get("/plans/shift1/dosage?format=html", headers=sup).text
    )
    assert "<html" in client.get("/plans/shift1/dosage/map", headers=sup).text.lower()
    metrics = client.get("/metrics/dosage?plan_id=shift1", headers=sup).json()
    assert {m["unit_id"] for m in metrics} == set(routes)
    other = token_headers("supervisor", district="D2")
    assert client.get("/plans/shift1/dosage", headers=other).status_code == 404
    assert client.get("/metrics/dosage?plan_id=shift1", headers=other).status_code == 404
    assert client.get("/plans/shift1/dosage", headers=token_headers("volunteer")).status_code == 403
