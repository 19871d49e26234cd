"""Departments as participants: their tokens see and move only their own incidents, hand
incidents back with a reason, co-dispatch is handled when every department has handled it;
the department list and metrics; configuration errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.auth import verify_token
from api.cli import app as cli
from api.services.grids import store_grids
from api.services.loop_config import LoopConfigError, load_departments, load_open311
from tests.api.conftest import SECRET, incident, settings_for, small_grids, token_headers

DISPATCHER = token_headers("dispatcher")


def dept(code: str) -> dict[str, str]:
    """A department token's header."""
    return token_headers("department", department=code)


@pytest.fixture
def loop(backend: tuple[str, str | None]) -> Iterator[TestClient]:
    """A client with the small grids and incidents a1 (g11), a2 (g12) accepted."""
    url, schema = backend
    app = create_app(settings_for(url, sla_interval_s=0), schema=schema)
    with TestClient(app) as client:
        with app.state.database.session() as session:
            store_grids(session, small_grids())
        app.state.grid_cache.invalidate()
        rows = [incident("a1", "g11"), incident("a2", "g12")]
        client.post("/incidents", json={"incidents": rows}, headers=DISPATCHER)
        for incident_id in ("a1", "a2"):
            for body in ({"to": "verified"}, {"to": "accepted"}):
                client.post(f"/incidents/{incident_id}/transitions", json=body, headers=DISPATCHER)
        yield client


def move(
    client: TestClient, incident_id: str, body: dict[str, Any], headers: dict[str, str]
) -> Any:
    """POST a transition."""
    return client.post(f"/incidents/{incident_id}/transitions", json=body, headers=headers)


def test_co_dispatch_is_handled_when_every_department_has(loop: TestClient) -> None:
    """Co-dispatched to two departments, each sees it (a third gets 404) and marks its part
    handled; the incident stays dispatched until the last one, and the audit trail says so."""
    body = {"to": "dispatched", "departments": ["urban_management", "sanitation"], "note": "joint"}
    answer = move(loop, "a1", body, DISPATCHER)
    assert answer.status_code == 200, answer.text
    assert answer.json()["department"] == "urban_management"
    for code in ("urban_management", "sanitation"):
        assert loop.get("/incidents/a1", headers=dept(code)).status_code == 200
        assert [q["incident_id"] for q in loop.get("/queue", headers=dept(code)).json()] == ["a1"]
    assert loop.get("/incidents/a1", headers=dept("health")).status_code == 404
    assert loop.get("/incidents/a2", headers=dept("sanitation")).status_code == 404
    assert move(loop, "a2", {"to": "handled"}, dept("sanitation")).status_code == 404
    assert loop.get("/queue", headers=dept("health")).json() == []
    first = move(loop, "a1", {"to": "handled", "note": "stall removed"}, dept("urban_management"))
    assert first.status_code == 200, first.text
    assert first.json()["state"] == "dispatched"
    again = move(loop, "a1", {"to": "handled"}, dept("urban_management"))
    assert again.status_code == 409
    assert loop.get("/queue", headers=dept("urban_management")).json() == []
    last = move(loop, "a1", {"to": "handled"}, dept("sanitation"))
    assert last.json()["state"] == "handled"
    assignments = loop.get("/incidents/a1/departments", headers=DISPATCHER).json()
    assert [(a["department"], a["status"]) for a in assignments] == [
        ("urban_management", "handled"),
        ("sanitation", "handled"),
    ]
    trail = loop.get("/incidents/a1/transitions", headers=DISPATCHER).json()
    assert trail[-3]["details"] == {"departments": ["urban_management", "sanitation"]}
    assert trail[-2]["actor"] == "department:test-department"
    assert trail[-2]["details"]["waiting_for"] == ["sanitation"]
    assert (trail[-1]["from"], trail[-1]["to"]) == ("dispatched", "handled")
    assert trail[-1]["details"] == {"department": "sanitation", "department_handled": True}


