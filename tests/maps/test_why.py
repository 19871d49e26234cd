"""Each visit's why reaches the handheld exports, the report and the map, in the plan's words."""

from __future__ import annotations

import copy
from typing import Any

import geopandas as gpd

from maps.folium_map import make_map, map_html
from maps.gpx import plan_to_gpx
from maps.kml import routes_to_kml
from maps.privacy import export_plan_routes
from maps.report import render_report

WHY = "本班次预测 1.4 起; Gi* 热点(z 3.1)"


def _with_why(plan: dict[str, Any]) -> dict[str, Any]:
    """The fixture plan with a why on every visit step."""
    out = copy.deepcopy(plan)
    for route in out["routes"]:
        for step in route["steps"]:
            if step["type"] == "visit":
                step["why"] = WHY
    return out


def test_why_in_gpx_kml_report_and_map(grids: gpd.GeoDataFrame, plan: dict[str, Any]) -> None:
    """GPX <desc>, KML <description>, the report's visit table and the map's stop data all carry
    the why, also for a volunteer's export (it holds no personal data)."""
    doc = _with_why(plan)
    for route in doc["routes"]:
        gpx = plan_to_gpx(doc, route["unit_id"])
        assert f"<desc>{WHY}" in gpx
    volunteer = export_plan_routes(doc, audience="volunteer")
    assert all(s.get("why") == WHY for r in volunteer for s in r["steps"] if s["type"] == "visit")
    kml = routes_to_kml(volunteer)
    assert f"<kml:description>{WHY}" in kml or f"<description>{WHY}" in kml
    assert WHY in render_report(doc, lang="zh")
    assert WHY in map_html(make_map(grids=grids, plan=doc, lang="zh"))
