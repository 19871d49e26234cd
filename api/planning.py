"""Planning a shift end to end: the orchestration shared by ``patrolgrid plan`` and the API.

Grids, incidents, a street network and a units file in; the plan document, its evaluation and
the files (plan.json, map.html, one GPX per unit) out. Every step calls the libraries; nothing is
re-implemented here. The risk used for the shift comes from the incidents before its start only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.grid_forecast import forecast_grids
from geo.hotspot_report import grid_flareups, hotspot_table
from geo.hotspots import risk_table
from geo.join import join_incidents
from geo.network import Network
from geo.patrol_risk import patrol_prize, shift_forecast, shift_shares
from maps.coords import output_crs
from maps.folium_map import make_map, save_map
from maps.gpx import plan_to_gpx
from maps.report import save_report
from planner.errors import PlannerError
from planner.evaluate import Evaluation, evaluate
from planner.model import Plan, Problem, Stop
from planner.plan_json import plan_to_json
from planner.problem import allowed_leaves, build_problem
from planner.solve import DEFAULT_BACKEND, solve
from planner.stops import grid_skills, incident_centres, police_only_grids, stop_table
from planner.units_file import UnitsFile

__all__ = [
    "RISK_SOURCES",
    "PlanRun",
    "check_depots",
    "finish_run",
    "incident_records",
    "plan_shift",
    "shift_problem",
    "shift_risk",
    "write_outputs",
]

#: Where a plan's stop prizes come from: ``forecast`` (default: the grid forecast for the shift's
#: hours raised by trend warnings, near-repeat flare-ups and Gi* hot spots, with a ``why``),
#: ``risk`` (the recency-decayed, severity-weighted risk table) or ``counts`` (naive: the past
#: year's incident counts, spread over the shift by the weekday-hour profile).
RISK_SOURCES: tuple[str, ...] = ("forecast", "risk", "counts")

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


def shift_risk(
    before: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    units: UnitsFile,
    *,
    source: str = "forecast",
    lang: str = "en",
) -> pd.DataFrame:
    """The risk table the shift's stops are drawn from, for one of :data:`RISK_SOURCES`.

    ``before`` holds the joined incidents before the shift start only. ``forecast`` adds
    ``forecast_shift``, ``prize`` and ``why`` (in ``lang``) with
    :func:`geo.patrol_risk.patrol_prize`; ``counts`` sets ``prize`` to the past year's counts
    times the profile's share of the shift.
    """
    if source not in RISK_SOURCES:
        msg = f"unknown risk source {source!r}; choose one of {', '.join(RISK_SOURCES)}"
        raise PlannerError(msg)
    now = units.shift_start
    if source == "risk":
        return risk_table(before, grids, now=now, timezone=units.timezone)
    if source == "counts":
        table = risk_table(before, grids, now=now, timezone=units.timezone)
        profiles = table[[c for c in table.columns if c.startswith("how_")]].to_numpy()
        shares = shift_shares(profiles, now, units.shift_end, units.timezone)
        table["prize"] = table["count_365d"].to_numpy(dtype=float) * shares
        return table
    table = hotspot_table(before, grids, now=now, timezone=units.timezone)
    hours = (units.shift_end - units.shift_start) / pd.Timedelta(days=1)
    # A shift holds too few incidents to judge methods on: auto backtests on 28-day windows.
    forecast = forecast_grids(
        before,
        grids,
        train_until=now,
        horizon_days=max(1.0, float(hours)),
        params={"backtest_min_days": 28.0},
    )
    table = shift_forecast(
        table, forecast, shift_start=now, shift_end=units.shift_end, timezone=units.timezone
    )
    flareups = grid_flareups(before, now=now)
    table = patrol_prize(
        table,
        shift_start=now,
        shift_end=units.shift_end,
        timezone=units.timezone,
        flareups=flareups,
        lang=lang,
    )
    backtest = forecast.attrs.get("backtest")
    table.attrs["forecast_method"] = str(forecast["method"].iloc[0])
    table.attrs["forecast_backtest"] = None if backtest is None else backtest.summary()
    return table


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
    risk_source: str = "forecast",
    lang: str = "en",
    max_solutions: int | None = None,
    solver: Callable[..., Plan] = solve,
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
    risk_source
        How the risk is computed when ``risk`` is None (:data:`RISK_SOURCES`).
    lang
        Language of each visit's ``why`` (``"en"`` or ``"zh"``).
    max_solutions
        Stop the search after this many improving solutions (:func:`planner.solve.solve`): with
        a generous time limit the same inputs then give the same plan on any machine load.
    solver
        Called as ``solver(problem, time_limit_s=, seed=, backend=, max_solutions=)``:
        :func:`planner.solve.solve` by default; the API passes one that solves on a Dask cluster
        (:meth:`api.services.plan_executor.PlanExecutor.solve`).

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
        risk_source=risk_source,
        lang=lang,
    )
    plan = solver(
        problem,
        time_limit_s=time_limit_s,
        seed=seed,
        backend=backend,
        max_solutions=max_solutions,
    )
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
    _add_why(document, stops, risk)
    police = stops.loc[stops["police_only"].astype(bool), "grid_id"].astype(str)
    if len(police):
        # grids whose risk stop only police kinds serve (police-only categories): staff only
        document["summary"]["police_only_grids"] = sorted(police.unique().tolist())
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
    risk_source: str = "forecast",
    lang: str = "en",
) -> tuple[Problem, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The shift's planning problem: risk before it, stops (with presence doses), problem.

    Every grid has at least the base risk (:data:`BASE_SHARE`); every leaf grid of a unit
    restricted to an area is kept whatever ``max_stops`` says, so a volunteer in a community
    with few recorded incidents still patrols it; each kept grid also gets presence doses
    (:data:`PRESENCE_GAP_S` apart) that fill the units' free time. ``category_skills``
    (category -> skill, :func:`planner.stops.category_skills`) makes the stop of a grid with
    incidents of such a category need the skill. The risk stop of a grid whose risk comes from
    police-only categories (:func:`planner.stops.police_only_grids`) needs a police kind.
    ``risk_source`` and ``lang`` are those of :func:`shift_risk`.

    Returns
    -------
    problem, stops, incidents_before, risk
    """
    joined = incidents if "grid_id" in incidents.columns else join_incidents(incidents, grids)
    before = joined.loc[joined["occurred_at"] < units.shift_start]
    if risk is None:
        risk = shift_risk(before, grids, units, source=risk_source, lang=lang)
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
    # A grid whose risk comes from police-only categories: its risk stop needs a police kind;
    # its presence doses stay open to every kind (volunteers patrol it for presence).
    police = police_only_grids(before)
    stops["police_only"] = [
        (not presence) and str(g) in police
        for g, presence in zip(stops["grid_id"], stops["presence"], strict=True)
    ]
    if category_skills:
        needs = grid_skills(before, category_skills)
        stops["skills"] = [sorted(needs.get(str(g), ())) for g in stops["grid_id"]]
    problem = build_problem(units, stops, grids=grids, network=network)
    return problem, stops, before, risk


