"""Open311 GeoReport v2: services, discovery, posting residents' reports, reading them back,
the spec's error format (JSON and XML), rate limits and the privacy of contact details."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from api.app import create_app
from api.auth import create_token
from api.services.grids import store_grids
from benchmarks._server import ServerProcess
from tests.api.conftest import CELL_POINT, SECRET, settings_for, small_grids, token_headers

DISPATCHER = token_headers("dispatcher")
ADMIN = token_headers("admin")
SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
CONTACT = {
    "email": "li.na@example.cn",
    "first_name": "Na",
    "last_name": "Li",
    "phone": "+86 138 0000 0000",
    "device_id": "phone-77",
    "account_id": "acct-42",
}


def api_key(subject: str = "city-app") -> str:
    """An Open311 api_key."""
    return create_token(SECRET, "open311", subject=subject)


def make_client(backend: tuple[str, str | None], **overrides: Any) -> Iterator[TestClient]:
    """A client of an app with the small grids stored (settings overridden)."""
    url, schema = backend
    app = create_app(settings_for(url, sla_interval_s=0, **overrides), schema=schema)
    with TestClient(app) as client:
        with app.state.database.session() as session:
            store_grids(session, small_grids())
        app.state.grid_cache.invalidate()
        yield client


@pytest.fixture
def o311(backend: tuple[str, str | None]) -> Iterator[TestClient]:
    """A client with the default Open311 settings."""
    yield from make_client(backend)


def report(cell: str = "g11", **extra: str) -> dict[str, str]:
    """Form fields of a noise report inside ``cell``."""
    lon, lat = CELL_POINT[cell]
    fields = {
        "api_key": api_key(),
        "service_code": "noise",
        "lat": str(lat),
        "long": str(lon),
        "description": "Karaoke every night until 2 am, flat 3-401",
        "attribute[source]": "music",
        "media_url": "https://photos.example.cn/p/1.jpg",
    }
    fields.update(extra)
    if fields["service_code"] != "noise":
        del fields["attribute[source]"]
    return fields


def post(client: TestClient, fields: dict[str, str], fmt: str = "json") -> httpx.Response:
    """POST requests.{fmt} form-encoded."""
    return client.post(f"/open311/v2/requests.{fmt}", data=fields)


def xml(response: httpx.Response) -> Any:
    """The well-formed XML document of a response (lxml raises otherwise)."""
    assert response.headers["content-type"].startswith("text/xml")
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return etree.fromstring(response.content)


def assert_spec_error(response: httpx.Response, code: int, fmt: str = "json") -> str:
    """The response is the spec's error document with ``code``; returns its description."""
    assert response.status_code == code, response.text
    if fmt == "xml":
        root = xml(response)
        assert root.tag == "errors"
        errors = root.findall("error")
        assert len(errors) == 1
        assert [c.tag for c in errors[0]] == ["code", "description"]
        assert errors[0].findtext("code") == str(code)
        return str(errors[0].findtext("description"))
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list)
    assert list(body[0]) == ["code", "description"]
    assert body[0]["code"] == code
    return str(body[0]["description"])


def test_services_list_and_definition(o311: TestClient) -> None:
    """services.json/.xml list every service with the spec's fields; a service definition has
    its attributes; an unknown service is a spec 404."""
    services = o311.get("/open311/v2/services.json").json()
    assert [list(s) for s in services] == [SERVICE_FIELDS] * len(services)
    by_code = {s["service_code"]: s for s in services}
    assert by_code["noise"]["metadata"] is True
    assert by_code["theft"]["metadata"] is False
    assert {s["type"] for s in services} <= {"realtime", "batch", "blackbox"}
    root = xml(o311.get("/open311/v2/services.xml"))
    assert root.tag == "services"
    assert [e.findtext("service_code") for e in root.findall("service")] == list(by_code)
    assert [c.tag for c in root.find("service")] == SERVICE_FIELDS
    assert root.find("service").findtext("metadata") == "true"
    definition = o311.get("/open311/v2/services/noise.json").json()
    assert definition["service_code"] == "noise"
    source = definition["attributes"][0]
    assert source["code"] == "source"
    assert source["datatype"] == "singlevaluelist"
    assert {"key": "music", "name": "Music or loudspeakers"} in source["values"]
    root = xml(o311.get("/open311/v2/services/noise.xml"))
    assert root.tag == "service_definition"
    values = root.findall("attributes/attribute/values/value")
    assert [v.findtext("key") for v in values] == ["music", "works", "shop", "other"]
    assert "nope" in assert_spec_error(o311.get("/open311/v2/services/nope.xml"), 404, "xml")
    assert_spec_error(o311.get("/open311/v2/services.yaml"), 404)
    assert_spec_error(o311.get("/open311/v2/nothing.json"), 404)
    assert_spec_error(o311.delete("/open311/v2/services.json"), 404)


