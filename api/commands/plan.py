"""``patrolgrid plan``: plan a shift for the units of a units file, write plan.json, map and GPX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.commands._app import app, cli_errors, console
from api.planning import plan_shift, write_outputs
from geo.grids import load_grids
from geo.hierarchy import leaf_grids
from geo.incidents import load_incidents
from geo.network import load_network
from planner.units_file import load_units

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
    incidents_crs: Annotated[
        str, typer.Option(help="CRS of the incident coordinates.")
    ] = "EPSG:4326",
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache folder for the parsed network.")
    ] = None,
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
) -> None:
    """Plan patrols for one shift: the right presence in the right grids at the right hours."""
    with cli_errors():
        unit_file = load_units(units)
        grid_frame = load_grids(grids)
        load = load_incidents(incidents, crs=incidents_crs, timezone=unit_file.timezone)
        area = leaf_grids(grid_frame).union_all()
        net = load_network(network, polygon=area, cache_dir=cache_dir)
        with console.status("planning"):
            run = plan_shift(
                grid_frame,
                load.incidents,
                net,
                unit_file,
                time_limit_s=time_limit,
                seed=seed,
                max_stops=max_stops,
                risk_source=risk,
                lang=lang,
            )
        files = write_outputs(run, grid_frame, out, network=net, lang=lang)
    s = run.document["summary"]
    console.print(
        f"{s['routes']} routes, {s['visits']} visits, {s['unassigned']} stops unassigned; "
        f"risk covered {s['risk_covered']:.1f} of {s['risk_total']:.1f} ({s['risk_covered_pct']:.0f}%), "
        f"{s['distance_m'] / 1000:.1f} km; wrote {len(files)} files to {out}",
        highlight=False,
    )