def _add_why(document: dict[str, Any], stops: pd.DataFrame, risk: pd.DataFrame) -> None:
    """Copy each stop's ``why`` onto its visit steps, and the risk's source into the summary."""
    if "why" in stops.columns:
        why = dict(
            zip(stops["stop_id"].astype(str), stops["why"].fillna("").astype(str), strict=True)
        )
        for route in document["routes"]:
            for step in route["steps"]:
                if step.get("type") == "visit" and why.get(str(step.get("stop_id")), ""):
                    step["why"] = why[str(step["stop_id"])]
    if "forecast_method" in risk.attrs:
        document["summary"]["forecast_method"] = risk.attrs["forecast_method"]


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
    crs: str = "wgs84",
) -> dict[str, Path]:
    """Write plan.json, shift.npz, map.html, report.html and ``routes/<unit_id>.gpx``.

    ``shift.npz`` keeps what ``patrolgrid replan`` needs (:mod:`planner.shift_file`).
    The GPX files are in ``crs`` (``wgs84``, ``gcj02`` or ``bd09``, for Chinese handheld map
    apps; mainland China only); plan.json stays WGS84 and records it as ``routes_crs``.

        Labels of the map and the report are in ``lang`` (``"en"`` or ``"zh"``).
    """
    crs = output_crs(crs)
    out_dir.mkdir(parents=True, exist_ok=True)
    run.document["routes_crs"] = crs
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
        path.write_text(plan_to_gpx(run.document, route["unit_id"], crs=crs), encoding="utf-8")
        files[f"gpx:{route['unit_id']}"] = path
    return files
