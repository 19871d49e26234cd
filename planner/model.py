"""The solver-agnostic patrol planning model: frozen data, checked on construction.

Times inside the planner are integer seconds from the plan's start (:attr:`Problem.start`).
Places are indices into :attr:`Problem.locations` (``(lon, lat)`` pairs, EPSG:4326); travel
times (and optionally distances) between them are one square matrix per travel mode, so a
problem can be built from a street network (:mod:`planner.problem`) or from matrices written
by hand in a test.

Examples
--------
>>> import numpy as np
>>> t = np.array([[0, 60], [60, 0]])
>>> p = Problem(
...     locations=((0.0, 0.0), (0.001, 0.0)),
...     travel_s={"walk": t},
...     units=(Unit("u1", "foot_patrol", "walk", start_location=0, shift_end_s=3600),),
...     stops=(Stop("s1", "g1", location=1, prize=2.0),),
... )
>>> p.horizon_s
3600
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ProblemError

__all__ = [
    "DEFAULT_DWELL_S",
    "DEFAULT_VISIT_GAP_S",
    "MODES",
    "UNIT_KINDS",
    "Break",
    "Plan",
    "Problem",
    "Route",
    "Stop",
    "Unassigned",
    "Unit",
    "Visit",
    "renumber_visits",
]

#: Travel modes with a travel-time matrix.
MODES = ("drive", "walk", "bike")
#: Kinds of patrolling unit.
UNIT_KINDS = ("police_car", "foot_patrol", "volunteer", "property_security", "grid_worker")
#: Police kinds (may go anywhere, may carry incident details).
POLICE_KINDS = frozenset({"police_car", "foot_patrol"})
#: Koper curve: 10 to 15 minutes of presence at a hot spot; 12 by default.
DEFAULT_DWELL_S = 720
#: Repeated visits to one stop are at least two hours apart.
DEFAULT_VISIT_GAP_S = 7200


def _check_window(what: str, start: int, end: int) -> None:
    if start > end:
        msg = f"{what}: window start {start} s is after its end {end} s"
        raise ProblemError(msg)


@dataclass(frozen=True)
class Break:
    """A rest break of one unit, starting inside its own window.

    Parameters
    ----------
    break_id
        Identifier, unique within the unit.
    earliest_s, latest_s
        Window for the break's start, seconds from the plan's start.
    duration_s
        Length of the break.
    location
        Where it is taken: None for wherever the unit is (on its way), or a place index (the
        unit goes there, e.g. its station for a meal break).
    """

    break_id: str
    earliest_s: int
    latest_s: int
    duration_s: int
    location: int | None = None

    def __post_init__(self) -> None:
        _check_window(f"break {self.break_id!r}", self.earliest_s, self.latest_s)
        if self.duration_s < 0:
            msg = f"break {self.break_id!r}: duration_s must be >= 0, got {self.duration_s}"
            raise ProblemError(msg)


@dataclass(frozen=True)
class Unit:
    """One patrolling unit: a police car, foot patrol, volunteer, security guard or grid worker.

    Parameters
    ----------
    unit_id
        Identifier, unique in the problem.
    kind
        One of :data:`UNIT_KINDS`.
    mode
        Travel mode, a key of :attr:`Problem.travel_s`.
    start_location
        Index of the depot the shift starts at.
    end_location
        Index of the depot the shift ends at (the start depot when None).
    shift_start_s, shift_end_s
        The shift, seconds from the plan's start.
    max_duration_s
        Longest route (end minus start); the shift length when None.
    breaks
        Breaks with their own windows.
    skills
        What the unit can do (a stop's ``skills`` must be a subset).
    allowed_grids
        Leaf grid ids the unit may enter; None means anywhere.
    """

    unit_id: str
    kind: str
    mode: str
    start_location: int
    end_location: int | None = None
    shift_start_s: int = 0
    shift_end_s: int = 8 * 3600
    max_duration_s: int | None = None
    breaks: tuple[Break, ...] = ()
    skills: frozenset[str] = frozenset()
    allowed_grids: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.kind not in UNIT_KINDS:
            msg = f"unit {self.unit_id!r}: kind {self.kind!r} is not one of {', '.join(UNIT_KINDS)}"
            raise ProblemError(msg)
        if self.mode not in MODES:
            msg = f"unit {self.unit_id!r}: mode {self.mode!r} is not one of {', '.join(MODES)}"
            raise ProblemError(msg)
        _check_window(f"unit {self.unit_id!r} shift", self.shift_start_s, self.shift_end_s)
        if self.max_duration_s is not None and self.max_duration_s < 0:
            msg = f"unit {self.unit_id!r}: max_duration_s must be >= 0"
            raise ProblemError(msg)
        object.__setattr__(self, "breaks", tuple(self.breaks))
        object.__setattr__(self, "skills", frozenset(self.skills))
        if self.allowed_grids is not None:
            object.__setattr__(self, "allowed_grids", frozenset(self.allowed_grids))
        for b in self.breaks:
            if b.earliest_s < self.shift_start_s or b.latest_s + b.duration_s > self.shift_end_s:
                msg = f"unit {self.unit_id!r}: break {b.break_id!r} does not fit inside the shift"
                raise ProblemError(msg)
        ids = [b.break_id for b in self.breaks]
        if len(set(ids)) != len(ids):
            msg = f"unit {self.unit_id!r}: break ids are not unique"
            raise ProblemError(msg)

    @property
    def end(self) -> int:
        """Index of the end depot."""
        return self.start_location if self.end_location is None else self.end_location

    @property
    def is_police(self) -> bool:
        """Whether the unit is police (car or foot patrol)."""
        return self.kind in POLICE_KINDS

    @property
    def duration_limit_s(self) -> int:
        """The longest the route may last: the shift or ``max_duration_s``, whichever is shorter."""
        shift = self.shift_end_s - self.shift_start_s
        return shift if self.max_duration_s is None else min(shift, self.max_duration_s)


@dataclass(frozen=True)
class Stop:
    """A place worth patrolling: a routable street point inside one grid.

    Parameters
    ----------
    stop_id
        Identifier, unique in the problem.
    grid_id
        The leaf grid the stop lies in.
    location
        Index into :attr:`Problem.locations`.
    dwell_s
        Presence per visit (Koper curve default: 12 minutes).
    windows
        Allowed start-of-visit windows ``(start_s, end_s)``, sorted, non-overlapping;
        empty means the whole horizon.
    prize
        Risk collected by the first visit.
    visits
        How many visits are wanted; later visits collect ``repeat_prize`` each.
    repeat_prize
        Prize of each visit after the first (half the prize when None).
    min_gap_s
        Least time between the starts of two visits to this stop.
    skills
        Skills a unit needs to serve the stop.
    kinds
        Unit kinds allowed here (None: every kind), e.g. police only.
    presence
        A presence stop: a dose of patrol at a grid's base risk that fills a unit's free time
        (:mod:`planner.fill`) rather than a visit the solvers are asked for. Its visits are
        at least ``min_gap_s`` apart from every visit to the same grid; it is never listed as
        unassigned and its prize is counted apart (``Evaluation.presence_risk``).
    checkpoint
        The name of the key site when the stop is a checkpoint (:mod:`planner.checkpoints`): a
        hard visit, weighed above every risk visit by the solvers, its prize never counted in
        the shift's risk; a missed checkpoint is unassigned with its reason and warned about.
    """

    stop_id: str
    grid_id: str
    location: int
    dwell_s: int = DEFAULT_DWELL_S
    windows: tuple[tuple[int, int], ...] = ()
    prize: float = 1.0
    visits: int = 1
    repeat_prize: float | None = None
    min_gap_s: int = DEFAULT_VISIT_GAP_S
    skills: frozenset[str] = frozenset()
    kinds: frozenset[str] | None = None
    presence: bool = False
    checkpoint: str | None = None

    def __post_init__(self) -> None:
        where = f"stop {self.stop_id!r}"
        if self.dwell_s < 0:
            msg = f"{where}: dwell_s must be >= 0, got {self.dwell_s}"
            raise ProblemError(msg)
        if not np.isfinite(self.prize) or self.prize < 0:
            msg = f"{where}: prize must be a finite number >= 0, got {self.prize}"
            raise ProblemError(msg)
        if self.visits < 1:
            msg = f"{where}: visits must be >= 1, got {self.visits}"
            raise ProblemError(msg)
        windows = tuple((int(a), int(b)) for a, b in self.windows)
        for a, b in windows:
            _check_window(where, a, b)
        for (_, b0), (a1, _) in itertools.pairwise(windows):
            if a1 <= b0:
                msg = f"{where}: windows must be sorted and disjoint"
                raise ProblemError(msg)
        object.__setattr__(self, "windows", windows)
        object.__setattr__(self, "skills", frozenset(self.skills))
        if self.kinds is not None:
            kinds = frozenset(self.kinds)
            bad = kinds - set(UNIT_KINDS)
            if bad:
                msg = f"{where}: unknown unit kinds {sorted(bad)}"
                raise ProblemError(msg)
            object.__setattr__(self, "kinds", kinds)

    def prize_of_visit(self, k: int) -> float:
        """Prize collected by the ``k``-th visit (0-based)."""
        if k == 0:
            return self.prize
        return self.prize / 2 if self.repeat_prize is None else self.repeat_prize

    @property
    def total_prize(self) -> float:
        """Prize collected when every wanted visit is made."""
        return sum(self.prize_of_visit(k) for k in range(self.visits))


def _frozen_matrices(
    matrices: Mapping[str, Any] | None, n: int, what: str
) -> Mapping[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for mode, m in (matrices or {}).items():
        arr = np.array(m, dtype=float)
        if arr.shape != (n, n):
            msg = f"{what}[{mode!r}] has shape {arr.shape}, expected ({n}, {n}) (one row per location)"
            raise ProblemError(msg)
        if not np.all(np.isfinite(arr) | np.isposinf(arr)) or np.any(arr < 0):
            msg = f"{what}[{mode!r}] must hold numbers >= 0 (inf for unreachable)"
            raise ProblemError(msg)
        arr.setflags(write=False)
        out[mode] = arr
    return out


@dataclass(frozen=True)
class Problem:
    """A patrol planning problem: units, stops, and travel between their places.

    Parameters
    ----------
    locations
        ``(lon, lat)`` of every place (depots and stops), EPSG:4326.
    travel_s
        One square travel-time matrix (seconds, ``inf`` where unreachable) per mode.
    units, stops
        The units and the candidate stops.
    distance_m
        Optional distance matrices per mode (metres); great-circle distances otherwise.
    start
        Wall-clock time of second 0 (timezone-aware); None for abstract problems.
    timezone
        IANA zone name used when writing times.
    """

    locations: tuple[tuple[float, float], ...]
    travel_s: Mapping[str, np.ndarray]
    units: tuple[Unit, ...]
    stops: tuple[Stop, ...]
    distance_m: Mapping[str, np.ndarray] | None = None
    start: dt.datetime | None = None
    timezone: str = "UTC"
    stop_index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        locs = tuple((float(x), float(y)) for x, y in self.locations)
        object.__setattr__(self, "locations", locs)
        n = len(locs)
        object.__setattr__(self, "travel_s", _frozen_matrices(self.travel_s, n, "travel_s"))
        if self.distance_m is not None:
            object.__setattr__(
                self, "distance_m", _frozen_matrices(self.distance_m, n, "distance_m")
            )
        object.__setattr__(self, "units", tuple(self.units))
        object.__setattr__(self, "stops", tuple(self.stops))
        if self.start is not None and self.start.tzinfo is None:
            msg = "problem start must be timezone-aware"
            raise ProblemError(msg)
        seen: set[str] = set()
        for u in self.units:
            if u.unit_id in seen:
                msg = f"unit id {u.unit_id!r} is not unique"
                raise ProblemError(msg)
            seen.add(u.unit_id)
            if u.mode not in self.travel_s:
                msg = f"unit {u.unit_id!r}: no travel-time matrix for mode {u.mode!r}"
                raise ProblemError(msg)
            places = [u.start_location, u.end]
            places += [b.location for b in u.breaks if b.location is not None]
            for loc in places:
                if not 0 <= loc < n:
                    msg = f"unit {u.unit_id!r}: depot location {loc} is not in 0..{n - 1}"
                    raise ProblemError(msg)
        index: dict[str, int] = {}
        for i, s in enumerate(self.stops):
            if s.stop_id in index:
                msg = f"stop id {s.stop_id!r} is not unique"
                raise ProblemError(msg)
            index[s.stop_id] = i
            if not 0 <= s.location < n:
                msg = f"stop {s.stop_id!r}: location {s.location} is not in 0..{n - 1}"
                raise ProblemError(msg)
        object.__setattr__(self, "stop_index", index)

    @property
    def horizon_s(self) -> int:
        """Latest shift end over all units (0 without units)."""
        return max((u.shift_end_s for u in self.units), default=0)

    def stop(self, stop_id: str) -> Stop:
        """The stop with this id."""
        return self.stops[self.stop_index[stop_id]]

    def unit(self, unit_id: str) -> Unit:
        """The unit with this id."""
        for u in self.units:
            if u.unit_id == unit_id:
                return u
        msg = f"no unit {unit_id!r} in the problem"
        raise ProblemError(msg)

    def travel(self, mode: str, a: int, b: int) -> float:
        """Travel time in seconds from location ``a`` to ``b`` by ``mode``."""
        return float(self.travel_s[mode][a, b])

    def distance(self, mode: str, a: int, b: int) -> float:
        """Distance in metres from location ``a`` to ``b`` (great circle without a matrix)."""
        if self.distance_m is not None and mode in self.distance_m:
            return float(self.distance_m[mode][a, b])
        (x0, y0), (x1, y1) = self.locations[a], self.locations[b]
        p0, p1 = np.radians(y0), np.radians(y1)
        dp, dl = p1 - p0, np.radians(x1 - x0)
        h = np.sin(dp / 2) ** 2 + np.cos(p0) * np.cos(p1) * np.sin(dl / 2) ** 2
        return float(2 * 6_371_008.8 * np.arcsin(np.sqrt(h)))

    def may_serve(self, unit: Unit, stop: Stop) -> bool:
        """Whether ``unit`` may serve ``stop`` (area, kind and skills; not time)."""
        if unit.allowed_grids is not None and stop.grid_id not in unit.allowed_grids:
            return False
        if stop.kinds is not None and unit.kind not in stop.kinds:
            return False
        return stop.skills <= unit.skills

    def windows_of(self, stop: Stop) -> tuple[tuple[int, int], ...]:
        """The stop's windows, or the whole horizon when it has none."""
        return stop.windows or ((0, self.horizon_s),)


@dataclass(frozen=True)
class Visit:
    """One step of a route: a visit to a stop or a break.

    ``arrival_s`` is when the unit gets there, ``start_s`` when presence (or the break) starts
    (after waiting for the window), ``departure_s = start_s + service_s``.
    """

    kind: str
    stop_id: str
    location: int
    arrival_s: int
    start_s: int
    departure_s: int
    visit_number: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("visit", "break"):
            msg = f"step kind must be 'visit' or 'break', got {self.kind!r}"
            raise ProblemError(msg)
        if not self.arrival_s <= self.start_s <= self.departure_s:
            msg = (
                f"{self.kind} {self.stop_id!r}: times must satisfy arrival <= start <= departure, "
                f"got {self.arrival_s}, {self.start_s}, {self.departure_s}"
            )
            raise ProblemError(msg)

    @property
    def waiting_s(self) -> int:
        """Time spent waiting for the window to open."""
        return self.start_s - self.arrival_s

    @property
    def service_s(self) -> int:
        """Presence (or break) length."""
        return self.departure_s - self.start_s


@dataclass(frozen=True)
class Route:
    """The ordered steps of one unit, from leaving its start depot to reaching its end depot."""

    unit_id: str
    start_s: int
    end_s: int
    steps: tuple[Visit, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        if self.end_s < self.start_s:
            msg = f"route of {self.unit_id!r}: end {self.end_s} s before start {self.start_s} s"
            raise ProblemError(msg)
        t = self.start_s
        for s in self.steps:
            if s.arrival_s < t:
                msg = f"route of {self.unit_id!r}: step {s.stop_id!r} arrives before the previous step ends"
                raise ProblemError(msg)
            t = s.departure_s
        if t > self.end_s:
            msg = f"route of {self.unit_id!r}: ends at {self.end_s} s before its last step ends at {t} s"
            raise ProblemError(msg)

    @property
    def visits(self) -> tuple[Visit, ...]:
        """Visit steps only (no breaks)."""
        return tuple(s for s in self.steps if s.kind == "visit")


@dataclass(frozen=True)
class Unassigned:
    """A stop not visited (or a unit left idle), with the reason in words."""

    stop_id: str | None
    grid_id: str | None
    reason: str
    unit_id: str | None = None

    def __post_init__(self) -> None:
        if not self.reason:
            msg = "an unassigned entry needs a reason"
            raise ProblemError(msg)
        if self.stop_id is None and self.unit_id is None:
            msg = "an unassigned entry names a stop or a unit"
            raise ProblemError(msg)


@dataclass(frozen=True)
class Plan:
    """A solution: one route per unit that leaves its depot, and what was left out."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...] = ()
    backend: str = ""
    seed: int | None = None
    objective: float = 0.0
    solve_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "routes", tuple(self.routes))
        object.__setattr__(self, "unassigned", tuple(self.unassigned))
        ids = [r.unit_id for r in self.routes]
        if len(set(ids)) != len(ids):
            msg = "a plan has at most one route per unit"
            raise ProblemError(msg)

    def route(self, unit_id: str) -> Route | None:
        """The route of ``unit_id``, or None when it has none."""
        return next((r for r in self.routes if r.unit_id == unit_id), None)

    def visit_key(self) -> tuple[tuple[str, tuple[tuple[str, int], ...]], ...]:
        """Order-sensitive summary (unit, visited stops and start times), to compare plans."""
        return tuple(
            (r.unit_id, tuple((s.stop_id, s.start_s) for s in r.steps)) for r in self.routes
        )


def renumber_visits(routes: list[Route]) -> list[Route]:
    """Number each stop's visits 0, 1, ... in time order across all routes.

    A later slot of a repeated stop may be visited alone; its visit number is its rank among the
    visits actually made, which is what ``Stop.prize_of_visit`` prices.
    """
    starts: dict[str, list[int]] = {}
    for r in routes:
        for v in r.visits:
            starts.setdefault(v.stop_id, []).append(v.start_s)
    rank = {sid: sorted(ts) for sid, ts in starts.items()}
    return [
        dataclasses.replace(
            r,
            steps=tuple(
                dataclasses.replace(s, visit_number=rank[s.stop_id].index(s.start_s))
                if s.kind == "visit"
                else s
                for s in r.steps
            ),
        )
        for r in routes
    ]
