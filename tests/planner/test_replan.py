"""Tests of mid-shift re-planning."""

from __future__ import annotations

import dataclasses
import time

from planner.evaluate import evaluate
from planner.model import Stop
from planner.replan import MadeVisit, UnitState, remaining_problem, replan, state_at
from planner.solve import solve
from tests.planner.generated import random_problem


def test_replan_continues_from_current_state() -> None:
    """Re-planning at 2 h starts units where they are, never repeats made visits, stays valid."""
    p = random_problem(5, n_stops=30, n_units=4)
    plan = solve(p, time_limit_s=1, seed=0)
    now = 2 * 3600
    states, made = state_at(p, plan, now)
    rest, new = replan(p, now_s=now, states=states, made=made, time_limit_s=1)
    assert evaluate(rest, new).ok
    by_unit = {s.unit_id: s for s in states}
    for route in new.routes:
        assert route.start_s >= by_unit[route.unit_id].free_at_s
        assert rest.unit(route.unit_id).start_location == by_unit[route.unit_id].location
    counts: dict[str, int] = {}
    for m in made:
        counts[m.stop_id] = counts.get(m.stop_id, 0) + 1
    for route in new.routes:
        for v in route.visits:
            counts[v.stop_id] = counts.get(v.stop_id, 0) + 1
    assert all(counts[s] <= p.stop(s).visits for s in counts)


def test_made_visit_leaves_repeat_gap() -> None:
    """After a visit, the stop's next visit comes at least min_gap_s later, for the repeat prize."""
    p = random_problem(2, n_stops=5, n_units=1, with_breaks=False, with_repeats=False)
    s0 = p.stops[0]
    hot = Stop(s0.stop_id, s0.grid_id, s0.location, prize=4.0, visits=2, min_gap_s=3600)
    p = dataclasses.replace(p, stops=(hot, *p.stops[1:]))
    rest = remaining_problem(p, now_s=600, made=[MadeVisit(hot.stop_id, 300)])
    again = rest.stop(hot.stop_id)
    assert again.visits == 1
    assert again.prize == 2.0
    assert again.windows[0][0] >= 3900


def test_boost_and_new_stop() -> None:
    """A warning multiplies a grid's prize; a new stop is added to the rest of the shift."""
    p = random_problem(3, n_stops=6, n_units=2)
    grid = p.stops[1].grid_id
    extra = Stop("new", "g-new", p.stops[2].location, prize=9.0)
    rest = remaining_problem(p, now_s=0, boost={grid: 3.0}, new_stops=[extra])
    assert rest.stops[1].prize == 3.0 * p.stops[1].prize
    assert rest.stop("new").prize == 9.0


def test_unit_state_sets_start() -> None:
    """A unit busy until later starts then, from its reported place; taken breaks are dropped."""
    p = random_problem(4, n_stops=6, n_units=2, with_breaks=True)
    u = p.units[0]
    rest = remaining_problem(
        p,
        now_s=1000,
        states=[UnitState(u.unit_id, 5, 2000, frozenset(b.break_id for b in u.breaks))],
    )
    assert rest.units[0].shift_start_s == max(2000, u.shift_start_s)
    assert rest.units[0].start_location == 5
    assert rest.units[0].breaks == ()


def test_station_replan_honours_its_time_limit() -> None:
    """A station (80 stops, 8 units) re-planned with a 3 s limit returns within the limit plus
    slack for the build (a hang check, not a speed claim: benchmarks/replan.py measures speed)."""
    p = random_problem(9, n_stops=80, n_units=8)
    plan = solve(p, time_limit_s=1, seed=0)
    states, made = state_at(p, plan, 3600)
    t0 = time.perf_counter()
    rest, new = replan(p, now_s=3600, states=states, made=made, time_limit_s=3)
    assert time.perf_counter() - t0 < 3.0 + 30.0  # limit + slack for a loaded 2-core machine
    assert evaluate(rest, new).ok
