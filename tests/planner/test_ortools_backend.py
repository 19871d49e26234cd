"""Tests of the OR-Tools backend on small problems built from matrices."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.engines import ortools_engine, violations
from planner.errors import PlannerError
from planner.evaluate import evaluate
from planner.lowering import copy_windows, lower
from planner.model import Break, Problem, Stop, Unit
from planner.ortools_backend import solve_ortools
from planner.retime import to_plan
from planner.solve import backends, solve
from tests.planner.generated import START, lonlat, matrices, random_problem


def _line_problem(**stop_kw: object) -> Problem:
    xy = np.array([[0.0, 0.0], [500.0, 0.0], [1000.0, 0.0], [1500.0, 0.0]])
    travel, dist = matrices(xy)
    units = (Unit("car", "police_car", "drive", 0, shift_end_s=3 * 3600),)
    stops = tuple(Stop(f"s{i}", f"g{i}", i, prize=1.0, **stop_kw) for i in (1, 2, 3))  # type: ignore[arg-type]
    return Problem(lonlat(xy), travel, units, stops, distance_m=dist, start=START)


def test_all_reachable_stops_visited() -> None:
    """With time to spare, every stop is visited once and the plan passes the evaluator."""
    p = _line_problem()
    plan = solve(p, time_limit_s=1, seed=0)
    assert {v.stop_id for r in plan.routes for v in r.visits} == {"s1", "s2", "s3"}
    assert evaluate(p, plan).ok
    assert [u for u in plan.unassigned if u.stop_id] == []


def test_window_is_respected_with_waiting() -> None:
    """A stop whose window opens late is visited inside it (the unit waits)."""
    p = _line_problem(windows=((5000, 6000),))
    plan = solve(p, time_limit_s=1, seed=0)
    starts = [v.start_s for r in plan.routes for v in r.visits]
    assert starts
    assert all(5000 <= s <= 6000 for s in starts)
    assert evaluate(p, plan).ok


def test_unreachable_window_is_explained() -> None:
    """A stop whose window closes before any unit can get there is unassigned with the reason."""
    xy = np.array([[0.0, 0.0], [8000.0, 0.0]])
    travel, _ = matrices(xy)
    p = Problem(
        lonlat(xy),
        {"walk": travel["walk"]},
        (Unit("foot", "foot_patrol", "walk", 0, shift_end_s=4 * 3600),),
        (Stop("far", "g1", 1, windows=((0, 600),)),),
    )
    plan = solve(p, time_limit_s=1, seed=0)
    reasons = {u.stop_id: u.reason for u in plan.unassigned}
    assert reasons["far"].startswith("window already past")
    unit_reasons = {u.unit_id: u.reason for u in plan.unassigned if u.unit_id}
    assert "shift too short" in unit_reasons["foot"]


def test_area_and_volunteer_without_grid_are_explained() -> None:
    """Stops nobody may enter, and volunteers with no grid, are reported with reasons."""
    xy = np.array([[0.0, 0.0], [300.0, 0.0], [600.0, 0.0]])
    travel, _ = matrices(xy)
    units = (
        Unit("vol-1", "volunteer", "walk", 0, allowed_grids=frozenset({"g1"})),
        Unit("vol-2", "volunteer", "walk", 0, allowed_grids=frozenset()),
    )
    stops = (
        Stop("a", "g1", 1),
        Stop("b", "g2", 2),
        Stop("c", "g1", 2, kinds=frozenset({"police_car"})),
    )
    p = Problem(lonlat(xy), {"walk": travel["walk"]}, units, stops)
    plan = solve(p, time_limit_s=1, seed=0)
    reasons = {(u.stop_id or u.unit_id): u.reason for u in plan.unassigned}
    assert reasons["b"] == "no unit may enter grid g2"
    assert "kind allowed here" in reasons["c"]
    assert "no grid" in reasons["vol-2"]
    assert [v.stop_id for r in plan.routes for v in r.visits] == ["a"]


def test_breaks_are_taken_in_their_window() -> None:
    """A unit's break appears once, inside its window, and the plan stays valid."""
    xy = np.random.default_rng(3).random((10, 2)) * 2000
    travel, dist = matrices(xy)
    unit = Unit(
        "car",
        "police_car",
        "drive",
        0,
        shift_end_s=4 * 3600,
        breaks=(Break("meal", 3600, 5400, 1800),),
    )
    stops = tuple(Stop(f"s{i}", f"g{i}", i) for i in range(1, 10))
    p = Problem(lonlat(xy), travel, (unit,), stops, distance_m=dist)
    plan = solve(p, time_limit_s=1, seed=0)
    breaks = [s for r in plan.routes for s in r.steps if s.kind == "break"]
    assert len(breaks) == 1
    assert 3600 <= breaks[0].start_s <= 5400
    assert evaluate(p, plan).ok


