"""The supervisor map: offline page, layers, colours computed in Python, languages."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maps.errors import MapsError
from maps.folium_map import RISK_COLORS, make_map, map_html, risk_classes, save_map


def _layer_data(html: str, call: str) -> Any:
    """The JSON handed to the DataLayer whose JavaScript contains ``call``.

    Shown layers get their data as the wrapper's argument; hidden layers read it from an
    inert ``<script type="application/json">`` element on first display.
    """
    pattern = (
        r"\(function \(DATA, MAP\) \{ return [^\n]*?"
        + re.escape(call)
        + r".*?\}\)\(\s*(?P<data>.*?),\s*map_[0-9a-f]+\);"
    )
    match = re.search(pattern, html, flags=re.S)
    assert match, call
    if match["data"].strip() == "null":
        data_id = re.search(r'PG\.jsonData\("([^"]+)"\)', match[0])
        assert data_id, call
        found = re.search(
            rf'<script type="application/json" id="{data_id[1]}">(.*?)</script>', html, flags=re.S
        )
        assert found, data_id[1]
        return json.loads(found[1])
    return json.loads(match["data"])


def test_page_is_self_contained(
    grids: gpd.GeoDataFrame,
    risk: pd.DataFrame,
    incidents: gpd.GeoDataFrame,
    plan: dict[str, Any],
    tmp_path: Path,
) -> None:
    """The saved page links no remote script or stylesheet and inlines Leaflet 1.9.4."""
    out = save_map(
        make_map(grids=grids, risk=risk, incidents=incidents, plan=plan), tmp_path / "m.html"
    )
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+stylesheet", html)
    assert "Leaflet 1.9.4" in html or '"1.9.4"' in html
    assert "L.markerClusterGroup" in html
    assert "L.heatLayer" in html
    map_options = html.split("L.map(", 1)[1].split(");", 1)[0]
    assert '"maxZoom": 19' in map_options


def test_grid_colours_follow_risk(grids: gpd.GeoDataFrame, risk: pd.DataFrame) -> None:
    """Each leaf grid's colour property is its risk class colour; popups carry name, why, profile."""
    html = map_html(make_map(grids=grids, risk=risk))
    data = _layer_data(html, "PG.grids(")
    props = {f["properties"]["id"]: f["properties"] for f in data["features"]}
    assert set(props) == set(risk["grid_id"])
    classes, _ = risk_classes(risk["risk"].to_numpy())
    for gid, cls in zip(risk["grid_id"], classes, strict=True):
        assert props[gid]["c"] == RISK_COLORS[cls]
        assert props[gid]["why"] == "burglaries after dark"
        assert len(props[gid]["how"]) == 168
    # one style function for every grid, no per-feature case statement
    assert html.count("style: gridStyle") == 1
    assert 'case "c1-' not in html


def test_workflow_metrics_in_popups(grids: gpd.GeoDataFrame, risk: pd.DataFrame) -> None:
    """Grids with workflow numbers show them (minutes, %); grids without show none."""
    first, second = risk["grid_id"].iloc[0], risk["grid_id"].iloc[1]
    metrics = pd.DataFrame(
        {
            "grid_id": [first, second],
            "response_s": [450.0, None],
            "handling_s": [3600.0, None],
            "closure_rate": [0.75, 0.0],
            "overdue": [2, 0],
            "satisfaction_rate": [0.9, None],
        }
    )
    html = map_html(make_map(grids=grids, risk=risk, metrics=metrics))
    props = {
        f["properties"]["id"]: f["properties"] for f in _layer_data(html, "PG.grids(")["features"]
    }
    assert props[first]["resp"] == 7.5
    assert props[first]["hand"] == 60.0
    assert props[first]["close"] == 75
    assert props[first]["over"] == 2
    assert props[first]["sat"] == 90
    assert "resp" not in props[second]
    assert props[second]["close"] == 0
    assert not {"resp", "close"} & set(props[risk["grid_id"].iloc[2]])
    assert "Closure rate" in html


