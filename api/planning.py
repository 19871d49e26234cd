"""Planning a shift end to end: the orchestration shared by ``patrolgrid plan`` and the API.

Grids, incidents, a street network and a units file in; the plan document, its evaluation and
the files (plan.json, map.html, one GPX per unit) out. Every step calls the libraries; nothing is
re-implemented here. The risk used for the shift comes from the incidents before its start only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.hotspots import risk_table
from geo.join import join_incidents
from geo.network import Network
from maps.folium_map import make_map, save_map
from maps.gpx import plan_to_gpx
from maps.report import save_report
from planner.errors import PlannerError
from planner.evaluate import Evaluation, evaluate
from planner.model import Plan, Problem, Stop
from planner.plan_json import plan_to_json
from planner.problem import allowed_leaves, build_problem
from planner.solve import DEFAULT_BACKEND, solve
from planner.stops import grid_skills, incident_centres, stop_table
from planner.units_file import UnitsFile

__all__ = [
    "PlanRun",
    "check_depots",
    "finish_run",
    "incident_records",
    "plan_shift",
    "shift_problem",
    "write_outputs",
]

#: Incidents attached to each police visit step (most recent first).
INCIDENTS_PER_STEP = 5
#: Base risk of every grid, as a share of the mean hourly risk of grids with incidents
#: (presence has value where few incidents are recorded).
BASE_SHARE = 0.25
#: Presence doses at one grid are at least this far apart (and from its other visits).
PRESENCE_GAP_S = 3600


@dataclass(frozen=True)
class PlanRun:
    """Everything one planning run produced."""

    problem: Problem
    plan: Plan
    evaluation: Evaluation
    document: dict[str, Any]
    risk: pd.DataFrame
    stops: pd.DataFrame
    incidents: gpd.GeoDataFrame


def check_depots(units: UnitsFile, network: Network, *, source: str = "units file") -> list[str]:
    """Each depot's distance to the nearest street of its unit's mode, one line per depot.

    Raises
    ------
    PlannerError
        A depot farther than the network's snap limit from every street of its mode, naming
        the unit, the distance and, when reading the pair the other way round lands on a
        street, that lon and lat look swapped.
    """
    lines = []
    seen: set[tuple[str, str, tuple[float, float]]] = set()
    for unit in units.units:
        for label, point in (("depot", unit.depot), ("end_depot", unit.end_depot)):
            if point is None or (label, unit.mode, point) in seen:
                continue
            seen.add((label, unit.mode, point))
            lon, lat = point
            snap = network.snap([lon], [lat], unit.mode)  # type: ignore[arg-type]
            distance = float(snap.distance_m[0])
            if bool(snap.far[0]):
                hint = ""
                if abs(lat) <= 180 and abs(lon) <= 90:
                    other = network.snap([lat], [lon], unit.mode)  # type: ignore[arg-type]
                    if not bool(other.far[0]):
                        hint = f"; lon and lat look swapped: write [{lat}, {lon}] (lon first)"
                msg = (
                    f"{source}: unit {unit.unit_id!r}: {label} [{lon}, {lat}] is "
                    f"{distance:,.0f} m from the nearest {unit.mode} street of the network "
                    f"(at most {snap.max_snap_m:g} m){hint}"
                )
                raise PlannerError(msg)
            lines.append(f"{unit.unit_id}: {label} {distance:.0f} m from a {unit.mode} street")
    return lines


def incident_records(
    joined: pd.DataFrame, *, per_grid: int = INCIDENTS_PER_STEP, timezone: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The most recent incidents per leaf grid, for police visit steps (never for volunteers).

    ``occurred_at`` is written in ``timezone`` (the plan's) with its offset, like every other
    time a police view shows; None keeps UTC.
    """
    inside = joined.loc[joined["grid_id"].notna()].sort_values("occurred_at", ascending=False)
    out: dict[str, list[dict[str, Any]]] = {}
    for gid, rows in inside.groupby("grid_id", sort=False):
        out[str(gid)] = [
            {
                "incident_id": str(r.incident_id),
                "category": str(r.category),
                "occurred_at": _local(r.occurred_at, timezone),
                "description": str(getattr(r, "description", "") or ""),
            }
            for r in rows.head(per_grid).itertuples()
        ]
    return out


