"""``patrolgrid grids build``: a city's own polygon files, one per level, into one hierarchy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.commands._app import cli_errors, console, err_console, fail
from api.commands.grids import grids_app, write_grids
from geo.levels import SLIVER_M2, build_hierarchy, extract_area, read_level

__all__ = ["build", "parse_level"]


def parse_level(spec: str) -> tuple[str, Path, str, str | None]:
    """``NAME=FILE:ID_COLUMN[:NAME_COLUMN]`` to its parts (a Windows drive letter is kept).

    >>> parse_level("beat=data/beats.geojson:beat_num:name")
    ('beat', PosixPath('data/beats.geojson'), 'beat_num', 'name')
    """
    name, sep, rest = spec.partition("=")
    parts = rest.rsplit(":", 2)
    # FILE may itself hold a colon (C:\\...): take the id/name columns from the right.
    if len(parts) == 3 and not Path(parts[0]).suffix and Path(":".join(parts[:2])).suffix:
        parts = [":".join(parts[:2]), parts[2]]
    if not sep or not name.strip() or len(parts) < 2 or not all(p.strip() for p in parts):
        msg = (
            f"--level {spec!r}: expected NAME=FILE:ID_COLUMN or NAME=FILE:ID_COLUMN:NAME_COLUMN, "
            "e.g. beat=beats.geojson:beat_num"
        )
        raise fail(msg)
    file_part, id_column = parts[0], parts[1]
    name_column = parts[2] if len(parts) == 3 else None
    return name.strip(), Path(file_part.strip()), id_column.strip(), name_column


@grids_app.command("build")
def build(
    level: Annotated[
        list[str],
        typer.Option(
            "--level",
            help="NAME=FILE:ID_COLUMN[:NAME_COLUMN], repeated, top level first; NAME is the "
            "city's own (area, beat, 街道...) or district/street/community/grid.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .geojson, .gpkg or .parquet.")],
    cells: Annotated[
        float | None,
        typer.Option(
            "--cells", help="Add generated cells of this size (metres) under the lowest level."
        ),
    ] = None,
    shape: Annotated[str, typer.Option("--shape", help="Cells: square, hex or h3.")] = "square",
    resolution: Annotated[
        int, typer.Option("--resolution", help="H3 resolution (--shape h3).")
    ] = 9,
    network: Annotated[
        Path | None,
        typer.Option(
            "--network",
            help="OSM extract (.osm, .osm.pbf): keep only the area it covers (its <bounds>).",
        ),
    ] = None,
    crs: Annotated[
        str | None,
        typer.Option("--crs", help="Declared CRS of every level file: EPSG code, gcj02, bd09."),
    ] = None,
    sliver_m2: Annotated[
        float,
        typer.Option(
            "--sliver-m2", help="Pieces and cells smaller than this merge into a neighbour."
        ),
    ] = SLIVER_M2,
) -> None:
    """Nest the city's own polygon files into one grids file that passes 'grids check'.

    Rows sharing an id become one unit; a unit cut by a parent border becomes pieces ID@PARENT
    (a units file naming ID still means every piece); slivers merge into a neighbour.
    """
    specs = [parse_level(spec) for spec in level]
    with cli_errors():
        area = None if network is None else extract_area(network)
        levels = [
            read_level(name, path, id_column=id_column, name_column=name_column, crs=crs)
            for name, path, id_column, name_column in specs
        ]
        grids = build_hierarchy(
            levels,
            area=area,
            cell_m=cells,
            shape=shape,
            h3_resolution=resolution,
            sliver_m2=sliver_m2,
        )
        write_grids(grids, out)
    for note in grids.attrs.get("notes", []):
        err_console.print(f"note: {note}", highlight=False, soft_wrap=True)
    counts = grids.groupby("level_name", sort=False).size()
    listed = ", ".join(f"{n} {name}" for name, n in counts.items())
    console.print(f"{out}: {len(grids)} grids ({listed})", highlight=False, soft_wrap=True)
