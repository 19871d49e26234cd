"""GET /hotspots: the stored incidents through geo.hotspots.risk_table, scoped by role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import incident, token_headers


@pytest.mark.usefixtures("grids_stored")
def test_hotspots_rank_grids_by_risk_within_scope(client: TestClient) -> None:
    """The grid with most incidents ranks first; a supervisor sees only its district's grids."""
    rows = [incident("h1", "g11"), incident("h2", "g11"), incident("h3", "g31")]
    client.post("/incidents", json={"incidents": rows}, headers=token_headers("admin"))
    query = "/hotspots?now=2026-11-02T00:00:00Z"
    table = client.get(query, headers=token_headers("dispatcher")).json()
    assert [r["grid_id"] for r in table[:2]] == ["g11", "g31"]
    assert table[0]["count"] == 2
    assert table[0]["risk"] > table[1]["risk"] > 0
    assert "how_000" not in table[0]
    with_profile = client.get(query + "&profile=true&top=1", headers=token_headers("admin")).json()
    assert len(with_profile) == 1
    assert sum(with_profile[0][f"how_{h:03d}"] for h in range(168)) == pytest.approx(1.0)
    supervisor = client.get(query, headers=token_headers("supervisor")).json()
    assert {r["grid_id"] for r in supervisor} == {"g11", "g12", "g21"}
    assert (
        client.get("/hotspots?now=2300-01-01T00:00:00Z", headers=token_headers("admin")).status_code
        == 422
    )


@pytest.mark.usefixtures("grids_stored")
def test_hotspots_roll_up_to_levels(client: TestClient) -> None:
    """At community level each community's count and risk are the sums over its cells."""
    rows = [incident("u1", "g11"), incident("u2", "g12"), incident("u3", "g31")]
    client.post("/incidents", json={"incidents": rows}, headers=token_headers("admin"))
    query = "/hotspots?now=2026-11-02T00:00:00Z"
    leaves = {r["grid_id"]: r for r in client.get(query, headers=token_headers("admin")).json()}
    communities = client.get(query + "&level=community", headers=token_headers("admin")).json()
    by_id = {r["grid_id"]: r for r in communities}
    assert set(by_id) == {"C1", "C2", "C3"}
    assert by_id["C1"]["count"] == 2
    assert by_id["C1"]["risk"] == pytest.approx(leaves["g11"]["risk"] + leaves["g12"]["risk"])
    assert by_id["C2"]["count"] == 0
