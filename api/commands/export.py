"""``patrolgrid export``: a plan's routes as GPX, KML, GeoJSON, CSV or Shapefile per unit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.commands._app import app, cli_errors, console
from maps.export import FORMATS, export_plan
from maps.planfile import read_plan
from maps.privacy import AUDIENCES

__all__ = ["export"]


@app.command()
def export(
    plan: Annotated[Path, typer.Option("--plan", help="Plan JSON written by patrolgrid plan.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for one file set per unit.")],
    audience: Annotated[
        str | None,
        typer.Option(
            "--audience",
            help=f"Who receives the files ({', '.join(AUDIENCES)}); default: by each unit's "
            "kind. Only police exports of police routes carry incident summaries.",
        ),
    ] = None,
    simplify_m: Annotated[
        float, typer.Option("--simplify-m", help="Track simplification tolerance in metres.")
    ] = 0.0,
    unit: Annotated[
        list[str] | None, typer.Option("--unit", help="Only this unit (repeatable).")
    ] = None,
    crs: Annotated[
        str,
        typer.Option(
            "--crs",
            help="Coordinates of the files: wgs84 (default), gcj02 (Amap, Tencent) or bd09 "
            "(Baidu) for Chinese handheld map apps.",
        ),
    ] = "wgs84",
) -> None:
    """Write each unit's route for handhelds (GPX/KML), GIS (GeoJSON/Shapefile) or sheets (CSV)."""
    with cli_errors():
        written = export_plan(
            read_plan(plan),
            fmt=fmt,
            out_dir=out,
            audience=audience,
            simplify_m=simplify_m,
            units=unit or None,
            crs=crs,
        )
    table = Table("unit", "audience", "files", "bytes")
    for item in written:
        table.add_row(item.unit_id, item.audience, str(len(item.files)), str(item.size_bytes))
    console.print(table)
    console.print(f"wrote {len(written)} unit(s) as {fmt} to {out}", highlight=False)
