"""Re-planning a shift from events, changing as few routes as possible.

:func:`apply_events` takes the shift (:class:`~planner.shift_file.ShiftState`) and checked events
(:func:`planner.events.parse_events`) and returns the next version:

1. ``now`` is the earliest event's time. Every step that has begun by then (arrived, or started)
   is kept exactly; the rest of the shift is the problem of :func:`planner.replan.remaining_problem`
   from each unit's state (its place per the plan, or the place it reported).
2. Events change that problem: a unit out of service has no work after its time (out and back in
   within the batch: a break of that length); a reported position becomes the unit's start
   (a new place whose travel times are the nearest known place's plus the straight distance at
   a mode speed, ``DETOUR`` longer); an incident raises its grid's remaining stops
   (``INCIDENT_BOOST``) and adds a stop there, open from the incident for ``INCIDENT_WINDOW_S``,
   worth ``INCIDENT_PRIZE`` times the shift's best stop; a checkpoint becomes the planner's
   hard checkpoint (:func:`planner.checkpoints.checkpoint_stop`: ``checkpoint:<name>``, served
   inside a window by an allowed kind, or reported with the reason). Checkpoints of the plan
   stay hard visits: met before ``now`` they are kept; later ones are re-planned like any stop
   (one whose windows are past is reported, never routed).
3. Only the units named by events, plus for each new stop (and each checkpoint no kept route
   serves) the unit that can reach it soonest, are re-planned (with every stop no kept route
   visits); the other routes keep their remaining steps exactly. With ``scope="all"`` (or when
   the narrow re-plan fails its check, or misses a checkpoint another unit may serve) every
   unit is re-planned.
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

import numpy as np

from .checkpoints import checkpoint_stop, start_windows
from .errors import PlannerError
from .evaluate import Evaluation, evaluate
from .events import Event, _haversine_m
from .feasibility import clock, earliest_start, screen, windows_text
from .model import Break, Plan, Problem, Route, Stop, Unassigned, Unit, Visit, renumber_visits
from .plan_json import PathGeometry, plan_to_json
from .replan import UnitState, remaining_problem, state_at
from .shift_file import ShiftState
from .solve import solve

__all__ = ["ReplanResult", "apply_events", "replan_to_json", "split_route"]

#: Straight-line speed (m/s) assumed between a reported point and the nearest known place.
MODE_SPEED_MPS = {"drive": 8.0, "walk": 1.3, "bike": 4.0}
#: Streets are longer than the straight line.
DETOUR = 1.3
#: Multiplier of the remaining stops' prizes in an incident's grid.
INCIDENT_BOOST = 2.0
#: An incident's stop is worth this many times the shift's best stop.
INCIDENT_PRIZE = 3.0
#: An incident's stop is open this long after the incident.
INCIDENT_WINDOW_S = 2 * 3600


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


def _add_places(
    problem: Problem, points: Sequence[tuple[float, float]]
) -> tuple[Problem, list[int]]:
    """Append places; travel from/to each is via its nearest known place (straight, slower)."""
    if not points:
        return problem, []
    n = len(problem.locations)
    lon = np.array([p[0] for p in problem.locations])
    lat = np.array([p[1] for p in problem.locations])
    near, extra_m = [], []
    for x, y in points:
        d = _haversine_m(x, y, lon, lat)
        k = int(np.argmin(d))
        near.append(k)
        extra_m.append(float(d[k]) * DETOUR)
    near_a, extra = np.array(near), np.array(extra_m)
    m = len(points)

    def grow(mat: np.ndarray, add: np.ndarray) -> np.ndarray:
        out = np.zeros((n + m, n + m))
        out[:n, :n] = mat
        out[n:, :n] = mat[near_a, :] + add[:, None]
        out[:n, n:] = mat[:, near_a] + add[None, :]
        out[n:, n:] = mat[np.ix_(near_a, near_a)] + add[:, None] + add[None, :]
        np.fill_diagonal(out, 0.0)
        return out

    travel = {
        mode: grow(np.asarray(t), extra / MODE_SPEED_MPS.get(mode, 4.0))
        for mode, t in problem.travel_s.items()
    }
    dist = (
        None
        if problem.distance_m is None
        else {mode: grow(np.asarray(d), extra) for mode, d in problem.distance_m.items()}
    )
    grown = dataclasses.replace(
        problem,
        locations=(*problem.locations, *points),
        travel_s=travel,
        distance_m=dist,
    )
    return grown, list(range(n, n + m))


def _grid_of(state: ShiftState, lon: float, lat: float) -> str | None:
    if not state.grid_ids:
        return None
    from geo.join import assign_grids

    got = assign_grids(np.array([lon]), np.array([lat]), state.grids())[0]
    return None if got is None else str(got)


def _new_stops(
    state: ShiftState, problem: Problem, events: Sequence[Event]
) -> tuple[Problem, list[Stop], dict[str, float], dict[int, int]]:
    """Places and stops of incidents and checkpoints; boosts; places of reported positions."""
    best = max((s.prize for s in problem.stops), default=1.0) or 1.0
    horizon = problem.horizon_s
    points: list[tuple[float, float]] = []
    owners: list[tuple[str, Event, str | None]] = []
    for e in events:
        if e.lon is None or e.lat is None:
            continue
        assert e.lon is not None
        if e.type == "unit_position":
            owners.append(("position", e, None))
            points.append((e.lon, e.lat))
        elif e.type == "incident":
            owners.append(("incident", e, _grid_of(state, e.lon, e.lat)))
            points.append((e.lon, e.lat))
        elif e.type == "checkpoint":
            owners.append(("checkpoint", e, _grid_of(state, e.lon, e.lat)))
            points.append((e.lon, e.lat))
    grown, places = _add_places(problem, points)
    stops: list[Stop] = []
    boost: dict[str, float] = {}
    position_place: dict[int, int] = {}
    taken = set(problem.stop_index)
    for (what, e, grid), place in zip(owners, places, strict=True):
        if what == "position":
            position_place[e.index] = place
            continue
        if what == "incident":
            grid_id = grid or f"incident-area-{e.index}"
            if grid is not None:
                boost[grid] = boost.get(grid, 1.0) * INCIDENT_BOOST
            sid = f"incident:{e.index}:{e.category}"
            end = min(horizon, e.at_s + INCIDENT_WINDOW_S)
            stops.append(
                Stop(
                    sid if sid not in taken else f"{sid}:{len(taken)}",
                    grid_id,
                    place,
                    windows=((e.at_s, end),),
                    prize=INCIDENT_PRIZE * best * e.severity / 3,
                    kinds=frozenset({"police_car", "foot_patrol"}),
                )
            )
        else:
            sid = f"checkpoint:{e.name}"
            if sid in taken or any(s.stop_id == sid for s in stops):
                msg = f"events[{e.index}].name: checkpoint {e.name!r} is already in the plan"
                from .events import EventError

                raise EventError(msg, f"events.{e.index}.name")
            assert e.name is not None
            windows = start_windows(e.windows, dwell_s=e.dwell_s, first_s=0, last_s=horizon)
            stops.append(
                checkpoint_stop(
                    e.name,
                    location=place,
                    grid_id=grid,
                    windows=windows,
                    dwell_s=e.dwell_s,
                    kinds=e.kinds,
                )
            )
    return grown, stops, boost, position_place


def _reachable_breaks(problem: Problem, unit: Unit) -> Unit:
    """A break at a place the unit can no longer reach in its window starts when it gets there
    (or is left out when that does not fit the shift)."""
    out = []
    for b in unit.breaks:
        if b.location is None:
            out.append(b)
            continue
        there = unit.shift_start_s + problem.travel(unit.mode, unit.start_location, b.location)
        if there <= b.latest_s:
            out.append(b)
        elif (
            there + b.duration_s + problem.travel(unit.mode, b.location, unit.end)
            <= unit.shift_end_s
        ):
            late = int(np.ceil(there))
            out.append(dataclasses.replace(b, earliest_s=max(b.earliest_s, late), latest_s=late))
    return dataclasses.replace(unit, breaks=tuple(out))


def _units_after(
    rest: Problem,
    full: Problem,
    state: ShiftState,
    events: Sequence[Event],
    positions: dict[str, tuple[int, int]],
) -> tuple[dict[str, Unit | None], dict[str, int]]:
    """Each unit of the rest of the shift after the events (None: out of service)."""
    out: dict[str, Unit | None] = {}
    unavailable = dict(state.unavailable)
    by_unit: dict[str, list[Event]] = {}
    for e in events:
        if e.unit_id is not None and e.type in ("unit_unavailable", "unit_available"):
            by_unit.setdefault(e.unit_id, []).append(e)
    for u in rest.units:
        unit: Unit | None = None if u.unit_id in unavailable else u
        todo = by_unit.get(u.unit_id, [])
        k = 0
        while k < len(todo):
            e = todo[k]
            k += 1
            if e.type == "unit_available":
                if unit is None:
                    start = min(max(e.at_s, u.shift_start_s), u.shift_end_s)
                    place = positions.get(u.unit_id, (full.unit(u.unit_id).end, 0))[0]
                    unit = dataclasses.replace(
                        u,
                        start_location=place,
                        shift_start_s=start,
                        breaks=tuple(b for b in u.breaks if b.earliest_s >= start),
                    )
                    unavailable.pop(u.unit_id, None)
                continue
            if unit is None:
                continue  # already out
            back = next((x for x in todo[k:] if x.type == "unit_available"), None)
            if back is None:
                unavailable[u.unit_id] = e.at_s
                if e.at_s <= unit.shift_start_s:
                    unit = None
                else:
                    unit = dataclasses.replace(
                        unit,
                        shift_end_s=e.at_s,
                        breaks=tuple(b for b in unit.breaks if b.latest_s + b.duration_s <= e.at_s),
                    )
                continue
            k = todo.index(back) + 1
            until = min(back.at_s, unit.shift_end_s)
            if e.at_s <= unit.shift_start_s:
                unit = dataclasses.replace(
                    unit,
                    shift_start_s=max(unit.shift_start_s, until),
                    breaks=tuple(b for b in unit.breaks if b.earliest_s >= until),
                )
            else:
                # a break that fits before or after the time out stays (the backend keeps one
                # unit's breaks apart); one whose whole window falls in it is taken then
                gap = Break(f"out-of-service-{e.index}", e.at_s, e.at_s, until - e.at_s)
                kept_breaks = [
                    b
                    for b in unit.breaks
                    if b.earliest_s + b.duration_s <= e.at_s or b.latest_s >= until
                ]
                unit = dataclasses.replace(unit, breaks=(*kept_breaks, gap))
        out[u.unit_id] = unit
    return out, unavailable


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
    full, new_stops, boost, position_place = _new_stops(state, state.problem, events)
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
    after, unavailable = _units_after(rest, full, state, events, positions)
    rest = dataclasses.replace(
        rest, units=tuple(_reachable_breaks(rest, u) for u in after.values() if u is not None)
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
    replanned = _choose_units(rest, by_id, named, fresh | orphans, scope)
    base = rest
    rest_plan, replanned, rest = _solve_rest(
        base, state, old_later, replanned, time_limit_s=time_limit_s, seed=seed, backend=backend
    )
    ev = evaluate(rest, rest_plan)
    if scope == "minimal" and (not ev.ok or _missed_for_others(rest, rest_plan, replanned)):
        narrow = (rest_plan, replanned, rest, ev)
        everyone = {u.unit_id for u in rest.units}
        rest_plan, replanned, rest = _solve_rest(
            base, state, old_later, everyone, time_limit_s=time_limit_s, seed=seed, backend=backend
        )
        ev = evaluate(rest, rest_plan)
        if narrow[3].ok and len(narrow[3].checkpoints_missed) <= len(ev.checkpoints_missed):
            rest_plan, replanned, rest, ev = narrow  # re-planning everyone met no more of them
    if not ev.ok:
        msg = "the re-plan failed its independent evaluation: " + "; ".join(ev.violations[:5])
        raise PlannerError(msg)
    rest_plan = _past_reasons(full, rest_plan, now)
    merged, changed = _merge(full, state.plan, rest_plan, old_later, unavailable)
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


def _missed_for_others(rest: Problem, plan: Plan, replanned: set[str]) -> bool:
    """Whether the narrow re-plan misses a checkpoint that a unit it left alone may serve."""
    served = {v.stop_id for r in plan.routes for v in r.visits}
    others = [u for u in rest.units if u.unit_id not in replanned]
    return any(
        s.checkpoint is not None
        and s.stop_id not in served
        and any(rest.may_serve(u, s) and earliest_start(rest, u, s) is not None for u in others)
        for s in rest.stops
    )


def _past_reasons(full: Problem, plan: Plan, now_s: int) -> Plan:
    """A checkpoint missed because its windows closed before the re-plan says so."""
    out = []
    for u in plan.unassigned:
        if u.stop_id is not None and u.stop_id in full.stop_index:
            stop = full.stop(u.stop_id)
            if stop.checkpoint is not None and all(0 <= b < now_s for _, b in stop.windows):
                reason = (
                    f"window already past: it closed ({windows_text(full, stop)}) before the "
                    f"re-plan at {clock(full, now_s)}"
                )
                u = dataclasses.replace(u, reason=reason)
        out.append(u)
    return dataclasses.replace(plan, unassigned=tuple(out))


def _choose_units(
    rest: Problem, states: dict[str, UnitState], named: set[str], fresh: set[str], scope: str
) -> set[str]:
    """Units to re-plan: those named by events, and the soonest able to reach each new stop."""
    if scope == "all":
        return {u.unit_id for u in rest.units}
    chosen = {u.unit_id for u in rest.units if u.unit_id in named}
    for sid in sorted(fresh):
        stop = rest.stop(sid)
        best: tuple[float, str] | None = None
        for u in rest.units:
            if not rest.may_serve(u, stop):
                continue
            leg = rest.travel(u.mode, u.start_location, stop.location)
            arrive = u.shift_start_s + leg
            back = rest.travel(u.mode, stop.location, u.end)
            if not any(
                arrive <= b and max(arrive, a) + stop.dwell_s + back <= u.shift_end_s
                for a, b in rest.windows_of(stop)
            ):
                continue
            if best is None or (arrive, u.unit_id) < best:
                best = (arrive, u.unit_id)
        if best is not None:
            chosen.add(best[1])
    return chosen


def _route_ok(rest: Problem, unit: Unit, route: Route) -> bool:
    """Whether one kept route passes the evaluator on its own (its stops, its visits)."""
    counts: dict[str, int] = {}
    for v in route.visits:
        if v.stop_id not in rest.stop_index:
            return False
        counts[v.stop_id] = counts.get(v.stop_id, 0) + 1
    stops = tuple(dataclasses.replace(rest.stop(k), visits=n) for k, n in counts.items())
    alone = dataclasses.replace(rest, units=(unit,), stops=stops)
    return evaluate(alone, Plan(tuple(renumber_visits([route])))).ok


def _kept_unit(
    unit: Unit, full_unit: Unit, old: Route, kept: tuple[Visit, ...]
) -> tuple[Unit, int]:
    """A unit that keeps its route: free where and when its last kept step left (maybe before
    now, so its later steps replay exactly as planned)."""
    here, free = full_unit.start_location, old.start_s
    placed = {b.break_id: b.location for b in full_unit.breaks}
    for step in kept:
        if step.kind == "visit" or placed.get(step.stop_id) is not None:
            here = step.location
        free = step.departure_s
    start = min(free, unit.shift_start_s)
    limit = (
        None
        if full_unit.max_duration_s is None
        else max(0, full_unit.max_duration_s - (start - old.start_s))
    )
    return dataclasses.replace(
        unit, start_location=here, shift_start_s=start, max_duration_s=limit
    ), start


def _solve_rest(
    rest: Problem,
    state: ShiftState,
    old_later: dict[str, tuple[tuple[Visit, ...], tuple[Visit, ...]]],
    replanned: set[str],
    *,
    time_limit_s: float,
    seed: int | None,
    backend: str,
) -> tuple[Plan, set[str], Problem]:
    """Keep the later steps of units not re-planned; solve the others over the free stops.

    Returns the plan of the rest of the shift, the units re-planned (a kept route that would
    not pass the evaluator is re-planned too) and the rest problem with the kept units free
    where their kept steps leave them.
    """
    fixed: list[Route] = []
    in_fixed: dict[str, int] = {}
    units_now: dict[str, Unit] = {u.unit_id: u for u in rest.units}
    for u in rest.units:
        if u.unit_id in replanned:
            continue
        kept, later = old_later.get(u.unit_id, ((), ()))
        old = state.plan.route(u.unit_id)
        if old is None or (not later and old.end_s <= u.shift_start_s):
            continue
        steps = tuple(s for s in later if s.kind == "break" or s.stop_id in rest.stop_index)
        unit, begin = _kept_unit(u, state.problem.unit(u.unit_id), old, kept)
        route = Route(u.unit_id, begin, max(old.end_s, begin), steps)
        if any(
            s.kind == "break" and s.stop_id not in {b.break_id for b in unit.breaks} for s in steps
        ) or not _route_ok(rest, unit, route):
            replanned.add(u.unit_id)
            continue
        units_now[u.unit_id] = unit
        fixed.append(route)
        for s in steps:
            if s.kind == "visit":
                in_fixed[s.stop_id] = in_fixed.get(s.stop_id, 0) + 1
    rest = dataclasses.replace(rest, units=tuple(units_now[u.unit_id] for u in rest.units))
    pool = tuple(s for s in rest.stops if s.stop_id not in in_fixed)
    units = tuple(u for u in rest.units if u.unit_id in replanned)
    unassigned: list[Unassigned] = []
    routes: list[Route] = list(fixed)
    if units:
        sub = dataclasses.replace(rest, units=units, stops=pool)
        plan = solve(sub, time_limit_s=time_limit_s, seed=seed, backend=backend)
        routes.extend(plan.routes)
        unassigned.extend(plan.unassigned)
    else:
        # why no unit at all could (kind, area, time), else that none was re-planned
        why = {
            u.stop_id: u.reason
            for u in screen(dataclasses.replace(rest, stops=pool)).unassigned
            if u.stop_id is not None
        }
        unassigned.extend(
            Unassigned(s.stop_id, s.grid_id, why.get(s.stop_id, "no unit re-planned could take it"))
            for s in pool
        )
    for sid, n in in_fixed.items():
        stop = rest.stop(sid)
        if n < stop.visits:
            reason = f"{n} of {stop.visits} visits planned (kept in an unchanged route)"
            unassigned.append(Unassigned(sid, stop.grid_id, reason))
    backend_name = backend if units else "kept"
    plan = Plan(tuple(renumber_visits(routes)), tuple(unassigned), backend=backend_name, seed=seed)
    return plan, replanned, rest


def _merge(
    full: Problem,
    old: Plan,
    rest_plan: Plan,
    old_later: dict[str, tuple[tuple[Visit, ...], tuple[Visit, ...]]],
    unavailable: dict[str, int],
) -> tuple[Plan, dict[str, bool]]:
    """The whole shift: kept steps, then the re-planned rest; ``changed`` per unit."""
    routes: list[Route] = []
    changed: dict[str, bool] = {}
    for u in full.units:
        before = old.route(u.unit_id)
        kept, later = old_later.get(u.unit_id, ((), ()))
        new = rest_plan.route(u.unit_id)
        new_steps = () if new is None else new.steps
        key_old = [(s.kind, s.stop_id, s.start_s) for s in later]
        key_new = [(s.kind, s.stop_id, s.start_s) for s in new_steps]
        changed[u.unit_id] = key_old != key_new
        if before is None and new is None:
            continue
        if before is not None and (kept or new is None):
            start = before.start_s
        else:
            start = new.start_s if new is not None else 0
        if new is not None:
            end = new.end_s
        else:
            last = kept[-1].departure_s if kept else start
            out_at = unavailable.get(u.unit_id)
            if out_at is not None:
                end = max(last, min(out_at, before.end_s if before else last))
            else:
                end = max(last, before.end_s if before is not None and not later else last)
            if before is not None and not changed[u.unit_id]:
                end = before.end_s
        routes.append(Route(u.unit_id, start, max(end, start), (*kept, *new_steps)))
    unassigned = tuple(rest_plan.unassigned) + tuple(
        Unassigned(None, None, "out of service", unit_id=uid) for uid in sorted(unavailable)
    )
    return (
        Plan(
            tuple(renumber_visits(routes)),
            unassigned,
            backend=rest_plan.backend,
            seed=rest_plan.seed,
            solve_s=rest_plan.solve_s,
        ),
        changed,
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
