"""The independent evaluator: re-checks a plan against its problem and measures it.

Nothing here uses a solver. Each route is replayed against the problem's own travel-time
matrices: shift and duration limits, areas, unit kinds and skills, time windows, dwell, breaks
(inside their windows, on the route), repeat visits (at most ``visits`` per stop, at least
``min_gap_s`` apart) and that every stop left out is listed as unassigned. Violations come back
as sentences; a plan is good when there are none.

Metrics: risk covered (and its share of the shift's risk), presence minutes per grid, km,
hours, travel, waiting and breaks per unit, and response readiness: the share of candidate grids
within 3 and 5 minutes of some unit on duty in each 15-minute slice of the shift.

Warnings (not violations: the plan is valid, but a supervisor would ask why): a unit back at its
end depot more than :data:`EARLY_END_S` before its shift ends (or never leaving) while a stop it
may serve still has a visit wanted and a window open in that time; a checkpoint not met. Presence stops (``Stop.presence``) count apart:
their prize is ``presence_risk``, never part of ``risk_total``; a presence visit must be its
``min_gap_s`` from every other visit to its grid.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from .model import Plan, Problem, Route, Unit

__all__ = ["Evaluation", "Readiness", "UnitMetrics", "evaluate"]

#: Slack, in seconds, allowed when comparing times with fractional matrix entries.
TOLERANCE_S = 1e-6
#: Readiness slices and thresholds (the 1-3-5 minute quick-response targets).
SLICE_S = 900
READY_S = (180, 300)
#: A unit ending its patrol this long before its shift ends, with risk left it may serve, is
#: warned about.
EARLY_END_S = 1800


@dataclass(frozen=True)
class UnitMetrics:
    """What one unit's route costs and contains."""

    unit_id: str
    kind: str
    visits: int
    distance_m: float
    duration_s: int
    travel_s: float
    service_s: int
    waiting_s: int
    break_s: int
    risk_covered: float
    presence_risk: float = 0.0


@dataclass(frozen=True)
class Readiness:
    """Share of candidate grids within 3 and 5 minutes of some unit, for one 15-minute slice."""

    start_s: int
    within_3min: float
    within_5min: float


@dataclass(frozen=True)
class Evaluation:
    """The evaluator's verdict and metrics."""

    violations: tuple[str, ...]
    risk_total: float
    risk_covered: float
    presence_min: dict[str, float]
    units: tuple[UnitMetrics, ...]
    readiness: tuple[Readiness, ...]
    warnings: tuple[str, ...] = ()
    #: Units that end their patrol early (or never leave) while risk they may serve is left.
    early_units: tuple[str, ...] = ()
    #: Checkpoints (by name) not served.
    checkpoints_missed: tuple[str, ...] = ()
    #: Prize of presence doses made (apart from ``risk_covered``).
    presence_risk: float = 0.0
    #: Seconds of the units' shifts not spent travelling, at a stop or on a break.
    idle_s: int = 0
    #: Sum of the units' shift lengths.
    shift_s: int = 0

    @property
    def idle_share(self) -> float:
        """Share of the units' shift time spent idle (waiting, or off the route)."""
        return self.idle_s / self.shift_s if self.shift_s > 0 else 0.0

    @property
    def ok(self) -> bool:
        """True when the plan breaks no rule."""
        return not self.violations

    @property
    def risk_covered_pct(self) -> float:
        """Risk covered as a percentage of the shift's risk (0 when there is none)."""
        return 100.0 * self.risk_covered / self.risk_total if self.risk_total > 0 else 0.0

    @property
    def distance_m(self) -> float:
        """Total distance of all routes."""
        return sum(u.distance_m for u in self.units)

    @property
    def duration_s(self) -> int:
        """Total duration of all routes."""
        return sum(u.duration_s for u in self.units)

    @property
    def waiting_s(self) -> int:
        """Total idle (waiting) time on routes."""
        return sum(u.waiting_s for u in self.units)


