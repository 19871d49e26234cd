"""Fill each unit's free time with more patrol: the pass after any backend.

Solvers drop what does not pay and send units home when the hot windows close; a supervisor
sees a unit idle at the station while grids it may enter still have risk. :func:`fill_plan`
takes any valid plan and, unit by unit, inserts more visits where they fit without moving any
planned step out of its window, its breaks, its shift or the spacing between visits of a grid:
first the visits the solver left out (a stop's missing repeat visits, dropped stops), then
presence doses (``Stop.presence``) at the grids with the most risk per minute spent. Each
insertion is the one with the most prize per second added to the route; waiting before a window
opens is the cheapest place, so it turns into patrol. A unit the solver left at its depot gets a
route of its own when anything fits.

An insertion moves only the steps after it, and only later (push forward): a step's latest
start is bounded by its window, by the next step's latest arrival, and by the next visit (in any
route) to the same grid, so a plan valid before stays valid. A break taken on the way is timed
at the next step's place (the unit drives there, then rests), so a route is first replayed that
way; the units are filled idlest first until an optional deadline. Every filled route is checked
with the evaluator's route check (a unit whose filled route fails keeps its planned route).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np

from .evaluate import _check_route
from .model import Plan, Problem, Route, Stop, Unit, Visit, renumber_visits

__all__ = ["fill_plan", "required_gap"]

#: Insertions tried per unit at most (a shift holds far fewer visits).
MAX_INSERTIONS = 200
#: What a missed checkpoint is worth to the fill pass (above any risk visit).
CHECKPOINT_PRIZE = 1e12


def required_gap(a: Stop, b: Stop) -> int:
    """Least time between the starts of visits to ``a`` and ``b`` (0 when unrelated).

    Visits to one stop are ``min_gap_s`` apart; a presence dose is its own ``min_gap_s`` apart
    from any visit to the same grid.
    """
    if a.stop_id == b.stop_id:
        return a.min_gap_s
    if a.grid_id != b.grid_id:
        return 0
    return max(a.min_gap_s if a.presence else 0, b.min_gap_s if b.presence else 0)


@dataclass
class _Ledger:
    """Every visit start in the plan, by grid, with its stop (for spacing checks)."""

    by_grid: dict[str, list[tuple[int, int]]]  # grid -> [(start_s, stop index)]
    count: dict[int, int]  # stop index -> visits made

    def latest(self, problem: Problem, i: int, start: int) -> float:
        """Latest start of the visit of stop ``i`` now at ``start`` keeping later visits' gaps."""
        stop = problem.stops[i]
        bound = math.inf
        for t, j in self.by_grid.get(stop.grid_id, ()):
            if t > start or (t == start and j != i):
                gap = required_gap(stop, problem.stops[j])
                if gap:
                    bound = min(bound, t - gap)
        return bound

    def add(self, i: int, grid: str, start: int) -> None:
        self.by_grid.setdefault(grid, []).append((start, i))
        self.count[i] = self.count.get(i, 0) + 1

    def move(self, i: int, grid: str, old: int, new: int) -> None:
        entries = self.by_grid[grid]
        entries[entries.index((old, i))] = (new, i)


def _places(unit: Unit, steps: list[Visit] | tuple[Visit, ...], floating: set[str]) -> list[int]:
    """Where each step happens: a break on the way is taken at the next step's place."""
    where = [0] * len(steps)
    nxt = unit.end
    for k in range(len(steps) - 1, -1, -1):
        s = steps[k]
        if not (s.kind == "break" and s.stop_id in floating):
            nxt = s.location
        where[k] = nxt
    return where


def _replay(
    problem: Problem,
    unit: Unit,
    steps: list[Visit],
    start_s: int,
    travel: np.ndarray,
    fixed: Visit | None = None,
) -> Route:
    """Time ``steps`` from ``start_s``, never earlier than planned (``fixed`` as given)."""
    floating = {b.break_id for b in unit.breaks if b.location is None}
    where = _places(unit, steps, floating)
    here, t = unit.start_location, start_s
    out: list[Visit] = []
    for s, place in zip(steps, where, strict=True):
        arrival = t + math.ceil(float(travel[here, place]))
        start = s.start_s if s is fixed else max(arrival, s.start_s)
        loc = place if s.kind == "break" and s.stop_id in floating else s.location
        out.append(
            dataclasses.replace(
                s,
                location=loc,
                arrival_s=min(arrival, start),
                start_s=start,
                departure_s=start + s.service_s,
            )
        )
        here, t = place, start + s.service_s
    end = t + math.ceil(float(travel[here, unit.end]))
    return Route(unit.unit_id, start_s, end, tuple(out))


