"""``patrolgrid hotspots``: risk per grid (and every level), Gi*, trend warnings, flare-ups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import geopandas as gpd
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
from geo.profiles import PROFILE_COLUMNS

__all__ = ["hotspots"]

#: Columns of the leaf table also written into the GeoJSON (the 168 profile columns stay in CSV).
GEOJSON_COLUMNS = (
    "grid_id",
    "level",
    "parent_id",
    "count",
    "count_7d",
    "count_28d",
    "count_90d",
    "count_365d",
    "risk",
    "risk_per_km2",
    "count_per_household",
    "gi_z",
    "gi_p",
    "kde",
    "trend",
    "warning",
    "flareup",
    "why",
)


@app.command()
def hotspots(
    grids: Annotated[Path, typer.Option("--grids", help="Grids file (all levels).")],
    incidents: Annotated[
        list[Path],
        typer.Option("--incidents", help="Incidents file or folder of CSVs (repeatable)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write into.")],
    now: Annotated[
        str | None,
        typer.Option(help="Moment of the table (ISO 8601); default: the latest incident."),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="City time zone: of the weekday-hour profile and of incident times written "
            "without an offset, e.g. America/New_York (default UTC, reported when used)."
        ),
    ] = None,
    columns: ColumnsOption = None,
    categories: CategoriesOption = None,
    incidents_crs: IncidentsCrsOption = "EPSG:4326",
    grids_crs: GridsCrsOption = None,
    half_life_days: Annotated[float, typer.Option(help="Half-life of the recency decay.")] = 30.0,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Only this category (repeatable).")
    ] = None,
    recent_days: Annotated[float, typer.Option(help="Recent period of the trend test.")] = 28.0,
    alpha: Annotated[float, typer.Option(help="False-discovery rate of the warnings.")] = 0.05,
    near_repeat_category: Annotated[
        list[str] | None,
        typer.Option(
            "--near-repeat-category",
            help="Categories for near-repeat flare-ups (repeatable); default: names containing "
            "'burglary'.",
        ),
    ] = None,
    near_repeat_m: Annotated[float, typer.Option(help="Near-repeat distance, metres.")] = 200.0,
    near_repeat_days: Annotated[float, typer.Option(help="Near-repeat time, days.")] = 7.0,
) -> None:
    """Write hotspots.csv (every leaf), hotspots_levels.csv (every level), hotspots.geojson
    and flareups.csv into OUT."""
    with cli_errors():
        from geo.hierarchy import leaf_grids
        from geo.hotspot_report import hotspot_report
        from geo.join import join_incidents

        grid_frame = read_grids_file(grids, grids_crs)
        frame, _ = read_incidents(
            incidents,
            columns=columns,
            timezone=timezone,
            categories=categories,
            crs=incidents_crs,
        )
        joined = join_incidents(frame, grid_frame)
        report = hotspot_report(
            joined,
            grid_frame,
            now=now,
            timezone=timezone or "UTC",
            half_life_days=half_life_days,
            recent_days=recent_days,
            alpha=alpha,
            categories=category,
            near_repeat_categories=near_repeat_category,
            near_repeat_m=near_repeat_m,
            near_repeat_days=near_repeat_days,
        )
        table, levels, flareups, moment = (
            report.table,
            report.levels,
            report.flareups,
            report.now,
        )
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "hotspots.csv", index=False)
        levels.to_csv(out / "hotspots_levels.csv", index=False)
        flareups.to_csv(out / "flareups.csv", index=False)
        leaves = leaf_grids(grid_frame)[["grid_id", "geometry"]]
        columns = [c for c in GEOJSON_COLUMNS if c in table.columns]
        shapes = leaves.merge(table[columns], on="grid_id", how="left")
        shapes = gpd.GeoDataFrame(shapes, geometry="geometry", crs=grid_frame.crs)
        shapes.to_crs("EPSG:4326").to_file(out / "hotspots.geojson", driver="GeoJSON")
    warned = int(table["warning"].sum())
    active = int(flareups["active"].sum()) if len(flareups) else 0
    console.print(
        f"{len(table)} grids, {int(table['count'].sum())} incidents counted "
        f"({table.attrs.get('incidents_outside', 0)} outside every grid) at {moment.isoformat()}; "
        f"{warned} trend warnings; {len(flareups)} near-repeat flare-ups ({active} active); "
        f"profile columns {PROFILE_COLUMNS[0]}..{PROFILE_COLUMNS[-1]}; wrote {out}",
        highlight=False,
    )
