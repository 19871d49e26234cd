"""Re-planning a shift from events, changing as few routes as possible.

:func:`apply_events` takes the shift (:class:`~planner.shift_file.ShiftState`) and checked events
(:func:`planner.events.parse_events`) and returns the next version:

1. ``now`` is the earliest event's time. Every step that has begun by then (arrived, or started)
   is kept exactly; the rest of the shift is the problem of :func:`planner.replan.remaining_problem`
   from each unit's state (its place per the plan, or the place it reported).
2. Events change that problem (:mod:`planner.event_effects`): a unit out of service has no
   work after its time (out and back in within the batch: a break of that length); a reported
   position becomes the unit's start (a new place whose travel times are the nearest known
   place's plus the straight distance at a mode speed, ``DETOUR`` longer); an incident raises
   its grid's remaining stops (``INCIDENT_BOOST``) and adds a stop there, open from the incident
   for ``INCIDENT_WINDOW_S``, worth ``INCIDENT_PRIZE`` times the shift's best stop; a checkpoint
   becomes the planner's hard checkpoint (:func:`planner.checkpoints.checkpoint_stop`:
   ``checkpoint:<name>``, served inside a window by an allowed kind, or reported with the
   reason). Checkpoints of the plan stay hard visits: met before ``now`` they are kept; later
   ones are re-planned like any stop (one whose windows are past is reported, never routed).
3. Only the units named by events, plus for each new stop (and each checkpoint no kept route
   serves) the unit that can reach it soonest, are re-planned (with every stop no kept route
   visits); the other routes keep their remaining steps exactly (:mod:`planner.kept_routes`).
   With ``scope="all"`` (or when the narrow re-plan fails its check, or misses a checkpoint
   another unit may serve) every unit is re-planned.
4. The re-planned rest of the shift is checked by :func:`planner.evaluate.evaluate` against the
   remaining problem; a failure raises :class:`~planner.errors.PlannerError`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from .errors import PlannerError
from .evaluate import Evaluation, evaluate
from .event_effects import event_stops, reachable_breaks, units_after
from .events import Event
from .kept_routes import choose_units, merge_shift, missed_for_others, past_reasons, solve_rest
from .model import Plan, Problem, Route, Visit
from .plan_json import PathGeometry, plan_to_json
from .replan import UnitState, remaining_problem, state_at
from .shift_file import ShiftState

__all__ = ["ReplanResult", "apply_events", "replan_to_json", "split_route"]


@dataclass(frozen=True)
class ReplanResult:
    """The next version of a shift and how it was made."""

    state: ShiftState
    rest_problem: Problem
    rest_plan: Plan
    evaluation: Evaluation
    now_s: int
    changed: dict[str, bool]
    replanned_units: tuple[str, ...]
    solve_s: float
    new_stops: tuple[str, ...]


def split_route(route: Route, now_s: int) -> tuple[tuple[Visit, ...], tuple[Visit, ...]]:
    """Steps begun by ``now_s`` (arrived or started: kept) and the later ones."""
    if now_s <= route.start_s:  # not left yet (as planner.replan.state_at sees it)
        return (), route.steps
    kept: list[Visit] = []
    later: list[Visit] = []
    for step in route.steps:
        if later or (step.start_s >= now_s and step.arrival_s > now_s):
            later.append(step)
        else:
            kept.append(step)
    return tuple(kept), tuple(later)


def apply_events(
    state: ShiftState,
    events: Sequence[Event],
    *,
    time_limit_s: float = 2.0,
    seed: int | None = 0,
    scope: str = "minimal",
    backend: str = "ortools",
) -> ReplanResult:
    """Re-plan the shift after ``events`` (see the module docstring).

    Parameters
    ----------
    state
        The shift as it stands (from :func:`planner.shift_file.load_shift`).
    events
        Checked events (:func:`planner.events.parse_events`), at least one.
    time_limit_s, seed, backend
        Solver settings of the re-plan.
    scope
        ``"minimal"``: re-plan only the units the events concern (default); ``"all"``: every unit.

    Raises
    ------
    PlannerError
        When the re-planned rest of the shift fails its independent evaluation.
    """
    if scope not in ("minimal", "all"):
        msg = f"scope must be 'minimal' or 'all', got {scope!r}"
        raise PlannerError(msg)
    if not events:
        msg = "re-plan: no events"
        raise PlannerError(msg)
    t0 = time.perf_counter()
    now = min(e.at_s for e in events)
    full, new_stops, boost, position_place = event_stops(state, state.problem, events)
    full = dataclasses.replace(full, stops=(*full.stops, *new_stops))
    states, made = state_at(full, state.plan, now)
    by_id = {s.unit_id: s for s in states}
    old_later = {r.unit_id: split_route(r, now) for r in state.plan.routes}
    # A unit going out of service keeps only the steps it has begun (not a visit it waits for).
    for uid in {e.unit_id for e in events if e.type == "unit_unavailable" and e.unit_id}:
        route = state.plan.route(uid)
        if route is None:
            continue
        begun = tuple(s for s in route.steps if s.start_s < now)
        dropped = {(s.stop_id, s.start_s) for s in route.steps[len(begun) :] if s.kind == "visit"}
        made = [m for m in made if (m.stop_id, m.start_s) not in dropped]
        old_later[uid] = (begun, route.steps[len(begun) :])
        where = begun[-1].location if begun else full.unit(uid).start_location
        free = max(now, begun[-1].departure_s if begun else 0)
        by_id[uid] = UnitState(uid, where, free, by_id[uid].breaks_taken)
    positions = dict(state.positions)
    for e in events:
        if e.type == "unit_position" and e.unit_id is not None:
            place = position_place[e.index]
            positions[e.unit_id] = (place, e.at_s)
            kept = old_later.get(e.unit_id, ((), ()))[0]
            free = max(now, e.at_s, kept[-1].departure_s if kept else 0)
            by_id[e.unit_id] = UnitState(e.unit_id, place, free, by_id[e.unit_id].breaks_taken)
    rest = remaining_problem(full, now_s=now, states=list(by_id.values()), made=made, boost=boost)
    after, unavailable = units_after(rest, full, state, events, positions)
    rest = dataclasses.replace(
        rest, units=tuple(reachable_breaks(rest, u) for u in after.values() if u is not None)
    )
    named = {e.unit_id for e in events if e.unit_id is not None}
    fresh = {s.stop_id for s in new_stops}
    # checkpoints no route that may be kept serves (its unit is named, out, or it was missed)
    kept_later = {
        s.stop_id
        for u in rest.units
        if u.unit_id not in named
        for s in old_later.get(u.unit_id, ((), ()))[1]
    }
    orphans = {
        s.stop_id
        for s in rest.stops
        if s.checkpoint is not None and s.stop_id not in kept_later and s.windows[0][1] >= 0
    }
    replanned = choose_units(rest, by_id, named, fresh | orphans, scope)
    base = rest
    rest_plan, replanned, rest = solve_rest(
        base, state, old_later, replanned, time_limit_s=time_limit_s, seed=seed, backend=backend
    )
    ev = evaluate(rest, rest_plan)
    if scope == "minimal" and (not ev.ok or missed_for_others(rest, rest_plan, replanned)):
        narrow = (rest_plan, replanned, rest, ev)
        everyone = {u.unit_id for u in rest.units}
        rest_plan, replanned, rest = solve_rest(
            base, state, old_later, everyone, time_limit_s=time_limit_s, seed=seed, backend=backend
        )
        ev = evaluate(rest, rest_plan)
        if narrow[3].ok and len(narrow[3].checkpoints_missed) <= len(ev.checkpoints_missed):
            rest_plan, replanned, rest, ev = narrow  # re-planning everyone met no more of them
    if not ev.ok:
        msg = "the re-plan failed its independent evaluation: " + "; ".join(ev.violations[:5])
        raise PlannerError(msg)
    rest_plan = past_reasons(full, rest_plan, now)
    merged, changed = merge_shift(full, state.plan, rest_plan, old_later, unavailable)
    solve_s = time.perf_counter() - t0
    nxt = dataclasses.replace(
        state,
        problem=full,
        plan=merged,
        unavailable=unavailable,
        positions=positions,
        replanned_at_s=now,
        version=state.version + 1,
    )
    return ReplanResult(
        state=nxt,
        rest_problem=rest,
        rest_plan=rest_plan,
        evaluation=ev,
        now_s=now,
        changed=changed,
        replanned_units=tuple(sorted(replanned)),
        solve_s=solve_s,
        new_stops=tuple(sorted(fresh)),
    )


def replan_to_json(
    old_document: dict[str, Any],
    result: ReplanResult,
    *,
    path_geometry: PathGeometry | None = None,
) -> dict[str, Any]:
    """The plan document of the re-planned shift.

    Unchanged routes are the old document's routes, byte for byte; changed routes are written
    afresh (street geometry with ``path_geometry``, else straight lines between places) and
    keep the old visit steps' incident summaries. Every route says ``changed``; the summary
    adds ``version``, ``replanned_at``, ``solve_s``, ``replanned_units``, ``new_stops`` and
    ``valid`` (the re-planned rest of the shift passed the evaluator).
    """
    problem = result.state.problem
    plan = result.state.plan
    doc = plan_to_json(problem, plan, path_geometry=path_geometry)
    old_routes = {r["unit_id"]: r for r in old_document.get("routes", [])}
    incidents: dict[str, Any] = {}
    for r in old_document.get("routes", []):
        for s in r.get("steps", []):
            if s.get("incidents") and s.get("stop_id"):
                incidents[str(s["stop_id"])] = s["incidents"]
    routes = []
    for r in doc["routes"]:
        uid = r["unit_id"]
        if not result.changed.get(uid, True) and uid in old_routes:
            kept = dict(old_routes[uid])
            kept["changed"] = False
            routes.append(kept)
            continue
        if r["kind"] in ("police_car", "foot_patrol"):
            for s in r["steps"]:
                if s["type"] == "visit" and s["stop_id"] in incidents:
                    s["incidents"] = incidents[s["stop_id"]]
        r["changed"] = True
        routes.append(r)
    doc["routes"] = routes
    placed = {s.stop_id for s in problem.stops}
    doc["unassigned"].extend(
        u for u in old_document.get("unassigned", []) if u.get("stop_id") not in placed
    )
    summary = doc["summary"]
    summary.update(
        {
            "version": result.state.version,
            "replanned_at": _iso(problem, result.now_s),
            "solve_s": round(result.solve_s, 3),
            "replanned_units": list(result.replanned_units),
            "changed_routes": sorted(u for u, c in result.changed.items() if c),
            "new_stops": list(result.new_stops),
            "out_of_service": sorted(result.state.unavailable),
            "valid": result.evaluation.ok,
        }
    )
    summary["unassigned"] = sum(1 for u in doc["unassigned"] if u.get("stop_id") is not None)
    return doc


def _iso(problem: Problem, seconds: int) -> str:
    zone = ZoneInfo(problem.timezone)
    origin = problem.start or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (origin + dt.timedelta(seconds=int(seconds))).astimezone(zone).isoformat()