def _check_route(problem: Problem, unit: Unit, route: Route, out: list[str]) -> UnitMetrics:
    who = f"unit {unit.unit_id}"
    if route.start_s < unit.shift_start_s:
        out.append(f"{who} leaves at {route.start_s} s, before its shift starts")
    if route.end_s > unit.shift_end_s:
        out.append(f"{who} returns at {route.end_s} s, after its shift ends")
    if route.end_s - route.start_s > unit.duration_limit_s:
        out.append(f"{who} works {route.end_s - route.start_s} s, over {unit.duration_limit_s} s")
    here, departure = unit.start_location, route.start_s
    leg_breaks = 0
    distance = travel = 0.0
    service = waiting = breaks_s = 0
    risk = presence_risk = 0.0
    seen_breaks: Counter[str] = Counter()
    by_id = {b.break_id: b for b in unit.breaks}
    for step in route.steps:
        if step.kind == "break":
            brk = by_id.get(step.stop_id)
            seen_breaks[step.stop_id] += 1
            if brk is None:
                out.append(f"{who} takes unknown break {step.stop_id!r}")
                continue
            if not brk.earliest_s <= step.start_s <= brk.latest_s:
                out.append(
                    f"{who} starts break {brk.break_id!r} at {step.start_s} s, outside its window"
                )
            if step.service_s < brk.duration_s:
                out.append(
                    f"{who} break {brk.break_id!r} lasts {step.service_s} s < {brk.duration_s} s"
                )
            breaks_s += step.service_s
            if brk.location is None or brk.location == here:
                leg_breaks += step.service_s  # taken where the unit is, on its way
                continue
            if step.location != brk.location:
                out.append(f"{who} takes break {brk.break_id!r} away from its place {brk.location}")
            leg = problem.travel(unit.mode, here, step.location)
            if not np.isfinite(leg) or step.arrival_s - departure + TOLERANCE_S < leg + leg_breaks:
                out.append(f"{who} reaches break {brk.break_id!r} faster than travel allows")
            distance += problem.distance(unit.mode, here, step.location)
            travel += leg
            here, departure, leg_breaks = step.location, step.departure_s, 0
            continue
        if step.stop_id not in problem.stop_index:
            out.append(f"{who} visits unknown stop {step.stop_id!r}")
            continue
        stop = problem.stop(step.stop_id)
        what = f"{who} at stop {stop.stop_id}"
        if step.location != stop.location:
            out.append(f"{what}: location {step.location} is not the stop's {stop.location}")
        if not problem.may_serve(unit, stop):
            out.append(f"{what}: the unit may not serve grid {stop.grid_id} (area, kind or skills)")
        if not any(a <= step.start_s <= b for a, b in problem.windows_of(stop)):
            out.append(f"{what}: visit starts at {step.start_s} s, outside its windows")
        if step.service_s < stop.dwell_s:
            out.append(f"{what}: stays {step.service_s} s, less than its dwell {stop.dwell_s} s")
        leg = problem.travel(unit.mode, here, stop.location)
        if not np.isfinite(leg) or step.arrival_s - departure + TOLERANCE_S < leg + leg_breaks:
            out.append(
                f"{what}: arrives {step.arrival_s - departure} s after leaving, travel needs "
                f"{leg:.0f} s plus {leg_breaks} s of breaks"
            )
        distance += problem.distance(unit.mode, here, stop.location)
        travel += leg
        service += step.service_s
        waiting += step.waiting_s
        if stop.presence:
            presence_risk += stop.prize_of_visit(step.visit_number)
        else:
            risk += stop.prize_of_visit(step.visit_number)
        here, departure, leg_breaks = stop.location, step.departure_s, 0
    leg = problem.travel(unit.mode, here, unit.end)
    if not np.isfinite(leg) or route.end_s - departure + TOLERANCE_S < leg + leg_breaks:
        out.append(f"{who} cannot be back at its end depot by {route.end_s} s")
    distance += problem.distance(unit.mode, here, unit.end)
    travel += leg
    out.extend(
        f"{who} takes break {b.break_id!r} {seen_breaks[b.break_id]} times, not once"
        for b in unit.breaks
        if seen_breaks[b.break_id] != 1
    )
    return UnitMetrics(
        unit_id=unit.unit_id,
        kind=unit.kind,
        visits=len(route.visits),
        distance_m=distance,
        duration_s=route.end_s - route.start_s,
        travel_s=travel,
        service_s=service,
        waiting_s=waiting,
        break_s=breaks_s,
        risk_covered=risk,
        presence_risk=presence_risk,
    )