def test_discovery_document(o311: TestClient) -> None:
    """discovery.json/.xml name the GeoReport v2 endpoint, its formats and the key service."""
    document = o311.get("/open311/discovery.json").json()
    assert set(document) == {"changeset", "contact", "key_service", "endpoints"}
    endpoint = document["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = xml(o311.get("/open311/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]
    assert root.findtext("endpoints/endpoint/type") == "production"


def test_post_report_enters_the_loop(o311: TestClient) -> None:
    """A posted report is an incident in state reported with its service's category and grid,
    answered as [{service_request_id, service_notice, account_id}], verified like any other."""
    response = post(o311, report(**CONTACT))
    assert response.status_code == 200, response.text
    [entry] = response.json()
    assert list(entry) == ["service_request_id", "service_notice", "account_id"]
    assert entry["account_id"] == "acct-42"
    assert "15 minutes" in entry["service_notice"]  # the noise category's reported limit
    request_id = entry["service_request_id"]
    incident = o311.get(f"/incidents/{request_id}", headers=DISPATCHER).json()
    assert incident["state"] == "reported"
    assert incident["category"] == "噪音扰民"
    assert incident["grid_id"] == "g11"
    assert incident["district_id"] == "D1"
    trail = o311.get(f"/incidents/{request_id}/transitions", headers=DISPATCHER).json()
    assert trail[0]["actor"] == "open311:city-app"
    assert "Open311 noise" in trail[0]["note"]
    queued = {q["incident_id"]: q for q in o311.get("/queue", headers=DISPATCHER).json()}
    assert queued[request_id]["suggested_departments"] == ["urban_management"]
    moved = o311.post(
        f"/incidents/{request_id}/transitions", json={"to": "verified"}, headers=DISPATCHER
    )
    assert moved.json()["state"] == "verified"
    root = xml(post(o311, report(), "xml"))
    assert root.tag == "service_requests"
    [item] = root.findall("request")
    assert [c.tag for c in item] == ["service_request_id", "service_notice", "account_id"]
    assert item.findtext("service_request_id").startswith("311-")


def test_contact_details_only_for_admins_and_dispatchers(o311: TestClient) -> None:
    """Contact fields are read back only by admins and dispatchers; never in the incident,
    OGC items, Open311 views, nor for supervisors, departments, volunteers or Open311 keys."""
    request_id = post(o311, report(**CONTACT)).json()[0]["service_request_id"]
    for role in ("admin", "dispatcher"):
        details = o311.get(f"/incidents/{request_id}/reporter", headers=token_headers(role))
        assert details.status_code == 200
        assert {k: details.json()[k] for k in CONTACT} == CONTACT
        assert details.json()["attributes"] == {"source": "music"}
    for role, scope in (
        ("supervisor", {}),
        ("volunteer", {}),
        ("department", {"department": "urban_management"}),
        ("open311", {}),
    ):
        headers = token_headers(role, **scope)
        assert o311.get(f"/incidents/{request_id}/reporter", headers=headers).status_code == 403
    public = [
        o311.get(f"/incidents/{request_id}", headers=ADMIN).text,
        o311.get("/collections/incidents/items", headers=ADMIN).text,
        o311.get(f"/open311/v2/requests/{request_id}.json").text,
        o311.get(f"/open311/v2/requests/{request_id}.xml").text,
        o311.get("/open311/v2/requests.json").text,
    ]
    for text in public:
        for value in CONTACT.values():
            assert value not in text
    assert "Karaoke" not in public[2]  # the free-text description stays inside too


