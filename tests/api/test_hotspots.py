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


@pytest.mark.usefixtures("grids_stored")
def test_api_and_cli_report_the_same_columns_and_values(client: TestClient, tmp_path) -> None:
    """GET /hotspots and ``patrolgrid hotspots`` call the same function: the same columns (Gi*,
    trend, warning, flare-up, why...) and the same values for every grid."""
    import pandas as pd
    from typer.testing import CliRunner

    from api.cli import app
    from tests.api.conftest import small_grids

    cells = ["g11"] * 6 + ["g12"] * 3 + ["g21", "g31"]
    days = [1, 2, 3, 20, 40, 60, 5, 9, 70, 12, 33]
    rows = [
        incident(
            f"a{k}",
            cell,
            occurred_at=f"2026-{9 + d // 30:02d}-{1 + d % 30:02d}T08:30:00+08:00",
            category="Burglary" if k % 2 else "theft",
        )
        for k, (cell, d) in enumerate(zip(cells, days, strict=True))
    ]
    client.post("/incidents", json={"incidents": rows}, headers=token_headers("admin"))
    now = "2026-11-20T00:00:00Z"
    api_rows = client.get(f"/hotspots?now={now}&top=100", headers=token_headers("admin")).json()
    grids_path = tmp_path / "grids.geojson"
    small_grids().to_file(grids_path, driver="GeoJSON")
    incidents_path = tmp_path / "incidents.csv"
    pd.DataFrame(rows).to_csv(incidents_path, index=False)
    result = CliRunner().invoke(
        app,
        [
            "hotspots",
            "--grids",
            str(grids_path),
            "--incidents",
            str(incidents_path),
            "--out",
            str(tmp_path / "out"),
            "--now",
            now,
            "--timezone",
            "Asia/Shanghai",  # the API's setting
        ],
    )
    assert result.exit_code == 0, result.output
    cli = pd.read_csv(tmp_path / "out" / "hotspots.csv").set_index("grid_id")
    columns = {c for c in cli.columns if not c.startswith("how_")} | {"grid_id"}
    assert set(api_rows[0]) == columns
    assert {"gi_z", "trend", "warning", "flareup", "why"} <= columns
    for row in api_rows:
        mine = cli.loc[row["grid_id"]]
        assert row["count"] == mine["count"]
        assert row["risk"] == pytest.approx(mine["risk"])
        assert row["why"] == mine["why"]
        assert bool(row["warning"]) == bool(mine["warning"])
        assert bool(row["flareup"]) == bool(mine["flareup"])
