"""Which unit could serve which stop, and the reasons, in words, for what a plan leaves out.

Screening runs before any solver: stops that no unit may enter, or that no allowed unit can
reach inside a window and still get back before its shift ends, are reported at once and never
handed to a backend. After solving, :func:`explain` names why each remaining stop (or wanted
repeat visit) was not made, and why a unit stayed at its depot.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .model import Plan, Problem, Stop, Unassigned, Unit

__all__ = ["Screening", "earliest_start", "explain", "screen"]


def earliest_start(problem: Problem, unit: Unit, stop: Stop) -> int | None:
    """Earliest start of a visit by ``unit`` to ``stop`` that fits its shift, or None.

    The unit leaves its depot at shift start (or later, to avoid waiting), serves the stop inside
    one of its windows and gets back to its end depot before the shift ends, within
    ``max_duration_s``. Breaks are not counted here.
    """
    t_in = problem.travel(unit.mode, unit.start_location, stop.location)
    t_out = problem.travel(unit.mode, stop.location, unit.end)
    if t_in + stop.dwell_s + t_out > unit.duration_limit_s:
        return None
    arrive = unit.shift_start_s + t_in
    for a, b in problem.windows_of(stop):
        start = max(float(a), arrive)
        if start <= b and start + stop.dwell_s + t_out <= unit.shift_end_s:
            return int(-(-start // 1))
    return None


@dataclass(frozen=True)
class Screening:
    """Outcome of screening: who may serve what, and what is left out before solving."""

    #: For each kept stop id, the indices of the units that may serve it in time.
    candidates: dict[str, tuple[int, ...]]
    #: Stops no unit can serve, with the reason.
    unassigned: tuple[Unassigned, ...]


def _area_reason(problem: Problem, stop: Stop) -> str:
    if not problem.units:
        return "no units in the problem"
    kinds = [u for u in problem.units if stop.kinds is None or u.kind in stop.kinds]
    if not kinds:
        allowed = ", ".join(sorted(stop.kinds or ()))
        return f"no unit of a kind allowed here ({allowed})"
    skilled = [u for u in kinds if stop.skills <= u.skills]
    if not skilled:
        return f"no unit has the skills it needs ({', '.join(sorted(stop.skills))})"
    return f"no unit may enter grid {stop.grid_id}"


def screen(problem: Problem) -> Screening:
    """Find, for each stop, the units that may serve it within their shifts."""
    candidates: dict[str, tuple[int, ...]] = {}
    out: list[Unassigned] = []
    for stop in problem.stops:
        allowed = [i for i, u in enumerate(problem.units) if problem.may_serve(u, stop)]
        if not allowed:
            out.append(Unassigned(stop.stop_id, stop.grid_id, _area_reason(problem, stop)))
            continue
        timely = [i for i in allowed if earliest_start(problem, problem.units[i], stop) is not None]
        if not timely:
            out.append(
                Unassigned(
                    stop.stop_id,
                    stop.grid_id,
                    "no unit can reach it within its window and return before its shift ends",
                )
            )
            continue
        candidates[stop.stop_id] = tuple(timely)
    return Screening(candidates=candidates, unassigned=tuple(out))


def _unit_reason(problem: Problem, unit: Unit) -> str | None:
    if unit.allowed_grids is not None and not unit.allowed_grids:
        return f"{unit.kind} has no grid it may enter"
    eligible = [s for s in problem.stops if problem.may_serve(unit, s)]
    if not eligible:
        return "no candidate stop in the grids it may enter"
    if all(earliest_start(problem, unit, s) is None for s in eligible):
        return "shift too short to reach any stop in its window and return"
    return None


def explain(problem: Problem, screening: Screening, plan: Plan) -> tuple[Unassigned, ...]:
    """Everything the plan leaves out, with reasons: stops, missing repeat visits, idle units."""
    made = Counter(v.stop_id for r in plan.routes for v in r.visits)
    out = list(screening.unassigned)
    for stop in problem.stops:
        if stop.stop_id not in screening.candidates:
            continue
        n = made.get(stop.stop_id, 0)
        if n == 0:
            reason = "dropped: lower value than the stops visited (no unit had time for it)"
        elif n < stop.visits:
            reason = (
                f"{n} of {stop.visits} visits made: no unit had time for another visit "
                f"at least {stop.min_gap_s // 60} minutes after the last"
            )
        else:
            continue
        out.append(Unassigned(stop.stop_id, stop.grid_id, reason))
    used = {r.unit_id for r in plan.routes if r.visits}
    for unit in problem.units:
        if unit.unit_id in used:
            continue
        reason = (
            _unit_reason(problem, unit) or "not needed: the stops it could serve went to others"
        )
        out.append(Unassigned(None, None, reason, unit_id=unit.unit_id))
    return tuple(out)
