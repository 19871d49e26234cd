"""OR-Tools engine: the routing library that models the most (breaks, skills, several windows).

It solves a :class:`~planner.engines.arrays.RoutingArrays` with a time dimension (waiting
allowed; several start windows per node from ``window_sets``), break intervals for each
vehicle's ``breaks`` (taken while travelling or waiting, never during service, never two at
once), an optional capacity dimension and one disjunction per visit: optional visits may be
dropped at a penalty of their prize times a weight larger than any route cost (prize first,
then cost); required visits at a penalty larger still, so that a first solution always exists
and leaving one out is a last resort. It is the only OR-Tools model of the project: the planner's
``"ortools"`` backend lowers a problem to arrays (:mod:`planner.lowering`) and calls it.

The search runs in two phases: a first solution (from ``first_solution``, or the warm start
``initial`` read with ``ReadAssignmentFromRoutes``), then guided local search from it in the
time left. :class:`Search` adds what the planner needs: a least time for the first solution
(so one always comes back, even past a very short limit), a solution budget that makes runs
repeatable, a seeded perturbation of arc costs and penalties, and raw search parameters.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from .arrays import EngineResult, Routes, RoutingArrays, objective
from .clock import Budget, Clock
from .pyvrp_engine import lexicographic_prize_weight

__all__ = ["FIRST_SOLUTIONS", "Search", "solve"]

#: First-solution strategies by short name.
FIRST_SOLUTIONS = {
    "parallel_cheapest_insertion": routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION,
    "path_cheapest_arc": routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC,
    "all_unperformed": routing_enums_pb2.FirstSolutionStrategy.ALL_UNPERFORMED,
    "local_cheapest_insertion": routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION,
}


@dataclass(frozen=True)
class Search:
    """How the search runs beyond its time limit; the defaults are a plain guided local search.

    Parameters
    ----------
    first_solution_min_s
        Least time the first solution may take, past the time limit if need be (0: within
        the limit, so a very short limit may end with no solution).
    max_solutions
        Stop the improvement phase after this many solutions: a machine-independent budget
        that makes runs repeatable when it ends the search before the clock does.
    arc_noise
        Largest relative increase of each arc cost drawn from the seed (0: none).
    prize_noise
        Largest relative change of each optional visit's penalty drawn from the seed (0: none).
    params
        Routing search parameters by dotted field name, e.g.
        ``{"local_search_operators.use_extended_swap_active": True}``.
    """

    first_solution_min_s: float = 0.0
    max_solutions: int | None = None
    arc_noise: float = 0.0
    prize_noise: float = 0.0
    params: Mapping[str, Any] = field(default_factory=dict)


def _set_param(params: Any, name: str, value: Any) -> None:
    *path, last = name.split(".")
    target = params
    for part in path:
        target = getattr(target, part)
    if isinstance(value, bool) and not isinstance(getattr(target, last), bool):
        value = 3 if value else 2  # OptionalBoolean BOOL_TRUE / BOOL_FALSE
    setattr(target, last, value)


def _add_time(
    arrays: RoutingArrays,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    noise: np.ndarray | None,
) -> pywrapcp.RoutingDimension:
    """Arc costs (perturbed by ``noise``), the time dimension, windows and shifts."""
    cost_index, time_index = [], []
    for p in range(arrays.n_profiles):
        cost = arrays.cost[p] if noise is None else np.rint(arrays.cost[p] * noise)
        transit = arrays.travel[p] + arrays.service[:, None]
        cost_index.append(routing.RegisterTransitMatrix(cost.astype(np.int64).tolist()))
        time_index.append(routing.RegisterTransitMatrix(transit.tolist()))
    for k, v in enumerate(arrays.vehicles):
        routing.SetArcCostEvaluatorOfVehicle(cost_index[v.profile], k)
    horizon = int(max(arrays.windows[:, 1].max(), max(v.shift[1] for v in arrays.vehicles)))
    if arrays.window_sets is not None:
        horizon = max([horizon] + [ws[-1][1] for ws in arrays.window_sets if ws])
    routing.AddDimensionWithVehicleTransits(
        [time_index[v.profile] for v in arrays.vehicles], horizon, horizon, False, "time"
    )
    times = routing.GetDimensionOrDie("time")
    restricted = any(v.allowed is not None for v in arrays.vehicles)
    for node in arrays.visits:
        index = manager.NodeToIndex(node)
        windows = arrays.windows_of(node)
        cumul = times.CumulVar(index)
        cumul.SetRange(windows[0][0], windows[-1][1])
        for (_, b0), (a1, _) in itertools.pairwise(windows):
            cumul.RemoveInterval(b0 + 1, a1 - 1)
        if restricted:
            # SetAllowedVehiclesForIndex's Span argument is not callable from Python in 9.15;
            # removing the other vehicles from the node's vehicle variable is equivalent.
            banned = [k for k in range(len(arrays.vehicles)) if not arrays.may_serve(k, node)]
            if banned:
                routing.VehicleVar(index).RemoveValues(banned)
    for k, v in enumerate(arrays.vehicles):
        early = max(int(v.shift[0]), int(arrays.windows[v.start, 0]))
        late = min(int(v.shift[1]), int(arrays.windows[v.end, 1]))
        times.CumulVar(routing.Start(k)).SetRange(early, late)
        times.CumulVar(routing.End(k)).SetRange(early, late)
        if v.max_duration is not None:
            times.SetSpanUpperBoundForVehicle(int(v.max_duration), k)
        routing.AddVariableMaximizedByFinalizer(times.CumulVar(routing.Start(k)))
        routing.AddVariableMinimizedByFinalizer(times.CumulVar(routing.End(k)))
    return times


def _add_breaks(
    arrays: RoutingArrays,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    times: pywrapcp.RoutingDimension,
) -> None:
    """Each vehicle's breaks as break intervals: on its route, never during service or together."""
    if not any(v.breaks for v in arrays.vehicles):
        return
    solver = routing.solver()
    service = [int(arrays.service[manager.IndexToNode(i)]) for i in range(routing.Size())]
    for k, v in enumerate(arrays.vehicles):
        intervals = [
            solver.FixedDurationIntervalVar(b.earliest, b.latest, b.duration, False, f"{k}:{j}")
            for j, b in enumerate(v.breaks)
        ]
        if not intervals:
            continue
        times.SetBreakIntervalsOfVehicle(intervals, k, service)
        # the routing model lets one vehicle's breaks overlap: each pair that could, may not
        for x, y in itertools.combinations(intervals, 2):
            if x.StartMin() < y.EndMax() and y.StartMin() < x.EndMax():
                solver.Add((x.EndExpr() <= y.StartExpr()) + (y.EndExpr() <= x.StartExpr()) >= 1)
        for iv in intervals:  # breaks happen on the route, not before it starts or after it ends
            solver.Add(iv.StartExpr() >= times.CumulVar(routing.Start(k)))
            solver.Add(iv.EndExpr() <= times.CumulVar(routing.End(k)))