def test_break_at_the_station() -> None:
    """A break with a place sends the unit there inside the break's window; the plan stays valid."""
    xy = np.random.default_rng(4).random((10, 2)) * 3000
    travel, dist = matrices(xy)
    meal = Break("meal", 3600, 5400, 1800, location=0)
    unit = Unit("car", "police_car", "drive", 0, shift_end_s=4 * 3600, breaks=(meal,))
    stops = tuple(Stop(f"s{i}", f"g{i}", i) for i in range(1, 10))
    p = Problem(lonlat(xy), travel, (unit,), stops, distance_m=dist)
    plan = solve(p, time_limit_s=1, seed=0)
    (brk,) = [s for r in plan.routes for s in r.steps if s.kind == "break"]
    assert brk.location == 0
    assert 3600 <= brk.start_s <= 5400
    assert evaluate(p, plan).ok


def test_repeat_visits_are_spaced() -> None:
    """A stop wanting two visits gets them at least min_gap_s apart, by any unit."""
    xy = np.array([[0.0, 0.0], [400.0, 0.0], [800.0, 300.0]])
    travel, _ = matrices(xy)
    units = (Unit("car", "police_car", "drive", 0, shift_end_s=6 * 3600),)
    stops = (Stop("hot", "g1", 1, prize=10.0, visits=2), Stop("cool", "g2", 2, prize=1.0))
    p = Problem(lonlat(xy), travel, units, stops)
    plan = solve(p, time_limit_s=1, seed=0)
    hot = sorted(v.start_s for r in plan.routes for v in r.visits if v.stop_id == "hot")
    assert len(hot) == 2
    assert hot[1] - hot[0] >= 7200
    assert evaluate(p, plan).ok


def test_per_mode_travel_times() -> None:
    """Each unit moves at its own mode's travel times (a walker takes longer than a car)."""
    xy = np.array([[0.0, 0.0], [1400.0, 0.0]])
    travel, _ = matrices(xy)
    p = Problem(
        lonlat(xy),
        travel,
        (
            Unit("car", "police_car", "drive", 0, allowed_grids=frozenset({"g1"})),
            Unit("foot", "foot_patrol", "walk", 0, allowed_grids=frozenset({"g2"})),
        ),
        (Stop("a", "g1", 1), Stop("b", "g2", 1)),
    )
    plan = solve(p, time_limit_s=1, seed=0)
    arrive = {v.stop_id: v.arrival_s - r.start_s for r in plan.routes for v in r.visits}
    assert {r.unit_id for r in plan.routes} == {"car", "foot"}
    assert arrive["b"] >= 1000  # 1400 m at 1.4 m/s
    assert arrive["a"] <= 200  # 1400 m at 8 m/s
    assert evaluate(p, plan).ok


def test_same_seed_same_plan_on_small_problem() -> None:
    """The same seed and search budget give the same plan."""
    p = random_problem(11, n_stops=12, n_units=2, with_breaks=False)
    a = solve(p, time_limit_s=30, seed=7, max_solutions=200)
    b = solve(p, time_limit_s=30, seed=7, max_solutions=200)
    assert a.visit_key() == b.visit_key()


def test_unknown_backend() -> None:
    """Asking for an unregistered backend names the known ones."""
    assert "ortools" in backends()
    with pytest.raises(PlannerError, match="ortools"):
        solve(random_problem(1, n_stops=2, n_units=1), backend="nope")


def test_copy_windows_are_gap_apart() -> None:
    """Repeat-visit slots cover the windows (cut at the shift end, 3 h here) and start min_gap_s
    after the previous slot ends."""
    p = _line_problem(visits=3, windows=((0, 6 * 3600),), min_gap_s=3600)
    slots = copy_windows(p, p.stops[0])
    assert len(slots) == 3
    for before, after in itertools.pairwise(slots):
        assert after[0][0] - before[-1][1] >= 3600
    assert slots[0][0][0] == 0
    assert slots[-1][-1][1] == 3 * 3600


