"""The dispatch API under hostile and careless clients (issue 17), on SQLite and PostGIS.

Each listed failure has its own test; a property-based walk (shared generators in
``tests/api/badvalues.py``) sends bad values of every field type through every endpoint and
asserts that no answer is a 5xx and no good row of a batch is lost.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.db.models import Incident, Transition
from tests.api import badvalues as bad
from tests.api.conftest import CELL_POINT, incident, small_grids, stored_plan, token_headers

DISPATCHER = token_headers("dispatcher")
ADMIN = token_headers("admin")
UNITS: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "shift": {"start": "2026-11-02T18:00", "end": "2026-11-03T02:00"},
    "dwell_min": 12,
    "units": [
        {
            "unit_id": "car-1",
            "kind": "police_car",
            "mode": "drive",
            "depot": [113.301, 23.101],
            "grids": ["g11"],
            "skills": ["first_aid"],
        }
    ],
}
_ids = itertools.count()


def _fresh(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def _stored_ids(app: Any) -> set[str]:
    with app.state.database.sessions() as session:
        return set(session.scalars(sa.select(Incident.incident_id)))


def _post_batch(client: TestClient, rows: list[Any], **params: str) -> Any:
    return client.post("/incidents", json={"incidents": rows}, headers=DISPATCHER, params=params)


def _raw_batch(client: TestClient, rows: list[Any]) -> Any:
    """POST rows as raw JSON text (lone surrogates survive; ``json=`` would refuse them)."""
    body = json.dumps({"incidents": rows}, ensure_ascii=True, allow_nan=False)
    headers = {**DISPATCHER, "content-type": "application/json"}
    return client.post("/incidents", content=body.encode("ascii"), headers=headers)


# --- 1. one bad row never fails its batch -------------------------------------------------


@pytest.mark.usefixtures("grids_stored")
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_at", "9999-12-31T23:59:59-14:00"),
        ("occurred_at", "0001-01-01T00:00:00+14:00"),
        ("occurred_at", 12345),
        ("occurred_at", "12345"),
        ("occurred_at", True),
        ("lat", True),
        ("lon", "113.3"),
        ("lon", 1e308),
        ("severity", 2.0),
        ("severity", False),
        ("category", "theft\x00"),
        ("description", "call \x00 back"),
        ("description", "lone \ud800 surrogate"),
        ("incident_id", "nul\x00id"),
        ("incident_id", "a/b"),
        ("incident_id", ".."),
        ("incident_id", 17.5),
        ("category", ["theft"]),
    ],
)
def test_a_bad_row_is_rejected_alone(app: Any, client: TestClient, field: str, value: Any) -> None:
    """Any bad value in any field rejects only its row (200, the good rows stored, reason named)."""
    good = incident(_fresh("good"))
    row = incident(_fresh("bad"))
    row[field] = value
    response = _raw_batch(client, [good, row])
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["accepted"] == 1
    assert [r["index"] for r in answer["rejected"]] == [1]
    assert answer["rejected"][0]["reason"].startswith(field), answer["rejected"][0]
    assert good["incident_id"] in _stored_ids(app)


@pytest.mark.usefixtures("grids_stored")
def test_an_id_with_a_slash_is_refused_with_a_reason(client: TestClient) -> None:
    """An incident id with '/' is refused at ingest, saying why (it could never be addressed)."""
    answer = _post_batch(client, [incident("x/y")]).json()
    assert answer["accepted"] == 0
    assert "'/'" in answer["rejected"][0]["reason"]


@pytest.mark.usefixtures("grids_stored")
def test_printable_ids_round_trip(client: TestClient) -> None:
    """Every printable id that is accepted can be read, moved and audited through its URL."""
    ids = ["a b", "北京-1", "a?b#c%d", "'\"<>", "+&=;", "ü%", "...", "x" * 128, "~!@$^*()[]{}|\\"]
    answer = _post_batch(client, [incident(i) for i in ids]).json()
    assert answer["accepted"] == len(ids), answer
    for incident_id in ids:
        path = f"/incidents/{quote(incident_id, safe='')}"
        got = client.get(path, headers=DISPATCHER)
        assert got.status_code == 200, (incident_id, got.text)
        assert got.json()["incident_id"] == incident_id
        moved = client.post(f"{path}/transitions", json={"to": "verified"}, headers=DISPATCHER)
        assert moved.status_code == 200, (incident_id, moved.text)
        trail = client.get(f"{path}/transitions", headers=DISPATCHER).json()
        assert [t["to"] for t in trail] == ["reported", "verified"]


@pytest.mark.parametrize(
    "path",
    [
        "/incidents/a%00b",
        "/incidents/a%00b/transitions",
        "/collections/incidents/items/a%00b",
        "/collections/grids/items/%00",
        "/collections/%00",
        "/plans/%00",
        "/plans/%00/map",
        "/incidents/%ud800",
        "/incidents/a%1Fb",
    ],
)
def test_control_characters_in_paths_are_400(client: TestClient, path: str) -> None:
    """A NUL or other control character in any path parameter is a 400 problem, never a 5xx."""
    response = client.get(path, headers=ADMIN)
    assert response.status_code in (400, 404), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if "%00" in path or "%1F" in path:
        assert response.status_code == 400


def test_control_characters_in_queries_are_400(client: TestClient) -> None:
    """A NUL in a query parameter is a 400 problem naming the query."""
    response = client.get("/plans/x/export?unit=a%00b", headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["field"] == "query"


@pytest.mark.parametrize(
    "path", ["/incidents", "/incidents/x/transitions", "/plans", "/grids?format=geojson"]
)
def test_deeply_nested_json_is_400(client: TestClient, path: str) -> None:
    """A body nested 100,000 deep is a 400 problem on every JSON endpoint."""
    body = b"[" * 100_000 + b"]" * 100_000
    headers = {**ADMIN, "content-type": "application/json"}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert "nested" in response.json()["detail"]


def test_deep_but_allowed_nesting_reaches_the_route(client: TestClient) -> None:
    """Nesting within the limit is left to the route (which rejects the row, not the request)."""
    body = {"incidents": [{"x": [[[[[[1]]]]]]}]}
    response = client.post("/incidents", json=body, headers=DISPATCHER)
    assert response.status_code == 200
    assert response.json()["rejected"][0]["index"] == 0


@pytest.mark.parametrize(
    "datetime_",
    [
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "../9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00/..",
        "2026-02-30T00:00:00Z",
    ],
)
def test_out_of_range_datetime_filter_is_400(client: TestClient, datetime_: str) -> None:
    """An overflowing or impossible ``datetime`` filter is a 400 problem naming ``datetime``."""
    response = client.get(
        "/collections/incidents/items", params={"datetime": datetime_}, headers=ADMIN
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "datetime"


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("dwell_min",), "abc"),
        (("units", 0, "count"), "many"),
        (("units", 0, "count"), 1e308),
        (("units", 0, "count"), 10**9),
        (("dwell_min",), 1e308),
        (("units", 0, "depot"), [1e308, 1]),
        (("units", 0, "depot"), [True, False]),
        (("shift", "start"), 12345),
        (("shift", "start"), "9999-12-31T23:59:59-14:00"),
        (("units",), "x"),
        (("units", 0, "breaks"), [{"earliest": "99:99", "minutes": "x"}]),
    ],
)
def test_wrong_types_in_units_are_422(
    client: TestClient, where: tuple[Any, ...], value: Any
) -> None:
    """A units document with a wrong type or an absurd size is a 422 problem, never a 5xx."""
    units = copy.deepcopy(UNITS)
    target: Any = units
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    response = client.post("/plans", json={"units": units}, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["field"].startswith(("body.units", "units")), response.json()


# --- 2. optimistic concurrency -------------------------------------------------------------


@pytest.mark.usefixtures("grids_stored")
def test_etag_and_if_match(client: TestClient) -> None:
    """Incidents carry an ETag; a transition with a stale If-Match is 412 and changes nothing."""
    client.post("/incidents", json=incident("e1"), headers=DISPATCHER)
    read = client.get("/incidents/e1", headers=DISPATCHER)
    tag = read.headers["etag"]
    assert tag == '"1"'
    feature = client.get("/collections/incidents/items/e1", headers=DISPATCHER)
    assert feature.headers["etag"] == tag
    moved = client.post(
        "/incidents/e1/transitions",
        json={"to": "verified"},
        headers={**DISPATCHER, "If-Match": tag},
    )
    assert moved.status_code == 200
    assert moved.headers["etag"] == '"2"'
    stale = client.post(
        "/incidents/e1/transitions",
        json={"to": "accepted"},
        headers={**DISPATCHER, "If-Match": tag},
    )
    assert stale.status_code == 412, stale.text
    assert stale.headers["etag"] == '"2"'
    assert client.get("/incidents/e1", headers=DISPATCHER).json()["state"] == "verified"
    garbage = client.post(
        "/incidents/e1/transitions",
        json={"to": "accepted"},
        headers={**DISPATCHER, "If-Match": "yesterday"},
    )
    assert garbage.status_code == 400
    trail = client.get("/incidents/e1/transitions", headers=DISPATCHER).json()
    assert [t["to"] for t in trail] == ["reported", "verified"]


# --- 3. corrections --------------------------------------------------------------------------


@pytest.mark.usefixtures("grids_stored")
def test_corrections_are_conflicts_or_audited_updates(app: Any, client: TestClient) -> None:
    """Same id, new content: a conflict by default, an audited update when asked; never dropped."""
    _post_batch(client, [incident("c1")])
    changed = incident("c1", category="robbery")
    answer = _post_batch(client, [changed]).json()
    assert answer["accepted"] == answer["duplicates"] == answer["updated"] == 0
    assert answer["conflicts"][0]["incident_id"] == "c1"
    assert answer["conflicts"][0]["fields"][0] == "category"
    assert client.get("/incidents/c1", headers=DISPATCHER).json()["category"] == "theft"
    answer = _post_batch(client, [changed], on_conflict="update").json()
    assert answer["updated"] == 1
    assert not answer["conflicts"]
    stored = client.get("/incidents/c1", headers=DISPATCHER)
    assert stored.json()["category"] == "robbery"
    assert stored.headers["etag"] == '"2"'
    trail = client.get("/incidents/c1/transitions", headers=DISPATCHER).json()
    assert trail[-1]["note"] == "corrected"
    assert trail[-1]["details"]["corrected"][0] == "category"
    # a version field asks for a correction of that version only
    moved = incident("c1", category="fraud", version=1)
    answer = _post_batch(client, [moved]).json()
    assert answer["updated"] == 0
    assert "stale" in answer["conflicts"][0]["reason"]
    lon, lat = CELL_POINT["g21"]
    moved = incident("c1", category="robbery", version=2, lon=lon, lat=lat)
    answer = _post_batch(client, [moved]).json()
    assert answer["updated"] == 1
    assert client.get("/incidents/c1", headers=DISPATCHER).json()["grid_id"] == "g21"
    # one incident corrected with If-Match: its ETag, a stale one is a conflict
    tag = client.get("/incidents/c1", headers=DISPATCHER).headers["etag"]
    row = incident("c1", category="robbery", lon=lon, lat=lat, description="with a name")
    stale = client.post("/incidents", json=row, headers={**DISPATCHER, "If-Match": '"1"'})
    assert stale.json()["conflicts"][0]["fields"] == ["description"]
    fresh = client.post("/incidents", json=row, headers={**DISPATCHER, "If-Match": tag})
    assert fresh.json()["updated"] == 1
    moved = {**moved, "version": 4, "description": "with a name"}
    # the same resend again is a plain duplicate; a differing row within one batch a conflict
    answer = _post_batch(client, [moved, incident("c1", category="arson")]).json()
    assert answer["duplicates"] == 1
    assert answer["conflicts"][0]["index"] == 1


# --- 4. exports of any unit id ----------------------------------------------------------------


@pytest.mark.usefixtures("grids_stored")
@pytest.mark.parametrize("unit", ['巡逻车 "一"', "car;1", "a\\b", "naïve/ü", "x" * 100])
def test_any_unit_id_exports(app: Any, client: TestClient, unit: str) -> None:
    """A route of any unit id exports with an RFC 6266 filename* and an ASCII fallback."""
    plan_id = stored_plan(app)
    with app.state.database.session() as session:
        from api.db.models import Plan

        job = session.get(Plan, plan_id)
        result = copy.deepcopy(job.result)
        result["plan"]["routes"][0]["unit_id"] = unit
        job.result = result
    response = client.get(
        f"/plans/{plan_id}/export", params={"unit": unit, "format": "geojson"}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    header = response.headers["content-disposition"]
    assert header.isascii()
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert '"' not in fallback
    assert "\\" not in fallback
    assert f"filename*=UTF-8''{quote(unit + '.geojson', safe='')}" in header


# --- 6. docs offline, revocation, paths -------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_work_offline(client: TestClient, page: str) -> None:
    """The docs pages load every asset from this server (no http(s):// reference at all)."""
    response = client.get(page)
    assert response.status_code == 200
    assert "http://" not in response.text
    assert "https://" not in response.text
    assets = [part.split('"')[0] for part in response.text.split('src="')[1:]]
    assets += [part.split('"')[0] for part in response.text.split('href="')[1:]]
    assert assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_one_token_is_revoked_by_id(app: Any, client: TestClient) -> None:
    """Revoking one token's id refuses it (401) while other tokens keep working."""
    from api.auth import create_token, verify_token
    from api.services.tokens import revoke
    from tests.api.conftest import SECRET

    first = create_token(SECRET, "admin", subject="a")
    second = create_token(SECRET, "admin", subject="b")
    assert client.get("/collections", headers={"Authorization": f"Bearer {first}"}).is_success
    assert revoke(app.state.database, verify_token(SECRET, first).token_id, reason="lost")
    refused = client.get("/collections", headers={"Authorization": f"Bearer {first}"})
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    assert client.get("/collections", headers={"Authorization": f"Bearer {second}"}).is_success


def test_default_token_lifetime_is_short() -> None:
    """A new token lives 12 hours unless asked otherwise."""
    from api.auth import create_token, verify_token
    from api.settings import Settings

    assert Settings().token_ttl_s <= 12 * 3600
    token = create_token("x" * 32, "admin", now=0)
    verify_token("x" * 32, token, now=12 * 3600 - 1)
    with pytest.raises(ValueError, match="expired"):
        verify_token("x" * 32, token, now=12 * 3600 + 1)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"g11"', '"g\\u000011"'),
        ('"name g11"', '"n\\u0007"'),
        ('"g11"', '"a/b"'),
        ('"g11"', "1e308"),
        ('"g11"', '".."'),
    ],
)
def test_bad_grids_files_are_refused(client: TestClient, old: str, new: str) -> None:
    """A grids file with a control character, an unaddressable id or an absurd value is a 422."""
    text = small_grids().to_json().replace(old, new, 1)
    response = client.post("/grids", content=text.encode(), headers=ADMIN)
    assert response.status_code == 422, response.text