def _latest(
    problem: Problem, unit: Unit, route: Route, ledger: _Ledger, travel: np.ndarray
) -> list[float]:
    """Latest arrival at each step (and, last, at the end depot) keeping every later step valid."""
    breaks = {b.break_id: b for b in unit.breaks}
    floating = {b.break_id for b in unit.breaks if b.location is None}
    where = _places(unit, route.steps, floating)
    n = len(route.steps)
    late = [0.0] * (n + 1)
    late[n] = float(min(unit.shift_end_s, route.start_s + unit.duration_limit_s))
    nxt = unit.end
    for k in range(n - 1, -1, -1):
        s = route.steps[k]
        leg = float(math.ceil(float(travel[where[k], nxt])))
        if s.kind == "break":
            bound = min(float(breaks[s.stop_id].latest_s), late[k + 1] - s.service_s - leg)
        else:
            i = problem.stop_index[s.stop_id]
            window = next(b for a, b in problem.windows_of(problem.stops[i]) if a <= s.start_s <= b)
            bound = min(
                float(window),
                late[k + 1] - s.service_s - leg,
                ledger.latest(problem, i, s.start_s),
            )
        late[k] = bound
        nxt = where[k]
    return late


def _empty_route(problem: Problem, unit: Unit, travel: np.ndarray) -> Route | None:
    """A route with only the unit's breaks (taken as early as allowed), or None if none fits."""
    steps = [
        Visit(
            "break",
            b.break_id,
            unit.start_location if b.location is None else b.location,
            b.earliest_s,
            b.earliest_s,
            b.earliest_s + b.duration_s,
        )
        for b in sorted(unit.breaks, key=lambda b: b.earliest_s)
    ]
    route = _replay(problem, unit, steps, unit.shift_start_s, travel)
    latest = {b.break_id: b.latest_s for b in unit.breaks}
    if any(s.start_s > latest[s.stop_id] for s in route.steps):
        return None
    if route.end_s > unit.shift_end_s or route.end_s - route.start_s > unit.duration_limit_s:
        return None
    return route


