"""Array-level routing instances: the small common language of every engine.

A :class:`RoutingArrays` holds integer matrices and vectors only (no ids, no geometry), so the
same instance can be handed to PyVRP, VROOM or OR-Tools and their answers compared. Nodes
``0 .. n_depots - 1`` are depots; nodes ``n_depots .. n - 1`` are visits. Times and costs are
integers in one unit chosen by the caller (seconds in the planner, scaled distance units in
the benchmarks). Windows constrain the *start* of service; waiting is allowed.

Vehicles may travel differently (drive, walk, bike): ``travel`` and ``cost`` may hold one
matrix per *profile*, and each vehicle names its profile; a vehicle may also be limited to a
set of visits (``allowed``: a volunteer stays in its community).

A solution is :data:`Routes`: one tuple of visit nodes per vehicle, in visit order, depots not
listed. :func:`route_violations` and :func:`objective` evaluate it without any solver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from planner.errors import ProblemError

__all__ = [
    "HORIZON",
    "EngineResult",
    "Objective",
    "Routes",
    "RoutingArrays",
    "VehicleSpec",
    "objective",
    "route_violations",
    "violations",
]

#: A time far beyond any shift: the default end of windows and shifts (fits VROOM's uint32).
HORIZON = 2**31 - 1

Routes = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class VehicleSpec:
    """One vehicle (unit): where it starts and ends, when, and how much it carries.

    Parameters
    ----------
    start, end
        Depot nodes the route leaves from and returns to.
    shift
        ``(earliest departure, latest return)`` at the depots.
    capacity
        Load limit on the sum of ``demand`` over the route; ``None`` for no limit.
    max_duration
        Limit on return time minus departure time; ``None`` for none beyond the shift.
    profile
        Index of the travel/cost matrix the vehicle uses.
    allowed
        Visit nodes the vehicle may serve; ``None`` for all.
    """

    start: int = 0
    end: int = 0
    shift: tuple[int, int] = (0, HORIZON)
    capacity: int | None = None
    max_duration: int | None = None
    profile: int = 0
    allowed: frozenset[int] | None = None


def _as_int_array(values: object, shape: tuple[int, ...], name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != shape:
        msg = f"routing arrays: {name} has shape {array.shape}, expected {shape}"
        raise ProblemError(msg)
    if not np.issubdtype(array.dtype, np.integer):
        msg = f"routing arrays: {name} must hold integers (scale and round times first)"
        raise ProblemError(msg)
    out = array.astype(np.int64)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class RoutingArrays:
    """An integer routing instance with time windows, capacities and optional prize visits.

    Parameters
    ----------
    travel
        ``(n, n)`` travel times between nodes, or ``(profiles, n, n)``; stored 3-D.
    service
        ``(n,)`` service (dwell) time at each node; zero at depots.
    windows
        ``(n, 2)`` earliest and latest start of service at each node.
    vehicles
        The vehicles; each one may run at most one route.
    n_depots
        Number of leading depot nodes.
    cost
        Arc costs minimised after prizes (distance), shaped like ``travel``; defaults to it.
    demand
        ``(n,)`` load taken at each visit; defaults to zeros.
    prize
        ``(n,)`` prize of each optional visit; defaults to zeros.
    required
        ``(n,)`` whether each visit must be made; defaults to all visits required.
    """

    travel: np.ndarray
    service: np.ndarray
    windows: np.ndarray
    vehicles: tuple[VehicleSpec, ...]
    n_depots: int = 1
    cost: np.ndarray = None  # type: ignore[assignment]
    demand: np.ndarray = None  # type: ignore[assignment]
    prize: np.ndarray = None  # type: ignore[assignment]
    required: np.ndarray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        travel = np.asarray(self.travel)
        if travel.ndim == 2:
            travel = travel[None]
        p, n = int(travel.shape[0]), int(travel.shape[-1])
        set_ = object.__setattr__
        set_(self, "travel", _as_int_array(travel, (p, n, n), "travel"))
        set_(self, "service", _as_int_array(self.service, (n,), "service"))
        set_(self, "windows", _as_int_array(self.windows, (n, 2), "windows"))
        cost = self.travel if self.cost is None else np.asarray(self.cost)
        set_(self, "cost", _as_int_array(cost if cost.ndim == 3 else cost[None], (p, n, n), "cost"))
        zeros = np.zeros(n, dtype=np.int64)
        set_(
            self,
            "demand",
            _as_int_array(zeros if self.demand is None else self.demand, (n,), "demand"),
        )
        set_(
            self, "prize", _as_int_array(zeros if self.prize is None else self.prize, (n,), "prize")
        )
        required = np.ones(n, dtype=bool) if self.required is None else np.asarray(self.required)
        if required.shape != (n,):
            msg = f"routing arrays: required has shape {required.shape}, expected {(n,)}"
            raise ProblemError(msg)
        required = required.astype(bool)
        required.setflags(write=False)
        set_(self, "required", required)
        set_(self, "vehicles", tuple(self.vehicles))
        self._validate(n)

    def _validate(self, n: int) -> None:
        if not 1 <= self.n_depots <= n:
            msg = f"routing arrays: n_depots={self.n_depots} must be between 1 and {n}"
            raise ProblemError(msg)
        if (self.travel < 0).any() or (self.cost < 0).any() or (self.service < 0).any():
            msg = "routing arrays: travel, cost and service must be non-negative"
            raise ProblemError(msg)
        bad = np.flatnonzero(self.windows[:, 0] > self.windows[:, 1])
        if bad.size:
            msg = f"routing arrays: node {int(bad[0])} has a window that closes before it opens"
            raise ProblemError(msg)
        if not self.vehicles:
            msg = "routing arrays: at least one vehicle is needed"
            raise ProblemError(msg)
        for k, vehicle in enumerate(self.vehicles):
            if not (0 <= vehicle.start < self.n_depots and 0 <= vehicle.end < self.n_depots):
                msg = f"routing arrays: vehicle {k} must start and end at a depot node"
                raise ProblemError(msg)
            if vehicle.shift[0] > vehicle.shift[1]:
                msg = f"routing arrays: vehicle {k} has a shift that ends before it starts"
                raise ProblemError(msg)
            if not 0 <= vehicle.profile < self.travel.shape[0]:
                msg = f"routing arrays: vehicle {k} uses profile {vehicle.profile}, which has no matrix"
                raise ProblemError(msg)
            if vehicle.allowed is not None and not vehicle.allowed <= set(self.visits):
                msg = f"routing arrays: vehicle {k} is allowed nodes that are not visits"
                raise ProblemError(msg)

    @property
    def n_nodes(self) -> int:
        """Number of nodes, depots included."""
        return int(self.travel.shape[-1])

    @property
    def visits(self) -> range:
        """The visit nodes."""
        return range(self.n_depots, self.n_nodes)

    @property
    def n_profiles(self) -> int:
        """Number of travel/cost profiles."""
        return int(self.travel.shape[0])

    def may_serve(self, vehicle: int, node: int) -> bool:
        """Whether ``vehicle`` may serve visit ``node``."""
        allowed = self.vehicles[vehicle].allowed
        return allowed is None or node in allowed

    def empty_routes(self) -> Routes:
        """One empty route per vehicle."""
        return tuple(() for _ in self.vehicles)


class Objective(NamedTuple):
    """Lexicographic quality of a solution: smaller is better, compared field by field.

    ``missing_required`` counts required visits left out, ``lost_prize`` sums the prizes of
    optional visits left out, ``cost`` sums arc costs over all routes.
    """

    missing_required: int
    lost_prize: int
    cost: int


@dataclass(frozen=True)
class EngineResult:
    """What an engine returns: routes in the instance's node numbers, and how it got there.

    Parameters
    ----------
    routes
        One tuple of visit nodes per vehicle (``len(routes) == len(arrays.vehicles)``).
    objective
        :func:`objective` of ``routes``.
    engine
        Name of the engine (or portfolio stages) that produced the routes.
    seconds
        Wall-clock seconds spent.
    cpu_seconds
        CPU seconds this process spent.
    """

    routes: Routes
    objective: Objective
    engine: str
    seconds: float
    cpu_seconds: float = 0.0


def route_violations(arrays: RoutingArrays, vehicle: int, route: tuple[int, ...]) -> list[str]:
    """List what is wrong with one route (windows, shift, capacity, duration, node kinds).

    Parameters
    ----------
    arrays
        The instance.
    vehicle
        Index of the vehicle that runs the route.
    route
        Visit nodes in order, depots not listed.

    Returns
    -------
    list of str
        Human-readable violations; empty when the route is feasible.
    """
    spec = arrays.vehicles[vehicle]
    problems: list[str] = []
    if not route:
        return problems
    for node in route:
        if not arrays.n_depots <= node < arrays.n_nodes:
            return [f"vehicle {vehicle}: node {node} is not a visit node"]
        if not arrays.may_serve(vehicle, node):
            problems.append(f"vehicle {vehicle}: node {node} is not among its allowed visits")
    travel = arrays.travel[spec.profile]
    if spec.capacity is not None:
        load = int(arrays.demand[list(route)].sum())
        if load > spec.capacity:
            problems.append(f"vehicle {vehicle}: load {load} exceeds capacity {spec.capacity}")
    # Latest departure that keeps every start of service inside the windows is not needed for
    # feasibility: leaving as early as allowed never hurts when waiting is allowed.
    time = spec.shift[0]
    previous = spec.start
    first_start = None
    for node in route:
        arrival = time + int(travel[previous, node])
        start = max(arrival, int(arrays.windows[node, 0]))
        if start > arrays.windows[node, 1]:
            problems.append(
                f"vehicle {vehicle}: node {node} starts at {start} after its window closes "
                f"at {int(arrays.windows[node, 1])}"
            )
        if first_start is None:
            first_start = start - int(travel[spec.start, node])
        time = start + int(arrays.service[node])
        previous = node
    back = time + int(travel[previous, spec.end])
    if back > spec.shift[1]:
        problems.append(
            f"vehicle {vehicle}: returns at {back} after its shift ends at {spec.shift[1]}"
        )
    # Departure may be delayed to reach the first visit just at its start of service.
    if (
        spec.max_duration is not None
        and first_start is not None
        and back - first_start > spec.max_duration
    ):
        problems.append(
            f"vehicle {vehicle}: route lasts {back - first_start}, more than {spec.max_duration}"
        )
    return problems


def violations(arrays: RoutingArrays, routes: Routes) -> list[str]:
    """List what is wrong with a whole solution: every route, and each visit at most once.

    Parameters
    ----------
    arrays
        The instance.
    routes
        One tuple of visit nodes per vehicle.

    Returns
    -------
    list of str
        Violations; empty when the solution is feasible (required visits left out are not a
        violation here: :func:`objective` counts them).
    """
    if len(routes) != len(arrays.vehicles):
        return [f"{len(routes)} routes given for {len(arrays.vehicles)} vehicles"]
    problems: list[str] = []
    seen: set[int] = set()
    for k, route in enumerate(routes):
        problems.extend(route_violations(arrays, k, route))
        for node in route:
            if node in seen:
                problems.append(f"node {node} is visited more than once")
            seen.add(node)
    return problems


def objective(arrays: RoutingArrays, routes: Routes) -> Objective:
    """Score a solution lexicographically: required visits missed, prize lost, then cost.

    Parameters
    ----------
    arrays
        The instance.
    routes
        One tuple of visit nodes per vehicle.

    Returns
    -------
    Objective
        The three-part objective; compare two with ``<``.
    """
    served = np.zeros(arrays.n_nodes, dtype=bool)
    cost = 0
    for k, route in enumerate(routes):
        if not route:
            continue
        spec = arrays.vehicles[k]
        path = [spec.start, *route, spec.end]
        cost += int(arrays.cost[spec.profile][path[:-1], path[1:]].sum())
        served[list(route)] = True
    missing = ~served
    missing[: arrays.n_depots] = False
    return Objective(
        missing_required=int((missing & arrays.required).sum()),
        lost_prize=int(arrays.prize[missing & ~arrays.required].sum()),
        cost=cost,
    )
