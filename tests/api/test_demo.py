"""The demo runs the whole job on the real North Philadelphia data (short solver limit)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import xmlschema
from typer.testing import CliRunner

from api.cli import app
from geo.incidents import load_incidents
from tests.conftest import PHL, SCHEMAS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        app, ["demo", "--out", str(out), "--time-limit", "3", "--data", str(PHL.parent)]
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def plan(demo_out: Path) -> dict:
    return json.loads((demo_out / "plan.json").read_text())


@pytest.fixture(scope="module")
def grids(demo_out: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(demo_out / "grids.geojson")


def test_writes_every_file(demo_out: Path, plan: dict) -> None:
    """grids, incidents, risk, plan, map and one GPX per unit with a route are written."""
    for name in (
        "grids.geojson",
        "incidents.csv",
        "risk.csv",
        "plan.json",
        "map.html",
        "report.html",
    ):
        assert (demo_out / name).stat().st_size > 0, name
    units = {r["unit_id"] for r in plan["routes"]}
    assert units == {p.stem for p in (demo_out / "routes").glob("*.gpx")}


def test_grids_are_a_real_hierarchy(grids: gpd.GeoDataFrame) -> None:
    """Police districts > neighbourhoods > cells: every parent exists one level up."""
    assert set(grids["level"]) == {"district", "community", "grid"}
    assert grids["grid_id"].is_unique
    level = grids.set_index("grid_id")["level"]
    above = {"grid": "community", "community": "district"}
    for row in grids.itertuples():
        if row.level == "district":
            assert row.parent_id is None or pd.isna(row.parent_id)
        else:
            assert level[row.parent_id] == above[row.level]
    metric = grids.to_crs(grids.estimate_utm_crs())
    cells = metric.loc[metric["level"] == "grid"]
    assert cells.area.max() <= 250.0 * 250.0 * 1.01
    communities = metric.loc[metric["level"] == "community"].set_index("grid_id")
    tiled = cells.groupby("parent_id").geometry.apply(lambda g: g.area.sum())
    assert tiled.to_numpy() == pytest.approx(communities.area[tiled.index].to_numpy(), rel=1e-3)


def test_join_agrees_with_police_districts(demo_out: Path) -> None:
    """Each incident's district (through its cell) is the one its point lies in.

    The city-wide check against the file's own ``dc_dist`` (>= 95%) is in
    tests/geo/test_join.py; in this small area the file's ``dc_dist`` agrees with the district
    polygons for about 94% of incidents, and the demo's nested grids must lose nothing on that.
    """
    joined = pd.read_csv(demo_out / "incidents.csv", dtype={"incident_id": str, "district_id": str})
    source = load_incidents(PHL / "phl_incidents_2025-01.csv").incidents
    districts = gpd.read_file(PHL / "phl_police_districts.geojson")[["DIST_NUM", "geometry"]]
    mine = source.loc[source["incident_id"].isin(joined["incident_id"])]
    direct = gpd.sjoin(mine, districts, how="left", predicate="within")
    direct = direct.drop_duplicates("incident_id").set_index("incident_id")
    assert len(direct) == len(joined) > 100
    assert joined["grid_id"].notna().all()
    by_polygon = direct.loc[joined["incident_id"], "DIST_NUM"].astype(str).to_numpy()
    assert (joined["district_id"].to_numpy() == by_polygon).mean() >= 0.995
    by_file = direct.loc[joined["incident_id"], "dc_dist"].astype(str).str.lstrip("0").to_numpy()
    assert (joined["district_id"].to_numpy() == by_file).mean() >= 0.92


def test_risk_covers_every_leaf(demo_out: Path, grids: gpd.GeoDataFrame) -> None:
    """risk.csv has one row per cell; counts add up to the incidents in the area."""
    risk = pd.read_csv(demo_out / "risk.csv")
    incidents = pd.read_csv(demo_out / "incidents.csv")
    assert set(risk["grid_id"]) == set(grids.loc[grids["level"] == "grid", "grid_id"])
    assert risk["count"].sum() == len(incidents)
    assert (risk["risk"] >= 0).all()
    assert risk["risk"].max() > 0


def test_routes_respect_shift_and_area(plan: dict, grids: gpd.GeoDataFrame) -> None:
    """Every visit lies inside its unit's shift; volunteers stay inside their own community."""
    start = pd.Timestamp(plan["summary"]["shift_start"])
    end = pd.Timestamp(plan["summary"]["shift_end"])
    parent = grids.set_index("grid_id")["parent_id"]
    kinds = {r["kind"] for r in plan["routes"]}
    assert "police_car" in kinds
    assert "volunteer" in kinds
    for route in plan["routes"]:
        times = [pd.Timestamp(s[k]) for s in route["steps"] for k in ("arrival", "departure")]
        assert min(times) >= start
        limit = start + pd.Timedelta(hours=3) if route["kind"] == "volunteer" else end
        assert max(times) <= limit, route["unit_id"]
        visits = [s for s in route["steps"] if s["type"] == "visit"]
        assert visits, route["unit_id"]
        for step in visits:
            assert step["service_s"] == 720, "Koper dwell of 12 minutes"
            stay = pd.Timestamp(step["departure"]) - pd.Timestamp(step["arrival"])
            assert stay >= pd.Timedelta(seconds=720)
        if route["kind"] == "volunteer":
            communities = {parent[s["grid_id"]] for s in visits}
            assert len(communities) == 1, route["unit_id"]
        geometry = route["geometry"]
        assert geometry["type"] == "LineString"
        assert len(geometry["coordinates"]) > len(visits) + 1, "drawn along streets"


def test_every_visit_says_why(plan: dict, demo_out: Path) -> None:
    """The demo plans from the default shift risk: every visit step carries its why (the
    forecast, the warnings, or a presence patrol), the summary names the forecast method, and
    the report's visit table shows the why."""
    visits = [s for r in plan["routes"] for s in r["steps"] if s["type"] == "visit"]
    assert visits
    assert all(s.get("why") for s in visits)
    assert any(s["why"].startswith("forecast ") for s in visits)
    assert "0.0 incidents" not in " ".join(s["why"] for s in visits)
    assert plan["summary"]["forecast_method"]
    report = (demo_out / "report.html").read_text(encoding="utf-8")
    assert visits[0]["why"].split(";")[0] in report


def test_volunteer_routes_carry_no_incidents(plan: dict) -> None:
    """Incident details ride only on police routes."""
    for route in plan["routes"]:
        carries = any("incidents" in s for s in route["steps"])
        if route["kind"] != "police_car":
            assert not carries


def test_gpx_files_validate(demo_out: Path) -> None:
    """Every GPX file is valid GPX 1.1."""
    schema = xmlschema.XMLSchema(SCHEMAS / "gpx" / "1.1" / "gpx.xsd")
    files = sorted((demo_out / "routes").glob("*.gpx"))
    assert files
    for path in files:
        schema.validate(str(path))


def test_map_has_layers_and_no_cdn(demo_out: Path) -> None:
    """The map holds the grid and route layers and loads nothing from the internet."""
    html = (demo_out / "map.html").read_text(encoding="utf-8")
    assert "L.map(" in html
    assert "car-1" in html
    assert '<script src="http' not in html
    assert '<link rel="stylesheet" href="http' not in html