def _windows_array(problem: Problem, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Window starts and ends of each stop in ``idx``, padded with empty windows."""
    wins = [problem.windows_of(problem.stops[int(i)]) for i in idx]
    width = max((len(w) for w in wins), default=1)
    lo = np.full((len(idx), width), np.inf)
    hi = np.full((len(idx), width), -np.inf)
    for r, w in enumerate(wins):
        for c, (a, b) in enumerate(w):
            lo[r, c], hi[r, c] = a, b
    return lo, hi


def _fill_unit(
    problem: Problem,
    unit: Unit,
    route: Route,
    ledger: _Ledger,
    candidates: np.ndarray,
    deadline: float | None = None,
) -> Route:
    travel = np.asarray(problem.travel_s[unit.mode])
    stops = problem.stops
    floating = {b.break_id for b in unit.breaks if b.location is None}
    locs = np.array([stops[i].location for i in candidates], dtype=np.int64)
    dwell = np.array([stops[i].dwell_s for i in candidates], dtype=float)
    wanted = np.array([stops[i].visits for i in candidates], dtype=np.int64)
    lo, hi = _windows_array(problem, candidates)
    rows = np.arange(len(candidates))
    for _ in range(MAX_INSERTIONS):
        if deadline is not None and time.perf_counter() > deadline:
            break
        made = np.array([ledger.count.get(int(i), 0) for i in candidates], dtype=np.int64)
        open_ = made < wanted
        if not open_.any():
            break
        prize = np.array(
            [
                CHECKPOINT_PRIZE
                if stops[int(i)].checkpoint
                else stops[int(i)].prize_of_visit(int(k))
                for i, k in zip(candidates, made, strict=True)
            ]
        )
        late = _latest(problem, unit, route, ledger, travel)
        steps = route.steps
        where = _places(unit, steps, floating)
        n = len(steps)
        best: tuple[float, int, int, int] | None = None  # (score, pos, stop, start)
        for pos in range(n + 1):
            if pos > 0 and steps[pos - 1].kind == "break" and steps[pos - 1].stop_id in floating:
                # inserting right after a break on the way would move the break: its place is
                # the next step's; insert before it instead
                continue
            prev = unit.start_location if pos == 0 else where[pos - 1]
            prev_t = route.start_s if pos == 0 else steps[pos - 1].departure_s
            nxt = unit.end if pos == n else where[pos]
            arrive = prev_t + np.ceil(travel[prev, locs])
            ok_w = arrive[:, None] <= hi
            has = ok_w.any(axis=1) & open_ & np.isfinite(arrive)
            if not has.any():
                continue
            first = np.argmax(ok_w, axis=1)
            start = np.maximum(arrive, lo[rows, first])
            back = start + dwell + np.ceil(travel[locs, nxt])
            fits = has & (back <= late[pos])
            if not fits.any():
                continue
            added = back - prev_t - float(travel[prev, nxt])
            score = np.where(fits, prize / np.maximum(added, 1.0), -np.inf)
            for c in np.argsort(-score, kind="stable"):
                if not np.isfinite(score[c]):
                    break
                if best is not None and score[c] <= best[0]:
                    break
                i = int(candidates[c])
                t0 = int(start[c])
                t = _spaced_start(problem, ledger, i, t0, int(hi[c, first[c]]))
                if t is None:
                    continue
                value = float(score[c])
                if t != t0:
                    # spacing moved it later: check the fit again and score the real cost
                    delay = t - t0
                    if back[c] + delay > late[pos]:
                        continue
                    value = float(prize[c]) / max(float(added[c]) + delay, 1.0)
                if best is None or value > best[0]:
                    best = (value, pos, i, t)
        if best is None:
            break
        _, pos, i, start_s = best
        stop = stops[i]
        new = Visit("visit", stop.stop_id, stop.location, start_s, start_s, start_s + stop.dwell_s)
        old = [(x.kind, x.start_s) for x in steps]
        trial = _replay(
            problem, unit, [*steps[:pos], new, *steps[pos:]], route.start_s, travel, new
        )
        moved = [x for x in trial.steps if x.stop_id != new.stop_id or x.start_s != start_s]
        if len(moved) != len(old):
            break
        route = trial
        for x, (kind, t0) in zip(moved, old, strict=True):
            if kind == "visit" and x.start_s != t0:
                j = problem.stop_index[x.stop_id]
                ledger.move(j, stops[j].grid_id, t0, x.start_s)
        ledger.add(i, stop.grid_id, start_s)
    return route


def _spaced_start(problem: Problem, ledger: _Ledger, i: int, start: int, wend: int) -> int | None:
    """Earliest start at or after ``start`` (within this window) spaced from the grid's visits."""
    stop = problem.stops[i]
    for _ in range(50):
        if start > wend:
            return None
        clash = [
            t + required_gap(stop, problem.stops[j])
            for t, j in ledger.by_grid.get(stop.grid_id, ())
            if abs(start - t) < required_gap(stop, problem.stops[j])
        ]
        if not clash:
            return start
        start = max(clash)
    return None


def fill_plan(problem: Problem, plan: Plan, *, deadline: float | None = None) -> Plan:
    """``plan`` with each unit's free time filled with more visits (see the module docstring).

    Units are filled in problem order. A unit's route is replayed first (breaks on the way at
    the next step's place); when that replay or the filled route breaks a rule of
    :mod:`planner.evaluate`, the unit keeps its route as planned. ``unassigned`` is left to the
    caller to recompute (:func:`planner.feasibility.explain`). ``deadline`` (a
    ``time.perf_counter()`` value) stops the filling when reached; what is filled stays.
    """
    ledger = _Ledger(by_grid={}, count={})
    for r in plan.routes:
        for v in r.visits:
            i = problem.stop_index[v.stop_id]
            ledger.add(i, problem.stops[i].grid_id, v.start_s)
    routes = {r.unit_id: r for r in plan.routes}
    out: list[Route] = []

    def busy(unit: Unit) -> float:
        r = routes.get(unit.unit_id)
        worked = 0 if r is None else sum(s.service_s for s in r.steps)
        return worked / max(1, unit.shift_end_s - unit.shift_start_s)

    # the idlest units first: when the deadline cuts the pass short, they got their share
    for unit in sorted(problem.units, key=busy):
        travel = np.asarray(problem.travel_s[unit.mode])
        allowed = np.array(
            [i for i, s in enumerate(problem.stops) if problem.may_serve(unit, s)], dtype=np.int64
        )
        planned = routes.get(unit.unit_id)
        route: Route | None
        if planned is not None:
            route = _replay(problem, unit, list(planned.steps), unit.shift_start_s, travel)
            if not _valid(problem, unit, route):
                out.append(planned)
                continue
        else:
            route = _empty_route(problem, unit, travel)
        if route is None or not len(allowed):
            if planned is not None:
                out.append(planned)
            continue
        snapshot = {g: list(v) for g, v in ledger.by_grid.items()}, dict(ledger.count)
        filled = _fill_unit(problem, unit, route, ledger, allowed, deadline)
        filled = _tighten(problem, unit, filled, travel)
        if filled.visits and _valid(problem, unit, filled):
            out.append(filled)
            continue
        ledger.by_grid, ledger.count = snapshot
        if planned is not None:
            out.append(planned)
    order = {u.unit_id: k for k, u in enumerate(problem.units)}
    out.sort(key=lambda r: order[r.unit_id])  # routes in the problem's unit order
    return dataclasses.replace(plan, routes=tuple(renumber_visits(out)))


def _valid(problem: Problem, unit: Unit, route: Route) -> bool:
    """Whether the route alone breaks no rule of the evaluator (visit numbers aside)."""
    found: list[str] = []
    _check_route(problem, unit, route, found)
    return not found


def _tighten(problem: Problem, unit: Unit, route: Route, travel: np.ndarray) -> Route:
    """Leave the depot as late as the first step allows (no waiting there)."""
    if not route.steps:
        return route
    floating = {b.break_id for b in unit.breaks if b.location is None}
    where = _places(unit, route.steps, floating)
    first = route.steps[0]
    lead = math.ceil(float(travel[unit.start_location, where[0]]))
    depart = max(route.start_s, first.start_s - lead)
    steps = (
        dataclasses.replace(first, arrival_s=min(first.start_s, depart + lead)),
        *route.steps[1:],
    )
    return dataclasses.replace(route, start_s=depart, steps=steps)