def _check_stops(problem: Problem, plan: Plan, out: list[str]) -> None:
    starts: dict[str, list[int]] = defaultdict(list)
    numbers: dict[str, list[int]] = defaultdict(list)
    by_grid: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for r in plan.routes:
        for v in r.visits:
            starts[v.stop_id].append(v.start_s)
            numbers[v.stop_id].append(v.visit_number)
            if v.stop_id in problem.stop_index:
                by_grid[problem.stop(v.stop_id).grid_id].append((v.start_s, v.stop_id))
    for stop in problem.stops:
        if not stop.presence:
            continue
        for t in starts.get(stop.stop_id, []):
            for u, other in by_grid[stop.grid_id]:
                if other != stop.stop_id and abs(u - t) < stop.min_gap_s:
                    out.append(
                        f"presence stop {stop.stop_id} visited {abs(u - t)} s from a visit to "
                        f"{other} in the same grid, less than {stop.min_gap_s} s"
                    )
    listed = {u.stop_id for u in plan.unassigned if u.stop_id is not None}
    for stop in problem.stops:
        made = sorted(starts.get(stop.stop_id, []))
        if len(made) > stop.visits:
            out.append(f"stop {stop.stop_id} visited {len(made)} times, more than {stop.visits}")
        if sorted(numbers.get(stop.stop_id, [])) != list(range(len(made))):
            out.append(f"stop {stop.stop_id}: visit numbers are not 0..{len(made) - 1}")
        for a, b in itertools.pairwise(made):
            if b - a < stop.min_gap_s:
                out.append(
                    f"stop {stop.stop_id} visited {b - a} s apart, less than {stop.min_gap_s} s"
                )
        if len(made) < stop.visits and stop.stop_id not in listed and not stop.presence:
            out.append(f"stop {stop.stop_id} is neither fully visited nor listed as unassigned")


def _position(problem: Problem, unit: Unit, route: Route | None, t: int) -> int:
    """Location of ``unit`` at time ``t``: its last place reached (the depot before leaving)."""
    if route is None:
        return unit.start_location
    if t >= route.end_s:
        return unit.end
    here = unit.start_location
    for step in route.steps:
        if step.arrival_s > t:
            break
        here = step.location
    return here


def readiness(problem: Problem, plan: Plan) -> tuple[Readiness, ...]:
    """Share of candidate grids within 3 and 5 minutes of some on-duty unit, per 15 minutes."""
    if not problem.units or not problem.stops:
        return ()
    grid_loc: dict[str, int] = {}
    for s in problem.stops:
        grid_loc.setdefault(s.grid_id, s.location)
    targets = np.fromiter(grid_loc.values(), dtype=np.int64)
    t0 = min(u.shift_start_s for u in problem.units)
    routes = {r.unit_id: r for r in plan.routes}
    out = []
    for t in range(t0, problem.horizon_s, SLICE_S):
        best = np.full(len(targets), np.inf)
        for u in problem.units:
            if not u.shift_start_s <= t < u.shift_end_s:
                continue
            where = _position(problem, u, routes.get(u.unit_id), t)
            best = np.minimum(best, np.asarray(problem.travel_s[u.mode])[where, targets])
        n = len(targets)
        out.append(
            Readiness(
                start_s=t,
                within_3min=float(np.count_nonzero(best <= READY_S[0])) / n,
                within_5min=float(np.count_nonzero(best <= READY_S[1])) / n,
            )
        )
    return tuple(out)