def test_hand_back_returns_to_the_dispatcher_with_the_reason(loop: TestClient) -> None:
    """A department hands an incident back with a note: it goes to the dispatcher's queue as
    returned with the reason, the department no longer sees it, and a re-dispatch moves it on."""
    move(loop, "a2", {"to": "dispatched", "department": "justice"}, DISPATCHER)
    missing = move(loop, "a2", {"to": "returned"}, dept("justice"))
    assert missing.status_code == 422
    assert missing.json()["field"] == "note"
    assert move(loop, "a2", {"to": "closed"}, dept("justice")).status_code == 403
    extra = move(loop, "a2", {"to": "handled", "unit_id": "car-1"}, dept("justice"))
    assert extra.status_code == 422
    back = move(loop, "a2", {"to": "returned", "note": "not a dispute: a leak"}, dept("justice"))
    assert back.status_code == 200, back.text
    assert back.json()["state"] == "returned"
    assert loop.get("/incidents/a2", headers=dept("justice")).status_code == 404
    queue = {q["incident_id"]: q for q in loop.get("/queue", headers=DISPATCHER).json()}
    returned = queue["a2"]
    assert returned["state"] == "returned"
    assert returned["suggested_departments"] == []  # theft: no department lists it
    assert returned["departments"][0]["status"] == "returned"
    assert returned["departments"][0]["note"] == "not a dispute: a leak"
    trail = loop.get("/incidents/a2/transitions", headers=DISPATCHER).json()
    assert (trail[-1]["from"], trail[-1]["to"]) == ("dispatched", "returned")
    assert trail[-1]["note"] == "not a dispute: a leak"
    assert trail[-1]["details"] == {"department": "justice", "handed_back": True}
    assert move(loop, "a2", {"to": "handled"}, DISPATCHER).status_code == 409
    again = move(loop, "a2", {"to": "dispatched", "department": "urban_management"}, DISPATCHER)
    assert again.json()["state"] == "dispatched"
    assert loop.get("/incidents/a2", headers=dept("urban_management")).status_code == 200
    assert loop.get("/incidents/a2", headers=dept("justice")).status_code == 404


def test_dispatcher_pulls_an_incident_back(loop: TestClient) -> None:
    """A dispatcher's own dispatched -> returned (with a note) ends every open assignment: the
    department no longer sees the incident."""
    move(loop, "a1", {"to": "dispatched", "departments": ["health", "justice"]}, DISPATCHER)
    assert move(loop, "a1", {"to": "returned"}, DISPATCHER).status_code == 422
    back = move(loop, "a1", {"to": "returned", "note": "caller withdrew"}, DISPATCHER)
    assert back.json()["state"] == "returned"
    assert loop.get("/incidents/a1", headers=dept("health")).status_code == 404
    statuses = loop.get("/incidents/a1/departments", headers=DISPATCHER).json()
    assert [(a["department"], a["status"]) for a in statuses] == [
        ("health", "returned"),
        ("justice", "returned"),
    ]


def test_department_sees_nothing_else(loop: TestClient) -> None:
    """A department token gets 403 on the general routes (collections, plans, metrics,
    hotspots, ingest) and cannot read residents' details or ratings."""
    headers = dept("urban_management")
    for path in ("/collections", "/collections/incidents/items", "/metrics", "/hotspots"):
        assert loop.get(path, headers=headers).status_code == 403, path
    assert loop.post("/incidents", json=incident("x"), headers=headers).status_code == 403
    assert loop.get("/incidents/a1/ratings", headers=headers).status_code == 403
    assert loop.get("/incidents/a1/reporter", headers=headers).status_code == 403