def test_routes_stops_and_depots(grids: gpd.GeoDataFrame, plan: dict[str, Any]) -> None:
    """Each route is drawn along its geometry with stops numbered in visit order, own colour, depots."""
    html = map_html(make_map(grids=grids, plan=plan))
    routes = _layer_data(html, "PG.routes")
    assert [r["unit"] for r in routes] == ["police_car-1", "volunteer-2"]
    assert routes[0]["color"] != routes[1]["color"]
    for r, src in zip(routes, plan["routes"], strict=True):
        assert len(r["line"]) == len(src["geometry"]["coordinates"])
        assert [s[2] for s in r["stops"]] == [1, 2, 3]
        assert r["stops"][0][4] == "08:10"
        assert r["stops"][0][6] == 15.0
    depots = _layer_data(html, "PG.depots")
    assert len(depots) == 2


def test_chinese_labels(grids: gpd.GeoDataFrame, risk: pd.DataFrame, plan: dict[str, Any]) -> None:
    """With lang="zh" the layer control and legend use Chinese names."""
    html = map_html(make_map(grids=grids, risk=risk, plan=plan, lang="zh"))
    assert "网格风险" in html
    assert "巡逻路线" in html
    assert "无警情" in html


def test_upper_levels_become_named_borders(grids: gpd.GeoDataFrame) -> None:
    """The community row is drawn as a border with its name, not filled as a grid."""
    html = map_html(make_map(grids=grids))
    borders = _layer_data(html, "PG.borderStyle")
    (feature,) = borders["features"]
    assert feature["properties"]["name"] == "Fairhill"
    assert feature["geometry"]["type"] in ("LineString", "MultiLineString")


def test_bad_inputs_are_named(grids: gpd.GeoDataFrame) -> None:
    """Missing columns, a missing CRS and an unknown language are one-line MapsErrors."""
    with pytest.raises(MapsError, match="grid_id"):
        make_map(grids=grids.drop(columns="grid_id"))
    with pytest.raises(MapsError, match="CRS"):
        make_map(grids=grids.set_crs(None, allow_override=True))
    with pytest.raises(MapsError, match="--lang"):
        make_map(grids=grids, lang="fr")


def test_tile_url_basemap(grids: gpd.GeoDataFrame) -> None:
    """An intranet XYZ template becomes the tile layer, with maxZoom set."""
    html = map_html(make_map(grids=grids, basemap="http://tiles.intranet/{z}/{x}/{y}.png"))
    assert "http://tiles.intranet/{z}/{x}/{y}.png" in html


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=60))
def test_risk_classes_are_monotone(values: list[float]) -> None:
    """Higher risk never gets a lower class; zero risk is class 0 and only zero risk."""
    arr = np.array(values)
    classes, _ = risk_classes(arr)
    assert ((classes == 0) == (arr <= 0)).all()
    order = np.argsort(arr, kind="stable")
    assert (np.diff(classes[order]) >= 0).all()


def test_gcj02_basemap_shifts_mainland_only() -> None:
    """On AMap tiles a Guangzhou cell moves by the GCJ-02 offset (~100-700 m); a Hong Kong cell stays."""
    from tests.maps.conftest import lattice_grids

    gz = lattice_grids(1, x0=113.26, y0=23.13, step=0.002)
    hk = lattice_grids(1, x0=114.17, y0=22.30, step=0.002)
    for frame, moved in ((gz, True), (hk, False)):
        plain = _layer_data(map_html(make_map(grids=frame)), "PG.grids(")
        shifted = _layer_data(map_html(make_map(grids=frame, basemap="amap")), "PG.grids(")
        a = np.array(plain["features"][0]["geometry"]["coordinates"][0])
        b = np.array(shifted["features"][0]["geometry"]["coordinates"][0])
        offset_m = np.abs(b - a).max() * 111_000
        if moved:
            assert 100 < offset_m < 700
        else:
            assert offset_m == 0


def test_names_are_data_not_code(grids: gpd.GeoDataFrame) -> None:
    """Names with template or script syntax reach the page as data, unchanged and inert."""
    grids = grids.copy()
    grids.loc[1, "name"] = "{{ 7 * 7 }} </script><b>x"
    html = map_html(make_map(grids=grids))
    assert "</script><b>x" not in html
    data = _layer_data(html, "PG.grids(")
    assert data["features"][0]["properties"]["name"] == "{{ 7 * 7 }} </script><b>x"