@pytest.mark.slow
def test_seeds_vary_the_plan_not_its_value() -> None:
    """Different seeds give different plans whose collected risk is within 2% of the best seed's."""
    p = random_problem(2, n_stops=30, n_units=4, with_breaks=False)
    plans = [solve(p, time_limit_s=3, seed=s, backend="ortools") for s in range(4)]
    risks = [evaluate(p, plan).risk_covered for plan in plans]
    assert len({plan.visit_key() for plan in plans}) > 1
    assert min(risks) >= 0.98 * max(risks), risks


def test_repeat_slot_after_the_last_shift_end() -> None:
    """A repeat stop whose window runs past every shift is solved (no "CP Solver fail"): its
    visit slots are cut from the time units are on duty, and both visits fit the shift."""
    xy = np.array([[0.0, 0.0], [500.0, 0.0], [1000.0, 0.0]])
    travel, dist = matrices(xy)
    units = (Unit("car", "police_car", "drive", 0, shift_end_s=3600),)
    stops = (
        Stop(
            "rep", "g1", 1, dwell_s=300, windows=((0, 10_000),), prize=5.0, visits=2, min_gap_s=1800
        ),
        Stop("s2", "g2", 2, dwell_s=300, prize=1.0),
    )
    p = Problem(lonlat(xy), travel, units, stops, distance_m=dist, start=START)
    assert all(w[0][0] <= 3600 for w in copy_windows(p, stops[0]))
    plan = solve_ortools(p, time_limit_s=1, seed=0)
    assert evaluate(p, plan).ok
    starts = sorted(v.start_s for r in plan.routes for v in r.visits if v.stop_id == "rep")
    assert len(starts) == 2
    assert starts[1] - starts[0] >= 1800


def test_anywhere_breaks_do_not_overlap() -> None:
    """Several breaks taken wherever the unit is, with overlapping windows, come back one
    after another (never overlapping), each in its window, and the plan passes the evaluator."""
    rng = np.random.default_rng(0)
    xy = rng.random((6, 2)) * 3000
    travel, dist = matrices(xy)
    breaks = (
        Break("a", 3600, 7200, 1800),
        Break("b", 3600, 7200, 1800),
        Break("c", 5000, 9000, 900),
    )
    units = (Unit("car", "police_car", "drive", 0, shift_end_s=4 * 3600, breaks=breaks),)
    stops = tuple(Stop(f"s{i}", f"g{i}", i, dwell_s=600, prize=1.0 + i) for i in range(1, 6))
    p = Problem(lonlat(xy), travel, units, stops, distance_m=dist, start=START)
    for seed in (0, 1):
        plan = solve_ortools(p, time_limit_s=0.5, seed=seed)  # raised ProblemError before
        assert evaluate(p, plan).ok
        taken = sorted(
            (s.start_s, s.departure_s) for r in plan.routes for s in r.steps if s.kind == "break"
        )
        assert len(taken) == 3
        assert all(b[0] >= a[1] for a, b in itertools.pairwise(taken))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_stops=st.integers(1, 30))
def test_engine_routes_pass_the_arrays_check_and_time_back_whole(seed: int, n_stops: int) -> None:
    """On generated problems (breaks on the way and at the station, several windows, repeats,
    areas) OR-Tools' routes on the lowering pass the arrays' own check (window sets, breaks),
    and timing them back on the problem keeps every visit and passes the evaluator."""
    p = random_problem(seed, n_stops=n_stops, n_units=2, side_m=4000.0)
    lowered = lower(p)
    if lowered is None:
        return
    search = ortools_engine.Search(first_solution_min_s=30)
    result = ortools_engine.solve(lowered.arrays, time_limit_s=0.2, search=search)
    assert violations(lowered.arrays, result.routes) == []
    plan = to_plan(p, lowered, result.routes, seed=0, backend="ortools")
    assert evaluate(p, plan).ok
    n_dep = lowered.arrays.n_depots
    routed = sum(lowered.nodes[n - n_dep].stop >= 0 for r in result.routes for n in r)
    assert sum(len(r.visits) for r in plan.routes) == routed
