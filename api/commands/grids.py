"""``patrolgrid grids``: work with grid files (``check``; other modules add ``import``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import pandas as pd
import typer
from rich.table import Table

from api.commands._app import app, cli_errors, console, fail
from geo.errors import GridError
from geo.gridgen import make_grid, make_h3_grid
from geo.grids import load_grids
from geo.hierarchy import LEVELS, leaf_grids
from geo.validate import GridReport, check_file

__all__ = ["EXIT_FINDINGS", "grids_app", "parse_columns", "write_grids"]

#: Exit code of ``grids check`` when it finds errors (2 stays "bad input").
EXIT_FINDINGS = 1

grids_app = typer.Typer(help="Check and import grid files.", no_args_is_help=True)
app.add_typer(grids_app, name="grids")

GridFile = Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile or GeoParquet.")]
CrsOption = Annotated[
    str | None,
    typer.Option("--crs", help="Declared CRS of the coordinates: EPSG code, 'gcj02' or 'bd09'."),
]
LayerOption = Annotated[str | None, typer.Option("--layer", help="Layer of a multi-layer file.")]
ColumnOption = Annotated[
    list[str] | None,
    typer.Option(
        "--column",
        help="Map a file column to a contract column, e.g. --column DIST_NUM=grid_id (repeatable).",
    ),
]
LandmarksOption = Annotated[
    Path | None,
    typer.Option(
        "--landmarks",
        help="CSV of WGS84 points with the grid each lies in (lon, lat, grid_id) to settle the CRS.",
    ),
]
MinAreaOption = Annotated[
    float, typer.Option("--min-area", help="Ignore overlaps and gaps up to this many m2.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def parse_columns(pairs: list[str] | None) -> dict[str, str] | None:
    """``["SRC=grid_id", ...]`` to ``{"SRC": "grid_id"}``; None when there are none."""
    if not pairs:
        return None
    mapping = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise fail(
                f"--column {pair!r}: expected FILE_COLUMN=CONTRACT_COLUMN, e.g. DIST_NUM=grid_id"
            )
        mapping[source.strip()] = target.strip()
    return mapping


def _landmarks(path: Path | None) -> pd.DataFrame | None:
    if path is None:
        return None
    frame = pd.read_csv(path, dtype={"grid_id": str})
    missing = {"lon", "lat", "grid_id"} - set(frame.columns)
    if missing:
        raise fail(
            f"{path}: landmarks need the columns lon, lat, grid_id (missing {sorted(missing)})"
        )
    return frame


def _cell(value: object, fmt: str = "") -> str:
    """A finding's value as table text: empty for any missing value (None, NaN, NA)."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):  # type: ignore[call-overload]
        return ""
    if fmt:
        try:
            return format(float(value), fmt)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _table(report: GridReport) -> Table:
    table = Table(title=f"{report.source}: {report.n_grids} grids", show_lines=False)
    for column in ("severity", "check", "grid", "other", "area m2", "lon", "lat"):
        right = column in {"area m2", "lon", "lat"}
        whole = {"severity": 8, "check": 12}.get(column)  # never folded: the finding's name
        table.add_column(
            column,
            justify="right" if right else "left",
            overflow="fold",
            no_wrap=whole is not None,
            min_width=whole,
        )
    table.add_column("detail", min_width=36, overflow="fold")
    for row in report.issues.itertuples(index=False):
        colour = "red" if row.severity == "error" else "yellow"
        table.add_row(
            f"[{colour}]{_cell(row.severity)}[/]",
            _cell(row.check),
            _cell(row.grid_id),
            _cell(row.other_id),
            _cell(row.area_m2, ",.1f"),
            _cell(row.lon, ".6f"),
            _cell(row.lat, ".6f"),
            _cell(row.detail),
        )
    return table


@grids_app.command("check")
def check(
    path: GridFile,
    crs: CrsOption = None,
    layer: LayerOption = None,
    column: ColumnOption = None,
    landmarks: LandmarksOption = None,
    min_area: MinAreaOption = 1.0,
    as_json: JsonOption = False,
) -> None:
    """Check a grids file: invalid polygons, duplicate ids, overlaps, gaps, empty rows, CRS.

    Exits 1 when an error is found, 2 when the file cannot be read.
    """
    with cli_errors():
        report = check_file(
            path,
            layer=layer,
            crs=crs,
            columns=parse_columns(column),
            landmarks=_landmarks(landmarks),
            min_area_m2=min_area,
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        levels = ", ".join(f"{n} {level}" for level, n in report.levels.items())
        if len(report.issues):
            console.print(_table(report))
        console.print(
            f"{report.source}: {report.n_grids} grids ({levels}); "
            f"{report.errors} errors, {report.warnings} warnings",
            highlight=False,
            soft_wrap=True,
        )
    if not report.ok:
        raise typer.Exit(EXIT_FINDINGS)


def write_grids(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Write a grids frame as GeoParquet (``.parquet``), GeoPackage (``.gpkg``) or GeoJSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".geoparquet"}:
        frame.to_parquet(path)
    elif suffix == ".gpkg":
        frame.to_file(path, driver="GPKG", layer="grids")
    elif suffix in {".geojson", ".json"}:
        frame.to_file(path, driver="GeoJSON")
    else:
        raise fail(f"{path}: write .geojson, .gpkg or .parquet")


@grids_app.command("make")
def make(
    path: GridFile,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .geojson, .gpkg or .parquet.")],
    cell_m: Annotated[float, typer.Option("--cell-m", help="Cell size in metres.")] = 250.0,
    shape: Annotated[str, typer.Option("--shape", help="square, hex or h3.")] = "square",
    resolution: Annotated[
        int, typer.Option("--resolution", help="H3 resolution (--shape h3).")
    ] = 9,
    households_per_cell: Annotated[
        float | None,
        typer.Option(
            "--households-per-cell", help="Size cells to hold about this many households."
        ),
    ] = None,
    area_level: Annotated[
        str, typer.Option("--area-level", help="Level given to the area rows in the output.")
    ] = "community",
    crs: CrsOption = None,
    layer: LayerOption = None,
    column: ColumnOption = None,
) -> None:
    """Generate cells inside every leaf area of a file and write areas + cells as one hierarchy."""
    with cli_errors():
        if area_level not in LEVELS[:-1]:
            msg = f"--area-level must be one of {', '.join(LEVELS[:-1])}, not {area_level!r}"
            raise GridError(msg)
        areas = load_grids(path, layer=layer, crs=crs, columns=parse_columns(column))
        if set(areas["level"]) == {"grid"}:
            areas = areas.assign(level=area_level)
        leaves = leaf_grids(areas)
        if shape == "h3":
            cells = make_h3_grid(leaves, resolution=resolution)
        elif shape in {"square", "hex"}:
            cells = make_grid(
                leaves,
                cell_m=cell_m,
                shape=shape,  # type: ignore[arg-type]
                households_per_cell=households_per_cell,
            )
        else:
            msg = f"--shape must be square, hex or h3, not {shape!r}"
            raise GridError(msg)
        grids = gpd.GeoDataFrame(
            pd.concat([areas, cells], ignore_index=True), geometry="geometry", crs=areas.crs
        )
        write_grids(grids, out)
    console.print(
        f"{out}: {len(areas)} areas, {len(cells)} cells ({shape})", highlight=False, soft_wrap=True
    )