def _local(value: object, timezone: str | None) -> str:
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    if timezone is not None and stamp.tzinfo is not None:
        stamp = stamp.tz_convert(timezone)
    return stamp.isoformat()


def plan_shift(
    grids: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    network: Network,
    units: UnitsFile,
    *,
    time_limit_s: float = 10.0,
    seed: int = 0,
    max_stops: int | None = None,
    backend: str = DEFAULT_BACKEND,
    risk: pd.DataFrame | None = None,
    category_skills: dict[str, str] | None = None,
) -> PlanRun:
    """Plan one shift: risk before it, stops, problem, solve, check, plan document.

    Parameters
    ----------
    grids
        Grids (all levels).
    incidents
        Incidents, joined to ``grids`` or not (joined here when ``grid_id`` is missing).
    network
        The street network (``geo.network.load_network``).
    units
        Parsed units file.
    time_limit_s, seed, backend
        Solver settings.
    max_stops
        Candidate stops (the hottest grids); the units file's ``max_stops`` or 200 when None.
    risk
        The risk table at the shift start, when the caller has it already
        (``geo.hotspots.risk_table`` of the incidents before the shift); computed when None.
    category_skills
        Category -> skill needed (:func:`planner.stops.category_skills` of a category table).

    Raises
    ------
    PlannerError
        When the plan fails its independent evaluation (a solver bug, never the user's input).
    """
    problem, stops, before, risk = shift_problem(
        grids,
        incidents,
        network,
        units,
        max_stops=max_stops,
        risk=risk,
        category_skills=category_skills,
    )
    plan = solve(problem, time_limit_s=time_limit_s, seed=seed, backend=backend)
    return finish_run(problem, plan, network, units, stops=stops, before=before, risk=risk)


def finish_run(
    problem: Problem,
    plan: Plan,
    network: Network,
    units: UnitsFile,
    *,
    stops: pd.DataFrame,
    before: pd.DataFrame,
    risk: pd.DataFrame,
) -> PlanRun:
    """Check a solved plan independently and build its plan document (the end of a run).

    ``stops``, ``before`` and ``risk`` are what :func:`shift_problem` returned with ``problem``.

    Raises
    ------
    PlannerError
        When the plan fails its independent evaluation (a solver bug, never the user's input).
    """
    evaluation = evaluate(problem, plan)
    if not evaluation.ok:
        msg = "the plan failed its independent evaluation: " + "; ".join(evaluation.violations[:5])
        raise PlannerError(msg)
    document = plan_to_json(
        problem,
        plan,
        path_geometry=network.path,
        incidents=incident_records(before, timezone=units.timezone),
        evaluation=evaluation,
    )
    _report_unplaced(document, stops, problem, units)
    return PlanRun(problem, plan, evaluation, document, risk, stops, before)


