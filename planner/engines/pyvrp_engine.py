"""PyVRP engine: iterated local search on a :class:`~planner.engines.arrays.RoutingArrays`.

PyVRP (Wouters et al., 2024) is the strongest searcher we measured on Solomon VRPTW and on team
orienteering with time windows. Optional visits become PyVRP clients with ``required=False``
and a prize; to keep the lexicographic objective (prize first, then cost) the prize is scaled
by a factor larger than any solution's total cost, unless the caller asks for another weight.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxIterations, MultipleCriteria

from .arrays import HORIZON, EngineResult, Routes, RoutingArrays, objective
from .clock import Budget, Clock

__all__ = ["BANNED", "lexicographic_prize_weight", "solve", "to_problem_data", "to_solution"]

#: Travel time and cost to and from a visit a vehicle may not serve: far beyond any shift (so a
#: route through it is never feasible) yet small enough that PyVRP's penalised costs cannot
#: overflow. ``pyvrp.constants.MAX_VALUE`` (2**44) times a grown time-warp penalty overflows
#: int64 inside PyVRP's local search, which then cycles on "improving" moves forever (seen on
#: the demo shift: a 10 s solve had not returned after 5 minutes).
BANNED = 10**9


def lexicographic_prize_weight(arrays: RoutingArrays) -> int:
    """A prize multiplier above the cost of any solution, so that prizes come first.

    Every vehicle's route costs at most one largest outgoing arc per node it leaves, so
    ``sum(max cost out of each node)`` bounds the total cost of any solution; when the cost
    is the travel time, the sum of the shift lengths bounds it too. The weight is the smaller
    bound plus one.
    """
    bound = int(arrays.cost.max(axis=0).max(axis=1).sum())
    if np.array_equal(arrays.cost, arrays.travel):
        shifts = sum(v.shift[1] - v.shift[0] for v in arrays.vehicles)
        bound = min(bound, shifts)
    return bound + 1


def to_problem_data(arrays: RoutingArrays, *, prize_weight: int | None = None) -> pyvrp.ProblemData:
    """Translate the arrays into PyVRP's ``ProblemData`` (node ``i`` is location ``i``).

    Parameters
    ----------
    arrays
        The instance.
    prize_weight
        Multiplier of the prizes of optional visits; ``None`` for the lexicographic weight.

    Returns
    -------
    pyvrp.ProblemData
        Depots first, then one client per visit node, one vehicle type per vehicle. PyVRP
        models neither several windows per node nor breaks: it solves
        :meth:`RoutingArrays.restricted` (one window per node; breaks kept as free time).
    """
    arrays = arrays.restricted()
    weight = lexicographic_prize_weight(arrays) if prize_weight is None else prize_weight
    n = arrays.n_nodes
    locations = [pyvrp.Location(x=0, y=0) for _ in range(n)]
    depots = [
        pyvrp.Depot(
            location=i, tw_early=int(arrays.windows[i, 0]), tw_late=int(arrays.windows[i, 1])
        )
        for i in range(arrays.n_depots)
    ]
    has_load = any(v.capacity is not None for v in arrays.vehicles)
    clients = []
    for i in arrays.visits:
        required = bool(arrays.required[i])
        clients.append(
            pyvrp.Client(
                location=i,
                delivery=[int(arrays.demand[i])] if has_load else [],
                service_duration=int(arrays.service[i]),
                tw_early=int(arrays.windows[i, 0]),
                tw_late=int(arrays.windows[i, 1]),
                prize=0 if required else int(arrays.prize[i]) * weight,
                required=required,
            )
        )
    distances, durations, profile_of = _profiles(arrays)
    vehicle_types = []
    for k, v in enumerate(arrays.vehicles):
        capacity = [HORIZON if v.capacity is None else int(v.capacity)] if has_load else []
        extra: dict[str, Any] = {}
        if v.max_duration is not None:
            extra["shift_duration"] = int(v.max_duration)
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=1,
                capacity=capacity,
                start_depot=v.start,
                end_depot=v.end,
                tw_early=int(v.shift[0]),
                tw_late=int(v.shift[1]),
                profile=profile_of[k],
                **extra,
            )
        )
    return pyvrp.ProblemData(locations, clients, depots, vehicle_types, distances, durations)


def _profiles(arrays: RoutingArrays) -> tuple[list[Any], list[Any], list[int]]:
    """One PyVRP profile per (matrix, allowed visits) pair; forbidden visits unreachable."""
    keys: dict[tuple[int, frozenset[int] | None], int] = {}
    distances: list[Any] = []
    durations: list[Any] = []
    profile_of = []
    for v in arrays.vehicles:
        key = (v.profile, v.allowed)
        if key not in keys:
            keys[key] = len(distances)
            distance = np.array(arrays.cost[v.profile], dtype=np.int64)
            duration = np.array(arrays.travel[v.profile], dtype=np.int64)
            if v.allowed is not None:
                banned = [i for i in arrays.visits if i not in v.allowed]
                for matrix in (distance, duration):
                    matrix[:, banned] = BANNED
                    matrix[banned, :] = BANNED
                    matrix[banned, banned] = 0
            distances.append(distance)
            durations.append(duration)
        profile_of.append(keys[key])
    return distances, durations, profile_of


def to_solution(data: pyvrp.ProblemData, arrays: RoutingArrays, routes: Routes) -> pyvrp.Solution:
    """Translate routes (node numbers) into a PyVRP ``Solution`` for a warm start."""
    offset = arrays.n_depots
    pyvrp_routes = [
        pyvrp.Route(data, [node - offset for node in route], vehicle)
        for vehicle, route in enumerate(routes)
        if route
    ]
    return pyvrp.Solution(data, pyvrp_routes)


def _from_solution(solution: pyvrp.Solution, arrays: RoutingArrays) -> Routes:
    routes: list[tuple[int, ...]] = [() for _ in arrays.vehicles]
    offset = arrays.n_depots
    for route in solution.routes():
        visits = tuple(act.idx + offset for act in route if act.is_client())
        routes[route.vehicle_type()] = visits
    return tuple(routes)


def solve(
    arrays: RoutingArrays,
    *,
    time_limit_s: float,
    seed: int = 0,
    initial: Routes | None = None,
    prize_weight: int | None = None,
    clock: Clock = "wall",
    max_iterations: int | None = None,
) -> EngineResult:
    """Search with PyVRP's iterated local search for ``time_limit_s`` seconds.

    Parameters
    ----------
    arrays
        The instance.
    time_limit_s
        Wall-clock budget of the search.
    seed
        Random seed; the same seed and budget give the same search.
    initial
        Routes to start from (a warm start, e.g. VROOM's solution); PyVRP builds its own otherwise.
    prize_weight
        Multiplier of optional visits' prizes; ``None`` keeps prizes strictly before cost.
    clock
        Whether ``time_limit_s`` counts wall-clock or CPU seconds (see :mod:`.clock`).
    max_iterations
        Also stop after this many iterations. A time limit makes the result depend on the
        machine's speed; an iteration limit reached within the time limit makes the same seed
        give the same routes anywhere.

    Returns
    -------
    EngineResult
        The best feasible solution found (the warm start when the search found none better).
    """
    began, cpu = time.perf_counter(), time.process_time()
    budget = Budget(time_limit_s, clock)
    data = to_problem_data(arrays, prize_weight=prize_weight)
    warm = None if initial is None else to_solution(data, arrays, initial)
    stop = (
        budget
        if max_iterations is None
        else MultipleCriteria([budget, MaxIterations(max_iterations)])
    )
    with warnings.catch_warnings():
        # on prize-collecting instances with banned visits the penalty often reaches its cap;
        # the search goes on and only feasible solutions are kept (no message for the user)
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(
            data,
            stop=stop,
            seed=seed,
            collect_stats=False,
            display=False,
            initial_solution=warm,
        )
    best = result.best
    routes = _from_solution(best, arrays) if best.is_feasible() else arrays.empty_routes()
    if initial is not None and (
        not best.is_feasible() or objective(arrays, initial) < objective(arrays, routes)
    ):
        routes = initial
    return EngineResult(
        routes=routes,
        objective=objective(arrays, routes),
        engine="pyvrp",
        seconds=time.perf_counter() - began,
        cpu_seconds=time.process_time() - cpu,
    )