def test_errors_show_no_server_paths(client: TestClient) -> None:
    """A bad grids upload names the upload, never a server folder."""
    import tempfile

    response = client.post("/grids?format=gpkg", content=b"not a geopackage", headers=ADMIN)
    assert 400 <= response.status_code < 500, response.text
    assert tempfile.gettempdir() not in response.text
    assert "/work/" not in response.text


# --- 1. the property-based walk ----------------------------------------------------------------


def _set(document: Any, where: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(document)
    target = out
    for key in where[:-1]:
        if isinstance(target, list):
            target = target[key]
        else:
            target = target.setdefault(
                key, [{}] if isinstance(where[where.index(key) + 1], int) else {}
            )
    if isinstance(target, list) and where[-1] >= len(target):
        target.append(value)
    else:
        target[where[-1]] = value
    return out


def _endpoint_cases() -> st.SearchStrategy[tuple[str, Any]]:
    rows = st.sampled_from(sorted(bad.INCIDENT_FIELDS)).flatmap(
        lambda f: bad.BY_TYPE[bad.INCIDENT_FIELDS[f]].map(lambda v: ("row", (f, v)))
    )
    moves = st.sampled_from(sorted(bad.TRANSITION_FIELDS)).flatmap(
        lambda f: bad.BY_TYPE[bad.TRANSITION_FIELDS[f]].map(lambda v: ("move", (f, v)))
    )
    units = st.sampled_from(bad.UNITS_FIELDS).flatmap(
        lambda fw: bad.BY_TYPE[fw[1]].map(lambda v: ("units", (fw[0], v)))
    )
    queries = st.sampled_from(
        [
            ("/collections/incidents/items", "datetime"),
            ("/collections/incidents/items", "bbox"),
            ("/collections/incidents/items", "limit"),
            ("/collections/grids/items", "offset"),
            ("/collections/grids/items", "level"),
            ("/hotspots", "now"),
            ("/hotspots", "half_life_days"),
            ("/hotspots", "top"),
            ("/metrics", "level"),
            ("/incidents/overdue", "limit"),
            ("/incidents", "on_conflict"),
            ("/plans/p/export", "unit"),
        ]
    ).flatmap(lambda pq: bad.BAD_QUERY.map(lambda v: ("query", (pq, v))))
    paths = st.sampled_from(
        [
            "/incidents/{}",
            "/incidents/{}/transitions",
            "/collections/{}",
            "/collections/incidents/items/{}",
            "/plans/{}",
            "/plans/{}/map",
        ]
    ).flatmap(lambda p: bad.BAD_QUERY.map(lambda v: ("path", (p, v))))
    grids = st.sampled_from(sorted(bad.GRID_FIELDS)).flatmap(
        lambda f: bad.BY_TYPE[bad.GRID_FIELDS[f]].map(lambda v: ("grids", (f, v)))
    )
    return st.one_of(rows, moves, units, queries, paths, grids)


def _walk(app: Any, client: TestClient, case: tuple[str, Any]) -> None:
    kind, spec = case
    if kind == "row":
        field, value = spec
        good = incident(_fresh("walk"))
        row = incident(_fresh("walkbad"))
        row[field] = value
        try:
            response = _raw_batch(client, [good, row])
        except ValueError:  # a value JSON cannot carry (never sent)
            return
        assert response.status_code == 200, response.text
        assert good["incident_id"] in _stored_ids(app), "a good row was lost"
        return
    if kind == "move":
        field, value = spec
        incident_id = _fresh("walkmove")
        client.post("/incidents", json=incident(incident_id), headers=DISPATCHER)
        body = {"to": "verified", field: value}
        text = json.dumps(body, ensure_ascii=True)
        response = client.post(
            f"/incidents/{incident_id}/transitions",
            content=text.encode(),
            headers={**DISPATCHER, "content-type": "application/json"},
        )
    elif kind == "units":
        where, value = spec
        body = {"units": _set(UNITS, where, value)}
        text = json.dumps(body, ensure_ascii=True)
        response = client.post(
            "/plans", content=text.encode(), headers={**ADMIN, "content-type": "application/json"}
        )
    elif kind == "query":
        (path, name), value = spec
        method = client.post if path == "/incidents" else client.get
        kwargs: dict[str, Any] = {"params": {name: value}, "headers": ADMIN}
        if path == "/incidents":
            kwargs["json"] = incident(_fresh("walkq"))
        response = method(path, **kwargs)
    elif kind == "grids":
        field, value = spec
        document = json.loads(small_grids().to_json())
        document["features"][4]["properties"][field] = value  # the leaf g11
        text = json.dumps(document, ensure_ascii=True)
        response = client.post(
            "/grids", content=text.encode(), headers={**ADMIN, "content-type": "application/json"}
        )
        app.state.grid_cache.invalidate()
    else:
        template, value = spec
        response = client.get(template.format(quote(value, safe="")), headers=ADMIN)
    assert response.status_code < 500, (case, response.text)


@pytest.mark.usefixtures("grids_stored")
@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_endpoint_cases())
def test_bad_values_of_every_type_through_every_endpoint(
    app: Any, client: TestClient, case: tuple[str, Any]
) -> None:
    """Bad values of every field type, through every endpoint: never a 5xx, no good row lost."""
    _walk(app, client, case)