def test_incidents_are_aggregated_not_dropped(
    grids: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame, plan: dict[str, Any]
) -> None:
    """Heat cells and hour bins each add up to every incident; hours are in the plan's local zone."""
    html = map_html(make_map(grids=grids, incidents=incidents, plan=plan))
    heat = _layer_data(html, "L.heatLayer")
    assert sum(h[2] for h in heat) == len(incidents)
    data = _layer_data(html, "PG.byTime")
    bins = data["hour"]
    assert sum(b[3] for b in bins) == len(incidents)
    assert sum(b[3] for b in data["day"]) == len(incidents)
    local = pd.DatetimeIndex(incidents["occurred_at"]).tz_convert("America/New_York").hour
    expected = np.bincount(local, minlength=24)
    got = np.zeros(24, dtype=int)
    for b in bins:
        got[b[2]] += b[3]
    assert (got == expected).all()
    weekday = pd.DatetimeIndex(incidents["occurred_at"]).tz_convert("America/New_York").day_of_week
    per_day = np.zeros(7, dtype=int)
    for b in data["day"]:
        per_day[b[2]] += b[3]
    assert (per_day == np.bincount(weekday, minlength=7)).all()
    marks = _layer_data(html, "PG.clusters")
    assert len(marks) == len(incidents)
    assert "description" not in html


def test_unit_key_view_and_offset_numbers(grids: gpd.GeoDataFrame, plan: dict[str, Any]) -> None:
    """The map has a key of unit colours, opens on the plan's area (not the whole grid set),
    and a stop at a place another route's stop already has is offset so both numbers show."""
    first = plan["routes"][0]["steps"][1]
    second = plan["routes"][1]["steps"][1]
    second["lon"], second["lat"] = first["lon"], first["lat"]  # two routes meet here
    fmap = make_map(grids=grids, plan=plan)
    html = map_html(fmap)
    routes = _layer_data(html, "PG.routes")
    assert routes[0]["stops"][0][8] == 0
    assert routes[1]["stops"][0][8] == 1
    key = [f"{r['unit']} ({r['kind']})" for r in routes]
    assert all(json.dumps(k) in html or k in html for k in key)
    view = re.findall(r"fitBounds\(\s*(\[\[[-\d., \[\]\n]*?\]\])", html)[-1]
    (lo_lat, lo_lon), (hi_lat, hi_lon) = json.loads(view)
    points = [p for r in routes for p in r["line"]] + [s[:2] for r in routes for s in r["stops"]]
    assert lo_lat == pytest.approx(min(p[0] for p in points))
    assert hi_lon == pytest.approx(max(p[1] for p in points))
    minx, miny, maxx, maxy = grids.total_bounds
    assert (hi_lat - lo_lat) * (hi_lon - lo_lon) <= (maxy - miny) * (maxx - minx) + 1e-12


def test_every_incident_of_the_drawn_area_is_shown(grids: gpd.GeoDataFrame) -> None:
    """Incidents outside the grids do not crowd out local ones: 300 local incidents next to
    30,000 newer ones elsewhere all get a marker; above the marker cap every local incident is
    still counted in the cluster markers."""
    from tests.maps.conftest import incidents_in

    local = incidents_in(grids, 300, seed=2)
    far = incidents_in(grids, 30_000, seed=3)
    far["geometry"] = far.geometry.translate(1.0, 1.0)  # a degree away, and newer
    far["occurred_at"] = far["occurred_at"] + pd.Timedelta(days=3650)
    both = gpd.GeoDataFrame(pd.concat([local, far], ignore_index=True), crs=4326)
    marks = _layer_data(map_html(make_map(grids=grids, incidents=both)), "PG.clusters")
    assert len(marks) == 300
    assert {m[2].split(" · ")[0] for m in marks} == set(local["incident_id"])
    many = incidents_in(grids, 21_000, seed=4)
    marks = _layer_data(map_html(make_map(grids=grids, incidents=many)), "PG.clusters")
    assert len(marks) < 21_000
    assert sum(m[3] for m in marks) == 21_000
