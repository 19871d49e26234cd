"""OGC API - Features: landing, conformance, collections, items with bbox/datetime/paging."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import incident, token_headers

ADMIN = token_headers("admin")


def test_landing_and_conformance(client: TestClient) -> None:
    """The landing page links the API description; conformance names Core and GeoJSON."""
    landing = client.get("/").json()
    assert {link["rel"] for link in landing["links"]} >= {
        "self",
        "service-desc",
        "conformance",
        "data",
    }
    classes = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in classes


@pytest.mark.usefixtures("grids_stored")
def test_items_bbox_level_and_feature(client: TestClient) -> None:
    """bbox keeps grids that meet the box (filtered in SQL); items are GeoJSON with OGC members."""
    response = client.get("/collections/grids/items?level=grid", headers=ADMIN)
    assert response.headers["content-type"].startswith("application/geo+json")
    page = response.json()
    assert page["type"] == "FeatureCollection"
    assert page["numberMatched"] == page["numberReturned"] == 4
    # A box around the centre of g12 only (strictly inside it).
    inside = client.get(
        "/collections/grids/items?level=grid&bbox=113.312,23.102,113.318,23.108", headers=ADMIN
    )
    assert [f["id"] for f in inside.json()["features"]] == ["g12"]
    far = client.get("/collections/grids/items?bbox=0,0,1,1", headers=ADMIN).json()
    assert far["numberMatched"] == 0
    assert far["features"] == []
    one = client.get("/collections/grids/items/g21", headers=ADMIN)
    assert one.headers["content-type"].startswith("application/geo+json")
    assert one.json()["properties"]["community_id"] == "C2"
    assert one.json()["geometry"]["type"] == "Polygon"


@pytest.mark.usefixtures("grids_stored")
def test_incident_paging_and_datetime(client: TestClient) -> None:
    """limit/offset pages with next links visit every match once; datetime filters intervals."""
    rows = [
        incident(
            f"p{i:02d}",
            ["g11", "g12", "g21", "g31"][i % 4],
            occurred_at=f"2026-10-{i + 1:02d}T12:00:00Z",
        )
        for i in range(23)
    ]
    client.post("/incidents", json={"incidents": rows}, headers=ADMIN)
    seen: list[str] = []
    url: str | None = "/collections/incidents/items?limit=5"
    pages = 0
    while url:
        page = client.get(url, headers=ADMIN).json()
        assert page["numberMatched"] == 23
        assert page["numberReturned"] == len(page["features"]) <= 5
        seen += [f["id"] for f in page["features"]]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        url = nxt[0] if nxt else None
        pages += 1
    assert pages == 5
    assert sorted(seen) == sorted(r["incident_id"] for r in rows)
    window = client.get(
        "/collections/incidents/items?datetime=2026-10-03T00:00:00Z/2026-10-05T23:59:59Z",
        headers=ADMIN,
    ).json()
    assert [f["id"] for f in window["features"]] == ["p02", "p03", "p04"]
    open_end = client.get(
        "/collections/incidents/items?datetime=2026-10-21T00:00:00Z/..", headers=ADMIN
    ).json()
    assert open_end["numberMatched"] == 3
    boxed = client.get(
        "/collections/incidents/items?bbox=113.30,23.11,113.31,23.12&limit=100", headers=ADMIN
    ).json()
    assert {f["properties"]["grid_id"] for f in boxed["features"]} == {"g31"}
    assert boxed["numberMatched"] == 5  # i % 4 == 3 for i in 3, 7, 11, 15, 19


@pytest.mark.parametrize(
    ("query", "field", "status"),
    [
        ("bbox=1,2,3", "bbox", 400),
        ("bbox=3,0,1,1", "bbox", 400),
        ("datetime=yesterday", "datetime", 400),
        ("datetime=2026-02-01T00:00:00Z/2026-01-01T00:00:00Z", "datetime", 400),
        ("limit=0", "query.limit", 400),
        ("limit=abc", "query.limit", 400),
        ("offset=-1", "query.offset", 400),
        ("datetime=9999-12-31T23:59:59-14:00", "datetime", 400),
    ],
)
def test_bad_parameters_are_problems_naming_the_field(
    client: TestClient, query: str, field: str, status: int
) -> None:
    """Each invalid parameter is a problem+json with the parameter named in ``field``."""
    response = client.get(f"/collections/incidents/items?{query}", headers=ADMIN)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field


def test_unknown_collection_and_feature(client: TestClient) -> None:
    """Unknown collections and features are 404 problems."""
    assert client.get("/collections/roads", headers=ADMIN).status_code == 404
    assert client.get("/collections/roads/items", headers=ADMIN).status_code == 404
    assert client.get("/collections/grids/items/nope", headers=ADMIN).status_code == 404


def test_limit_upper_bound_is_served(client: TestClient, app: Any) -> None:
    """limit=10000 is accepted (the documented maximum)."""
    assert client.get("/collections/grids/items?limit=10000", headers=ADMIN).status_code == 200
