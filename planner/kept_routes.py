"""Which units a re-plan touches, and how the other routes are kept (step 3 of
:mod:`planner.shift_replan`).

:func:`choose_units` picks the units named by events plus, for each new stop, the unit that can
reach it soonest; :func:`solve_rest` keeps the later steps of every other unit exactly (a kept
route that would not pass the evaluator on its own is re-planned too) and solves the chosen
units over the stops no kept route visits; :func:`merge_shift` puts the kept steps and the
re-planned rest back into one plan of the whole shift.
"""

from __future__ import annotations

import dataclasses

from .evaluate import evaluate
from .feasibility import clock, earliest_start, screen, windows_text
from .model import Plan, Problem, Route, Unassigned, Unit, Visit, renumber_visits
from .replan import UnitState
from .shift_file import ShiftState
from .solve import solve

__all__ = ["choose_units", "merge_shift", "missed_for_others", "past_reasons", "solve_rest"]


def missed_for_others(rest: Problem, plan: Plan, replanned: set[str]) -> bool:
    """Whether the narrow re-plan misses a checkpoint that a unit it left alone may serve."""
    served = {v.stop_id for r in plan.routes for v in r.visits}
    others = [u for u in rest.units if u.unit_id not in replanned]
    return any(
        s.checkpoint is not None
        and s.stop_id not in served
        and any(rest.may_serve(u, s) and earliest_start(rest, u, s) is not None for u in others)
        for s in rest.stops
    )


def past_reasons(full: Problem, plan: Plan, now_s: int) -> Plan:
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


def choose_units(
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


def solve_rest(
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


def merge_shift(
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
