"""Tests of the independent evaluator: it catches broken plans and measures good ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.evaluate import evaluate
from planner.model import Plan, Problem, Route, Stop, Unassigned, Unit, Visit
from planner.solve import solve
from tests.planner.generated import lonlat, matrices, random_problem


def _problem() -> Problem:
    xy = np.array([[0.0, 0.0], [800.0, 0.0], [1600.0, 0.0]])
    travel, dist = matrices(xy)
    units = (
        Unit("car", "police_car", "drive", 0, shift_end_s=7200),
        Unit("vol", "volunteer", "walk", 0, allowed_grids=frozenset({"g1"}), shift_end_s=7200),
    )
    stops = (
        Stop("a", "g1", 1, prize=2.0, windows=((0, 3600),)),
        Stop("b", "g2", 2, prize=1.0, kinds=frozenset({"police_car"})),
    )
    return Problem(
        lonlat(xy),
        {"drive": travel["drive"], "walk": travel["walk"]},
        units,
        stops,
        distance_m=dist,
    )


def _good() -> Plan:
    # car: depot -> a (100 s) -> b (100 s) -> depot (200 s)
    steps = (Visit("visit", "a", 1, 100, 100, 820), Visit("visit", "b", 2, 920, 920, 1640))
    return Plan(routes=(Route("car", 0, 1840, steps),))


def test_good_plan_passes_and_is_measured() -> None:
    """A valid hand-made plan has no violations; risk, km and presence add up."""
    p = _problem()
    ev = evaluate(p, _good())
    assert ev.violations == ()
    assert ev.risk_covered == pytest.approx(3.0)
    assert ev.risk_covered_pct == pytest.approx(100.0)
    assert ev.units[0].distance_m == pytest.approx(3200.0)
    assert ev.presence_min == {"g1": 12.0, "g2": 12.0}
    assert ev.units[0].waiting_s == 0


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            lambda s: (dataclasses.replace(s[0], arrival_s=50, start_s=50, departure_s=770), s[1]),
            "travel needs",
        ),
        (
            lambda s: (dataclasses.replace(s[0], arrival_s=3700, start_s=3700, departure_s=4420),),
            "outside its windows",
        ),
        (lambda s: (dataclasses.replace(s[0], departure_s=200), s[1]), "less than its dwell"),
        (lambda s: (s[0], dataclasses.replace(s[1], stop_id="zzz")), "unknown stop"),
    ],
)
def test_broken_plans_are_caught(change: object, fragment: str) -> None:
    """Too-fast travel, visits outside windows, short dwell and unknown stops are violations."""
    p = _problem()
    steps = change(_good().routes[0].steps)  # type: ignore[operator]
    plan = Plan(
        routes=(Route("car", 0, 7000, steps),),
        unassigned=(Unassigned("b", "g2", "x"),),
    )
    ev = evaluate(p, plan)
    assert not ev.ok
    assert any(fragment in v for v in ev.violations), ev.violations


def test_area_kind_shift_and_unlisted_are_caught() -> None:
    """A volunteer in a police-only grid, a late return and an unlisted stop are violations."""
    p = _problem()
    steps = (Visit("visit", "b", 2, 1200, 1200, 1920),)
    plan = Plan(routes=(Route("vol", 0, 9000, steps),))
    text = " | ".join(evaluate(p, plan).violations)
    assert "may not serve grid g2" in text
    assert "after its shift ends" in text
    assert "stop a is neither fully visited nor listed" in text


def test_repeat_visits_too_close_are_caught() -> None:
    """Two visits to one stop closer than min_gap_s, or more than wanted, are violations."""
    xy = np.array([[0.0, 0.0], [100.0, 0.0]])
    travel, _ = matrices(xy)
    p = Problem(lonlat(xy), travel, (Unit("c", "police_car", "drive", 0),), (Stop("a", "g", 1),))
    steps = (
        Visit("visit", "a", 1, 20, 20, 740),
        Visit("visit", "a", 1, 740, 740, 1460, visit_number=1),
    )
    ev = evaluate(p, Plan(routes=(Route("c", 0, 1500, steps),)))
    text = " | ".join(ev.violations)
    assert "more than 1" in text
    assert "apart" in text


def test_readiness_share_per_slice() -> None:
    """Readiness counts grids within 3 and 5 minutes of an on-duty unit per 15-minute slice."""
    p = _problem()
    ev = evaluate(p, Plan(routes=()))
    assert len(ev.readiness) == 8
    # units idle at the depot: a is 100 s by car, b 200 s -> both within 5 min, both within 3 min? 200 > 180
    assert ev.readiness[0].within_3min == pytest.approx(0.5)
    assert ev.readiness[0].within_5min == pytest.approx(1.0)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_stops=st.integers(1, 14),
    n_units=st.integers(1, 4),
    breaks=st.booleans(),
)
def test_every_solver_plan_passes_the_evaluator(
    seed: int, n_stops: int, n_units: int, breaks: bool
) -> None:
    """Property: every plan the solver returns passes the independent evaluator."""
    p = random_problem(seed, n_stops=n_stops, n_units=n_units, with_breaks=breaks)
    plan = solve(p, time_limit_s=0.5, seed=seed)
    ev = evaluate(p, plan)
    assert ev.violations == ()
    assert 0.0 <= ev.risk_covered_pct <= 100.0 + 1e-9
