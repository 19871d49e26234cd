"""``patrolgrid dosage``: GPS tracks against the plan: delivered presence per unit and grid."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.commands._app import app, cli_errors, console
from api.shift import dosage_document, read_plan_folder, write_dosage_outputs
from geo.tracks import read_tracks
from planner.shift_file import load_shift

__all__ = ["dosage"]


@app.command()
def dosage(
    plan: Annotated[
        Path, typer.Option("--plan", help="Folder written by `patrolgrid plan` (or replan).")
    ],
    tracks: Annotated[
        Path,
        typer.Option(
            "--tracks", help="Folder of <unit_id>.gpx (GPX 1.1) or a CSV of unit_id, at, lon, lat."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Folder for dosage.csv, dosage.json, dosage.html, dosage_map.html."
        ),
    ],
    radius_m: Annotated[
        float, typer.Option(help="Check-in radius around a checkpoint, metres.")
    ] = 50.0,
) -> None:
    """Planned against delivered presence per unit, grid and hour; missed visits, check-ins."""
    with cli_errors():
        document = read_plan_folder(plan)
        state = load_shift(plan)
        frame = read_tracks(tracks, timezone=state.problem.timezone)
        grids = state.grids()
        (clean, result), doc = dosage_document(document, frame, grids, radius_m=radius_m)
        files = write_dosage_outputs(document, result, doc, clean, grids, out)
    s = doc["summary"]
    share = "n/a" if s["delivered_share"] is None else f"{100 * s['delivered_share']:.0f}%"
    console.print(
        f"{s['units']} units: delivered {s['delivered_s'] / 60:.0f} of {s['planned_s'] / 60:.0f} "
        f"planned minutes ({share}); visits {s['visits_delivered']}/{s['visits_planned']}; "
        f"checkpoints {s['checkpoints_checked_in']}/{s['checkpoints']}; wrote {len(files)} files "
        f"to {out}",
        highlight=False,
    )
