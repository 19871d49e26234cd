"""``patrolgrid plan``: plan a shift for the units of a units file, write plan.json, map and GPX."""

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
from api.planning import check_depots, plan_shift, write_outputs
from geo.categories import load_categories
from geo.hierarchy import leaf_grids
from geo.network import Network, load_network
from maps.coords import output_crs
from planner.errors import PlannerError
from planner.solve import DEFAULT_BACKEND, backends
from planner.stops import category_skills
from planner.units_file import UnitsFile, load_units

__all__ = ["plan"]


@app.command()
def plan(
    grids: Annotated[
        Path, typer.Option("--grids", help="Grids file (any level; GeoJSON, GeoPackage...).")
    ],
    incidents: Annotated[
        Path,
        typer.Option("--incidents", help="Incidents file (canonical CSV, Philadelphia export...)."),
    ],
    network: Annotated[
        Path, typer.Option("--network", help="OpenStreetMap file (.osm, .osm.pbf).")
    ],
    units: Annotated[
        Path, typer.Option("--units", help="Units file (YAML): timezone, shift, units.")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for plan.json, map.html, report.html and routes/<unit_id>.gpx.",
        ),
    ],
    time_limit: Annotated[float, typer.Option(help="Solver time limit, seconds.")] = 10.0,
    seed: Annotated[int, typer.Option(help="Solver seed (same seed, same plan).")] = 0,
    max_stops: Annotated[
        int | None, typer.Option(help="Candidate stops: the hottest grids.")
    ] = None,
    incidents_crs: IncidentsCrsOption = "EPSG:4326",
    grids_crs: GridsCrsOption = None,
    columns: ColumnsOption = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="IANA zone of incident times written without an offset; default: the units "
            "file's timezone.",
        ),
    ] = None,
    categories: CategoriesOption = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache folder for the parsed network.")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Exit 2 when a checkpoint cannot be met (default: warn, exit 0).")
    ] = False,
    backend: Annotated[
        str,
        typer.Option(
            help=f"Solver backend: {', '.join(backends())} (default: the benchmark's best)."
        ),
    ] = DEFAULT_BACKEND,
    risk: Annotated[
        str,
        typer.Option(
            help="Stop prizes from: forecast (the shift forecast raised by warnings, flare-ups "
            "and Gi* hot spots, with a why), risk (recency-decayed risk) or counts (naive)."
        ),
    ] = "forecast",
    lang: Annotated[
        str, typer.Option(help="Language of the map, the report and each stop's why: en or zh.")
    ] = "en",
    crs: Annotated[
        str,
        typer.Option(
            "--crs",
            help="Coordinates of the GPX files under routes/: wgs84 (default), gcj02 (Amap, "
            "Tencent) or bd09 (Baidu) for Chinese handheld map apps (plan.json stays WGS84).",
        ),
    ] = "wgs84",
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Plan each district (or street, community) with its own units on a Dask "
            "cluster; outputs go to one folder per area under --out.",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:8786) for --by; default: a local cluster."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Workers of the local cluster for --by (default: cores).")
    ] = None,
) -> None:
    """Plan patrols for one shift: the right presence in the right grids at the right hours."""
    with cli_errors():
        if backend not in backends():
            msg = f"--backend: {backend!r} is not one of {', '.join(backends())}"
            raise PlannerError(msg)
        crs = output_crs(crs)
        if by is None and (scheduler is not None or workers is not None):
            msg = "--scheduler and --workers plan areas in parallel: add --by district"
            raise PlannerError(msg)
        unit_file = load_units(units)
        grid_frame = read_grids_file(grids, grids_crs)
        frame, _ = read_incidents(
            incidents,
            columns=columns,
            timezone=timezone or unit_file.timezone,
            categories=categories,
            crs=incidents_crs,
        )
        # A category table's optional ``skill`` column makes a grid's stop need that skill.
        table = None if categories is None else load_categories(categories)
        area = leaf_grids(grid_frame).union_all()
        net = load_network(network, polygon=area, cache_dir=cache_dir)
        check_depots(unit_file, net, source=str(units))
        if by is not None:
            _plan_by_area(
                grid_frame, frame, net, unit_file, out, by=by, scheduler=scheduler,
                workers=workers, time_limit=time_limit, seed=seed, max_stops=max_stops,
                backend=backend, skills=None if table is None else category_skills(table.table),
                risk=risk, lang=lang, crs=crs,
            )  # fmt: skip
            return
        with console.status("planning"):
            run = plan_shift(
                grid_frame,
                frame,
                net,
                unit_file,
                time_limit_s=time_limit,
                seed=seed,
                max_stops=max_stops,
                backend=backend,
                category_skills=None if table is None else category_skills(table.table),
                risk_source=risk,
                lang=lang,
            )
        files = write_outputs(run, grid_frame, out, network=net, lang=lang, crs=crs)
    s = run.document["summary"]
    console.print(
        f"{s['routes']} routes, {s['visits']} visits, {s['unassigned']} stops unassigned; "
        f"risk covered {s['risk_covered']:.1f} of {s['risk_total']:.1f} ({s['risk_covered_pct']:.0f}%), "
        f"{s['distance_m'] / 1000:.1f} km; wrote {len(files)} files to {out}",
        highlight=False,
    )
    if s.get("police_only_grids"):
        console.print(
            f"{len(s['police_only_grids'])} grids have risk from police-only categories: "
            "police kinds serve their risk stops; their presence doses stay open to every unit",
            highlight=False,
        )
    for u in s.get("idle_units", []):
        console.print(f"unit {u['unit_id']} does not patrol: {u['reason']}", highlight=False)
    for w in s.get("warnings", []):
        console.print(f"warning: {w}", highlight=False)
    missed = [c["name"] for c in s.get("checkpoints", []) if not c.get("met")]
    if missed and strict:
        console.print(f"--strict: checkpoints not met: {', '.join(missed)}", highlight=False)
        raise typer.Exit(2)


def _plan_by_area(
    grids: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    net: Network,
    units: UnitsFile,
    out: Path,
    *,
    by: str,
    scheduler: str | None,
    workers: int | None,
    time_limit: float,
    seed: int,
    max_stops: int | None,
    backend: str,
    skills: dict[str, str] | None,
    risk: str,
    lang: str,
    crs: str,
) -> None:
    from api.district_plans import plan_by_area, write_area_outputs

    with console.status(f"planning each {by}"):
        plans = plan_by_area(
            grids, incidents, net, units, by=by, scheduler=scheduler, n_workers=workers,
            time_limit_s=time_limit, seed=seed, max_stops=max_stops, backend=backend,
            category_skills=skills, risk_source=risk, lang=lang,
        )  # fmt: skip
    folders = write_area_outputs(plans, grids, out, network=net, lang=lang, crs=crs)
    for area_id, run in plans.runs.items():
        s = run.document["summary"]
        console.print(
            f"{by} {area_id}: {s['routes']} routes, {s['visits']} visits, "
            f"risk covered {s['risk_covered_pct']:.0f}%; wrote {folders[area_id]}",
            highlight=False,
        )
    for area_id in plans.idle_areas:
        console.print(f"{by} {area_id}: no units, not planned", highlight=False)
    for unit_id in plans.homeless_units:
        console.print(f"unit {unit_id} is in no {by}: not planned", highlight=False)
    console.print(
        f"{len(plans.runs)} plans solved on {plans.workers} Dask workers in {plans.wall_s:.1f} s",
        highlight=False,
    )
