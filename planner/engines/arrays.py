"""Array-level routing instances: the small common language of every engine.

A :class:`RoutingArrays` holds integer matrices and vectors only (no ids, no geometry), so the
same instance can be handed to PyVRP, VROOM or OR-Tools and their answers compared. Nodes
``0 .. n_depots - 1`` are depots; nodes ``n_depots .. n - 1`` are visits. Times and costs are
integers in one unit chosen by the caller (seconds in the planner, scaled distance units in
the benchmarks). Windows constrain the *start* of service; waiting is allowed.

Vehicles may travel differently (drive, walk, bike): ``travel`` and ``cost`` may hold one
matrix per *profile*, and each vehicle names its profile; a vehicle may also be limited to a
set of visits (``allowed``: a volunteer stays in its community).

Two optional fields say what only some engines honour (OR-Tools does; PyVRP and VROOM restrict):

- ``window_sets``: several start windows per node. ``windows`` then holds one of them (the
  one engines with a single window per node use, a restriction: every start inside it is
  inside the set).
- ``VehicleSpec.breaks``: breaks a vehicle takes wherever it is, each with a start window and
  a duration (a break at a fixed place is an ordinary required visit only its vehicle may
  serve). :meth:`RoutingArrays.restricted` is the instance for engines without breaks: each
  vehicle's shift and duration limit are shortened by its breaks' durations, and the caller
  places the breaks into the routes afterwards.

A solution is :data:`Routes`: one tuple of visit nodes per vehicle, in visit order, depots not
listed. :func:`route_violations` and :func:`objective` evaluate it without any solver.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from planner.errors import ProblemError

__all__ = [
    "HORIZON",
    "BreakSpec",
    "EngineResult",
    "Objective",
    "Routes",
    "RoutingArrays",
    "VehicleSpec",
    "objective",
    "route_violations",
    "start_in",
    "violations",
]

#: A time far beyond any shift: the default end of windows and shifts (fits VROOM's uint32).
HORIZON = 2**31 - 1

Routes = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class BreakSpec:
    """A break a vehicle takes wherever it is (on its way, or while waiting).

    Parameters
    ----------
    earliest, latest
        Window for the start of the break.
    duration
        Length of the break.
    """

    earliest: int
    latest: int
    duration: int


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
    breaks
        Breaks taken on the way, at most one at a time, between leaving the start depot and
        reaching the end depot, never during service (see :meth:`RoutingArrays.restricted`
        for engines that cannot model them).
    """

    start: int = 0
    end: int = 0
    shift: tuple[int, int] = (0, HORIZON)
    capacity: int | None = None
    max_duration: int | None = None
    profile: int = 0
    allowed: frozenset[int] | None = None
    breaks: tuple[BreakSpec, ...] = ()

    def without_breaks(self) -> VehicleSpec:
        """This vehicle with its breaks' time taken off the shift end and the duration limit."""
        if not self.breaks:
            return self
        reserve = sum(b.duration for b in self.breaks)
        duration = self.shift[1] - self.shift[0] if self.max_duration is None else self.max_duration
        return dataclasses.replace(
            self,
            shift=(self.shift[0], max(self.shift[0], self.shift[1] - reserve)),
            max_duration=max(0, duration - reserve),
            breaks=(),
        )


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
    window_sets
        Per node, several sorted, disjoint start windows, or ``None`` (the default, or for a
        node: just ``windows[node]``). ``windows[node]`` must lie inside one of them.
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
    window_sets: tuple[tuple[tuple[int, int], ...] | None, ...] | None = None

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
        if self.window_sets is not None:
            set_(self, "window_sets", self._checked_window_sets(n))
        self._validate(n)

    def _checked_window_sets(self, n: int) -> tuple[tuple[tuple[int, int], ...] | None, ...]:
        sets = tuple(
            None if ws is None else tuple((int(a), int(b)) for a, b in ws)
            for ws in self.window_sets  # type: ignore[union-attr]
        )
        if len(sets) != n:
            msg = f"routing arrays: window_sets has {len(sets)} entries, expected {n}"
            raise ProblemError(msg)
        for node, ws in enumerate(sets):
            if ws is None:
                continue
            ordered = all(a <= b for a, b in ws) and all(
                b0 < a1 for (_, b0), (a1, _) in itertools.pairwise(ws)
            )
            a, b = (int(x) for x in self.windows[node])
            if not ws or not ordered or not any(x <= a and b <= y for x, y in ws):
                msg = (
                    f"routing arrays: node {node} needs sorted, disjoint window_sets with "
                    f"windows[{node}] = ({a}, {b}) inside one of them"
                )
                raise ProblemError(msg)
        return sets

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
            for b in vehicle.breaks:
                if b.earliest > b.latest or b.duration < 0:
                    msg = f"routing arrays: vehicle {k} has a break {b} with a bad window or length"
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

    def windows_of(self, node: int) -> tuple[tuple[int, int], ...]:
        """The start windows of ``node``: its window set, or its one window."""
        ws = None if self.window_sets is None else self.window_sets[node]
        return ws if ws is not None else ((int(self.windows[node, 0]), int(self.windows[node, 1])),)

    def restricted(self) -> RoutingArrays:
        """The instance for engines with one window per node and no breaks (PyVRP, VROOM).

        Window sets are dropped (``windows`` is a restriction of them) and each vehicle's
        breaks become time kept free (:meth:`VehicleSpec.without_breaks`); the routes found
        still need their breaks placed, which may not always fit a break's window.
        """
        if self.window_sets is None and not any(v.breaks for v in self.vehicles):
            return self
        return dataclasses.replace(
            self,
            vehicles=tuple(v.without_breaks() for v in self.vehicles),
            window_sets=None,
        )


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
    solver_objective
        The solver's own objective value, when it reports one (OR-Tools).
    """

    routes: Routes
    objective: Objective
    engine: str
    seconds: float
    cpu_seconds: float = 0.0
    solver_objective: int | None = None


def start_in(windows: tuple[tuple[int, int], ...], ready: int) -> int | None:
    """Earliest start of service at or after ``ready`` inside one of ``windows``, or None.

    Examples
    --------
    >>> start_in(((0, 5), (100, 200)), 20)
    100
    >>> start_in(((0, 5), (100, 200)), 201) is None
    True
    """
    return next((max(ready, a) for a, b in windows if ready <= b), None)


def _return_with_breaks(arrays: RoutingArrays, vehicle: int, route: tuple[int, ...]) -> int | None:
    """Earliest return to the end depot with every break taken, or None when they cannot fit.

    Breaks are taken in the order of their windows, each on some leg (while travelling or
    waiting for a window); for each number of breaks taken so far, the earliest time is kept
    (waiting is allowed, so earlier is never worse).
    """
    spec = arrays.vehicles[vehicle]
    breaks = sorted(spec.breaks, key=lambda b: (b.earliest, b.latest))
    travel = arrays.travel[spec.profile]
    state: list[int | None] = [spec.shift[0]] + [None] * len(breaks)
    previous = spec.start
    for idx, node in enumerate([*route, spec.end]):
        leg = int(travel[previous, node])
        nxt: list[int | None] = [None] * len(state)
        for j, depart in enumerate(state):
            if depart is None:
                continue
            end, taken = depart, 0
            for jj in range(j, len(state)):
                if jj > j:
                    brk = breaks[jj - 1]
                    start = max(end, brk.earliest)
                    if start > brk.latest:
                        break
                    end, taken = start + brk.duration, taken + brk.duration
                ready = max(depart + leg + taken, end)
                if idx < len(route):
                    begin = start_in(arrays.windows_of(node), ready)
                    if begin is None:
                        continue
                    ready = begin + int(arrays.service[node])
                best = nxt[jj]
                if best is None or ready < best:
                    nxt[jj] = ready
        state, previous = nxt, node
    return state[-1]


def route_violations(arrays: RoutingArrays, vehicle: int, route: tuple[int, ...]) -> list[str]:
    """List what is wrong with one route (windows, shift, capacity, duration, breaks, node kinds).

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
        start = start_in(arrays.windows_of(node), arrival)
        if start is None:
            start = arrival
            problems.append(
                f"vehicle {vehicle}: node {node} starts at {start} after its window closes "
                f"at {arrays.windows_of(node)[-1][1]}"
            )
        if first_start is None:
            first_start = start - int(travel[spec.start, node])
        time = start + int(arrays.service[node])
        previous = node
    back = time + int(travel[previous, spec.end])
    if spec.breaks and not problems:
        with_breaks = _return_with_breaks(arrays, vehicle, route)
        if with_breaks is None:
            problems.append(f"vehicle {vehicle}: its breaks cannot all be taken in their windows")
            return problems
        back = with_breaks
        # breaks that must start before the first visit does lengthen the route
        assert first_start is not None
        first_start -= sum(b.duration for b in spec.breaks if b.latest < first_start)
        first_start = max(first_start, spec.shift[0])
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
