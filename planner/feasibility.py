"""Which unit could serve which stop, and the reasons, in words, for what a plan leaves out.

Screening runs before any solver: stops that no unit may enter, or that no allowed unit can
reach inside a window and still get back before its shift ends, are reported at once and never
handed to a backend. After solving, :func:`explain` names why each remaining stop (or wanted
repeat visit) was not made, and why a unit stayed at its depot.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .model import Plan, Problem, Stop, Unassigned, Unit

__all__ = ["Screening", "clock", "earliest_start", "explain", "screen", "windows_text"]


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


def clock(problem: Problem, seconds: float) -> str:
    """``HH:MM`` local time of ``seconds`` from the plan's start (``+Ns`` without a start)."""
    if problem.start is None:
        return f"+{int(seconds)}s"
    when = problem.start + dt.timedelta(seconds=int(seconds))
    try:
        return when.astimezone(ZoneInfo(problem.timezone)).strftime("%H:%M")
    except (KeyError, ValueError):
        return when.strftime("%H:%M")


def windows_text(problem: Problem, stop: Stop) -> str:
    """The stop's windows as ``HH:MM-HH:MM, ...`` local times."""
    return ", ".join(
        f"{clock(problem, a)}-{clock(problem, b)}" for a, b in problem.windows_of(stop)
    )


def _time_reason(problem: Problem, stop: Stop, allowed: list[int]) -> str:
    """Why no allowed unit can make a visit in time, in words (window past, later, too far)."""
    units = [problem.units[i] for i in allowed]
    wins = problem.windows_of(stop)
    if all(b < 0 for _, b in wins):
        return "none of its windows falls inside the shift"
    names = ", ".join(u.unit_id for u in units[:4]) + (" ..." if len(units) > 4 else "")
    reach = min(
        u.shift_start_s + problem.travel(u.mode, u.start_location, stop.location) for u in units
    )
    if all(b < reach for _, b in wins):
        return (
            f"window already past: it closes ({windows_text(problem, stop)}) before any unit "
            f"allowed there ({names}) can reach it"
        )
    if all(a + stop.dwell_s > max(u.shift_end_s for u in units) for a, _ in wins):
        return (
            f"window ({windows_text(problem, stop)}) opens after the shifts of the units "
            f"allowed there ({names}) end"
        )
    return (
        f"too far: no unit allowed there ({names}) can reach it in its window "
        f"({windows_text(problem, stop)}) and get back before its shift ends"
    )


def screen(problem: Problem) -> Screening:
    """Find, for each stop, the units that may serve it within their shifts.

    Presence stops (``Stop.presence``) are neither candidates nor unassigned: they are for the
    fill pass (:mod:`planner.fill`), never for the solvers.
    """
    candidates: dict[str, tuple[int, ...]] = {}
    out: list[Unassigned] = []
    for stop in problem.stops:
        if stop.presence:
            continue
        allowed = [i for i, u in enumerate(problem.units) if problem.may_serve(u, stop)]
        if not allowed:
            out.append(Unassigned(stop.stop_id, stop.grid_id, _area_reason(problem, stop)))
            continue
        timely = [i for i in allowed if earliest_start(problem, problem.units[i], stop) is not None]
        if not timely:
            out.append(Unassigned(stop.stop_id, stop.grid_id, _time_reason(problem, stop, allowed)))
            continue
        candidates[stop.stop_id] = tuple(timely)
    return Screening(candidates=candidates, unassigned=tuple(out))


def _unit_reason(problem: Problem, unit: Unit) -> str | None:
    if unit.allowed_grids is not None and not unit.allowed_grids:
        return f"{unit.kind} has no grid it may enter"
    eligible = [s for s in problem.stops if problem.may_serve(unit, s)]
    if not eligible:
        kinds = any(s.kinds is not None and unit.kind not in s.kinds for s in problem.stops)
        skills = any(not s.skills <= unit.skills for s in problem.stops)
        why = "kind or skills" if kinds or skills else "area: its grids have no candidate stop"
        return f"no stop it may serve ({why})"
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
        who = [problem.units[i].unit_id for i in screening.candidates[stop.stop_id]]
        names = ", ".join(who[:4]) + (" ..." if len(who) > 4 else "")
        if n == 0 and stop.checkpoint is not None:
            reason = (
                f"not met: the units that may serve it ({names}) cannot fit it in its window "
                f"({windows_text(problem, stop)}) with their other checkpoints and breaks"
            )
        elif n == 0:
            reason = (
                f"value: the units that may serve it ({names}) spend its window "
                f"({windows_text(problem, stop)}) on visits worth more"
            )
        elif n < stop.visits:
            reason = (
                f"{n} of {stop.visits} visits made: the units that may serve it ({names}) have "
                f"no room for another visit at least {stop.min_gap_s // 60} minutes from the "
                "others without dropping visits worth more"
            )
        else:
            continue
        out.append(Unassigned(stop.stop_id, stop.grid_id, reason))
    used = {r.unit_id for r in plan.routes if r.visits}
    for unit in problem.units:
        if unit.unit_id in used:
            continue
        reason = _unit_reason(problem, unit) or (
            "no room: every visit it may make is taken by other units or does not fit "
            "its shift and breaks"
        )
        out.append(Unassigned(None, None, reason, unit_id=unit.unit_id))
    return tuple(out)
