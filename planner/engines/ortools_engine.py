"""OR-Tools engine: the routing library that models the most (breaks, skills, several windows).

Here it solves a :class:`~planner.engines.arrays.RoutingArrays` with a time dimension
(waiting allowed), an optional capacity dimension and one disjunction per visit: optional
visits may be dropped at a penalty of their prize times a weight larger than any route cost
(prize first, then cost); required visits at a penalty larger still, so that a first
solution always exists and leaving one out is a last resort. It accepts a warm start
(``ReadAssignmentFromRoutes``) and then runs guided local search for the remaining time.
"""

from __future__ import annotations

import time

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from .arrays import EngineResult, Routes, RoutingArrays, objective
from .clock import Budget, Clock
from .pyvrp_engine import lexicographic_prize_weight

__all__ = ["FIRST_SOLUTIONS", "solve"]

#: First-solution strategies by short name.
FIRST_SOLUTIONS = {
    "parallel_cheapest_insertion": routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION,
    "path_cheapest_arc": routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC,
    "all_unperformed": routing_enums_pb2.FirstSolutionStrategy.ALL_UNPERFORMED,
    "local_cheapest_insertion": routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION,
}


def _model(arrays: RoutingArrays) -> tuple[pywrapcp.RoutingIndexManager, pywrapcp.RoutingModel]:
    n = arrays.n_nodes
    starts = [v.start for v in arrays.vehicles]
    ends = [v.end for v in arrays.vehicles]
    manager = pywrapcp.RoutingIndexManager(n, len(arrays.vehicles), starts, ends)
    routing = pywrapcp.RoutingModel(manager)

    cost_index, time_index = [], []
    for p in range(arrays.n_profiles):
        cost = arrays.cost[p].tolist()
        transit = (arrays.travel[p] + arrays.service[:, None]).tolist()
        cost_index.append(
            routing.RegisterTransitCallback(
                lambda i, j, c=cost: c[manager.IndexToNode(i)][manager.IndexToNode(j)]
            )
        )
        time_index.append(
            routing.RegisterTransitCallback(
                lambda i, j, t=transit: t[manager.IndexToNode(i)][manager.IndexToNode(j)]
            )
        )
    for k, v in enumerate(arrays.vehicles):
        routing.SetArcCostEvaluatorOfVehicle(cost_index[v.profile], k)
    horizon = int(max(arrays.windows[:, 1].max(), max(v.shift[1] for v in arrays.vehicles)))
    routing.AddDimensionWithVehicleTransits(
        [time_index[v.profile] for v in arrays.vehicles], horizon, horizon, False, "time"
    )
    times = routing.GetDimensionOrDie("time")
    restricted = any(v.allowed is not None for v in arrays.vehicles)
    for node in arrays.visits:
        index = manager.NodeToIndex(node)
        times.CumulVar(index).SetRange(int(arrays.windows[node, 0]), int(arrays.windows[node, 1]))
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
            routing.solver().Add(
                times.CumulVar(routing.End(k)) - times.CumulVar(routing.Start(k)) <= v.max_duration
            )
        routing.AddVariableMinimizedByFinalizer(times.CumulVar(routing.End(k)))
    if any(v.capacity is not None for v in arrays.vehicles):
        demand = arrays.demand.tolist()
        load_index = routing.RegisterUnaryTransitCallback(lambda i: demand[manager.IndexToNode(i)])
        big = int(arrays.demand.sum()) + 1
        capacities = [big if v.capacity is None else int(v.capacity) for v in arrays.vehicles]
        routing.AddDimensionWithVehicleCapacity(load_index, 0, capacities, True, "load")
    weight = lexicographic_prize_weight(arrays)
    must = weight * (int(arrays.prize.sum()) + 1)
    for node in arrays.visits:
        penalty = must if arrays.required[node] else int(arrays.prize[node]) * weight
        routing.AddDisjunction([manager.NodeToIndex(node)], penalty)
    return manager, routing


def solve(
    arrays: RoutingArrays,
    *,
    time_limit_s: float,
    seed: int = 0,
    initial: Routes | None = None,
    first_solution: str = "parallel_cheapest_insertion",
    clock: Clock = "wall",
) -> EngineResult:
    """Solve with OR-Tools: a first solution (or ``initial``), then guided local search.

    Parameters
    ----------
    arrays
        The instance.
    time_limit_s
        Wall-clock budget of the search.
    seed
        Accepted for the common engine interface; OR-Tools' routing search is deterministic.
    initial
        Routes to start from instead of a first-solution heuristic.
    first_solution
        Key of :data:`FIRST_SOLUTIONS`, used when ``initial`` is ``None``.
    clock
        Whether ``time_limit_s`` counts wall-clock or CPU seconds (see :mod:`.clock`).

    Returns
    -------
    EngineResult
        The best solution found (empty routes when OR-Tools found none).
    """
    del seed
    began, cpu = time.perf_counter(), time.process_time()
    budget = Budget(time_limit_s, clock)
    manager, routing = _model(arrays)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = FIRST_SOLUTIONS[first_solution]
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    remaining = max(0.01, budget.remaining())
    if clock == "cpu":
        # OR-Tools only knows wall-clock limits: add a CPU-time limit checked during search.
        routing.AddSearchMonitor(routing.solver().CustomLimit(budget.expired))
        remaining = 1000 * remaining
    params.time_limit.FromMilliseconds(int(remaining * 1000))
    if initial is not None:
        start = routing.ReadAssignmentFromRoutes([list(r) for r in initial], True)
        if start is None:
            assignment = routing.SolveWithParameters(params)
        else:
            assignment = routing.SolveFromAssignmentWithParameters(start, params)
    else:
        assignment = routing.SolveWithParameters(params)
    routes: Routes = arrays.empty_routes()
    if assignment is not None:
        found = []
        for k in range(len(arrays.vehicles)):
            index = assignment.Value(routing.NextVar(routing.Start(k)))
            visits = []
            while not routing.IsEnd(index):
                visits.append(manager.IndexToNode(index))
                index = assignment.Value(routing.NextVar(index))
            found.append(tuple(visits))
        routes = tuple(found)
    if initial is not None and objective(arrays, initial) < objective(arrays, routes):
        routes = initial
    return EngineResult(
        routes=routes,
        objective=objective(arrays, routes),
        engine="ortools",
        seconds=time.perf_counter() - began,
        cpu_seconds=time.process_time() - cpu,
    )
