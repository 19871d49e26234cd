"""Delivered against planned presence: a report page and a map layer for supervisors.

Both read the dosage document (``dosage.json``, written by ``patrolgrid dosage`` and served by
``GET /plans/{id}/dosage``)::

    {"summary": {...}, "units": [{unit_id, planned_s, delivered_s, visits_planned,
     visits_delivered, missed, track?}], "grids": [{grid_id, planned_s, delivered_s}],
     "checkpoints": [{stop_id, name, unit_id, planned_at, checked_in, at, by}]}

The map layer colours each grid with planned or delivered presence by delivered / planned
(red: under half; orange: under 85%; green: at least 85%; blue: presence never planned there),
draws the tracks, and marks missed visits and checkpoints.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import shapely

from .errors import MapsError
from .folium_map import make_map

__all__ = [
    "add_dosage_layers",
    "dosage_color",
    "dosage_map",
    "render_dosage_report",
    "save_dosage_report",
]


def dosage_color(planned_s: float, delivered_s: float) -> str:
    """Colour of a grid by delivered / planned.

    >>> dosage_color(600, 600), dosage_color(600, 100), dosage_color(0, 300)
    ('#27ae60', '#c0392b', '#2980b9')
    """
    if planned_s <= 0:
        return "#2980b9"
    share = delivered_s / planned_s
    if share < 0.5:
        return "#c0392b"
    if share < 0.85:
        return "#e67e22"
    return "#27ae60"


def _minutes(seconds: Any) -> str:
    return f"{float(seconds or 0) / 60:.0f}"


def add_dosage_layers(
    fmap: folium.Map,
    grids: gpd.GeoDataFrame,
    dosage: dict[str, Any],
    plan: dict[str, Any],
    *,
    tracks: pd.DataFrame | None = None,
) -> folium.Map:
    """Add the dosage layers (grids by delivered/planned, tracks, missed visits, checkpoints)."""
    if "grids" not in dosage or "units" not in dosage:
        msg = "dosage document lacks 'grids' or 'units'; write it with `patrolgrid dosage`"
        raise MapsError(msg)
    geometry = grids.to_crs(4326).set_index(grids["grid_id"].astype(str).to_numpy())["geometry"]
    layer = folium.FeatureGroup(name="delivered / planned", show=True)
    for row in dosage["grids"]:
        gid = str(row["grid_id"])
        if gid not in geometry.index:
            continue
        color = dosage_color(float(row["planned_s"]), float(row["delivered_s"]))
        tip = (
            f"{escape(gid)}: planned {_minutes(row['planned_s'])} min, "
            f"delivered {_minutes(row['delivered_s'])} min"
        )
        folium.GeoJson(
            shapely.geometry.mapping(geometry[gid]),
            style_function=lambda _f, c=color: {
                "color": c,
                "fillColor": c,
                "weight": 1,
                "fillOpacity": 0.45,
            },
            tooltip=tip,
        ).add_to(layer)
    layer.add_to(fmap)
    if tracks is not None and len(tracks):
        tl = folium.FeatureGroup(name="tracks", show=True)
        for unit, fixes in tracks.groupby("unit_id", sort=True):
            step = max(1, len(fixes) // 2000)
            pts = fixes.iloc[::step][["lat", "lon"]].to_numpy().round(6).tolist()
            if len(pts) >= 2:
                folium.PolyLine(
                    pts, color="#34495e", weight=2, opacity=0.7, tooltip=str(unit)
                ).add_to(tl)
        tl.add_to(fmap)
    missed = {(u["unit_id"], m) for u in dosage["units"] for m in u.get("missed", [])}
    ml = folium.FeatureGroup(name="missed visits", show=True)
    for route in plan.get("routes", []):
        for step in route.get("steps", []):
            if (route["unit_id"], step.get("stop_id")) in missed:
                folium.CircleMarker(
                    [float(step["lat"]), float(step["lon"])],
                    radius=7,
                    color="#c0392b",
                    fill=True,
                    tooltip=f"missed: {escape(str(route['unit_id']))} at {escape(str(step.get('stop_id')))}",
                ).add_to(ml)
    ml.add_to(fmap)
    places = {
        (str(r["unit_id"]), str(s.get("stop_id"))): (float(s["lat"]), float(s["lon"]))
        for r in plan.get("routes", [])
        for s in r.get("steps", [])
    }
    cl = folium.FeatureGroup(name="checkpoints", show=True)
    for cp in dosage.get("checkpoints", []):
        where = places.get((str(cp["unit_id"]), str(cp["stop_id"])))
        if where is None:
            continue
        ok = bool(cp.get("checked_in"))
        folium.CircleMarker(
            list(where),
            radius=10,
            weight=4,
            color="#27ae60" if ok else "#c0392b",
            fill=True,
            tooltip=f"{escape(str(cp['name']))}: {'checked in ' + str(cp.get('at')) if ok else 'not checked in'}",
        ).add_to(cl)
    cl.add_to(fmap)
    return fmap


def dosage_map(
    grids: gpd.GeoDataFrame,
    dosage: dict[str, Any],
    plan: dict[str, Any],
    *,
    tracks: pd.DataFrame | None = None,
    lang: str = "en",
) -> folium.Map:
    """The plan's map (:func:`maps.folium_map.make_map`) with the dosage layers on top."""
    fmap = make_map(grids=grids, plan=plan, lang=lang)
    add_dosage_layers(fmap, grids, dosage, plan, tracks=tracks)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap


