"""The shift in motion, orchestrated for the CLI and the API: shift files, re-plans, outputs.

``patrolgrid plan`` keeps ``shift.npz`` (:mod:`planner.shift_file`) beside plan.json;
:func:`replan_shift` reads events, re-plans with :func:`planner.shift_replan.apply_events` and
writes the next plan document. Nothing is computed here that the libraries compute.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from geo.hierarchy import leaf_grids
from maps.coords import output_crs
from maps.folium_map import make_map, save_map
from maps.gpx import plan_to_gpx
from maps.report import save_report
from planner.errors import PlannerError
from planner.events import parse_events
from planner.model import Plan, Problem
from planner.plan_json import PathGeometry
from planner.shift_file import ShiftState, save_shift
from planner.shift_replan import ReplanResult, apply_events, replan_to_json

__all__ = [
    "Replanned",
    "dosage_document",
    "replan_shift",
    "shift_state",
    "write_dosage_outputs",
    "write_replan_outputs",
]


def shift_state(
    problem: Problem, plan: Plan, grids: gpd.GeoDataFrame, *, network: str | None = None
) -> ShiftState:
    """The shift file's state of a fresh plan (version 0), with the leaf grids of ``grids``."""
    leaves = leaf_grids(grids).to_crs(4326)
    return ShiftState(
        problem=problem,
        plan=plan,
        grid_ids=tuple(leaves["grid_id"].astype(str)),
        grid_wkb=tuple(bytes(b) for b in shapely.to_wkb(leaves.geometry.to_numpy())),
        network=network,
    )


@dataclass(frozen=True)
class Replanned:
    """A re-plan: the library's result and the new plan document."""

    result: ReplanResult
    document: dict[str, Any]


def replan_shift(
    state: ShiftState,
    old_document: dict[str, Any],
    events_doc: Any,
    *,
    source: str = "events",
    time_limit_s: float = 2.0,
    seed: int = 0,
    scope: str = "minimal",
    path_geometry: PathGeometry | None = None,
) -> Replanned:
    """Check the events, re-plan, and write the new document (see :mod:`planner.shift_replan`)."""
    events = parse_events(
        events_doc, state.problem, source=source, not_before_s=state.replanned_at_s
    )
    result = apply_events(state, events, time_limit_s=time_limit_s, seed=seed, scope=scope)
    document = replan_to_json(old_document, result, path_geometry=path_geometry)
    return Replanned(result, document)


def read_plan_folder(folder: Path) -> dict[str, Any]:
    """plan.json of a plan folder."""
    path = folder / "plan.json"
    if not path.is_file():
        msg = f"{folder}: no plan.json; pass a folder written by `patrolgrid plan`"
        raise PlannerError(msg)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        msg = f"{path}: not valid JSON ({exc})"
        raise PlannerError(msg) from None
    if not isinstance(doc, dict):
        msg = f"{path}: expected a plan document"
        raise PlannerError(msg)
    return doc


def write_replan_outputs(
    document: dict[str, Any],
    state: ShiftState,
    out_dir: Path,
    *,
    lang: str = "en",
    crs: str = "wgs84",
) -> dict[str, Path]:
    """plan.json, shift.npz, map.html, report.html and ``routes/<unit_id>.gpx`` of a re-plan.

    The GPX files are in ``crs`` (as ``patrolgrid plan --crs`` wrote the plan's: the
    handhelds keep their map app's coordinates); plan.json records it as ``routes_crs``.
    """
    crs = output_crs(crs)
    document["routes_crs"] = crs
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {"plan": out_dir / "plan.json"}
    files["plan"].write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    files["shift"] = save_shift(state, out_dir / "shift.npz")
    grids = state.grids()
    fmap = make_map(
        grids=grids if len(grids) else None,
        plan=document,
        lang=lang,
        timezone=state.problem.timezone,
    )
    files["map"] = save_map(fmap, out_dir / "map.html")
    files["report"] = save_report(document, out_dir / "report.html", lang=lang)
    (out_dir / "routes").mkdir(exist_ok=True)
    for route in document["routes"]:
        path = out_dir / "routes" / f"{route['unit_id']}.gpx"
        path.write_text(plan_to_gpx(document, route["unit_id"], crs=crs), encoding="utf-8")
        files[f"gpx:{route['unit_id']}"] = path
    return files


def dosage_document(
    plan: dict[str, Any],
    tracks: Any,
    grids: Any,
    *,
    checkins: list[dict[str, Any]] | tuple[()] = (),
    radius_m: float = 50.0,
) -> tuple[Any, dict[str, Any]]:
    """Clean the tracks, measure dosage; the cleaned fixes and the dosage document."""
    from geo.tracks import clean_tracks
    from planner.dosage import dosage

    clean, reports = clean_tracks(tracks)
    known = {str(r["unit_id"]) for r in plan.get("routes", [])}
    stray = sorted(set(clean["unit_id"]) - known)
    clean = clean.loc[clean["unit_id"].isin(known)]
    result = dosage(plan, clean, grids, checkins=checkins, reports=reports, radius_m=radius_m)
    summary = plan.get("summary", {})
    planned = sum(u["planned_s"] for u in result.units)
    delivered = sum(u["delivered_s"] for u in result.units)
    doc = {
        "summary": {
            "shift_start": summary.get("shift_start"),
            "shift_end": summary.get("shift_end"),
            "version": summary.get("version", 0),
            "units": len(result.units),
            "planned_s": round(planned, 1),
            "delivered_s": round(delivered, 1),
            "delivered_share": round(delivered / planned, 4) if planned else None,
            "visits_planned": sum(u["visits_planned"] for u in result.units),
            "visits_delivered": sum(u["visits_delivered"] for u in result.units),
            "checkpoints": len(result.checkpoints),
            "checkpoints_checked_in": sum(1 for c in result.checkpoints if c["checked_in"]),
            "tracks_of_unknown_units": stray,
        },
        "units": result.units,
        "checkpoints": result.checkpoints,
        "grids": result.by_grid().to_dict(orient="records"),
    }
    return (clean, result), doc


def write_dosage_outputs(
    plan: dict[str, Any], result: Any, doc: dict[str, Any], clean: Any, grids: Any, out_dir: Path
) -> dict[str, Path]:
    """dosage.csv, dosage.json, dosage.html (report) and dosage_map.html under ``out_dir``."""
    from maps.dosage import dosage_map, save_dosage_report

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"csv": out_dir / "dosage.csv", "json": out_dir / "dosage.json"}
    result.table.to_csv(files["csv"], index=False)
    files["json"].write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    files["report"] = save_dosage_report(doc, out_dir / "dosage.html")
    files["map"] = save_map(dosage_map(grids, doc, plan, tracks=clean), out_dir / "dosage_map.html")
    return files
