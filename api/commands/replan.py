"""``patrolgrid replan``: re-plan the rest of a shift from events (unit out, new incident...)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.commands._app import app, cli_errors, console, fail
from api.shift import read_plan_folder, replan_shift, write_replan_outputs
from planner.shift_file import load_shift

__all__ = ["replan"]


@app.command()
def replan(
    plan: Annotated[
        Path, typer.Option("--plan", help="Folder written by `patrolgrid plan` (or replan).")
    ],
    events: Annotated[
        Path, typer.Option("--events", help='JSON file: {"events": [...]} (see docs/shift.md).')
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the new plan.json, shift.npz, map, GPX.")
    ],
    time_limit: Annotated[float, typer.Option(help="Solver time limit, seconds.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Solver seed.")] = 0,
    network: Annotated[
        Path | None,
        typer.Option(
            "--network",
            help="OpenStreetMap file the plan was made on: changed routes follow its streets "
            "(default: straight lines between places).",
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache folder for the parsed network.")
    ] = None,
    all_units: Annotated[
        bool,
        typer.Option(
            "--all-units", help="Re-plan every unit (default: only the units events concern)."
        ),
    ] = False,
    strict: Annotated[
        bool, typer.Option(help="Exit 2 when a checkpoint cannot be met (default: warn, exit 0).")
    ] = False,
) -> None:
    """Re-plan from events: keep everything before them, change as few routes as possible."""
    with cli_errors():
        document = read_plan_folder(plan)
        state = load_shift(plan)
        try:
            doc = json.loads(events.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise fail(f"{events}: not valid JSON ({exc})") from None
        geometry = None
        if network is not None:
            from geo.network import load_network

            area = state.grids().union_all()
            geometry = load_network(network, polygon=area, cache_dir=cache_dir).path
        done = replan_shift(
            state,
            document,
            doc,
            source=str(events),
            path_geometry=geometry,
            time_limit_s=time_limit,
            seed=seed,
            scope="all" if all_units else "minimal",
        )
        # handhelds keep the coordinates the plan's GPX were written in (plan --crs)
        crs = str(document.get("routes_crs") or "wgs84")
        files = write_replan_outputs(done.document, done.result.state, out, crs=crs)
    s = done.document["summary"]
    changed = ", ".join(s["changed_routes"]) or "none"
    console.print(
        f"version {s['version']} from {s['replanned_at']}: routes changed: {changed}; "
        f"{s['visits']} visits, {s['unassigned']} unassigned; solve_s {s['solve_s']:.2f}; "
        f"wrote {len(files)} files to {out}",
        highlight=False,
    )
    for w in s.get("warnings", []):
        console.print(f"warning: {w}", highlight=False)
    missed = [c["name"] for c in s.get("checkpoints", []) if not c.get("met")]
    if missed and strict:
        console.print(f"--strict: checkpoints not met: {', '.join(missed)}", highlight=False)
        raise typer.Exit(2)