@pytest.mark.slow
@pytest.mark.usefixtures("grids_stored")
@settings(
    max_examples=1500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_endpoint_cases())
def test_bad_values_walk_long(app: Any, client: TestClient, case: tuple[str, Any]) -> None:
    """The same walk with many more examples (slow suite)."""
    _walk(app, client, case)


def test_audit_count_matches_versions(app: Any, client: TestClient) -> None:
    """Each stored change (ingest, move, correction) has exactly one audit entry."""
    client.post("/incidents", json=incident("v1"), headers=DISPATCHER)
    client.post("/incidents/v1/transitions", json={"to": "verified"}, headers=DISPATCHER)
    _post_batch(client, [incident("v1", category="fraud")], on_conflict="update")
    with app.state.database.sessions() as session:
        version = session.scalar(sa.select(Incident.version).where(Incident.incident_id == "v1"))
        audit = session.scalar(
            sa.select(sa.func.count()).select_from(Transition).where(Transition.incident_id == "v1")
        )
    assert version == audit == 3


@pytest.mark.usefixtures("grids_stored")
def test_racing_transitions_in_process(app: Any, client: TestClient) -> None:
    """Two threads moving one incident with the same expected version: one wins, one gets 412,
    on each database; the audit trail has exactly the winner's entry after the common ones."""
    import threading

    from api.auth import Principal
    from api.problems import ProblemError
    from api.services import incidents as service
    from api.workflow import TransitionRequest

    client.post("/incidents", json=incident("rc"), headers=DISPATCHER)
    for to in ("verified", "accepted"):
        client.post("/incidents/rc/transitions", json={"to": to}, headers=DISPATCHER)
    who = Principal(role="dispatcher", subject="t")
    for round_ in range(5):
        version = client.get("/incidents/rc", headers=DISPATCHER).json()["version"]
        barrier = threading.Barrier(2)
        outcome: dict[str, int] = {}

        def move(
            unit: str,
            version: int = version,
            barrier: Any = barrier,
            outcome: dict[str, int] = outcome,
        ) -> None:
            request = TransitionRequest("dispatched", unit_id=unit)
            barrier.wait()
            try:
                service.apply_transition(
                    app.state.database, "rc", request, who, {}, expected_version=version
                )
                outcome[unit] = 200
            except ProblemError as exc:
                outcome[unit] = exc.status

        threads = [threading.Thread(target=move, args=(f"u{round_}{k}",)) for k in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcome.values()) == [200, 412], outcome
        winner = next(u for u, status in outcome.items() if status == 200)
        assert client.get("/incidents/rc", headers=DISPATCHER).json()["unit_id"] == winner
        trail = client.get("/incidents/rc/transitions", headers=DISPATCHER).json()
        assert trail[-1]["details"]["unit_id"] == winner
        assert len(trail) == 4 + round_