def _model(
    arrays: RoutingArrays, search: Search, seed: int
) -> tuple[pywrapcp.RoutingIndexManager, pywrapcp.RoutingModel]:
    n = arrays.n_nodes
    starts = [v.start for v in arrays.vehicles]
    ends = [v.end for v in arrays.vehicles]
    manager = pywrapcp.RoutingIndexManager(n, len(arrays.vehicles), starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    rng = np.random.default_rng(seed)
    noise = 1.0 + search.arc_noise * rng.random((n, n)) if search.arc_noise > 0 else None
    times = _add_time(arrays, manager, routing, noise)
    _add_breaks(arrays, manager, routing, times)
    if any(v.capacity is not None for v in arrays.vehicles):
        demand = arrays.demand.tolist()
        load_index = routing.RegisterUnaryTransitCallback(lambda i: demand[manager.IndexToNode(i)])
        big = int(arrays.demand.sum()) + 1
        capacities = [big if v.capacity is None else int(v.capacity) for v in arrays.vehicles]
        routing.AddDimensionWithVehicleCapacity(load_index, 0, capacities, True, "load")
    # perturbed costs are up to (1 + arc_noise) times larger: the weight keeps prizes first
    weight = math.ceil(lexicographic_prize_weight(arrays) * (1 + search.arc_noise))
    must = weight * (int(arrays.prize.sum()) + 1)
    for node in arrays.visits:
        if arrays.required[node]:
            penalty = must
        else:
            penalty = int(arrays.prize[node]) * weight
            if search.prize_noise > 0 and penalty > 0:
                penalty = max(1, round(penalty * (1 + search.prize_noise * (2 * rng.random() - 1))))
        routing.AddDisjunction([manager.NodeToIndex(node)], penalty)
    return manager, routing


def _routes(
    arrays: RoutingArrays,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    assignment: pywrapcp.Assignment,
) -> Routes:
    found = []
    for k in range(len(arrays.vehicles)):
        index = assignment.Value(routing.NextVar(routing.Start(k)))
        visits = []
        while not routing.IsEnd(index):
            visits.append(manager.IndexToNode(index))
            index = assignment.Value(routing.NextVar(index))
        found.append(tuple(visits))
    return tuple(found)


def solve(
    arrays: RoutingArrays,
    *,
    time_limit_s: float,
    seed: int = 0,
    initial: Routes | None = None,
    first_solution: str = "parallel_cheapest_insertion",
    clock: Clock = "wall",
    search: Search | None = None,
) -> EngineResult:
    """Solve with OR-Tools: a first solution (or ``initial``), then guided local search.

    Parameters
    ----------
    arrays
        The instance.
    time_limit_s
        Budget of the search (the first solution may take longer, see
        :attr:`Search.first_solution_min_s`).
    seed
        Seed of the perturbation asked for by ``search``; the search itself is deterministic.
    initial
        Routes to start from instead of a first-solution heuristic.
    first_solution
        Key of :data:`FIRST_SOLUTIONS`, used when ``initial`` is ``None`` (or not feasible).
    clock
        Whether ``time_limit_s`` counts wall-clock or CPU seconds (see :mod:`.clock`).
    search
        Search options (perturbation, solution budget, first-solution time, parameters).

    Returns
    -------
    EngineResult
        The best solution found (empty routes when OR-Tools found none); ``solver_objective``
        is OR-Tools' own objective (penalties of dropped visits plus perturbed arc costs).
    """
    search = Search() if search is None else search
    began, cpu = time.perf_counter(), time.process_time()
    budget = Budget(time_limit_s, clock)
    manager, routing = _model(arrays, search, seed)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = FIRST_SOLUTIONS[first_solution]
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    for name, value in search.params.items():
        _set_param(params, name, value)
    # OR-Tools only knows wall-clock limits: on the CPU clock a custom limit checks the budget.
    scale = 1.0
    if clock == "cpu":
        routing.AddSearchMonitor(routing.solver().CustomLimit(budget.expired))
        scale = 1000.0
    solution = None
    if initial is not None:
        solution = routing.ReadAssignmentFromRoutes([list(r) for r in initial], True)
    if solution is None:
        # phase 1: the first solution, given at least first_solution_min_s (a plan always comes
        # back, even when breaks make insertion slow on a loaded machine)
        first = pywrapcp.DefaultRoutingSearchParameters()
        first.CopyFrom(params)
        first.solution_limit = 1
        limit = max(search.first_solution_min_s, scale * max(0.01, budget.remaining()))
        first.time_limit.FromMilliseconds(int(limit * 1000))
        solution = routing.SolveWithParameters(first)
    if search.max_solutions is not None:
        params.solution_limit = search.max_solutions
    # phase 2: improve in the time left. The search sometimes stops at once with no solution
    # (status FAIL) when a vehicle has several breaks; it is tried again (at most 3 times).
    for _ in range(3):
        left = budget.remaining()
        if solution is None or left <= 0.05:
            break
        params.time_limit.FromMilliseconds(int(scale * left * 1000))
        better = routing.SolveFromAssignmentWithParameters(solution, params)
        if better is not None:
            solution = better
            break
    routes: Routes = arrays.empty_routes()
    raw = None
    if solution is not None:
        routes = _routes(arrays, manager, routing, solution)
        raw = int(solution.ObjectiveValue())
    if initial is not None and objective(arrays, initial) < objective(arrays, routes):
        routes, raw = initial, None
    return EngineResult(
        routes=routes,
        objective=objective(arrays, routes),
        engine="ortools",
        seconds=time.perf_counter() - began,
        cpu_seconds=time.process_time() - cpu,
        solver_objective=raw,
    )
