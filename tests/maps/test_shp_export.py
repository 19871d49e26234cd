"""Shapefile export: a line and a stops layer per unit, UTF-8 .cpg, readable back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd

from maps.privacy import export_plan_routes
from maps.shp_export import route_to_shapefiles


def test_round_trip_with_chinese_names(plan: dict[str, Any], tmp_path: Path) -> None:
    """Both layers read back in EPSG:4326 with the stops in order and Chinese text intact."""
    plan["routes"][1]["unit_id"] = "志愿者-北区"
    plan["routes"][1]["steps"][1]["grid_id"] = "网格-001"
    (route,) = export_plan_routes(plan, units=["志愿者-北区"])
    files = route_to_shapefiles(route, tmp_path / "v")
    assert (tmp_path / "v_stops.cpg").read_text().strip().upper() in ("UTF-8", "UTF8")
    assert {p.suffix for p in files} == {".shp", ".shx", ".dbf", ".prj", ".cpg"}
    stops = gpd.read_file(tmp_path / "v_stops.shp")
    line = gpd.read_file(tmp_path / "v_route.shp")
    assert stops.crs.to_epsg() == 4326
    assert stops["unit"].iloc[0] == "志愿者-北区"
    assert stops["grid"].iloc[1] == "网格-001"
    assert list(stops.loc[stops["type"] == "visit", "order"]) == [1, 2, 3]
    assert line.geometry.iloc[0].geom_type == "LineString"
