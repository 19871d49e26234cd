"""``patrolgrid map``: the supervisor's offline map (and optionally the plan report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from api.commands._app import app, cli_errors, console
from api.commands._inputs import (
    CategoriesOption,
    ColumnsOption,
    GridsCrsOption,
    IncidentsCrsOption,
    read_grids_file,
    read_incidents,
)
from maps.errors import MapsError
from maps.folium_map import make_map, save_map
from maps.planfile import read_plan
from maps.report import save_report

__all__ = ["map_command"]


def _read_risk(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype={"grid_id": str})
    if "grid_id" not in frame.columns:
        msg = f"risk table {path}: no grid_id column; write it with patrolgrid hotspots"
        raise MapsError(msg)
    frame["grid_id"] = frame["grid_id"].astype(str)
    return frame


@app.command("map")
def map_command(
    grids: Annotated[Path, typer.Option("--grids", help="Grids file (all levels).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "map.html"
    ),
    plan: Annotated[
        Path | None, typer.Option("--plan", help="Plan JSON: routes, stops and depots.")
    ] = None,
    risk: Annotated[
        Path | None, typer.Option("--risk", help="Risk table CSV/Parquet (patrolgrid hotspots).")
    ] = None,
    incidents: Annotated[
        Path | None, typer.Option("--incidents", help="Incidents file (heat map, clusters).")
    ] = None,
    osm: Annotated[
        Path | None,
        typer.Option("--osm", help="OSM extract: draw its streets as the base map (no tiles)."),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Labels: en or zh.")] = "en",
    basemap: Annotated[
        str,
        typer.Option(
            "--basemap",
            help="none (streets from --osm), osm, amap, tencent, or an intranet XYZ URL "
            "template (append #gcj02 for GCJ-02 tiles).",
        ),
    ] = "none",
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="Zone of the incident hour/day slider, e.g. Asia/Shanghai; default: the plan's.",
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the plan report HTML here.")
    ] = None,
    columns: ColumnsOption = None,
    categories: CategoriesOption = None,
    incidents_crs: IncidentsCrsOption = "EPSG:4326",
    grids_crs: GridsCrsOption = None,
) -> None:
    """Write a self-contained map page that opens with no internet (Leaflet inlined)."""
    with cli_errors():
        grid_frame = read_grids_file(grids, grids_crs)
        kwargs: dict[str, Any] = {
            "grids": grid_frame,
            "lang": lang,
            "basemap": basemap,
            "timezone": timezone,
        }
        plan_dict = read_plan(plan) if plan is not None else None
        kwargs["plan"] = plan_dict
        if risk is not None:
            kwargs["risk"] = _read_risk(risk)
        if incidents is not None:
            zone = timezone or (plan_dict or {}).get("summary", {}).get("timezone")
            kwargs["incidents"], _ = read_incidents(
                incidents,
                columns=columns,
                timezone=zone,
                categories=categories,
                crs=incidents_crs,
            )
        if osm is not None:
            from geo.network import load_network

            net = load_network(osm, polygon=grid_frame)
            kwargs["streets"] = net.edges("drive")
        written = save_map(make_map(**kwargs), out)
        if report is not None:
            if plan_dict is None:
                msg = "--report needs --plan"
                raise MapsError(msg)
            save_report(plan_dict, report, lang=lang)
    size_mb = written.stat().st_size / 1e6
    console.print(f"wrote {written} ({size_mb:.1f} MB, offline)", highlight=False)
    if report is not None:
        console.print(f"wrote {report}", highlight=False)