def test_read_back_with_status_and_filters(o311: TestClient) -> None:
    """requests/{id} and requests.json show status open/closed from the loop, the agency, the
    dates and the place; filters by id list, service code, status, dates; paging."""
    first = post(o311, report("g11")).json()[0]["service_request_id"]
    second = post(o311, report("g12", service_code="dispute")).json()[0]["service_request_id"]
    for body in (
        {"to": "verified"},
        {"to": "accepted"},
        {"to": "dispatched", "departments": ["urban_management", "sanitation"]},
        {"to": "handled"},
        {"to": "rechecked"},
        {"to": "closed", "note": "music stopped"},
    ):
        assert (
            o311.post(f"/incidents/{first}/transitions", json=body, headers=DISPATCHER).status_code
            == 200
        )
    [view] = o311.get(f"/open311/v2/requests/{first}.json").json()
    assert list(view) == REQUEST_FIELDS
    assert view["status"] == "closed"
    assert view["agency_responsible"] == "Urban management; Sanitation"
    assert view["lat"] == CELL_POINT["g11"][1]
    assert view["long"] == CELL_POINT["g11"][0]
    assert view["requested_datetime"].endswith("Z")
    assert view["updated_datetime"] >= view["requested_datetime"]
    assert view["media_url"] == "https://photos.example.cn/p/1.jpg"
    root = xml(o311.get(f"/open311/v2/requests/{first}.xml"))
    assert root.tag == "service_requests"
    assert [c.tag for c in root.find("request")] == REQUEST_FIELDS
    assert root.findtext("request/status") == "closed"

    def ids(query: str) -> list[str]:
        response = o311.get(f"/open311/v2/requests.json?{query}")
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert set(ids("")) == {first, second}
    assert ids("status=open") == [second]
    assert ids("status=closed") == [first]
    assert ids("service_code=dispute") == [second]
    assert set(ids(f"service_request_id={first},{second}")) == {first, second}
    both = f"service_request_id={first},{second}&service_code=dispute&status=open"
    assert set(ids(both)) == {first, second}  # the id list overrides the other filters
    assert ids("start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00Z") == []
    assert len(ids("page_size=1")) == 1
    assert ids("page_size=1&page=1") + ids("page_size=1&page=2") == ids("")
    assert ids("page=3&page_size=1") == []
    assert_spec_error(o311.get("/open311/v2/requests.json?status=pending"), 400)
    assert_spec_error(o311.get("/open311/v2/requests.xml?start_date=yesterday"), 400, "xml")
    assert_spec_error(o311.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00"), 400)
    span = "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"
    assert "90 days" in assert_spec_error(o311.get(f"/open311/v2/requests.json?{span}"), 400)
    assert_spec_error(o311.get("/open311/v2/requests.json?page_size=5000"), 400)
    assert_spec_error(o311.get("/open311/v2/requests/311-nope.json"), 404)
    # A dispatch-system incident is not a resident's request.
    o311.post("/incidents", json={**_police_row()}, headers=DISPATCHER)
    assert_spec_error(o311.get("/open311/v2/requests/police-1.xml"), 404, "xml")


def _police_row() -> dict[str, Any]:
    lon, lat = CELL_POINT["g11"]
    return {
        "incident_id": "police-1",
        "occurred_at": "2026-11-01T08:30:00+08:00",
        "category": "theft",
        "lon": lon,
        "lat": lat,
    }


def test_address_string_is_located_by_grid_name(o311: TestClient) -> None:
    """A report with only address_string lands in the most specific grid named in it; an
    address naming no known place is a 400 and stores nothing."""
    fields = report(address_string="Building 4, name g12, name C1, Guangzhou")
    del fields["lat"], fields["long"]
    request_id = post(o311, fields).json()[0]["service_request_id"]
    incident = o311.get(f"/incidents/{request_id}", headers=DISPATCHER).json()
    assert incident["grid_id"] == "g12"
    assert (
        o311.get(f"/incidents/{request_id}/reporter", headers=ADMIN).json()["location_source"]
        == "address"
    )
    fields["address_string"] = "somewhere unknown"
    assert "lat and long" in assert_spec_error(post(o311, fields), 400)


BAD_POSTS: list[tuple[dict[str, str | None], int, str]] = [
    ({"api_key": None}, 403, "api_key"),
    ({"api_key": "garbage"}, 403, "api_key"),
    ({"api_key": create_token(SECRET, "dispatcher")}, 403, "Open311 key"),
    ({"api_key": create_token("another-secret-0123456789", "open311")}, 403, "api_key"),
    ({"service_code": None}, 400, "service_code"),
    ({"service_code": "potholes"}, 404, "potholes"),
    ({"lat": None, "long": None}, 400, "location"),
    ({"long": None}, 400, "lat/long"),
    ({"lat": "north"}, 400, "lat"),
    ({"lat": "91"}, 400, "lat"),
    ({"long": "nan"}, 400, "long"),
    ({"email": "not-an-address"}, 400, "email"),
    ({"attribute[source]": None}, 400, "attribute[source]"),
    ({"attribute[source]": "fireworks"}, 400, "attribute[source]"),
    ({"attribute[colour]": "red"}, 400, "attribute[colour]"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"description": "x" * 4001}, 400, "description"),
    ({"phone": "1" * 65}, 400, "phone"),
    ({"jurisdiction_id": "elsewhere"}, 200, ""),  # no jurisdiction configured: ignored
]


