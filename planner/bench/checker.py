"""An independent checker of benchmark solutions, written against the files' own conventions.

It re-reads nothing from the engines: it takes the parsed instance and routes in the file's
numbering and recomputes every arrival in the benchmark's arithmetic (double precision for
Solomon VRPTW; :class:`decimal.Decimal` truncation for TOPTW, a different code path from the
integer arrays the engines see). A solution is reported only when its :class:`Check` is ``ok``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext

from .solomon import SolomonInstance
from .toptw import ToptwInstance, truncation_decimals

__all__ = ["Check", "check_toptw", "check_vrptw"]

#: Slack allowed on Solomon windows for double-precision sums (far below any data precision).
VRPTW_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Check:
    """Outcome of a check.

    Attributes
    ----------
    ok
        Whether the solution satisfies every rule.
    problems
        What is wrong, one line each.
    distance
        Total travelled distance (benchmark arithmetic).
    score
        Total collected score (TOPTW; 0 for VRPTW).
    routes
        Number of non-empty routes.
    """

    ok: bool
    problems: tuple[str, ...]
    distance: float
    score: int
    routes: int


def _route_shape(
    routes: Sequence[Sequence[int]], n_customers: int, limit: int, problems: list[str]
) -> list[list[int]]:
    used = [list(r) for r in routes if len(r) > 0]
    if len(used) > limit:
        problems.append(f"{len(used)} routes used, at most {limit} allowed")
    seen: set[int] = set()
    for k, route in enumerate(used):
        for c in route:
            if not 1 <= c <= n_customers:
                problems.append(f"route {k}: {c} is not a customer number")
            elif c in seen:
                problems.append(f"customer {c} is visited more than once")
            seen.add(c)
    return used


def check_vrptw(instance: SolomonInstance, routes: Sequence[Sequence[int]]) -> Check:
    """Check a Solomon VRPTW solution: every customer once, capacity, windows, depot hours.

    Parameters
    ----------
    instance
        The instance.
    routes
        Customer numbers (as in the file) in visit order, one list per vehicle; depot not listed.

    Returns
    -------
    Check
        With the total distance in double precision.
    """
    problems: list[str] = []
    index = {int(c): i for i, c in enumerate(instance.ids)}
    n = len(instance.ids) - 1
    used = _route_shape(routes, n, instance.vehicles, problems)
    served = {c for r in used for c in r}
    missing = sorted({int(c) for c in instance.ids[1:]} - served)
    if missing:
        problems.append(f"{len(missing)} customers not served (first: {missing[0]})")
    total = 0.0
    for k, route in enumerate(used):
        if any(c not in index for c in route):
            continue
        rows = [0, *(index[c] for c in route), 0]
        load = sum(int(instance.demand[r]) for r in rows)
        if load > instance.capacity:
            problems.append(f"route {k}: load {load} exceeds capacity {instance.capacity}")
        clock = float(instance.ready[0])
        for a, b in itertools.pairwise(rows):
            leg = math.hypot(instance.x[a] - instance.x[b], instance.y[a] - instance.y[b])
            total += leg
            clock = max(clock + (float(instance.service[a]) if a else 0.0) + leg, instance.ready[b])
            if clock > instance.due[b] + VRPTW_TOLERANCE:
                where = "the depot" if b == 0 else f"customer {int(instance.ids[b])}"
                problems.append(
                    f"route {k}: {where} reached at {clock:.4f} after its due time {instance.due[b]:g}"
                )
    return Check(not problems, tuple(problems), total, 0, len(used))


def _truncated(a: tuple[Decimal, Decimal], b: tuple[Decimal, Decimal], quantum: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40
        squared = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
        return squared.sqrt().quantize(quantum, rounding=ROUND_FLOOR)


def check_toptw(instance: ToptwInstance, m: int, routes: Sequence[Sequence[int]]) -> Check:
    """Check a TOPTW solution under the truncated-travel convention and count its score.

    Parameters
    ----------
    instance
        The instance.
    m
        Number of routes allowed.
    routes
        Vertex numbers (as in the file) in visit order, depot 0 not listed.

    Returns
    -------
    Check
        With the collected score and the total (truncated) travel distance.
    """
    problems: list[str] = []
    n = instance.n_customers
    used = _route_shape(routes, n, m, problems)
    quantum = Decimal(1).scaleb(-truncation_decimals(instance.name))
    points = list(zip(instance.x, instance.y, strict=True))
    total = Decimal(0)
    score = 0
    for k, route in enumerate(used):
        if any(not 1 <= c <= n for c in route):
            continue
        path = [0, *route, 0]
        clock = instance.open[0]
        for a, b in itertools.pairwise(path):
            leg = _truncated(points[a], points[b], quantum)
            total += leg
            clock = max(clock + instance.service[a] + leg, instance.open[b])
            limit = instance.tmax if b == 0 else instance.close[b]
            if clock > limit:
                where = "the depot" if b == 0 else f"vertex {b}"
                problems.append(f"route {k}: {where} starts at {clock} after {limit}")
        score += sum(instance.score[c] for c in route)
    return Check(not problems, tuple(problems), float(total), score, len(used))