def _table(head: list[str], rows: list[list[str]]) -> str:
    h = "".join(f"<th>{escape(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def render_dosage_report(dosage: dict[str, Any]) -> str:
    """One offline HTML page: per unit, per grid, missed visits and checkpoints."""
    units = dosage.get("units", [])
    unit_rows = []
    for u in units:
        share = (u["delivered_s"] / u["planned_s"]) if u.get("planned_s") else 0.0
        unit_rows.append(
            [
                escape(str(u["unit_id"])),
                _minutes(u["planned_s"]),
                _minutes(u["delivered_s"]),
                f"{100 * share:.0f}%",
                f"{u['visits_delivered']} / {u['visits_planned']}",
                escape(", ".join(u.get("missed", []))) or "-",
            ]
        )
    grid_rows = [
        [
            f'<span style="color:{dosage_color(float(g["planned_s"]), float(g["delivered_s"]))}">&#9632;</span> '
            + escape(str(g["grid_id"])),
            _minutes(g["planned_s"]),
            _minutes(g["delivered_s"]),
        ]
        for g in dosage.get("grids", [])
    ]
    cp_rows = [
        [
            escape(str(c["name"])),
            escape(str(c["unit_id"])),
            escape(str(c.get("planned_at") or "")),
            "yes" if c.get("checked_in") else "<b>no</b>",
            escape(str(c.get("at") or "")),
            escape(str(c.get("by") or "")),
        ]
        for c in dosage.get("checkpoints", [])
    ]
    summary = dosage.get("summary", {})
    title = "Delivered against planned presence"
    parts = [
        f"<h1>{title}</h1>",
        f"<p>{escape(str(summary.get('shift_start', '')))} to {escape(str(summary.get('shift_end', '')))}"
        f"; plan version {escape(str(summary.get('version', 0)))}</p>",
        "<h2>Per unit (minutes)</h2>",
        _table(["unit", "planned", "delivered", "share", "visits", "missed"], unit_rows),
        "<h2>Checkpoints</h2>",
        _table(["checkpoint", "unit", "planned", "checked in", "at", "by"], cp_rows)
        if cp_rows
        else "<p>No checkpoints in this plan.</p>",
        "<h2>Per grid (minutes)</h2>",
        _table(["grid", "planned", "delivered"], grid_rows),
    ]
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:60em}"
        "table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )


def save_dosage_report(dosage: dict[str, Any], path: str | Path) -> Path:
    """Write :func:`render_dosage_report` to ``path``."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_dosage_report(dosage), encoding="utf-8")
    return out