def test_bad_posts_are_spec_errors_and_store_nothing(backend: tuple[str, str | None]) -> None:
    """Each bad field is answered in the spec's error format (JSON and XML) naming it, and
    nothing is stored."""
    for client in make_client(backend, open311_address_rate=1000, open311_key_rate=1000):
        _bad_posts(client)


def _bad_posts(o311: TestClient) -> None:
    stored = 0
    for change, code, words in BAD_POSTS:
        for fmt in ("json", "xml"):
            fields: dict[str, Any] = report()
            for key, value in change.items():
                if value is None:
                    fields.pop(key, None)
                else:
                    fields[key] = value
            response = post(o311, fields, fmt)
            if code == 200:
                assert response.status_code == 200
                stored += 1
                continue
            assert words in assert_spec_error(response, code, fmt), (change, fmt)
    matched = o311.get("/collections/incidents/items", headers=ADMIN).json()["numberMatched"]
    assert matched == stored


def test_body_must_be_form_encoded(o311: TestClient) -> None:
    """A JSON body is refused with a spec 400 (the spec posts form fields); so is a field
    given twice."""
    response = o311.post(
        "/open311/v2/requests.json",
        content=json.dumps(report()).encode(),
        headers={"content-type": "application/json"},
    )
    assert "x-www-form-urlencoded" in assert_spec_error(response, 400)
    twice = "&".join(f"{k}={v}" for k, v in report().items() if k != "service_code")
    twice += "&service_code=noise&service_code=theft"
    response = o311.post(
        "/open311/v2/requests.json",
        content=twice.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert "service_code" in assert_spec_error(response, 400)


def test_rate_limit_per_key(backend: tuple[str, str | None]) -> None:
    """The third post with one key inside the window is a 429 with Retry-After; another key
    still posts."""
    for client in make_client(backend, open311_key_rate=2, open311_address_rate=100):
        key = api_key("app-a")
        assert post(client, report(api_key=key)).status_code == 200
        assert post(client, report(api_key=key)).status_code == 200
        refused = post(client, report(api_key=key), "xml")
        assert "too many" in assert_spec_error(refused, 429, "xml")
        assert int(refused.headers["retry-after"]) > 0
        assert post(client, report(api_key=api_key("app-b"))).status_code == 200
        stored = client.get("/collections/incidents/items", headers=ADMIN).json()
        assert stored["numberMatched"] == 3


def test_rate_limit_per_address(backend: tuple[str, str | None]) -> None:
    """One client address may not flood the loop even with a new key for every post."""
    for client in make_client(backend, open311_key_rate=100, open311_address_rate=2):
        for i in range(2):
            assert post(client, report(api_key=api_key(f"k{i}"))).status_code == 200
        refused = post(client, report(api_key=api_key("k9")))
        assert_spec_error(refused, 429)
        assert refused.headers["retry-after"].isdigit()


def test_real_http_client_against_a_server(backend: tuple[str, str | None], tmp_path: Any) -> None:
    """Through a real uvicorn server: list services, post a form with a key, read it back."""
    url, schema = backend
    env = {
        "PATROLGRID_DATABASE_URL": url,
        "PATROLGRID_SECRET": SECRET,
        "PATROLGRID_SLA_INTERVAL_S": "0",
    }
    if schema:
        env["PATROLGRID_DB_SCHEMA"] = schema
    with ServerProcess(env) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/open311/v2/services.xml").status_code == 200
        lon, lat = CELL_POINT["g31"]
        answer = http.post(
            "/open311/v2/requests.json",
            data={"api_key": api_key(), "service_code": "theft", "lat": lat, "long": lon},
        )
        assert answer.status_code == 200, answer.text
        request_id = answer.json()[0]["service_request_id"]
        root = etree.fromstring(http.get(f"/open311/v2/requests/{request_id}.xml").content)
        assert root.findtext("request/status") == "open"
        assert root.findtext("request/service_code") == "theft"
        assert float(root.findtext("request/lat")) == lat


def test_xml_stays_well_formed_with_odd_text(o311: TestClient) -> None:
    """Markup and control characters a resident typed never break the XML answer."""
    fields = report(address_string="<b>Flat 3</b> & \x01 near name g11 ]]>")
    request_id = post(o311, fields).json()[0]["service_request_id"]
    root = xml(o311.get(f"/open311/v2/requests/{request_id}.xml"))
    assert root.findtext("request/address") == "<b>Flat 3</b> &  near name g11 ]]>"


def test_too_large_body_is_a_spec_error(backend: tuple[str, str | None]) -> None:
    """A body over PATROLGRID_MAX_BODY_BYTES on an Open311 path is a 413 in the spec's format."""
    for client in make_client(backend, max_body_bytes=1024):
        fields = report(description="x" * 3000)
        assert_spec_error(post(client, fields, "xml"), 413, "xml")
        assert_spec_error(post(client, fields), 413)


def test_resident_report_through_the_whole_loop(backend: tuple[str, str | None]) -> None:
    """The issue's 'done when': a resident posts, the dispatcher verifies and co-dispatches,
    overdue work escalates by itself, one department hands back, the other handles after a
    re-dispatch, the dispatcher closes, and the resident reads status closed from Open311."""
    from datetime import UTC, datetime, timedelta

    from api.services.sla import sweep

    def dept(code: str) -> dict[str, str]:
        return token_headers("department", department=code)

    def move(request_id: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        response = client.post(f"/incidents/{request_id}/transitions", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    for client in make_client(backend):
        services = {s["service_code"] for s in client.get("/open311/v2/services.json").json()}
        assert "garbage" in services
        fields = report(service_code="garbage", description="Sofa dumped by the gate")
        request_id = post(client, fields).json()[0]["service_request_id"]
        assert client.get(f"/open311/v2/requests/{request_id}.json").json()[0]["status"] == "open"
        move(request_id, {"to": "verified"}, DISPATCHER)
        move(request_id, {"to": "accepted"}, DISPATCHER)
        both = {"to": "dispatched", "departments": ["sanitation", "urban_management"]}
        move(request_id, both, DISPATCHER)
        app = client.app
        when = datetime.now(UTC) + timedelta(hours=5)
        assert sweep(app.state.database, app.state.settings, now=when).escalated == [request_id]
        assert client.get("/queue", headers=DISPATCHER).json()[0]["incident_id"] == request_id
        assert [
            q["incident_id"] for q in client.get("/queue", headers=dept("sanitation")).json()
        ] == [request_id]
        move(
            request_id,
            {"to": "returned", "note": "bulky waste: urban management"},
            dept("sanitation"),
        )
        move(request_id, {"to": "dispatched", "department": "urban_management"}, DISPATCHER)
        assert client.get(f"/incidents/{request_id}", headers=dept("sanitation")).status_code == 404
        assert move(request_id, {"to": "handled"}, dept("urban_management"))["state"] == "handled"
        move(request_id, {"to": "rechecked"}, DISPATCHER)
        move(request_id, {"to": "closed"}, DISPATCHER)
        [view] = client.get(f"/open311/v2/requests/{request_id}.json").json()
        assert view["status"] == "closed"
        assert view["agency_responsible"] == "Urban management"
        trail = client.get(f"/incidents/{request_id}/transitions", headers=DISPATCHER).json()
        # (the escalation was swept "5 hours later", so it sorts last by time)
        assert [t["actor"].split(":")[0] for t in trail if t["actor"] != "system:sla"] == [
            "open311",
            "dispatcher",
            "dispatcher",
            "dispatcher",
            "department",
            "dispatcher",
            "department",
            "dispatcher",
            "dispatcher",
        ]
        assert [t["from"] for t in trail if t["actor"] == "system:sla"] == ["dispatched"]


def test_reads_can_require_a_key(backend: tuple[str, str | None]) -> None:
    """With public reads off, reading requests needs an Open311 api_key (403 otherwise);
    the service list and discovery stay public."""
    for client in make_client(backend, open311_public_reads=False):
        request_id = post(client, report()).json()[0]["service_request_id"]
        assert_spec_error(client.get(f"/open311/v2/requests/{request_id}.json"), 403)
        assert_spec_error(client.get("/open311/v2/requests.xml"), 403, "xml")
        staff = token_headers("dispatcher")["Authorization"].split()[1]
        assert_spec_error(client.get(f"/open311/v2/requests.json?api_key={staff}"), 403)
        answer = client.get(f"/open311/v2/requests/{request_id}.json?api_key={api_key()}")
        assert answer.json()[0]["service_request_id"] == request_id
        assert client.get("/open311/v2/services.json").status_code == 200
        assert client.get("/open311/discovery.json").status_code == 200
