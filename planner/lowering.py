"""One lowering of a planning problem to engine arrays, read by every engine.

:func:`lower` turns a :class:`~planner.model.Problem` into a
:class:`~planner.engines.arrays.RoutingArrays` (integer seconds) and the meaning of each of its
nodes; PyVRP, VROOM and OR-Tools all solve these arrays, and :func:`planner.retime.to_plan`
turns any engine's routes back into a timed plan.

- Depots: one node per depot place.
- Stops: one optional prize node per wanted visit (:func:`copy_windows`: a stop that wants
  ``visits > 1`` becomes that many copies, each with its own slot of the stop's windows,
  ``min_gap_s`` apart, so any two copies are far enough apart without a side constraint).
  Prizes are scaled to integers (the richest visit node is worth :data:`PRIZE_RESOLUTION`);
  a checkpoint's node outweighs all risk visits together.
- Several windows per stop: the node's ``window_sets`` entry holds all windows of its slot
  (OR-Tools honours them); ``windows`` holds the longest, which the engines with one window
  per node use (a restriction, so every routed visit is still inside a window of the stop).
- Breaks at a fixed place: a required node that only its unit may serve.
- Breaks taken on the way (no place): the unit's ``VehicleSpec.breaks`` (OR-Tools models them;
  :meth:`~planner.engines.arrays.RoutingArrays.restricted` keeps their time free instead for
  PyVRP and VROOM, and :func:`planner.retime.to_plan` places them).
- Areas, unit kinds and skills: each visit node's allowed vehicles, from
  :func:`planner.feasibility.screen` (stops no unit can serve are left out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .engines.arrays import HORIZON, BreakSpec, RoutingArrays, VehicleSpec
from .feasibility import Screening, screen
from .model import Problem, Stop

__all__ = ["PRIZE_RESOLUTION", "Lowered", "Node", "copy_windows", "lower"]

#: Integer prize of the richest visit node (prizes are scaled to integers for the engines).
PRIZE_RESOLUTION = 10_000

Windows = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Node:
    """What one visit node of the arrays stands for.

    Attributes
    ----------
    location
        Place index in the problem.
    service
        Dwell (or break) seconds.
    windows
        Allowed start windows (a slot of the stop's windows, or the break's window).
    stop
        Index into ``problem.stops``; -1 for a break at a fixed place.
    copy
        Visit slot of the stop.
    unit
        For a break: its unit's index.
    break_id
        For a break: its id.
    """

    location: int
    service: int
    windows: Windows
    stop: int = -1
    copy: int = 0
    unit: int = -1
    break_id: str = ""

    @property
    def window(self) -> tuple[int, int]:
        """The longest window (earliest among equals): the one single-window engines use."""
        return max(self.windows, key=lambda w: (w[1] - w[0], -w[0]))


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
    nodes: tuple[Node, ...]
    screening: Screening


def copy_windows(problem: Problem, stop: Stop) -> list[Windows]:
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


def _int_travel(problem: Problem, mode: str, loc: list[int], big: int) -> np.ndarray:
    m = np.asarray(problem.travel_s[mode])[np.ix_(loc, loc)]
    return np.minimum(np.where(np.isfinite(m), np.ceil(m), big), big).astype(np.int64)


def _nodes(problem: Problem, screening: Screening) -> tuple[list[Node], list[tuple[int, ...]]]:
    """Visit nodes (stop copies, then breaks at a fixed place) and who may serve each."""
    nodes: list[Node] = []
    owners: list[tuple[int, ...]] = []
    for i, stop in enumerate(problem.stops):
        who = screening.candidates.get(stop.stop_id)
        if not who:
            continue
        for k, slot in enumerate(copy_windows(problem, stop)):
            nodes.append(Node(stop.location, stop.dwell_s, slot, stop=i, copy=k))
            owners.append(who)
    for v, unit in enumerate(problem.units):
        for b in unit.breaks:
            if b.location is not None:
                window = ((b.earliest_s, b.latest_s),)
                nodes.append(Node(b.location, b.duration_s, window, unit=v, break_id=b.break_id))
                owners.append((v,))
    return nodes, owners


def _prizes(problem: Problem, nodes: list[Node], n_dep: int) -> np.ndarray:
    """Integer prize per node: risk scaled to :data:`PRIZE_RESOLUTION`, checkpoints above all."""
    stop_nodes = [n for n in nodes if n.stop >= 0]
    prizes = [problem.stops[n.stop].prize_of_visit(n.copy) for n in stop_nodes]
    top = max(prizes, default=0.0) or 1.0
    prize = np.zeros(n_dep + len(nodes), dtype=np.int64)
    prize[n_dep : n_dep + len(stop_nodes)] = [
        max(1, round(p / top * PRIZE_RESOLUTION)) if p > 0 else 0 for p in prizes
    ]
    # checkpoints are hard visits: each outweighs all risk visits together
    hard = int(prize.sum()) + 1
    for j, n in enumerate(stop_nodes):
        if problem.stops[n.stop].checkpoint is not None:
            prize[n_dep + j] = hard
    return prize


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
    nodes, owners = _nodes(problem, screening)
    n_dep = len(depot_places)
    loc = depot_places + [n.location for n in nodes]
    horizon = max(problem.horizon_s, 1)
    big = 4 * horizon + 10**6
    modes = sorted({u.mode for u in problem.units})
    profile = {m: j for j, m in enumerate(modes)}
    allowed: list[set[int]] = [set() for _ in problem.units]
    for j, who in enumerate(owners):
        for v in who:
            allowed[v].add(n_dep + j)
    vehicles = tuple(
        VehicleSpec(
            start=depot_node[u.start_location],
            end=depot_node[u.end],
            shift=(u.shift_start_s, u.shift_end_s),
            max_duration=u.duration_limit_s,
            profile=profile[u.mode],
            allowed=frozenset(allowed[v]),
            breaks=tuple(
                BreakSpec(b.earliest_s, b.latest_s, b.duration_s)
                for b in u.breaks
                if b.location is None
            ),
        )
        for v, u in enumerate(problem.units)
    )
    required = np.zeros(len(loc), dtype=bool)
    required[n_dep:] = [n.stop < 0 for n in nodes]
    arrays = RoutingArrays(
        travel=np.stack([_int_travel(problem, m, loc, big) for m in modes]),
        service=np.array([0] * n_dep + [n.service for n in nodes], dtype=np.int64),
        windows=np.array([(0, HORIZON)] * n_dep + [n.window for n in nodes], dtype=np.int64),
        vehicles=vehicles,
        n_depots=n_dep,
        prize=_prizes(problem, nodes, n_dep),
        required=required,
        window_sets=(None,) * n_dep
        + tuple(n.windows if len(n.windows) > 1 else None for n in nodes),
    )
    return Lowered(arrays=arrays, nodes=tuple(nodes), screening=screening)
