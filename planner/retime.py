"""The way back from engine routes to a plan: routes timed on the problem's own matrices.

Every engine answers in the node numbers of :func:`planner.lowering.lower`; :func:`to_plan`
replays each unit's visits on the problem's travel times (waiting for windows, leaving its
depot as late as the first step allows, so the route is as short as it can be), places the
unit's breaks, and lists what was left out with reasons (:func:`planner.feasibility.explain`).

A break taken on the way may start while the unit travels or waits for a window: the next
arrival is then at least the leg's travel time plus the breaks' time after leaving, and not
before the last break ends (the rule the evaluator checks). Breaks are inserted one by one
where the visits they push out of their windows (or past the shift's end) are worth least;
should the duration limit still be broken, the visit with the smallest prize is dropped and
insertion retried. Breaks at a fixed place that the engine left out are inserted the same way.
"""

from __future__ import annotations

import math

import numpy as np

from .engines.arrays import start_in
from .feasibility import explain
from .lowering import Lowered, Node
from .model import Plan, Problem, Route, Unit, Visit, renumber_visits

__all__ = ["to_plan"]

#: A step of a route being timed: a visit node, or the id of a break taken on the way.
Item = Node | str


def _timed(
    problem: Problem,
    unit: Unit,
    items: list[Item],
    depart: int,
    *,
    check_duration: bool = True,
) -> tuple[list[Visit], int] | None:
    """Replay ``items`` leaving at ``depart``: the steps and the return time at the end depot.

    None when a window, the shift or the duration limit is broken.
    """
    travel = np.asarray(problem.travel_s[unit.mode])
    floating = {b.break_id: b for b in unit.breaks if b.location is None}
    here, t = unit.start_location, depart
    taken, free = 0, depart  # break seconds on the current leg; when its last break ends
    steps: list[Visit] = []
    for item in items:
        if isinstance(item, str):
            brk = floating[item]
            start = max(free, brk.earliest_s)
            if start > brk.latest_s:
                return None
            steps.append(Visit("break", item, here, start, start, start + brk.duration_s))
            free, taken = start + brk.duration_s, taken + brk.duration_s
            continue
        leg = float(travel[here, item.location])
        if not math.isfinite(leg):
            return None
        arrival = max(t + math.ceil(leg) + taken, free)
        begin = start_in(item.windows, arrival)
        if begin is None:
            return None
        start = begin
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
        taken, free = 0, t
    leg = float(travel[here, unit.end])
    if not math.isfinite(leg):
        return None
    back = max(t + math.ceil(leg) + taken, free)
    if back > unit.shift_end_s:
        return None
    if check_duration and back - depart > unit.duration_limit_s:
        return None
    return steps, back


def _route(problem: Problem, unit: Unit, items: list[Item]) -> Route | None:
    """Time ``items`` as a route leaving as late as the first step allows (shortest duration)."""
    early = _timed(problem, unit, items, unit.shift_start_s, check_duration=False)
    if early is None:
        return None
    departs = [unit.shift_start_s]
    steps = early[0]
    if steps:
        # leave so as to reach the first place just in time, with the breaks before it
        k = next((j for j, s in enumerate(steps) if not _on_the_way(unit, s)), len(steps))
        pause = sum(s.service_s for s in steps[:k])
        if k < len(steps):
            lead = math.ceil(
                float(problem.travel_s[unit.mode][unit.start_location, steps[k].location])
            )
            late = steps[k].start_s - lead - pause
        else:
            late = steps[0].start_s
        if late > unit.shift_start_s:
            departs.insert(0, late)
    for depart in departs:
        timed = _timed(problem, unit, items, depart)
        if timed is not None:
            steps, back = timed
            return Route(unit.unit_id, depart, back, tuple(steps))
    return None


def _on_the_way(unit: Unit, step: Visit) -> bool:
    """Whether ``step`` is a break taken wherever the unit is."""
    return step.kind == "break" and any(
        b.break_id == step.stop_id and b.location is None for b in unit.breaks
    )


