"""OR-Tools routing backend: prize-collecting routing with time windows, breaks and skills.

Every visit is optional with a drop penalty proportional to its prize, so a plan always
exists; the objective is the risk left uncollected (scaled) plus travel time. Each stop that
wants ``visits > 1`` becomes that many optional copies, each with its own slot of the stop's
windows (slots ``min_gap_s`` apart, see :func:`copy_windows`). The search starts from parallel
cheapest insertion (plain cheapest-arc finds no first solution on tight instances) and improves
with guided local search until the time limit or ``max_solutions``. The first solution is
always searched to the end (it may overrun a very short time limit), so a plan always comes back.

A ``seed`` perturbs arc costs (up to 30 %) and penalties (up to 0.5 %): it picks among near-equal
grids and orders, so patrols are not predictable, while the collected risk stays close to the
unperturbed plan's. The search itself is deterministic: the same seed gives the same plan
whenever the search ends on its own or by ``max_solutions`` rather than by the clock.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from .feasibility import explain, screen
from .model import Plan, Problem, Route, Stop, Visit, renumber_visits

__all__ = ["solve_ortools"]

#: Total drop penalty of all visits (the prize scale); travel costs one unit per second.
PRIZE_SCALE = 10**8
#: Penalty for skipping a break taken at a fixed place (outweighs every prize: never skipped
#: when it can be taken).
BREAK_PENALTY = 10 * PRIZE_SCALE
#: Least time allowed to find the first solution (beyond the time limit when needed).
FIRST_SOLUTION_CAP_S = 60.0
#: Largest relative arc-cost perturbation applied by a seed.
ARC_NOISE = 0.3
#: Largest relative penalty perturbation applied by a seed.
PRIZE_NOISE = 0.005


@dataclass(frozen=True)
class _Nodes:
    loc: np.ndarray  # node -> location index
    service: np.ndarray  # node -> service seconds
    stop: np.ndarray  # node -> stop index (-1 for depots)
    copy: np.ndarray  # node -> visit number
    windows: list[tuple[tuple[int, int], ...]]  # node -> allowed start windows
    breaks: dict[int, tuple[int, str]]  # break node -> (unit index, break id)


def copy_windows(problem: Problem, stop: Stop) -> list[tuple[tuple[int, int], ...]]:
    """Start windows of each visit to ``stop``: the span cut into ``visits`` slots ``min_gap_s`` apart.

    Slot ``k`` ends at least ``min_gap_s`` before slot ``k + 1`` begins, so visits in different
    slots are always far enough apart without a side constraint (which would cripple the local
    search). Windows are first cut at the latest shift end (no visit can start later); slots
    that miss every window of the stop are left out.
    """
    # no visit starts after the latest shift end (the time dimension's end): windows are cut
    # there first, so slots are made of time some unit is on duty
    horizon = problem.horizon_s
    windows = tuple((a, min(b, horizon)) for a, b in problem.windows_of(stop) if a <= horizon)
    if not windows:
        return []
    if stop.visits == 1:
        return [windows]
    first, last = windows[0][0], windows[-1][1]
    slot = (last - first - (stop.visits - 1) * stop.min_gap_s) / stop.visits
    if slot < 0:
        return [windows]
    out = []
    for k in range(stop.visits):
        a = first + k * (slot + stop.min_gap_s)
        lo, hi = math.ceil(a), math.floor(a + slot)
        cut = tuple((max(lo, x), min(hi, y)) for x, y in windows if max(lo, x) <= min(hi, y))
        if cut:
            out.append(cut)
    return out


def _nodes(problem: Problem, kept: list[int]) -> _Nodes:
    loc, service, stop, copy = [], [], [], []
    windows: list[tuple[tuple[int, int], ...]] = []
    for u in problem.units:
        loc += [u.start_location, u.end]
        service += [0, 0]
        stop += [-1, -1]
        copy += [0, 0]
        windows += [(), ()]
    for i in kept:
        s = problem.stops[i]
        for k, w in enumerate(copy_windows(problem, s)):
            loc.append(s.location)
            service.append(s.dwell_s)
            stop.append(i)
            copy.append(k)
            windows.append(w)
    breaks: dict[int, tuple[int, str]] = {}
    for v, u in enumerate(problem.units):
        for b in u.breaks:
            if b.location is None:
                continue
            breaks[len(loc)] = (v, b.break_id)
            loc.append(b.location)
            service.append(b.duration_s)
            stop.append(-1)
            copy.append(0)
            windows.append(((b.earliest_s, b.latest_s),))
    return _Nodes(
        np.asarray(loc, dtype=np.int64),
        np.asarray(service, dtype=np.int64),
        np.asarray(stop, dtype=np.int64),
        np.asarray(copy, dtype=np.int64),
        windows,
        breaks,
    )


def _int_travel(problem: Problem, mode: str, loc: np.ndarray, big: int) -> np.ndarray:
    m = np.asarray(problem.travel_s[mode])[np.ix_(loc, loc)]
    out = np.where(np.isfinite(m), np.ceil(m), big)
    return np.minimum(out, big).astype(np.int64)


def solve_ortools(
    problem: Problem,
    *,
    time_limit_s: float = 10.0,
    seed: int | None = 0,
    max_solutions: int | None = None,
    search: Mapping[str, Any] | None = None,
) -> Plan:
    """Plan patrols for ``problem`` with OR-Tools' routing solver.

    Parameters
    ----------
    problem
        The planning problem.
    time_limit_s
        Wall-clock limit of the search.
    seed
        Perturbation seed (None: no perturbation).
    max_solutions
        Stop after this many solutions (a machine-independent budget that makes runs repeatable).
    search
        Extra routing search parameters by dotted field name, e.g.
        ``{"local_search_operators.use_extended_swap_active": True}``.

    Returns
    -------
    Plan
        Routes of the units that leave their depot, and every stop or unit left out with the
        reason.
    """
    t0 = time.perf_counter()
    screening = screen(problem)
    kept = [i for i, s in enumerate(problem.stops) if s.stop_id in screening.candidates]
    nodes = _nodes(problem, kept)
    n_nodes = len(nodes.loc)
    n_units = len(problem.units)
    if n_units == 0:
        plan = Plan(routes=(), backend="ortools", seed=seed)
        return Plan(
            routes=(), unassigned=explain(problem, screening, plan), backend="ortools", seed=seed
        )

    horizon = int(problem.horizon_s)
    big = 4 * horizon + 10**6
    rng = np.random.default_rng(seed) if seed is not None else None
    starts = [2 * v for v in range(n_units)]
    ends = [2 * v + 1 for v in range(n_units)]
    manager = pywrapcp.RoutingIndexManager(n_nodes, n_units, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()

    modes = sorted({u.mode for u in problem.units})
    travel = {m: _int_travel(problem, m, nodes.loc, big) for m in modes}
    noise = (
        1.0 + ARC_NOISE * rng.random((n_nodes, n_nodes))
        if rng is not None
        else np.ones((n_nodes, n_nodes))
    )
    transit_cb: dict[str, int] = {}
    cost_cb: dict[str, int] = {}
    for m in modes:
        transit = np.minimum(travel[m] + nodes.service[:, None], big)
        transit_cb[m] = routing.RegisterTransitMatrix(transit.tolist())
        cost = np.minimum(np.rint(travel[m] * noise), big).astype(np.int64)
        cost_cb[m] = routing.RegisterTransitMatrix(cost.tolist())
    for v, u in enumerate(problem.units):
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[u.mode], v)

    routing.AddDimensionWithVehicleTransits(
        [transit_cb[u.mode] for u in problem.units], horizon, horizon, False, "time"
    )
    tdim = routing.GetDimensionOrDie("time")
    for v, u in enumerate(problem.units):
        start, end = routing.Start(v), routing.End(v)
        tdim.CumulVar(start).SetRange(u.shift_start_s, u.shift_end_s)
        tdim.CumulVar(end).SetRange(u.shift_start_s, u.shift_end_s)
        tdim.SetSpanUpperBoundForVehicle(u.duration_limit_s, v)
        routing.AddVariableMaximizedByFinalizer(tdim.CumulVar(start))
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(end))

    total_prize = sum(problem.stops[i].total_prize for i in kept) or 1.0
    scale = PRIZE_SCALE / total_prize
    for n, (v, _) in nodes.breaks.items():
        index = manager.NodeToIndex(n)
        ((a, b),) = nodes.windows[n]
        tdim.CumulVar(index).SetRange(a, b)
        routing.VehicleVar(index).SetValues([-1, v])
        routing.AddDisjunction([index], BREAK_PENALTY)
    for n in range(2 * n_units, n_nodes):
        if n in nodes.breaks:
            continue
        i, k = int(nodes.stop[n]), int(nodes.copy[n])
        stop = problem.stops[i]
        index = manager.NodeToIndex(n)
        windows = nodes.windows[n]
        cumul = tdim.CumulVar(index)
        cumul.SetRange(windows[0][0], windows[-1][1])
        for (_, b0), (a1, _) in itertools.pairwise(windows):
            cumul.RemoveInterval(b0 + 1, a1 - 1)
        # SetAllowedVehiclesForIndex's Span binding is broken in 9.15; -1 keeps the visit optional.
        routing.VehicleVar(index).SetValues([-1, *screening.candidates[stop.stop_id]])
        if stop.checkpoint is not None:  # a hard visit: outweighs every prize
            routing.AddDisjunction([index], BREAK_PENALTY)
            continue
        prize = stop.prize_of_visit(k) * scale
        if rng is not None:
            prize *= 1.0 + PRIZE_NOISE * (2 * rng.random() - 1)
        routing.AddDisjunction([index], max(1, round(prize)))

    service_by_index = [int(nodes.service[manager.IndexToNode(i)]) for i in range(routing.Size())]
    for v, u in enumerate(problem.units):
        intervals = [
            solver.FixedDurationIntervalVar(
                b.earliest_s, b.latest_s, b.duration_s, False, f"{v}:{b.break_id}"
            )
            for b in u.breaks
            if b.location is None
        ]
        if not intervals:
            continue
        tdim.SetBreakIntervalsOfVehicle(intervals, v, service_by_index)
        # the routing model lets one unit's breaks overlap: each pair that could, may not
        for x, y in itertools.combinations(intervals, 2):
            if x.StartMin() < y.EndMax() and y.StartMin() < x.EndMax():
                solver.Add((x.EndExpr() <= y.StartExpr()) + (y.EndExpr() <= x.StartExpr()) >= 1)
        for iv in intervals:  # breaks happen on the route, not before it starts or after it ends
            solver.Add(iv.StartExpr() >= tdim.CumulVar(routing.Start(v)))
            solver.Add(iv.EndExpr() <= tdim.CumulVar(routing.End(v)))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    for name, value in (search or {}).items():
        _set_param(params, name, value)
    # Phase 1: the first solution, whatever it takes (a plan is always returned, even when
    # breaks make insertion slow on a loaded machine); phase 2: improve in the time left.
    t_search = time.perf_counter()
    first = pywrapcp.DefaultRoutingSearchParameters()
    first.CopyFrom(params)
    first.solution_limit = 1
    first.time_limit.FromMilliseconds(int(max(FIRST_SOLUTION_CAP_S, 10 * time_limit_s) * 1000))
    solution = routing.SolveWithParameters(first)
    if max_solutions is not None:
        params.solution_limit = max_solutions
    # The improvement search sometimes stops at once with no solution (status FAIL) when a
    # unit has several breaks on the way; it is tried again in the time left (at most 3 times).
    for _ in range(3):
        left = time_limit_s - (time.perf_counter() - t_search)
        if solution is None or left <= 0.05:
            break
        params.time_limit.FromMilliseconds(int(left * 1000))
        better = routing.SolveFromAssignmentWithParameters(solution, params)
        if better is not None:
            solution = better
            break

    routes: list[Route] = []
    objective = 0.0
    if solution is not None:
        objective = float(solution.ObjectiveValue())
        break_starts = _break_starts(solution)
        for v, u in enumerate(problem.units):
            route = _extract(
                problem, routing, manager, tdim, solution, nodes, travel[u.mode], v, break_starts
            )
            if route is not None:
                routes.append(route)
        routes = renumber_visits(routes)
    elapsed = time.perf_counter() - t0
    draft = Plan(routes=tuple(routes), backend="ortools", seed=seed)
    return Plan(
        routes=tuple(routes),
        unassigned=explain(problem, screening, draft),
        backend="ortools",
        seed=seed,
        objective=objective,
        solve_s=elapsed,
    )


def _set_param(params: Any, name: str, value: Any) -> None:
    *path, last = name.split(".")
    target = params
    for part in path:
        target = getattr(target, part)
    if isinstance(value, bool) and not isinstance(getattr(target, last), bool):
        value = 3 if value else 2  # OptionalBoolean BOOL_TRUE / BOOL_FALSE
    setattr(target, last, value)


def _break_starts(solution: pywrapcp.Assignment) -> dict[str, int]:
    container = solution.IntervalVarContainer()
    out: dict[str, int] = {}
    for i in range(container.Size()):
        element = container.Element(i)
        if element.PerformedValue():
            out[element.Var().Name()] = int(element.StartValue())
    return out


def _extract(
    problem: Problem,
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    tdim: pywrapcp.RoutingDimension,
    solution: pywrapcp.Assignment,
    nodes: _Nodes,
    travel: np.ndarray,
    v: int,
    break_starts: dict[str, int],
) -> Route | None:
    """Read unit ``v``'s route, placing each break on the leg (or depot wait) it falls in."""
    index = routing.Start(v)
    path, starts = [], []
    while True:
        path.append(manager.IndexToNode(index))
        starts.append(int(solution.Value(tdim.CumulVar(index))))
        if routing.IsEnd(index):
            break
        index = solution.Value(routing.NextVar(index))
    if not any(nodes.stop[n] >= 0 for n in path):
        return None  # no visit (at most a fixed-place break): the unit stays idle
    unit = problem.units[v]
    breaks = sorted(
        (break_starts[f"{v}:{b.break_id}"], b.break_id, b.duration_s)
        for b in unit.breaks
        if b.location is None and f"{v}:{b.break_id}" in break_starts
    )
    steps: list[Visit] = []
    departure = starts[0]
    for j in range(1, len(path)):
        a, b = path[j - 1], path[j]
        last = j == len(path) - 1
        leg = [x for x in breaks if x[0] >= departure and (last or x[0] + x[2] <= starts[j])]
        breaks = [x for x in breaks if x not in leg]
        where = int(nodes.loc[a])
        steps.extend(Visit("break", bid, where, t, t, t + dur) for t, bid, dur in leg)
        if last:
            break
        arrival = departure + int(travel[a, b]) + sum(x[2] for x in leg)
        arrival = max([arrival, *(x[0] + x[2] for x in leg)])
        start = starts[j]
        if b in nodes.breaks:
            _, bid = nodes.breaks[b]
            dur = int(nodes.service[b])
            steps.append(
                Visit("break", bid, int(nodes.loc[b]), min(arrival, start), start, start + dur)
            )
            departure = start + dur
            continue
        stop = problem.stops[int(nodes.stop[b])]
        steps.append(
            Visit(
                "visit",
                stop.stop_id,
                stop.location,
                min(arrival, start),
                start,
                start + stop.dwell_s,
                visit_number=int(nodes.copy[b]),
            )
        )
        departure = start + stop.dwell_s
    return Route(unit.unit_id, starts[0], starts[-1], tuple(steps))
