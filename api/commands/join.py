"""``patrolgrid join``: every incident of a file to its leaf grid and ancestors, as CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from api.commands._app import app, cli_errors, console, fail
from api.commands._inputs import (
    CategoriesOption,
    ColumnsOption,
    GridsCrsOption,
    IncidentsCrsOption,
    TimezoneOption,
    read_grids_file,
    read_incidents,
)
from geo.join import JOIN_COLUMNS, join_incidents, join_summary

__all__ = ["join"]


@app.command()
def join(
    grids: Annotated[
        Path,
        typer.Option("--grids", help="Grids file (GeoJSON, GeoPackage, Shapefile, GeoParquet)."),
    ],
    incidents: Annotated[
        Path,
        typer.Option(
            "--incidents", help="Incidents file (canonical CSV, Philadelphia export, GeoJSON...)."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="CSV to write: incident_id, grid_id and ancestor ids."),
    ],
    incidents_crs: IncidentsCrsOption = "EPSG:4326",
    grids_crs: GridsCrsOption = None,
    columns: ColumnsOption = None,
    timezone: TimezoneOption = None,
    categories: CategoriesOption = None,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="CSV for the rows left out, with the reason.")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Dask scheduler address (tcp://host:8786): join GeoParquet incidents (a file or "
            "folder of parts) on that cluster and write GeoParquet parts to --out (a folder). "
            "Needs the [scale] extra.",
        ),
    ] = None,
) -> None:
    """Join incidents to grids: one output row per input row, grid_id empty outside every grid."""
    if scheduler is not None:
        _join_on_cluster(grids, grids_crs, incidents, out, scheduler)
        return
    with cli_errors():
        grid_frame = read_grids_file(grids, grids_crs)
        _, (load,) = read_incidents(
            incidents,
            columns=columns,
            timezone=timezone,
            categories=categories,
            crs=incidents_crs,
            quiet=True,
        )
        joined = join_incidents(load.incidents, grid_frame)
        table = _with_city_level_names(_every_row(joined, load.rejects), grid_frame)
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
        if rejects is not None:
            rejects.parent.mkdir(parents=True, exist_ok=True)
            load.rejects.to_csv(rejects, index=False)
    summary = join_summary(joined)
    console.print(f"{load.summary()}; {summary}; wrote {out}", highlight=False)
    if load.unknown_counts:
        console.print(load.unknown_report(), highlight=False, soft_wrap=True)
    if len(load.rejects) and rejects is None:
        console.print(
            "rejected rows not written: pass --rejects FILE to keep them", highlight=False
        )


def _join_on_cluster(
    grids: Path, grids_crs: str | None, incidents: Path, out: Path, scheduler: str
) -> None:
    """Partitioned GeoParquet in, partitioned GeoParquet out, on an existing Dask cluster."""
    with cli_errors():
        if incidents.suffix.lower() not in (".parquet", ".geoparquet") and not incidents.is_dir():
            raise fail(
                f"{incidents}: --scheduler joins GeoParquet (a .parquet file or a folder of parts)"
            )
        if not incidents.exists():
            raise FileNotFoundError(2, "no such file or folder", str(incidents))
        from geo.join_dask import join_geoparquet

        grid_frame = read_grids_file(grids, grids_crs)
        try:
            summary = join_geoparquet(incidents, grid_frame, out=out, scheduler=scheduler)
        except OSError as exc:
            if type(exc) is not OSError:  # a file's error: reported as such
                raise
            raise fail(f"scheduler {scheduler}: {exc}") from None
    console.print(f"{summary}; wrote {out}/ (GeoParquet parts)", highlight=False)


def _with_city_level_names(table: pd.DataFrame, grids: pd.DataFrame) -> pd.DataFrame:
    """Also name each ancestor column by the city's own level (``beat_id`` beside
    ``community_id``, holding the beat's own id) when the grids carry ``level_name``
    (``patrolgrid grids build``)."""
    if "level_name" not in grids:
        return table
    from geo.hierarchy import ANCESTOR_COLUMNS

    # the unit's own id (beat 1412), not the piece a parent border cut (1412@14)
    source = (
        dict(zip(grids["grid_id"], grids["source_id"], strict=True)) if "source_id" in grids else {}
    )
    names = grids.dropna(subset=["level_name"]).drop_duplicates("level")
    for level, city in zip(names["level"], names["level_name"], strict=True):
        column = ANCESTOR_COLUMNS.get(str(level), "grid_id")  # the leaf level: grid_id
        alias = f"{city}_id"
        if column in table and alias not in table and str(city).isidentifier():
            table[alias] = table[column].map(lambda v: None if v is None else source.get(v, v))
    return table


def _every_row(joined: pd.DataFrame, rejected: pd.DataFrame) -> pd.DataFrame:
    """Joined rows and rejected rows together, in the input file's order."""
    total = len(joined) + len(rejected)
    kept_rows = np.setdiff1d(np.arange(1, total + 1), rejected["row"].to_numpy())
    ok = pd.DataFrame(
        {"row": kept_rows, "incident_id": joined["incident_id"].to_numpy(dtype=object)}
    )
    for column in JOIN_COLUMNS:
        ok[column] = joined[column].to_numpy(dtype=object)
    bad = pd.DataFrame(
        {
            "row": rejected["row"].to_numpy(),
            "incident_id": rejected["incident_id"].to_numpy(dtype=object),
        }
    )
    for column in JOIN_COLUMNS:
        bad[column] = None
    frames = [f for f in (ok, bad) if len(f)]
    table = pd.concat(frames, ignore_index=True) if frames else ok
    return table.sort_values("row", kind="stable").drop(columns="row").reset_index(drop=True)
