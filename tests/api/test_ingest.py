"""Incident ingestion: shapes, per-row rejects, idempotency, grid join, atomic flag."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.db.models import Incident, Transition
from tests.api.conftest import incident, token_headers

DISPATCHER = token_headers("dispatcher")


def _count(app: Any, model: Any) -> int:
    with app.state.database.sessions() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)))


@pytest.mark.usefixtures("grids_stored")
def test_batch_is_joined_and_idempotent(app: Any, client: TestClient) -> None:
    """A batch is stored once, joined to its leaf grid and ancestors; a retry adds nothing."""
    batch = {"incidents": [incident("a1", "g11"), incident("a2", "g21"), incident("a3", "g31")]}
    first = client.post("/incidents", json=batch, headers=DISPATCHER)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "accepted": 3,
        "duplicates": 0,
        "outside": 0,
        "rejected": [],
        "updated": 0,
        "conflicts": [],
    }
    again = client.post("/incidents", json=batch, headers=DISPATCHER)
    assert again.json() == {
        "accepted": 0,
        "duplicates": 3,
        "outside": 0,
        "rejected": [],
        "updated": 0,
        "conflicts": [],
    }
    assert _count(app, Incident) == 3
    assert _count(app, Transition) == 3
    got = client.get("/incidents/a2", headers=DISPATCHER).json()
    assert (got["grid_id"], got["community_id"], got["street_id"], got["district_id"]) == (
        "g21",
        "C2",
        "S1",
        "D1",
    )
    assert got["state"] == "reported"
    assert got["severity"] in range(1, 6)
    assert got["occurred_at"].startswith("2026-11-01T00:30:00")


@pytest.mark.usefixtures("grids_stored")
def test_bad_rows_are_reported_good_rows_stored(app: Any, client: TestClient) -> None:
    """Partial acceptance (the default): each bad row is named with index, id and field."""
    rows = [
        incident("b1"),
        incident("b2", lon=200.0),
        incident("b3", occurred_at="2026-11-01T08:30:00"),
        {"incident_id": "b4", "category": "x", "lon": 113.3, "lat": 23.1},
        incident("b1"),
        incident("b6", severity=9),
        incident("b7", occurred_at="4449-09-16T03:39:21Z"),
    ]
    answer = client.post("/incidents", json={"incidents": rows}, headers=DISPATCHER).json()
    assert answer["accepted"] == 1
    assert answer["duplicates"] == 1
    rejected = {r["index"]: r for r in answer["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 5, 6]
    assert rejected[1]["incident_id"] == "b2"
    assert rejected[1]["reason"].startswith("lon")
    assert rejected[2]["reason"].startswith("occurred_at")
    assert rejected[3]["reason"].startswith("occurred_at")
    assert rejected[5]["reason"].startswith("severity")
    assert rejected[6]["reason"].startswith("occurred_at")
    assert _count(app, Incident) == 1


@pytest.mark.usefixtures("grids_stored")
def test_atomic_batch_stores_nothing_on_any_reject(app: Any, client: TestClient) -> None:
    """With atomic=true one bad row makes the whole batch a 422 problem and stores nothing."""
    rows = [incident("c1"), incident("c2", lat=95)]
    response = client.post("/incidents?atomic=true", json={"incidents": rows}, headers=DISPATCHER)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == "incidents.1"
    assert _count(app, Incident) == 0


@pytest.mark.usefixtures("grids_stored")
def test_feature_collection_and_single_incident(app: Any, client: TestClient) -> None:
    """A GeoJSON FeatureCollection and a single object are both accepted; outside points kept."""
    lon, lat = 113.315, 23.105
    body = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "incident_id": "f1",
                    "occurred_at": "2026-11-02T10:00:00Z",
                    "category": "robbery",
                },
            },
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": []},
                "properties": {},
            },
        ],
    }
    answer = client.post("/incidents", json=body, headers=DISPATCHER).json()
    assert answer["accepted"] == 1
    assert answer["rejected"][0]["index"] == 1
    assert answer["rejected"][0]["reason"].startswith("geometry")
    single = incident("s1")
    single["lon"], single["lat"] = 0.0, 0.0
    answer = client.post("/incidents", json=single, headers=DISPATCHER).json()
    assert answer == {
        "accepted": 1,
        "duplicates": 0,
        "outside": 1,
        "rejected": [],
        "updated": 0,
        "conflicts": [],
    }
    assert client.get("/incidents/f1", headers=DISPATCHER).json()["grid_id"] == "g12"
    assert client.get("/incidents/s1", headers=DISPATCHER).json()["grid_id"] is None


def test_malformed_and_oversized_bodies(app: Any, client: TestClient) -> None:
    """Invalid JSON is a 400 problem naming the body; more rows than max_batch a 413."""
    response = client.post(
        "/incidents",
        content=b"{not json",
        headers={**DISPATCHER, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["field"] == "body"
    app.state.settings.max_batch = 2
    rows = [incident(f"m{i}") for i in range(3)]
    response = client.post("/incidents", json={"incidents": rows}, headers=DISPATCHER)
    assert response.status_code == 413
    assert response.json()["field"] == "incidents"


def test_body_size_limit(tmp_path: Any) -> None:
    """A body over PATROLGRID_MAX_BODY_BYTES is refused with a 413 problem, declared or streamed."""
    from api.app import create_app
    from tests.api.conftest import settings_for

    app = create_app(settings_for(f"sqlite:///{tmp_path / 'db.sqlite'}", max_body_bytes=2048))
    rows = [incident(f"big{i}") for i in range(40)]
    with TestClient(app) as client:
        response = client.post("/incidents", json={"incidents": rows}, headers=DISPATCHER)
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")

        def chunks() -> Any:
            for _ in range(10):
                yield b" " * 1024

        streamed = client.post(
            "/incidents",
            content=chunks(),
            headers={**DISPATCHER, "content-type": "application/json"},
        )
        assert streamed.status_code == 413
        assert (
            client.post("/incidents", json=incident("small"), headers=DISPATCHER).status_code == 200
        )


@pytest.mark.usefixtures("grids_stored")
def test_sender_keys_and_local_times(client: TestClient) -> None:
    """A dispatch system's own keys (Chinese here) and offset-less local times are accepted with
    columns= and timezone=; a mapping written the wrong way round or an unknown zone is a 422
    problem naming the parameter."""
    row = {"警情编号": "cn-1", "报警时间": "2026-11-01 08:30:00", "警情类别": "纠纷",
           "lon": 113.305, "lat": 23.105}  # fmt: skip
    columns = "incident_id=警情编号,occurred_at=报警时间,category=警情类别"
    answer = client.post(
        "/incidents",
        params={"columns": columns, "timezone": "Asia/Shanghai"},
        json=row,
        headers=DISPATCHER,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    got = client.get("/incidents/cn-1", headers=DISPATCHER).json()
    assert got["grid_id"] == "g11"
    assert got["occurred_at"].startswith("2026-11-01T00:30:00")  # 08:30 in Shanghai, in UTC
    wrong = client.post(
        "/incidents", params={"columns": "警情编号=incident_id"}, json=row, headers=DISPATCHER
    )
    assert wrong.status_code == 422
    assert "wrong way round" in wrong.json()["detail"]
    zone = client.post("/incidents", params={"timezone": "Mars/Base"}, json=row, headers=DISPATCHER)
    assert zone.status_code == 422
    assert "timezone" in zone.json()["detail"]