def _skim(problem: Problem, unit: Unit, items: list[Item]) -> tuple[float, int, list[Item]] | None:
    """Replay ``items`` from the shift start, skipping visits that no longer fit.

    A visit is skipped when its windows have closed or the unit could not get back to its end
    depot after it. Returns the prize skipped, the return time and the items kept; None when a
    break misses its window.
    """
    travel = np.asarray(problem.travel_s[unit.mode])
    floating = {b.break_id: b for b in unit.breaks if b.location is None}
    here, t = unit.start_location, unit.shift_start_s
    taken, free = 0, t
    kept: list[Item] = []
    lost = 0.0
    for item in items:
        if isinstance(item, str):
            brk = floating[item]
            start = max(free, brk.earliest_s)
            if start > brk.latest_s:
                return None
            kept.append(item)
            free, taken = start + brk.duration_s, taken + brk.duration_s
            continue
        leg = float(travel[here, item.location])
        home = float(travel[item.location, unit.end])
        reach = (
            start_in(item.windows, max(t + math.ceil(leg) + taken, free))
            if math.isfinite(leg)
            else None
        )
        if reach is None or reach + item.service + home > unit.shift_end_s:
            if item.stop < 0:
                return None
            lost += problem.stops[item.stop].prize_of_visit(item.copy)
            continue
        kept.append(item)
        here, t = item.location, reach + item.service
        taken, free = 0, t
    home = float(travel[here, unit.end])
    if not math.isfinite(home):
        return None
    back = max(t + math.ceil(home) + taken, free)
    if back > unit.shift_end_s:
        return None
    return lost, back, kept


def _insert(problem: Problem, unit: Unit, items: list[Item], brk: Item) -> list[Item] | None:
    """Insert one break where it costs the least prize (then the earliest return), or None."""
    best: tuple[float, int, list[Item]] | None = None
    for pos in range(len(items) + 1):
        trial = _skim(problem, unit, [*items[:pos], brk, *items[pos:]])
        if trial is not None and (best is None or trial[:2] < best[:2]):
            best = trial
    return None if best is None else best[2]


def _with_breaks(problem: Problem, v: int, items: list[Node]) -> Route | None:
    """Route of unit ``v`` through ``items`` with its missing breaks inserted where they fit."""
    unit = problem.units[v]
    have = {x.break_id for x in items if x.stop < 0}
    floating: list[Item] = [b.break_id for b in unit.breaks if b.location is None]
    floating += [
        Node(b.location, b.duration_s, ((b.earliest_s, b.latest_s),), unit=v, break_id=b.break_id)
        for b in unit.breaks
        if b.location is not None and b.break_id not in have
    ]
    current: list[Item] = list(items)
    skimmed: list[Item] | None = current
    for brk in floating:
        if skimmed is not None:
            skimmed = _insert(problem, unit, skimmed, brk)
    if skimmed is not None:
        route = _route(problem, unit, skimmed)
        if route is not None:
            return route
    while any(isinstance(x, Node) and x.stop >= 0 for x in current):
        placed: list[Item] | None = current
        for bid in floating:
            best: tuple[int, list[Item]] | None = None
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
        visits = [x for x in current if isinstance(x, Node) and x.stop >= 0]
        worst = min(visits, key=lambda x: problem.stops[x.stop].prize_of_visit(x.copy))
        current = [x for x in current if x is not worst]
    return None


def to_plan(
    problem: Problem,
    lowered: Lowered,
    routes: tuple[tuple[int, ...], ...],
    *,
    seed: int | None,
    backend: str = "portfolio",
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
    backend
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
    draft = Plan(routes=tuple(renumber_visits(out)), backend=backend, seed=seed)
    return Plan(
        routes=draft.routes,
        unassigned=explain(problem, lowered.screening, draft),
        backend=backend,
        seed=seed,
    )
