"""What each role sees, diffed against what it may see, on every body built for a role.

For each role, every readable endpoint is called and every grid id and incident id found
anywhere in the answer (keys, values, nested figures) is collected; the test fails on any id
outside the role's scope, and on any plan figure a volunteer may not see (police presence,
risk totals, readiness, unassigned grids), whose totals must be those of its own routes.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import incident, small_grids, stored_plan, token_headers

GRIDS = set(small_grids()["grid_id"])
D1 = {"D1", "S1", "C1", "C2", "g11", "g12", "g21"}
C1 = {"C1", "g11", "g12"}
INCIDENTS = {"i11": "g11", "i12": "g12", "i21": "g21", "i31": "g31"}
#: Grid ids and incident ids each role may see (None: everything).
MAY_SEE: dict[str, tuple[set[str] | None, set[str] | None]] = {
    "admin": (None, None),
    "dispatcher": (None, None),
    "supervisor": (D1, {"i11", "i12", "i21"}),
    "volunteer": (C1 | {"S1", "D1"}, set()),
}
#: Summary members a volunteer's plan may carry.
VOLUNTEER_SUMMARY = {
    "shift_start",
    "shift_end",
    "timezone",
    "units",
    "routes",
    "visits",
    "distance_m",
    "duration_s",
}
FORBIDDEN_FOR_VOLUNTEER = ("risk", "readiness", "presence", "incidents", "description")


def _strings(value: Any) -> set[str]:
    """Every string in a JSON document, keys included."""
    if isinstance(value, dict):
        out = set(value)
        for item in value.values():
            out |= _strings(item)
        return out
    if isinstance(value, list):
        out = set()
        for item in value:
            out |= _strings(item)
        return out
    return {value} if isinstance(value, str) else set()


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


def _paths(role: str, plans: list[str]) -> list[str]:
    common = [
        "/collections",
        "/collections/grids",
        "/collections/grids/items",
        "/collections/grids/items?level=grid",
        *(f"/collections/grids/items/{g}" for g in sorted(GRIDS)),
        *(f"/plans/{p}" for p in plans),
        *(f"/plans/{p}/export?unit=vol-1&format=geojson" for p in plans),
        *(f"/plans/{p}/export?unit=car-1&format=geojson" for p in plans),
    ]
    if role == "volunteer":
        return common
    return [
        *common,
        "/collections/incidents",
        "/collections/incidents/items",
        *(f"/collections/incidents/items/{i}" for i in INCIDENTS),
        *(f"/incidents/{i}" for i in INCIDENTS),
        *(f"/incidents/{i}/transitions" for i in INCIDENTS),
        "/incidents/overdue",
        *(f"/metrics?level={level}" for level in ("grid", "community", "street", "district")),
        *(f"/hotspots?level={level}" for level in ("grid", "community", "street", "district")),
    ]


@pytest.mark.usefixtures("grids_stored")
@pytest.mark.parametrize("role", sorted(MAY_SEE))
def test_each_role_sees_only_what_it_may(app: Any, client: TestClient, role: str) -> None:
    """No answer to a role names a grid or an incident outside its scope."""
    rows = [incident(i, cell) for i, cell in INCIDENTS.items()]
    client.post("/incidents", json={"incidents": rows}, headers=token_headers("admin"))
    app.state.settings.stage_limits_s = {"reported": 1}
    plans = [stored_plan(app, district="D1"), stored_plan(app, district=None)]
    grids_allowed, incidents_allowed = MAY_SEE[role]
    leaks = []
    headers = token_headers(role)
    for path in _paths(role, plans):
        response = client.get(path, headers=headers)
        assert response.status_code < 500, (path, response.text)
        if response.status_code != 200:
            continue
        body = response.json()
        found = _strings(body)
        if role == "supervisor" and path.startswith("/plans/"):
            # a plan of its district is the supervisor's whole (the fixture's car visits g31)
            found -= {"g31"}
        if grids_allowed is not None:
            leaks += [f"{path}: grid {g}" for g in sorted((found & GRIDS) - grids_allowed)]
        if incidents_allowed is not None:
            seen = found & set(INCIDENTS)
            leaks += [f"{path}: incident {i}" for i in sorted(seen - incidents_allowed)]
        if role == "volunteer" and path.startswith("/plans/") and "/export" not in path:
            plan = body["result"]
            assert set(plan["summary"]) <= VOLUNTEER_SUMMARY, plan["summary"]
            keys = " ".join(_keys(plan)).lower()
            leaks += [f"{path}: member {k}" for k in FORBIDDEN_FOR_VOLUNTEER if k in keys]
            visits = sum(1 for r in plan["routes"] for s in r["steps"] if s["type"] == "visit")
            assert plan["summary"]["visits"] == visits
            assert plan["summary"]["routes"] == len(plan["routes"])
            assert plan["summary"]["distance_m"] == sum(r["distance_m"] for r in plan["routes"])
    assert not leaks, "\n".join(leaks)


@pytest.mark.usefixtures("grids_stored")
def test_volunteer_map_names_only_its_community(app: Any, client: TestClient) -> None:
    """The volunteer's plan map quotes no grid outside its community."""
    plan_id = stored_plan(app, district="D1")
    html = client.get(f"/plans/{plan_id}/map", headers=token_headers("volunteer")).text
    quoted = set(re.findall(r'["\'>]([A-Za-z]\d{1,2})["\'<]', html))
    assert not (quoted & GRIDS) - (C1 | {"S1", "D1"})


@pytest.mark.usefixtures("grids_stored")
@pytest.mark.parametrize("role", sorted(MAY_SEE))
def test_collection_extents_are_real_and_scoped(client: TestClient, role: str) -> None:
    """Each collection's extent is the bbox (and time span) of the data the role may read."""
    rows = [incident(i, cell) for i, cell in INCIDENTS.items()]
    client.post("/incidents", json={"incidents": rows}, headers=token_headers("admin"))
    headers = token_headers(role)
    for info in client.get("/collections", headers=headers).json()["collections"]:
        items = client.get(f"/collections/{info['id']}/items?limit=100000", headers=headers).json()
        coords = []
        for feature in items["features"]:
            geometry = feature["geometry"]
            if geometry["type"] == "Point":
                coords.append(geometry["coordinates"])
            else:
                coords += [point for ring in geometry["coordinates"] for point in ring]
        xs, ys = [c[0] for c in coords], [c[1] for c in coords]
        bbox = info["extent"]["spatial"]["bbox"][0]
        assert bbox == pytest.approx([min(xs), min(ys), max(xs), max(ys)]), info["id"]
        if info["id"] == "incidents":
            times = sorted(f["properties"]["occurred_at"] for f in items["features"])
            start, end = info["extent"]["temporal"]["interval"][0]
            assert start.replace("Z", "+00:00") == times[0]
            assert end.replace("Z", "+00:00") == times[-1]
