"""Options and loaders shared by every command that reads grids or incidents.

Each command declares the options with the ``Annotated`` aliases below (so ``--columns``,
``--timezone``, ``--categories``, ``--incidents-crs`` and ``--grids-crs`` read the same on
``join``, ``hotspots``, ``forecast``, ``plan`` and ``map``) and loads through
:func:`read_incidents` / :func:`read_grids_file`, which print what a supervisor must know:
rows rejected, unknown categories with their counts, local times in a daylight-saving gap or
repeat, and coordinates in mainland China declared WGS84 (most Chinese data is GCJ-02).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import geopandas as gpd
import numpy as np
import pandas as pd
import typer

from api.commands._app import err_console
from geo.crs import in_mainland_china, normalize_crs
from geo.errors import IncidentError
from geo.incidents import IncidentLoad, column_mapping, load_incidents

__all__ = [
    "CategoriesOption",
    "ColumnsOption",
    "GridsCrsOption",
    "IncidentsCrsOption",
    "TimezoneOption",
    "parse_incident_columns",
    "read_grids_file",
    "read_incidents",
]

ColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="The export's own column names: FIELD=COLUMN pairs, e.g. "
        "'incident_id=case_number,occurred_at=date,category=primary_type,lon=longitude,"
        "lat=latitude', or a YAML file mapping FIELD: COLUMN.",
    ),
]
TimezoneOption = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        help="IANA zone of times written without an offset (local wall time), e.g. "
        "America/Chicago or Asia/Shanghai; daylight-saving gaps and repeats are reported.",
    ),
]
CategoriesOption = Annotated[
    str | None,
    typer.Option(
        "--categories",
        help="Category table: YAML (category: {severity, group, police_only}) or CSV, or a "
        "shipped table: philadelphia_ucr, chicago_iucr, nibrs, china_police. Default: all.",
    ),
]
IncidentsCrsOption = Annotated[
    str,
    typer.Option(
        "--incidents-crs",
        help="CRS of the incident coordinates: EPSG code (e.g. EPSG:32618 for UTM metres), "
        "gcj02 or bd09.",
    ),
]
GridsCrsOption = Annotated[
    str | None,
    typer.Option(
        "--grids-crs",
        help="Declared CRS of the grids file when it does not say or says wrong: EPSG code, "
        "gcj02 or bd09.",
    ),
]


def parse_incident_columns(value: str | None) -> dict[str, str] | None:
    """``--columns``: FIELD=COLUMN pairs or a YAML file (see :func:`geo.incidents.column_mapping`)."""
    return column_mapping(value)


def _files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.csv"))
            if not found:
                msg = f"{path}: folder holds no .csv incident files"
                raise IncidentError(msg)
            files.extend(found)
        else:
            files.append(path)
    return files


def read_incidents(
    paths: Path | list[Path],
    *,
    columns: str | None = None,
    timezone: str | None = None,
    categories: str | None = None,
    crs: str = "EPSG:4326",
    quiet: bool = False,
) -> tuple[gpd.GeoDataFrame, list[IncidentLoad]]:
    """Load incident files (a folder stands for its ``*.csv`` files) with the shared options.

    Returns the incidents of every file in one frame (EPSG:4326) and each file's
    :class:`~geo.incidents.IncidentLoad`; prints on stderr per file the summary and the unknown
    categories (unless ``quiet``), and the China / GCJ-02 reminder.
    """
    mapping = parse_incident_columns(columns)
    table = None
    if categories:
        from geo.categories import load_categories

        table = load_categories(categories)
    loads = [
        load_incidents(path, columns=mapping, timezone=timezone, categories=table, crs=crs)
        for path in _files(paths if isinstance(paths, list) else [paths])
    ]
    for load in loads:
        if len(load.incidents) == 0:
            reasons = load.rejects["reason"].astype(str).str.replace(r"\s*'.*", "", regex=True)
            top = "; ".join(f"{r} ({n} rows)" for r, n in reasons.value_counts().head(3).items())
            msg = (
                f"incidents file {load.source}: no usable row ({len(load.rejects)} rejected: "
                f"{top or 'the file is empty'}); check --columns, --timezone and --incidents-crs"
            )
            raise IncidentError(msg)
    frame = gpd.GeoDataFrame(
        pd.concat([load.incidents for load in loads], ignore_index=True),
        geometry="geometry",
        crs="EPSG:4326",
    )
    if not quiet:
        for load in loads:
            err_console.print(f"{load.source}: {load.summary()}", highlight=False, soft_wrap=True)
            if load.unknown_counts:
                err_console.print(f"  {load.unknown_report()}", highlight=False, soft_wrap=True)
    _china_reminder(frame, crs, "incidents", "--incidents-crs")
    return frame, loads


def read_grids_file(path: Path, crs: str | None = None) -> gpd.GeoDataFrame:
    """Load a grids file (declared ``crs`` when given) and remind about GCJ-02 in China."""
    from geo.errors import CRSError
    from geo.grids import load_grids

    try:
        grids = load_grids(path, crs=crs)
    except CRSError as exc:  # name this command's flag
        raise CRSError(str(exc).replace("--crs", "--grids-crs")) from None
    _china_reminder(grids, crs or "EPSG:4326", f"grids file {path}", "--grids-crs")
    return grids


def _china_reminder(frame: gpd.GeoDataFrame, crs: object, what: str, flag: str) -> None:
    """Warn when WGS84-declared coordinates lie in mainland China (GCJ-02 is the norm there)."""
    if len(frame) == 0:
        return
    parsed = normalize_crs(crs)
    if isinstance(parsed, str) or parsed.to_epsg() != 4326:
        return  # declared gcj02 / bd09 / projected: the user said what it is
    points = frame.geometry.representative_point()
    inside = in_mainland_china(points.x.to_numpy(), points.y.to_numpy())
    if float(np.mean(inside)) >= 0.5:
        err_console.print(
            f"[yellow]warning:[/] {what}: coordinates in mainland China read as WGS84; most "
            "Chinese map data and police systems use GCJ-02 (Amap, Tencent) or BD-09 (Baidu), "
            f"~300-700 m off. If yours does, declare {flag} gcj02 (or bd09).",
            highlight=False,
            soft_wrap=True,
        )
