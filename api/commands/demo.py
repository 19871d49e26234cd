"""``patrolgrid demo``: the whole job on the shared North Philadelphia data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.commands._app import app, cli_errors, console, fail

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's files.")] = Path(
        "out"
    ),
    data: Annotated[
        Path, typer.Option(help="The shared data folder (with philadelphia/ inside).")
    ] = DEFAULT_DATA,
    time_limit: Annotated[float, typer.Option(help="Solver time limit, seconds.")] = 10.0,
    seed: Annotated[int, typer.Option(help="Solver seed (same seed, same plan).")] = 0,
    cell_m: Annotated[float, typer.Option(help="Grid cell size, metres.")] = 250.0,
    lang: Annotated[
        str, typer.Option(help="Language of the map and of each visit's why: en or zh.")
    ] = "en",
) -> None:
    """Run the whole pipeline on North Philadelphia: grids, join, risk, plan, map, GPX."""
    from api.demo import FILES, DemoConfig, run_demo

    for key, rel in FILES.items():
        if not (data / rel).is_file():
            raise fail(f"demo input {key} not found: {data / rel} (set --data)")
    config = DemoConfig(
        data_dir=data,
        out_dir=out,
        time_limit_s=time_limit,
        seed=seed,
        cell_m=cell_m,
        lang=lang,
        cache_dir=out / ".cache",
    )
    with cli_errors(), console.status("starting") as status:
        result = run_demo(config, progress=lambda stage: status.update(f"[bold]{stage}[/] ..."))

    timings = Table(title="stages", show_edge=False)
    timings.add_column("stage")
    timings.add_column("seconds", justify="right")
    for stage, seconds in result.timings_s.items():
        timings.add_row(stage, f"{seconds:.1f}")
    console.print(timings)

    plan = result.plan
    summary = Table(title="plan", show_edge=False)
    for column in ("unit", "kind", "mode", "stops", "km", "hours", "risk covered"):
        summary.add_column(
            column, justify="left" if column in {"unit", "kind", "mode"} else "right"
        )
    for route in plan["routes"]:
        visits = [s for s in route["steps"] if s["type"] == "visit"]
        summary.add_row(
            route["unit_id"],
            route["kind"],
            route["mode"],
            str(len(visits)),
            f"{route['distance_m'] / 1000:.1f}",
            f"{route['duration_s'] / 3600:.1f}",
            f"{route.get('risk_covered', 0.0):.1f}",
        )
    s = plan["summary"]
    summary.add_row(
        "all",
        "",
        "",
        str(s["visits"]),
        f"{s['distance_m'] / 1000:.1f}",
        f"{s['duration_s'] / 3600:.1f}",
        f"{s['risk_covered']:.1f} of {s['risk_total']:.1f} ({s['risk_covered_pct']:.0f}%)",
    )
    console.print(summary)
    c = result.counts
    console.print(
        f"{c['grids']} grids ({c['leaf_grids']} cells); {c['incidents_in_area']} incidents in the "
        f"area of {c['incidents_read']} read ({c['incidents_rejected']} rejected, see rejects.csv); "
        f"{c['stops']} candidate stops, {s['unassigned']} unassigned"
    )
    console.print(f"wrote {out}/: " + ", ".join(sorted({p.name for p in result.files.values()})))
    console.print(f"open the map: {(out / 'map.html').resolve().as_uri()}")
