"""Portfolio backend: the array engines (VROOM warm start, then PyVRP) beside OR-Tools.

The problem is lowered to a :class:`~planner.engines.arrays.RoutingArrays` (one node per depot
place, one optional prize node per wanted visit of each stop, one required node per break
taken at a fixed place), the engine portfolio (:mod:`planner.engines.portfolio`) solves it, and
its routes are timed again on the problem's own matrices. The OR-Tools backend runs in the rest
of the budget, and the plan that collects the most risk (tie: less travel) among those the
independent evaluator (:func:`planner.evaluate.evaluate`) accepts is returned, so a plan that
breaks a rule is never returned.

What the arrays cannot say is handled as follows:

- Several windows per stop: each visit node keeps only the longest of its windows (a
  restriction, so every routed visit is still inside a window of the stop).
- Repeat visits: the copies and window slots of :func:`planner.ortools_backend.copy_windows`
  (slots ``min_gap_s`` apart), so any two copies are far enough apart.
- Breaks at a fixed place: a required node that only its unit may serve.
- Breaks taken on the way (no place): inserted into each route afterwards where they fit
  (in waiting time if possible); when one cannot fit, the route's lowest-prize visits are
  dropped until it does.
- Areas, unit kinds and skills: the visit node's allowed vehicles (from
  :func:`planner.feasibility.screen`).

A seed seeds PyVRP and OR-Tools. With ``max_solutions`` it also limits PyVRP's iterations, so
the same seed gives the same plan when neither stage is cut by the clock (VROOM's warm start
is deterministic; its time cap is a share of the budget).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np

from .engines import portfolio
from .engines.arrays import HORIZON, RoutingArrays, VehicleSpec
from .evaluate import evaluate
from .feasibility import Screening, explain, screen
from .model import Plan, Problem, Route, Unit, Visit, renumber_visits
from .ortools_backend import copy_windows, solve_ortools

__all__ = ["Lowered", "lower", "solve_portfolio"]

#: Share of the time limit given to the engine portfolio; OR-Tools gets the rest.
ENGINE_SHARE = 0.7
#: Least share of the limit left after the engines for the OR-Tools stage to run (when the
#: engines overran their share on a loaded machine, OR-Tools' first solution would overrun the
#: limit: seen at 21 s for a 10 s limit on 500 stops and 40 units).
ORTOOLS_MIN_SHARE = 0.15
#: Integer prize of the richest visit node (prizes are scaled to integers for the engines).
PRIZE_RESOLUTION = 10_000


@dataclass(frozen=True)
class _Node:
    """What one visit node of the arrays stands for."""

    location: int
    service: int
    window: tuple[int, int]
    stop: int = -1  # index into problem.stops, -1 for a break
    copy: int = 0  # visit slot of the stop
    unit: int = -1  # for a break: its unit
    break_id: str = ""


@dataclass(frozen=True)
class Lowered:
    """A problem lowered to engine arrays, with the way back.

    Attributes
    ----------
    arrays
        The engines' instance.
    nodes
        For each visit node (``arrays.n_depots + i``), what it stands for.
    screening
        Who may serve which stop (stops no one can serve are not in the arrays).
    """

    arrays: RoutingArrays
    nodes: tuple[_Node, ...]
    screening: Screening


def _int_travel(problem: Problem, mode: str, loc: list[int], big: int) -> np.ndarray:
    m = np.asarray(problem.travel_s[mode])[np.ix_(loc, loc)]
    return np.minimum(np.where(np.isfinite(m), np.ceil(m), big), big).astype(np.int64)


def lower(problem: Problem, screening: Screening | None = None) -> Lowered | None:
    """Lower ``problem`` to engine arrays, or None when there is nothing to route.

    Parameters
    ----------
    problem
        The planning problem.
    screening
        Its screening (computed when None).

    Returns
    -------
    Lowered or None
        The arrays and node meanings; None without units or without any servable stop.
    """
    screening = screen(problem) if screening is None else screening
    if not problem.units or not screening.candidates:
        return None
    depot_places = sorted({p for u in problem.units for p in (u.start_location, u.end)})
    depot_node = {p: i for i, p in enumerate(depot_places)}
    nodes: list[_Node] = []
    owners: list[tuple[int, ...]] = []
    for i, stop in enumerate(problem.stops):
        who = screening.candidates.get(stop.stop_id)
        if not who:
            continue
        for k, slot in enumerate(copy_windows(problem, stop)):
            window = max(slot, key=lambda w: (w[1] - w[0], -w[0]))
            nodes.append(_Node(stop.location, stop.dwell_s, window, stop=i, copy=k))
            owners.append(who)
    n_stop_nodes = len(nodes)
    for v, unit in enumerate(problem.units):
        for b in unit.breaks:
            if b.location is not None:
                nodes.append(
                    _Node(
                        b.location,
                        b.duration_s,
                        (b.earliest_s, b.latest_s),
                        unit=v,
                        break_id=b.break_id,
                    )
                )
                owners.append((v,))
    n_dep = len(depot_places)
    loc = depot_places + [n.location for n in nodes]
    horizon = max(problem.horizon_s, 1)
    big = 4 * horizon + 10**6
    modes = sorted({u.mode for u in problem.units})
    profile = {m: j for j, m in enumerate(modes)}
    travel = np.stack([_int_travel(problem, m, loc, big) for m in modes])
    service = np.array([0] * n_dep + [n.service for n in nodes], dtype=np.int64)
    windows = np.array([(0, HORIZON)] * n_dep + [n.window for n in nodes], dtype=np.int64)
    prizes = [problem.stops[n.stop].prize_of_visit(n.copy) for n in nodes[:n_stop_nodes]]
    top = max(prizes, default=0.0) or 1.0
    prize = np.zeros(len(loc), dtype=np.int64)
    prize[n_dep : n_dep + n_stop_nodes] = [
        max(1, round(p / top * PRIZE_RESOLUTION)) if p > 0 else 0 for p in prizes
    ]
    # checkpoints are hard visits: each outweighs all risk visits together
    hard = int(prize.sum()) + 1
    for j, n in enumerate(nodes[:n_stop_nodes]):
        if problem.stops[n.stop].checkpoint is not None:
            prize[n_dep + j] = hard
    required = np.zeros(len(loc), dtype=bool)
    required[n_dep + n_stop_nodes :] = True
    allowed: list[set[int]] = [set() for _ in problem.units]
    for j, who in enumerate(owners):
        for v in who:
            allowed[v].add(n_dep + j)
    # Breaks on the way are inserted after solving; their time is kept free here.
    reserve = [sum(b.duration_s for b in u.breaks if b.location is None) for u in problem.units]
    vehicles = tuple(
        VehicleSpec(
            start=depot_node[u.start_location],
            end=depot_node[u.end],
            shift=(u.shift_start_s, max(u.shift_start_s, u.shift_end_s - reserve[v])),
            max_duration=max(0, u.duration_limit_s - reserve[v]),
            profile=profile[u.mode],
            allowed=frozenset(allowed[v]),
        )
        for v, u in enumerate(problem.units)
    )
    arrays = RoutingArrays(
        travel=travel,
        service=service,
        windows=windows,
        vehicles=vehicles,
        n_depots=n_dep,
        prize=prize,
        required=required,
    )
    return Lowered(arrays=arrays, nodes=tuple(nodes), screening=screening)


def _timed(
    problem: Problem,
    unit: Unit,
    items: list[_Node | str],
    depart: int,
    *,
    check_duration: bool = True,
) -> tuple[list[Visit], int] | None:
    """Replay ``items`` (nodes, or ids of breaks taken on the way) leaving at ``depart``.

    Returns the steps and the return time at the end depot, or None when a window, the shift
    or the duration limit is broken.
    """
    travel = np.asarray(problem.travel_s[unit.mode])
    floating = {b.break_id: b for b in unit.breaks if b.location is None}
    here, t = unit.start_location, depart
    steps: list[Visit] = []
    for item in items:
        if isinstance(item, str):
            brk = floating[item]
            start = max(t, brk.earliest_s)
            if start > brk.latest_s:
                return None
            steps.append(Visit("break", item, here, start, start, start + brk.duration_s))
            t = start + brk.duration_s
            continue
        leg = float(travel[here, item.location])
        if not math.isfinite(leg):
            return None
        arrival = t + math.ceil(leg)
        start = max(arrival, item.window[0])
        if start > item.window[1]:
            return None
        if item.stop >= 0:
            stop = problem.stops[item.stop]
            steps.append(
                Visit("visit", stop.stop_id, stop.location, arrival, start, start + item.service)
            )
        else:
            steps.append(
                Visit("break", item.break_id, item.location, arrival, start, start + item.service)
            )
        here, t = item.location, start + item.service
    leg = float(travel[here, unit.end])
    if not math.isfinite(leg):
        return None
    back = t + math.ceil(leg)
    if back > unit.shift_end_s:
        return None
    if check_duration and back - depart > unit.duration_limit_s:
        return None
    return steps, back


def _route(problem: Problem, unit: Unit, items: list[_Node | str]) -> Route | None:
    """Time ``items`` as a route leaving as late as the first step allows (shortest duration)."""
    early = _timed(problem, unit, items, unit.shift_start_s, check_duration=False)
    if early is None:
        return None
    depart = unit.shift_start_s
    if early[0]:
        first = early[0][0]
        lead = math.ceil(float(problem.travel_s[unit.mode][unit.start_location, first.location]))
        depart = max(depart, first.start_s - lead)
    timed = _timed(problem, unit, items, depart)
    if timed is None:
        return None
    steps, back = timed
    return Route(unit.unit_id, depart, back, tuple(steps))


def _skim(
    problem: Problem, unit: Unit, items: list[_Node | str]
) -> tuple[float, int, list[_Node | str]] | None:
    """Replay ``items`` from the shift start, skipping visits that no longer fit.

    A visit is skipped when its window has closed or the unit could not get back to its end
    depot after it. Returns the prize skipped, the return time and the items kept; None when a
    break misses its window.
    """
    travel = np.asarray(problem.travel_s[unit.mode])
    floating = {b.break_id: b for b in unit.breaks if b.location is None}
    here, t = unit.start_location, unit.shift_start_s
    kept: list[_Node | str] = []
    lost = 0.0
    for item in items:
        if isinstance(item, str):
            brk = floating[item]
            start = max(t, brk.earliest_s)
            if start > brk.latest_s:
                return None
            kept.append(item)
            t = start + brk.duration_s
            continue
        leg = float(travel[here, item.location])
        home = float(travel[item.location, unit.end])
        reach = max(t + math.ceil(leg), item.window[0]) if math.isfinite(leg) else None
        fits = (
            reach is not None
            and reach <= item.window[1]
            and reach + item.service + home <= unit.shift_end_s
        )
        if reach is None or not fits:
            if item.stop < 0:
                return None
            lost += problem.stops[item.stop].prize_of_visit(item.copy)
            continue
        kept.append(item)
        here, t = item.location, reach + item.service
    back = t + float(travel[here, unit.end])
    if not math.isfinite(back) or back > unit.shift_end_s:
        return None
    return lost, math.ceil(back), kept


def _insert(
    problem: Problem, unit: Unit, items: list[_Node | str], brk: _Node | str
) -> list[_Node | str] | None:
    """Insert one break where it costs the least prize (then the earliest return), or None."""
    best: tuple[float, int, list[_Node | str]] | None = None
    for pos in range(len(items) + 1):
        trial = _skim(problem, unit, [*items[:pos], brk, *items[pos:]])
        if trial is not None and (best is None or trial[:2] < best[:2]):
            best = trial
    return None if best is None else best[2]


def _with_breaks(problem: Problem, v: int, items: list[_Node]) -> Route | None:
    """Route of unit ``v`` through ``items`` with its missing breaks inserted where they fit.

    Each break goes where the visits it pushes out of their windows (or past the shift's end)
    are worth least (:func:`_insert`). Should that fail (the duration limit), the visit with the
    smallest prize is dropped and insertion retried.
    """
    unit = problem.units[v]
    have = {x.break_id for x in items if x.stop < 0}
    floating: list[_Node | str] = [b.break_id for b in unit.breaks if b.location is None]
    floating += [
        _Node(b.location, b.duration_s, (b.earliest_s, b.latest_s), unit=v, break_id=b.break_id)
        for b in unit.breaks
        if b.location is not None and b.break_id not in have
    ]
    current: list[_Node | str] = list(items)
    skimmed: list[_Node | str] | None = current
    for brk in floating:
        if skimmed is not None:
            skimmed = _insert(problem, unit, skimmed, brk)
    if skimmed is not None:
        route = _route(problem, unit, skimmed)
        if route is not None:
            return route
    while any(isinstance(x, _Node) and x.stop >= 0 for x in current):
        placed: list[_Node | str] | None = current
        for bid in floating:
            best: tuple[int, list[_Node | str]] | None = None
            assert placed is not None
            for pos in range(len(placed) + 1):
                trial = [*placed[:pos], bid, *placed[pos:]]
                timed = _timed(problem, unit, trial, unit.shift_start_s, check_duration=False)
                if timed is not None and (best is None or timed[1] < best[0]):
                    best = (timed[1], trial)
            placed = None if best is None else best[1]
            if placed is None:
                break
        if placed is not None:
            route = _route(problem, unit, placed)
            if route is not None:
                return route
        visits = [x for x in current if isinstance(x, _Node) and x.stop >= 0]
        worst = min(visits, key=lambda x: problem.stops[x.stop].prize_of_visit(x.copy))
        current = [x for x in current if x is not worst]
    return None


def to_plan(
    problem: Problem, lowered: Lowered, routes: tuple[tuple[int, ...], ...], *, seed: int | None
) -> Plan:
    """Turn engine routes (visit node numbers per vehicle) into a timed :class:`Plan`.

    Parameters
    ----------
    problem
        The planning problem.
    lowered
        Its lowering (node meanings).
    routes
        One tuple of visit nodes per unit.
    seed
        Recorded on the plan.

    Returns
    -------
    Plan
        Routes timed on the problem's matrices (waiting for windows, breaks placed) and every
        stop, repeat visit or unit left out, with reasons.
    """
    n_dep = lowered.arrays.n_depots
    out: list[Route] = []
    for v, route in enumerate(routes):
        items = [lowered.nodes[node - n_dep] for node in route]
        if not any(x.stop >= 0 for x in items):
            continue
        timed = _with_breaks(problem, v, items)
        if timed is not None and timed.visits:
            out.append(timed)
    draft = Plan(routes=tuple(renumber_visits(out)), backend="portfolio", seed=seed)
    return Plan(
        routes=draft.routes,
        unassigned=explain(problem, lowered.screening, draft),
        backend="portfolio",
        seed=seed,
    )


def _score(problem: Problem, plan: Plan) -> tuple[bool, float, float] | None:
    """(valid, collected risk, travel seconds) of a plan, or None when it breaks a rule."""
    ev = evaluate(problem, plan)
    if not ev.ok:
        return None
    return True, ev.risk_covered, sum(u.travel_s for u in ev.units)


def solve_portfolio(
    problem: Problem,
    *,
    time_limit_s: float = 10.0,
    seed: int | None = 0,
    max_solutions: int | None = None,
    engine_share: float = ENGINE_SHARE,
) -> Plan:
    """Plan with the engine portfolio and OR-Tools; return the best plan the evaluator accepts.

    Parameters
    ----------
    problem
        The planning problem.
    time_limit_s
        Wall-clock limit for both (the OR-Tools stage may overrun a very short limit to find
        its first solution, as the OR-Tools backend does).
    seed
        Seed of PyVRP and OR-Tools (None: 0 for PyVRP, no perturbation for OR-Tools).
    max_solutions
        Limit on PyVRP iterations and OR-Tools solutions (repeatable plans for a seed).
    engine_share
        Share of the time limit for the engine portfolio (0 runs OR-Tools alone, 1 the
        engines alone unless they return no valid plan).

    Returns
    -------
    Plan
        The best valid plan by collected risk, then less travel; ``backend`` names the winner
        (``"portfolio"`` or ``"ortools"``).
    """
    t0 = time.perf_counter()
    screening = screen(problem)
    lowered = lower(problem, screening) if engine_share > 0 else None
    candidates: list[tuple[tuple[float, float], Plan]] = []
    if lowered is not None:
        result = portfolio.solve(
            lowered.arrays,
            time_limit_s=max(0.05, engine_share * time_limit_s),
            seed=0 if seed is None else seed,
            max_iterations=max_solutions,
        )
        plan = to_plan(problem, lowered, result.routes, seed=seed)
        score = _score(problem, plan)
        if score is not None:
            candidates.append(((-score[1], score[2]), plan))
    left = time_limit_s - (time.perf_counter() - t0)
    # OR-Tools always finishes its first solution (seconds on 500 stops): run it only with a
    # useful share of the limit left, or when the engines found no valid plan. With a
    # machine-independent budget (max_solutions) the clock decides nothing: it always runs, so
    # the same seed gives the same plan.
    useful = max_solutions is not None or left >= ORTOOLS_MIN_SHARE * time_limit_s
    if not candidates or (engine_share < 1 and useful):
        plan = solve_ortools(
            problem, time_limit_s=max(0.05, left), seed=seed, max_solutions=max_solutions
        )
        score = _score(problem, plan)
        if score is not None:
            candidates.append(((-score[1], score[2]), plan))
    if not candidates:
        empty = Plan(routes=(), backend="portfolio", seed=seed)
        best = Plan(routes=(), unassigned=explain(problem, screening, empty), seed=seed)
    else:
        best = min(candidates, key=lambda c: c[0])[1]
    return dataclasses.replace(best, solve_s=time.perf_counter() - t0)
