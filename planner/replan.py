"""Re-planning the rest of a shift from where the units are now.

Mid-shift, a station knows where each unit is (or will be free), which visits were already
made, which breaks were taken, and what changed (new incidents, warnings). :func:`remaining_problem`
turns that into a smaller problem starting at ``now_s``: units start from their current place,
stops keep only the visits still wanted (the next at least ``min_gap_s`` after the last one made,
worth the repeat prize), windows already past are cut, prizes of warned grids are raised and new
stops added. :func:`replan` solves it (a few seconds for a station).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import ProblemError
from .model import Plan, Problem, Stop, Unit
from .solve import solve

__all__ = ["MadeVisit", "UnitState", "remaining_problem", "replan", "state_at"]


@dataclass(frozen=True)
class UnitState:
    """Where a unit is now: the place (location index) it is at or heading to, and when it is free there."""

    unit_id: str
    location: int
    free_at_s: int
    breaks_taken: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MadeVisit:
    """A visit already made (or under way) to a stop, started at ``start_s``."""

    stop_id: str
    start_s: int


def state_at(problem: Problem, plan: Plan, now_s: int) -> tuple[list[UnitState], list[MadeVisit]]:
    """Unit states and visits made at ``now_s`` if everyone followed ``plan`` so far.

    A unit travelling between two places is taken to be free at the next one when it arrives;
    a visit under way counts as made, and the unit is free when it ends.
    """
    states: list[UnitState] = []
    made: list[MadeVisit] = []
    routes = {r.unit_id: r for r in plan.routes}
    for u in problem.units:
        route = routes.get(u.unit_id)
        if route is None or now_s <= route.start_s:
            states.append(UnitState(u.unit_id, u.start_location, max(now_s, u.shift_start_s)))
            continue
        location, free, taken = u.start_location, now_s, set()
        for step in route.steps:
            if step.start_s >= now_s and step.arrival_s > now_s:
                # on the way to this step's place (breaks are taken where the unit is)
                if step.kind == "visit":
                    location, free = step.location, max(now_s, step.arrival_s)
                break
            if step.kind == "visit":
                made.append(MadeVisit(step.stop_id, step.start_s))
            else:
                taken.add(step.stop_id)
            location, free = step.location, max(now_s, step.departure_s)
        else:
            if now_s >= route.end_s:
                location, free = u.end, now_s
        states.append(UnitState(u.unit_id, location, free, frozenset(taken)))
    return states, made


def _unit(unit: Unit, state: UnitState | None, now_s: int) -> Unit:
    start = max(now_s, unit.shift_start_s)
    location = unit.start_location
    taken: frozenset[str] = frozenset()
    if state is not None:
        start, location, taken = max(start, state.free_at_s), state.location, state.breaks_taken
    start = min(start, unit.shift_end_s)
    breaks = tuple(
        dataclasses.replace(b, earliest_s=max(b.earliest_s, start))
        for b in unit.breaks
        if b.break_id not in taken and b.latest_s >= start
    )
    used = start - unit.shift_start_s
    limit = None if unit.max_duration_s is None else max(0, unit.max_duration_s - used)
    return dataclasses.replace(
        unit,
        start_location=location,
        end_location=unit.end,
        shift_start_s=start,
        max_duration_s=limit,
        breaks=breaks,
    )


def _stop(stop: Stop, starts: list[int], now_s: int, boost: float, horizon: int) -> Stop | None:
    n = len(starts)
    if n >= stop.visits:
        return None
    earliest = now_s if n == 0 else max(now_s, max(starts) + stop.min_gap_s)
    windows = tuple(
        (max(a, earliest), b) for a, b in (stop.windows or ((0, horizon),)) if b >= earliest
    )
    if not windows and stop.checkpoint is not None:
        windows = ((-1, -1),)  # a hard visit whose windows are past: reported, never routed
    elif not windows:
        windows = ((earliest, earliest),) if earliest <= horizon else ((horizon, horizon),)
        boost = 0.0  # nothing left to earn; kept so the stop is reported
    return dataclasses.replace(
        stop,
        windows=windows,
        prize=stop.prize_of_visit(n) * boost,
        repeat_prize=stop.prize_of_visit(1) * boost,
        visits=stop.visits - n,
    )


def remaining_problem(
    problem: Problem,
    *,
    now_s: int,
    states: Sequence[UnitState] = (),
    made: Sequence[MadeVisit] = (),
    boost: Mapping[str, float] | None = None,
    new_stops: Sequence[Stop] = (),
) -> Problem:
    """The problem of the rest of the shift, from ``now_s``.

    Parameters
    ----------
    problem
        The shift's problem (same time origin and places).
    now_s
        Now, seconds from the problem's start.
    states
        Current place and free time per unit (units not listed start from their depot).
    made
        Visits already made.
    boost
        Prize multiplier per grid id (a warning or new incidents raise a grid's risk).
    new_stops
        Stops to add (their locations must be places of the problem).
    """
    by_unit = {s.unit_id: s for s in states}
    unknown = set(by_unit) - {u.unit_id for u in problem.units}
    if unknown:
        msg = f"re-plan: unit states for unknown units {sorted(unknown)}"
        raise ProblemError(msg)
    starts: dict[str, list[int]] = {}
    for m in made:
        if m.stop_id not in problem.stop_index:
            msg = f"re-plan: visit made to unknown stop {m.stop_id!r}"
            raise ProblemError(msg)
        starts.setdefault(m.stop_id, []).append(m.start_s)
    factor = boost or {}
    units = tuple(_unit(u, by_unit.get(u.unit_id), now_s) for u in problem.units)
    horizon = problem.horizon_s
    stops = []
    for s in problem.stops:
        rest = _stop(s, starts.get(s.stop_id, []), now_s, factor.get(s.grid_id, 1.0), horizon)
        if rest is not None:
            stops.append(rest)
    stops.extend(new_stops)
    return dataclasses.replace(problem, units=units, stops=tuple(stops))


def replan(
    problem: Problem,
    *,
    now_s: int,
    states: Sequence[UnitState] = (),
    made: Sequence[MadeVisit] = (),
    boost: Mapping[str, float] | None = None,
    new_stops: Sequence[Stop] = (),
    time_limit_s: float = 3.0,
    seed: int | None = 0,
    backend: str = "ortools",
) -> tuple[Problem, Plan]:
    """Re-plan the rest of the shift; returns the remaining problem and its plan.

    See :func:`remaining_problem` for the parameters. The plan's routes start at each unit's
    current place, no earlier than ``now_s``, and pass :func:`planner.evaluate.evaluate` against
    the returned problem.
    """
    rest = remaining_problem(
        problem, now_s=now_s, states=states, made=made, boost=boost, new_stops=new_stops
    )
    return rest, solve(rest, time_limit_s=time_limit_s, seed=seed, backend=backend)