def evaluate(problem: Problem, plan: Plan) -> Evaluation:
    """Check ``plan`` against ``problem`` without trusting the solver, and measure it.

    Parameters
    ----------
    problem
        The problem the plan claims to solve.
    plan
        Any plan, from any backend.

    Returns
    -------
    Evaluation
        Violations (empty when the plan is valid) and metrics.
    """
    violations: list[str] = []
    metrics: list[UnitMetrics] = []
    units = {u.unit_id: u for u in problem.units}
    for route in plan.routes:
        unit = units.get(route.unit_id)
        if unit is None:
            violations.append(f"route for unknown unit {route.unit_id!r}")
            continue
        metrics.append(_check_route(problem, unit, route, violations))
    _check_stops(problem, plan, violations)
    presence: dict[str, float] = defaultdict(float)
    for r in plan.routes:
        for v in r.visits:
            if v.stop_id in problem.stop_index:
                # waiting for a window happens at the stop, in its grid: presence too
                presence[problem.stop(v.stop_id).grid_id] += (v.service_s + v.waiting_s) / 60.0
    warnings, early = _early_ends(problem, plan)
    served = {v.stop_id for r in plan.routes for v in r.visits}
    reasons = {u.stop_id: u.reason for u in plan.unassigned if u.stop_id is not None}
    missed = tuple(
        s.checkpoint for s in problem.stops if s.checkpoint is not None and s.stop_id not in served
    )
    warnings = (
        tuple(
            f"checkpoint {s.checkpoint} not met: {reasons.get(s.stop_id, 'not visited')}"
            for s in problem.stops
            if s.checkpoint is not None and s.stop_id not in served
        )
        + warnings
    )
    shift_s = sum(u.shift_end_s - u.shift_start_s for u in problem.units)
    busy = sum(m.travel_s + m.service_s + m.break_s for m in metrics)
    return Evaluation(
        violations=tuple(violations),
        risk_total=float(sum(s.total_prize for s in problem.stops if not s.presence)),
        risk_covered=float(sum(m.risk_covered for m in metrics)),
        presence_min=dict(presence),
        units=tuple(metrics),
        readiness=readiness(problem, plan),
        warnings=warnings,
        early_units=early,
        checkpoints_missed=missed,
        presence_risk=float(sum(m.presence_risk for m in metrics)),
        idle_s=max(0, round(shift_s - busy)),
        shift_s=shift_s,
    )


def _early_ends(problem: Problem, plan: Plan) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Units ending more than EARLY_END_S early while a stop they may serve is still open."""
    routes = {r.unit_id: r for r in plan.routes if r.visits}
    made = Counter(v.stop_id for r in plan.routes for v in r.visits)
    warnings: list[str] = []
    early: list[str] = []
    for unit in problem.units:
        route = routes.get(unit.unit_id)
        end = route.end_s if route is not None else unit.shift_start_s
        if unit.shift_end_s - end <= EARLY_END_S:
            continue
        open_after = [
            s
            for s in problem.stops
            if problem.may_serve(unit, s)
            and made[s.stop_id] < s.visits
            and any(
                b >= end and a + s.dwell_s <= unit.shift_end_s for a, b in problem.windows_of(s)
            )
        ]
        if not open_after:
            continue
        early.append(unit.unit_id)
        what = "never leaves" if route is None else "is back"
        warnings.append(
            f"unit {unit.unit_id} {what} {(unit.shift_end_s - end) // 60} minutes before its "
            f"shift ends while {len(open_after)} stops it may serve are still open"
        )
    return tuple(warnings), tuple(early)