def test_token_revoke_command(tmp_path: Any) -> None:
    """`patrolgrid token create` prints a token and its id; `token revoke ID` refuses that token."""
    from typer.testing import CliRunner

    from api.app import create_app
    from api.cli import app as cli
    from tests.api.conftest import SECRET, settings_for

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"PATROLGRID_SECRET": SECRET, "PATROLGRID_DATABASE_URL": url, "PATROLGRID_DEV": "0"}
    runner = CliRunner()
    created = runner.invoke(cli, ["token", "create", "--role", "admin"], env=env)
    assert created.exit_code == 0, created.output
    token = created.stdout.split()[0]
    token_id = created.stderr.split("token id: ")[1].split()[0]
    with TestClient(create_app(settings_for(url))) as client:
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get("/collections", headers=bearer).status_code == 200
        revoked = runner.invoke(cli, ["token", "revoke", token_id, "--reason", "lost"], env=env)
        assert revoked.exit_code == 0, revoked.output
        assert client.get("/collections", headers=bearer).status_code == 401
    again = runner.invoke(cli, ["token", "revoke", token_id], env=env)
    assert "already revoked" in again.stdout
    bad = runner.invoke(cli, ["token", "revoke", "a\x00b"], env=env)
    assert bad.exit_code == 2


@pytest.mark.usefixtures("grids_stored")
def test_ogc_parameters(client: TestClient) -> None:
    """OGC API - Features: unknown or invalid parameters are 400, a big limit is clamped, a
    six-number bbox (with heights) is read."""
    items = "/collections/grids/items"
    for query in ("colour=red", "limit=0", "limit=x", "bbox=1,2", "offset=-5"):
        response = client.get(f"{items}?{query}", headers=ADMIN)
        assert response.status_code == 400, (query, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/collections?colour=red", headers=ADMIN).status_code == 400
    page = client.get(f"{items}?limit=99999999999999999999", headers=ADMIN)
    assert page.status_code == 200
    assert page.json()["numberReturned"] == page.json()["numberMatched"] == 11
    flat = client.get(f"{items}?bbox=113.3,23.1,113.31,23.11", headers=ADMIN).json()
    tall = client.get(f"{items}?bbox=113.3,23.1,-5,113.31,23.11,5", headers=ADMIN).json()
    assert flat["numberMatched"] == tall["numberMatched"] > 0
