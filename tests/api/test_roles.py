"""Roles: every route of the app, called with every role, answers 2xx or 401/403/404 as designed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.api.conftest import incident, small_grids, stored_plan, token_headers

UNITS = {
    "timezone": "Asia/Shanghai",
    "shift": {"start": "2026-11-02T18:00", "end": "2026-11-03T02:00"},
    "units": [{"unit_id": "car-1", "kind": "police_car", "depot": [113.301, 23.101]}],
}
ROLES = ("anonymous", "admin", "dispatcher", "supervisor", "volunteer", "department", "open311")
#: The narrow roles (a department's queue, an Open311 key) get 403 wherever not named.
NARROW = {"department": 403, "open311": 403}
ALL = {
    "admin": 200,
    "dispatcher": 200,
    "supervisor": 200,
    "volunteer": 200,
    "anonymous": 401,
    **NARROW,
}
PUBLIC = dict.fromkeys(ROLES, 200)
STAFF = {
    "admin": 200,
    "dispatcher": 200,
    "supervisor": 200,
    "volunteer": 403,
    "anonymous": 401,
    **NARROW,
}
WRITERS = {
    "admin": 200,
    "dispatcher": 200,
    "supervisor": 403,
    "volunteer": 403,
    "anonymous": 401,
    **NARROW,
}
ADMIN_ONLY = {
    "admin": 200,
    "dispatcher": 403,
    "supervisor": 403,
    "volunteer": 403,
    "anonymous": 401,
    **NARROW,
}
#: Staff routes a department may read for the incidents dispatched to it (r1 is not: 404).
STAFF_AND_DEPARTMENT = {**STAFF, "department": 404}
SCOPES = {"department": {"department": "urban_management"}}
NOWHERE = dict.fromkeys(ROLES, 404)
OPEN311_POST = {**dict.fromkeys(ROLES, 403), "open311": 200}


def _staff_in_district(outside: bool, base: dict[str, int] = STAFF) -> dict[str, int]:
    """Staff route on an object in district D2: a D1 supervisor gets 404, as if absent."""
    return {**base, "supervisor": 404} if outside else base


def _grids_body() -> bytes:
    return small_grids().to_json().encode()


def cases() -> list[tuple[str, str, str, Any, dict[str, int]]]:
    """(method, route template, concrete path, json body, expected status per role)."""
    grid_feature = "/collections/{collectionId}/items/{featureId}"
    return [
        ("GET", "/", "/", None, PUBLIC),
        ("GET", "/conformance", "/conformance", None, PUBLIC),
        ("GET", "/healthz", "/healthz", None, PUBLIC),
        ("GET", "/openapi.json", "/openapi.json", None, PUBLIC),
        ("GET", "/docs", "/docs", None, PUBLIC),
        ("GET", "/docs/oauth2-redirect", "/docs/oauth2-redirect", None, PUBLIC),
        ("GET", "/redoc", "/redoc", None, PUBLIC),
        ("GET", "/docs-assets", "/docs-assets/swagger-ui.css", None, PUBLIC),
        ("GET", "/collections", "/collections", None, ALL),
        ("GET", "/collections/{collectionId}", "/collections/grids", None, ALL),
        ("GET", "/collections/{collectionId}", "/collections/incidents", None, STAFF),
        ("GET", "/collections/{collectionId}/items", "/collections/grids/items", None, ALL),
        ("GET", "/collections/{collectionId}/items", "/collections/incidents/items", None, STAFF),
        ("GET", grid_feature, "/collections/grids/items/g11", None, ALL),
        (
            "GET",
            grid_feature,
            "/collections/grids/items/g31",
            None,
            {**ALL, "supervisor": 404, "volunteer": 404},
        ),
        ("GET", grid_feature, "/collections/incidents/items/r1", None, STAFF),
        ("GET", grid_feature, "/collections/incidents/items/r2", None, _staff_in_district(True)),
        ("POST", "/incidents", "/incidents", {"incidents": [incident("new")]}, WRITERS),
        ("GET", "/incidents/overdue", "/incidents/overdue", None, {**STAFF, "department": 200}),
        ("GET", "/incidents/{incident_id}", "/incidents/r1", None, STAFF_AND_DEPARTMENT),
        ("GET", "/incidents/{incident_id}", "/incidents/r3", None, {**STAFF, "department": 200}),
        (
            "GET",
            "/incidents/{incident_id}",
            "/incidents/r2",
            None,
            _staff_in_district(True, STAFF_AND_DEPARTMENT),
        ),
        (
            "GET",
            "/incidents/{incident_id}/transitions",
            "/incidents/r1/transitions",
            None,
            STAFF_AND_DEPARTMENT,
        ),
        (
            "GET",
            "/incidents/{incident_id}/transitions",
            "/incidents/r2/transitions",
            None,
            _staff_in_district(True, STAFF_AND_DEPARTMENT),
        ),
        (
            "POST",
            "/incidents/{incident_id}/transitions",
            "/incidents/{fresh}/transitions",
            {"to": "verified"},
            WRITERS,
        ),
        (
            "GET",
            "/incidents/{incident_id}/departments",
            "/incidents/r3/departments",
            None,
            {**STAFF, "department": 200},
        ),
        (
            "GET",
            "/incidents/{incident_id}/departments",
            "/incidents/r1/departments",
            None,
            STAFF_AND_DEPARTMENT,
        ),
        ("GET", "/incidents/{incident_id}/ratings", "/incidents/r1/ratings", None, STAFF),
        (
            "GET",
            "/incidents/{incident_id}/reporter",
            "/incidents/{resident}/reporter",
            None,
            {**WRITERS, "supervisor": 403},
        ),
        ("GET", "/departments", "/departments", None, {**STAFF, "department": 200}),
        (
            "GET",
            "/queue",
            "/queue",
            None,
            {**WRITERS, "department": 200},
        ),
        ("GET", "/metrics/departments", "/metrics/departments", None, STAFF),
        (
            "GET",
            "/departments/{code}/map",
            "/departments/urban_management/map",
            None,
            {**STAFF, "department": 200},
        ),
        (
            "GET",
            "/departments/{code}/report",
            "/departments/urban_management/report",
            None,
            {**STAFF, "department": 200},
        ),
        (
            "GET",
            "/departments/{code}/report",
            "/departments/sanitation/report?lang=zh",
            None,
            {**STAFF, "department": 404},
        ),
        ("GET", "/open311/discovery.{fmt}", "/open311/discovery.xml", None, PUBLIC),
        ("GET", "/open311/v2/services.{fmt}", "/open311/v2/services.json", None, PUBLIC),
        (
            "GET",
            "/open311/v2/services/{service_code}.{fmt}",
            "/open311/v2/services/noise.xml",
            None,
            PUBLIC,
        ),
        ("GET", "/open311/v2/requests.{fmt}", "/open311/v2/requests.json", None, PUBLIC),
        (
            "GET",
            "/open311/v2/requests/{request_id}.{fmt}",
            "/open311/v2/requests/{resident}.json",
            None,
            PUBLIC,
        ),
        (
            "POST",
            "/open311/v2/requests.{fmt}",
            "/open311/v2/requests.json",
            "open311",
            OPEN311_POST,
        ),
        *[
            (method, "/open311/{rest:path}", "/open311/v3/requests.json", None, NOWHERE)
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        ],
        ("POST", "/grids", "/grids", "grids", ADMIN_ONLY),
        # An empty manifest: the role check answers first; the admin's body is then refused
        # (a valid one would replace the grids the other cases read).
        ("POST", "/grids/build", "/grids/build", {"levels": []}, {**ADMIN_ONLY, "admin": 422}),
        ("GET", "/metrics", "/metrics", None, STAFF),
        ("GET", "/hotspots", "/hotspots", None, STAFF),
        (
            "POST",
            "/plans",
            "/plans",
            {"units": UNITS},
            {
                "admin": 202,
                "supervisor": 202,
                "dispatcher": 403,
                "volunteer": 403,
                "anonymous": 401,
                **NARROW,
            },
        ),
        ("GET", "/plans/{plan_id}", "/plans/stored-D1", None, ALL),
        (
            "GET",
            "/plans/{plan_id}",
            "/plans/stored-all",
            None,
            {**ALL, "supervisor": 404, "volunteer": 200},
        ),
        (
            "GET",
            "/plans/{plan_id}",
            "/plans/nope",
            None,
            {**ALL, **dict.fromkeys(ROLES[1:5], 404)},
        ),
        ("GET", "/plans/{plan_id}/map", "/plans/stored-D1/map", None, ALL),
        ("GET", "/plans/{plan_id}/export", "/plans/stored-D1/export?unit=vol-1", None, ALL),
        (
            "GET",
            "/plans/{plan_id}/export",
            "/plans/stored-D1/export?unit=car-1&format=kml",
            None,
            {**ALL, "volunteer": 404},
        ),
        *shift_cases(),
    ]


def shift_cases() -> list[tuple[str, str, str, Any, dict[str, int]]]:
    """Routes of the shift in motion (re-plans, routes by version, check-ins, positions)."""
    no_shift = {**STAFF, "admin": 409, "dispatcher": 409, "supervisor": 409}
    events = {"events": [{"type": "unit_unavailable", "unit_id": "car-1", "at": "20:00"}]}
    checkin = {"checkpoint": "bank", "unit_id": "car-1", "at": "2026-11-02T21:00:00+08:00"}
    unknown = {**STAFF, "admin": 422, "dispatcher": 422, "supervisor": 422}
    route = "/plans/{plan_id}/routes/{unit_id}"
    pings = {"positions": [{"lon": 113.305, "lat": 23.105, "at": "2026-11-02T19:00:00+08:00"}]}
    return [
        ("POST", "/plans/{plan_id}/events", "/plans/stored-D1/events", events, no_shift),
        ("GET", route, "/plans/stored-D1/routes/vol-1", None, ALL),
        ("GET", route, "/plans/stored-D1/routes/car-1", None, {**ALL, "volunteer": 404}),
        ("POST", "/plans/{plan_id}/checkins", "/plans/stored-D1/checkins", checkin, unknown),
        ("POST", "/units/{unit_id}/positions", "/units/car-1/positions", pings, WRITERS),
        ("GET", "/plans/{plan_id}/dosage", "/plans/stored-D1/dosage", None, STAFF),
        (
            "GET",
            "/plans/{plan_id}/dosage",
            "/plans/stored-all/dosage",
            None,
            _staff_in_district(True),
        ),
        ("GET", "/plans/{plan_id}/dosage/map", "/plans/stored-D1/dosage/map", None, STAFF),
        ("GET", "/metrics/dosage", "/metrics/dosage?plan_id=stored-D1", None, STAFF),
    ]


def _flat(routes: list[Any]) -> list[Any]:
    """Routes with included routers opened up (the routers of api.routes have no prefix)."""
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out.extend(_flat(inner.routes) if inner is not None else [route])
    return out


def _routes(app: Any) -> set[tuple[str, str]]:
    out = set()
    for route in _flat(app.routes):
        methods = getattr(route, "methods", None) or {"GET"}
        for method in methods - {"HEAD"}:
            out.add((method, route.path))
    return out


@pytest.mark.usefixtures("grids_stored")
def test_every_route_with_every_role(app: Any, client: TestClient) -> None:
    """Each (route, role) pair answers exactly the designed status; no route is left out."""
    rows = [incident("r1", "g11"), incident("r2", "g31")]
    rows += [incident("r3", "g11")]
    rows += [incident(f"t-{role}", "g12") for role in ROLES]
    admin = token_headers("admin")
    assert client.post("/incidents", json={"incidents": rows}, headers=admin).json()[
        "accepted"
    ] == len(rows)
    for body in ({"to": "verified"}, {"to": "accepted"}):
        client.post("/incidents/r3/transitions", json=body, headers=admin)
    dispatch = {"to": "dispatched", "departments": ["urban_management", "sanitation"]}
    assert client.post("/incidents/r3/transitions", json=dispatch, headers=admin).is_success
    lon, lat = 113.305, 23.105
    resident = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": token_headers("open311")["Authorization"].split()[1],
            "service_code": "theft",
            "lat": str(lat),
            "long": str(lon),
        },
    ).json()[0]["service_request_id"]
    app.state.settings.network_path = Path("missing.osm")  # jobs are accepted, then fail
    stored_plan(app, district="D1")
    stored_plan(app, district=None)
    table = cases()
    covered = {(method, template) for method, template, *_ in table}
    missing = _routes(app) - covered
    assert not missing, f"routes without a role check: {sorted(missing)}"
    failures = []
    for method, _template, path, body, expected in table:
        for role in ROLES:
            headers = {} if role == "anonymous" else token_headers(role, **SCOPES.get(role, {}))
            concrete = path.replace("{fresh}", f"t-{role}").replace("{resident}", resident)
            if body == "open311":
                key = headers.get("Authorization", " ").split(" ")[1]
                response = client.post(
                    concrete,
                    data={"api_key": key, "service_code": "theft", "lat": lat, "long": lon},
                )
            elif body == "grids":
                response = client.request(
                    method,
                    concrete,
                    content=_grids_body(),
                    headers={**headers, "content-type": "application/geo+json"},
                )
            else:
                response = client.request(method, concrete, json=body, headers=headers)
            if response.status_code != expected[role]:
                failures.append(
                    f"{method} {concrete} as {role}: {response.status_code} != {expected[role]}"
                )
            if response.status_code >= 400 and path.startswith(
                ("/collections", "/incidents", "/grids")
            ):
                assert response.headers["content-type"].startswith("application/problem+json")
    assert not failures, "\n".join(failures)


@pytest.mark.usefixtures("grids_stored")
def test_scopes_filter_lists(client: TestClient) -> None:
    """A volunteer lists only its community's grids; a supervisor only its district's incidents."""
    rows = [incident("s1", "g11"), incident("s2", "g31")]
    client.post("/incidents", json={"incidents": rows}, headers=token_headers("admin"))
    volunteer = client.get("/collections/grids/items", headers=token_headers("volunteer")).json()
    assert {f["id"] for f in volunteer["features"]} == {"C1", "g11", "g12"}
    collections = client.get("/collections", headers=token_headers("volunteer")).json()
    assert [c["id"] for c in collections["collections"]] == ["grids"]
    supervisor = client.get(
        "/collections/incidents/items", headers=token_headers("supervisor")
    ).json()
    assert [f["id"] for f in supervisor["features"]] == ["s1"]
    other = token_headers("supervisor", district="D2")
    assert [
        f["id"]
        for f in client.get("/collections/incidents/items", headers=other).json()["features"]
    ] == ["s2"]
    metrics = client.get("/metrics?level=district", headers=token_headers("supervisor")).json()
    assert [m["grid_id"] for m in metrics] == ["D1"]


def test_forged_and_expired_tokens(client: TestClient) -> None:
    """A token signed with another secret, or expired, is a 401 that never echoes the token."""
    from api.auth import create_token

    forged = create_token("another-secret-0123456789", "admin")
    expired = create_token("test-secret-0123456789abcdef", "admin", ttl_s=60, now=0)
    for token in (forged, expired, "garbage"):
        response = client.get("/collections", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert token not in json.dumps(response.json())
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_route_table_is_all_api_routes(app: Any) -> None:
    """The role table names only routes that exist (no stale entries)."""
    existing = _routes(app)
    stale = {(m, t) for m, t, *_ in cases()} - existing
    assert not stale
    assert all(
        isinstance(r, APIRoute) for r in _flat(app.routes) if r.path.startswith("/incidents")
    )