def test_dispatch_checks_department_codes(loop: TestClient) -> None:
    """An unknown department (in department or departments) is a 422 naming the field; the
    department list answers names in zh and en."""
    bad = move(
        loop, "a1", {"to": "dispatched", "departments": ["sanitation", "police"]}, DISPATCHER
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "departments"
    assert "police" in bad.json()["detail"]
    listed = {d["code"]: d for d in loop.get("/departments", headers=DISPATCHER).json()}
    assert listed["justice"]["name_zh"] == "司法"
    assert listed["emergency"]["stage_limits_s"] == {"dispatched": 1800}
    wrong = move(loop, "a1", {"to": "verified", "departments": ["health"]}, DISPATCHER)
    assert wrong.status_code == 409  # accepted -> verified is illegal whatever the details


def test_metrics_by_department(loop: TestClient) -> None:
    """Per department: assigned, open, handled, returned and mean handling time."""
    move(loop, "a1", {"to": "dispatched", "departments": ["health", "justice"]}, DISPATCHER)
    move(loop, "a2", {"to": "dispatched", "department": "justice"}, DISPATCHER)
    move(loop, "a1", {"to": "handled"}, dept("health"))
    move(loop, "a2", {"to": "returned", "note": "wrong team"}, dept("justice"))
    rows = {r["department"]: r for r in loop.get("/metrics/departments", headers=DISPATCHER).json()}
    assert (rows["health"]["assigned"], rows["health"]["handled"], rows["health"]["open"]) == (
        1,
        1,
        0,
    )
    assert rows["health"]["handling_s"] >= 0
    assert (rows["justice"]["assigned"], rows["justice"]["open"], rows["justice"]["returned"]) == (
        2,
        1,
        1,
    )
    assert rows["sanitation"]["assigned"] == 0
    by_grid = loop.get("/metrics/departments?level=grid", headers=DISPATCHER).json()
    assert [(r["department"], r["grid_id"], r["assigned"]) for r in by_grid] == [
        ("justice", "g11", 1),
        ("justice", "g12", 1),
        ("health", "g11", 1),
    ]
    by_district = loop.get("/metrics/departments?level=district", headers=DISPATCHER).json()
    assert {(r["department"], r["grid_id"], r["open"]) for r in by_district} == {
        ("justice", "D1", 1),
        ("health", "D1", 0),
    }
    assert loop.get("/metrics/departments?level=planet", headers=DISPATCHER).status_code == 422
    supervisor_d2 = token_headers("supervisor", district="D2")
    other = loop.get("/metrics/departments", headers=supervisor_d2).json()
    assert all(r["assigned"] == 0 for r in other)


def test_token_command_for_departments_and_open311(monkeypatch: pytest.MonkeyPatch) -> None:
    """`token create --role department --department CODE` and `--role open311` print tokens
    with their claims; an unknown or missing department is a one-line error, exit 2."""
    monkeypatch.setenv("PATROLGRID_SECRET", SECRET)
    runner = CliRunner()
    made = runner.invoke(
        cli, ["token", "create", "--role", "department", "--department", "justice"]
    )
    assert made.exit_code == 0, made.output
    principal = verify_token(SECRET, made.stdout.strip())
    assert (principal.role, principal.department) == ("department", "justice")
    key = runner.invoke(cli, ["token", "create", "--role", "open311", "--subject", "city-app"])
    assert verify_token(SECRET, key.stdout.strip()).role == "open311"
    unknown = runner.invoke(
        cli, ["token", "create", "--role", "department", "--department", "police"]
    )
    assert unknown.exit_code == 2
    assert "--department" in unknown.output
    missing = runner.invoke(cli, ["token", "create", "--role", "department"])
    assert missing.exit_code == 2
    assert "--department" in missing.output


def test_config_errors_name_file_entry_and_field(tmp_path: Path) -> None:
    """A bad department or service file is refused naming the entry and field; the server
    refuses to start with it."""
    bad = tmp_path / "departments.yaml"
    bad.write_text("departments:\n  - code: parks\n    name_zh: 公园\n", encoding="utf-8")
    with pytest.raises(LoopConfigError, match=r"departments\[0\]\.name_en: missing"):
        load_departments(bad)
    bad.write_text(
        "departments:\n  - {code: parks, name_zh: 公园, name_en: Parks, stage_limits_s: {lunch: 5}}\n",
        encoding="utf-8",
    )
    with pytest.raises(LoopConfigError, match=r"stage_limits_s\.lunch: unknown stage"):
        load_departments(bad)
    services = tmp_path / "open311.yaml"
    services.write_text(
        "services:\n  - {service_code: x, service_name: X, category: c, type: sometimes}\n",
        encoding="utf-8",
    )
    with pytest.raises(LoopConfigError, match=r"services\[0\]\.type: 'sometimes'"):
        load_open311(services)
    services.write_text(
        "services:\n  - {service_code: x, service_name: X, category: c, department: parks}\n",
        encoding="utf-8",
    )
    with pytest.raises(LoopConfigError, match="not in the department list"):
        load_open311(services, departments=load_departments())
    with pytest.raises(LoopConfigError, match="cannot read"):
        load_departments(tmp_path / "missing.yaml")
    settings = settings_for(f"sqlite:///{tmp_path / 'x.db'}", departments_path=bad)
    with pytest.raises(LoopConfigError):
        create_app(settings)


def test_department_map_shows_its_open_work(loop: TestClient) -> None:
    """A department's map carries its open incidents (not another department's); a department
    token may open only its own map; unknown codes are 404."""
    move(loop, "a1", {"to": "dispatched", "department": "health"}, DISPATCHER)
    move(loop, "a2", {"to": "dispatched", "department": "justice"}, DISPATCHER)
    page = loop.get("/departments/health/map", headers=dept("health"))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert re.search(r"a1 (·|\\u00b7) theft", page.text)
    assert not re.search(r"a2 (·|\\u00b7) theft", page.text)
    justice = loop.get("/departments/justice/map", headers=DISPATCHER).text
    assert re.search(r"a2 (·|\\u00b7) theft", justice)
    assert loop.get("/departments/justice/map", headers=dept("health")).status_code == 404
    assert loop.get("/departments/parks/map", headers=DISPATCHER).status_code == 404
    assert (
        loop.get("/departments/health/map", headers=token_headers("volunteer")).status_code == 403
    )


def test_co_dispatched_departments_handling_at_once(backend: tuple[str, str | None]) -> None:
    """Two departments marking one co-dispatched incident handled at the same moment: with
    retries on 409 both succeed, the incident ends handled, with one entry each in the trail."""
    from concurrent.futures import ThreadPoolExecutor

    from api.auth import Principal
    from api.problems import ProblemError
    from api.services.departments import department_transition
    from api.workflow import TransitionRequest

    url, schema = backend
    app = create_app(settings_for(url, sla_interval_s=0), schema=schema)
    with TestClient(app) as client:
        client.post("/incidents", json=incident("cc"), headers=DISPATCHER)
        for body in (
            {"to": "verified"},
            {"to": "accepted"},
            {"to": "dispatched", "departments": ["health", "justice", "sanitation"]},
        ):
            move(client, "cc", body, DISPATCHER)

        def handle(code: str) -> int:
            principal = Principal(role="department", subject=code, department=code)
            for attempt in range(20):
                try:
                    department_transition(
                        app.state.database,
                        "cc",
                        TransitionRequest("handled"),
                        principal,
                        app.state.stage_limits,
                    )
                    return attempt
                except ProblemError as exc:
                    if exc.status != 409:
                        raise
            raise AssertionError(code)

        with ThreadPoolExecutor(3) as pool:
            list(pool.map(handle, ["health", "justice", "sanitation"]))
        assert client.get("/incidents/cc", headers=DISPATCHER).json()["state"] == "handled"
        trail = client.get("/incidents/cc/transitions", headers=DISPATCHER).json()
        handled = [t for t in trail if t["details"].get("department_handled")]
        assert sorted(t["details"]["department"] for t in handled) == [
            "health",
            "justice",
            "sanitation",
        ]
        assert [t["to"] for t in handled].count("handled") == 1