def shift_problem(
    grids: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    network: Network,
    units: UnitsFile,
    *,
    max_stops: int | None = None,
    risk: pd.DataFrame | None = None,
    category_skills: dict[str, str] | None = None,
) -> tuple[Problem, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The shift's planning problem: risk before it, stops (with presence doses), problem.

    Every grid has at least the base risk (:data:`BASE_SHARE`); every leaf grid of a unit
    restricted to an area is kept whatever ``max_stops`` says, so a volunteer in a community
    with few recorded incidents still patrols it; each kept grid also gets presence doses
    (:data:`PRESENCE_GAP_S` apart) that fill the units' free time. ``category_skills``
    (category -> skill, :func:`planner.stops.category_skills`) makes the stop of a grid with
    incidents of such a category need the skill.

    Returns
    -------
    problem, stops, incidents_before, risk
    """
    joined = incidents if "grid_id" in incidents.columns else join_incidents(incidents, grids)
    before = joined.loc[joined["occurred_at"] < units.shift_start]
    if risk is None:
        risk = risk_table(before, grids, now=units.shift_start, timezone=units.timezone)
    keep: set[str] = set()
    for u in units.units:
        if u.grids:
            keep |= allowed_leaves(grids, u.grids)
    stops = stop_table(
        risk,
        shift_start=units.shift_start,
        shift_end=units.shift_end,
        timezone=units.timezone,
        max_stops=max_stops or units.max_stops or 200,
        dwell_s=units.dwell_s,
        base_share=BASE_SHARE,
        keep=keep,
        presence_gap_s=PRESENCE_GAP_S,
    )
    if stops.empty:
        msg = (
            f"no grid has any risk before the shift start {units.shift_start}: "
            "check the incidents' dates and the shift in the units file"
        )
        raise PlannerError(msg)
    stops = stops.merge(incident_centres(before), on="grid_id", how="left")
    if category_skills:
        needs = grid_skills(before, category_skills)
        stops["skills"] = [sorted(needs.get(str(g), ())) for g in stops["grid_id"]]
    problem = build_problem(units, stops, grids=grids, network=network)
    return problem, stops, before, risk


def _report_unplaced(
    document: dict[str, Any], stops: pd.DataFrame, problem: Problem, units: UnitsFile
) -> None:
    """List stops that found no street as unassigned, and count their risk in the total."""
    placed = {stop.grid_id for stop in problem.stops}
    mode = "drive" if any(u.mode == "drive" for u in units.units) else units.units[0].mode
    missed = stops.loc[~stops["grid_id"].astype(str).isin(placed) & ~stops["presence"]]
    for gid in missed["grid_id"].astype(str).drop_duplicates():
        reason = f"no street open to {mode} traffic in or next to the grid"
        document["unassigned"].append({"stop_id": gid, "grid_id": gid, "reason": reason})
    summary = document["summary"]
    summary["unassigned"] = sum(1 for u in document["unassigned"] if u.get("stop_id") is not None)
    if len(missed):
        lost = sum(
            Stop(
                str(r.stop_id), str(r.grid_id), 0, prize=float(r.prize), visits=int(r.visits)
            ).total_prize
            for r in missed.itertuples(index=False)
        )
        total = float(summary["risk_total"]) + lost
        summary["risk_total"] = round(total, 6)
        covered = float(summary["risk_covered"])
        summary["risk_covered_pct"] = round(100.0 * covered / total, 3) if total > 0 else 0.0


def write_outputs(
    run: PlanRun,
    grids: gpd.GeoDataFrame,
    out_dir: Path,
    *,
    network: Network | None = None,
    lang: str = "en",
) -> dict[str, Path]:
    """Write plan.json, shift.npz, map.html, report.html and ``routes/<unit_id>.gpx``.

    ``shift.npz`` keeps what ``patrolgrid replan`` needs (:mod:`planner.shift_file`).

        Labels of the map and the report are in ``lang`` (``"en"`` or ``"zh"``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    files["plan"] = out_dir / "plan.json"
    files["plan"].write_text(
        json.dumps(run.document, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    from api.shift import shift_state
    from planner.shift_file import save_shift

    source = None if network is None else getattr(network, "source", None)
    state = shift_state(run.problem, run.plan, grids, network=source)
    files["shift"] = save_shift(state, out_dir / "shift.npz")
    inside = run.incidents.loc[run.incidents["grid_id"].notna()]
    fmap = make_map(
        grids=grids,
        risk=run.risk,
        incidents=inside,
        plan=run.document,
        streets=None if network is None else network.edges("drive"),
        lang=lang,
        timezone=run.problem.timezone,
    )
    files["map"] = save_map(fmap, out_dir / "map.html")
    files["report"] = save_report(run.document, out_dir / "report.html", lang=lang)
    (out_dir / "routes").mkdir(exist_ok=True)
    for route in run.document["routes"]:
        path = out_dir / "routes" / f"{route['unit_id']}.gpx"
        path.write_text(plan_to_gpx(run.document, route["unit_id"]), encoding="utf-8")
        files[f"gpx:{route['unit_id']}"] = path
    return files
