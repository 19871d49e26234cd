"""The fill pass: units patrol until their shift ends, and the plans stay valid."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.evaluate import evaluate
from planner.fill import fill_plan
from planner.model import Plan, Problem, Route, Stop, Unassigned, Unit, Visit
from planner.solve import solve
from planner.stops import HOW_COLUMNS, stop_table
from tests.planner.generated import START, lonlat, matrices, random_problem

TZ = "America/New_York"


def _with_presence(p: Problem, gap_s: int = 3600, doses: int = 8) -> Problem:
    """``p`` plus a presence stop (whole-shift window, small prize) at every stop's grid."""
    extra = [
        Stop(
            f"{s.stop_id}~p",
            s.grid_id,
            s.location,
            windows=((0, p.horizon_s - s.dwell_s),),
            prize=s.prize / 10,
            visits=doses,
            min_gap_s=gap_s,
            kinds=s.kinds,
            skills=s.skills,
            presence=True,
        )
        for s in p.stops
    ]
    return dataclasses.replace(p, stops=(*p.stops, *extra))


def _line_problem(units: tuple[Unit, ...], stops: tuple[Stop, ...], n: int = 5) -> Problem:
    xy = np.array([[400.0 * i, 0.0] for i in range(n)])
    travel, dist = matrices(xy)
    return Problem(lonlat(xy), travel, units, stops, distance_m=dist, start=START)


def test_idle_unit_gets_a_route() -> None:
    """A unit the solver left at its depot patrols the stops it may serve once filled."""
    p = _line_problem(
        (
            Unit(
                "vol", "volunteer", "walk", 0, shift_end_s=3 * 3600, allowed_grids=frozenset({"g1"})
            ),
        ),
        (Stop("a", "g1", 1, prize=1.0, visits=3, min_gap_s=3000),),
    )
    plan = fill_plan(p, Plan(routes=()))
    assert [v.stop_id for r in plan.routes for v in r.visits] == ["a", "a", "a"]
    assert evaluate(p, plan).ok


def test_unit_patrols_until_its_shift_ends() -> None:
    """After the hot window closes, presence doses keep the car out until near its shift end,
    spaced from every other visit to the same grid."""
    car = Unit("car", "police_car", "drive", 0, shift_end_s=8 * 3600)
    hot = Stop("a", "g1", 1, prize=10.0, windows=((0, 3600),))
    stops = (hot, Stop("b", "g2", 2, windows=((0, 3600),)))
    p = _with_presence(_line_problem((car,), stops), gap_s=1800, doses=16)
    plan = solve(p, time_limit_s=1, seed=0)
    ev = evaluate(p, plan)
    assert ev.ok, ev.violations
    assert ev.early_units == ()
    last = plan.routes[0].steps[-1].departure_s
    assert car.shift_end_s - last <= 1800
    assert ev.presence_risk > 0


def test_early_end_is_warned() -> None:
    """The evaluator warns about a unit ending hours early while a stop it may serve is open."""
    car = Unit("car", "police_car", "drive", 0, shift_end_s=8 * 3600)
    p = _line_problem((car,), (Stop("a", "g1", 1, visits=3, min_gap_s=3600),))
    leg = int(np.ceil(p.travel("drive", 0, 1)))
    visit = Visit("visit", "a", 1, leg, leg, leg + 720)
    route = Route("car", 0, leg + 720 + leg, (visit,))
    short = Plan(routes=(route,), unassigned=(Unassigned("a", "g1", "1 of 3 visits made"),))
    ev = evaluate(p, short)
    assert ev.ok, ev.violations
    assert ev.early_units == ("car",)
    assert "minutes before its shift ends" in ev.warnings[0]
    assert evaluate(p, solve(p, time_limit_s=1, seed=0)).early_units == ()


def test_presence_too_close_to_a_visit_is_a_violation() -> None:
    """A presence dose within its gap of another visit to the same grid breaks a rule."""
    car = Unit("car", "police_car", "drive", 0, shift_end_s=8 * 3600)
    p = _with_presence(_line_problem((car,), (Stop("a", "g1", 1),)))
    plan = solve(p, time_limit_s=1, seed=0)
    assert evaluate(p, plan).ok
    route = plan.routes[0]
    hot = next(v for v in route.visits if v.stop_id == "a")
    dose = next(v for v in route.visits if v.stop_id == "a~p")
    assert abs(dose.start_s - hot.start_s) >= 3600
    t = hot.departure_s
    close = Visit("visit", "a~p", hot.location, t, t, t + 720)
    bad = Plan(routes=(Route("car", route.start_s, t + 2000, (hot, close)),))
    assert any("presence stop a~p" in v for v in evaluate(p, bad).violations)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_stops=st.integers(1, 16), n_units=st.integers(1, 4))
def test_filled_plans_stay_valid_and_collect_no_less(seed: int, n_stops: int, n_units: int) -> None:
    """On generated problems (areas, kinds, skills, windows, repeats, breaks, presence), the
    fill pass keeps every plan valid and never loses risk the solver collected."""
    p = _with_presence(random_problem(seed, n_stops=n_stops, n_units=n_units, shift_s=6 * 3600))
    raw = solve(p, time_limit_s=0.3, seed=seed, fill=False)
    filled = fill_plan(p, raw)
    ev_raw, ev = evaluate(p, raw), evaluate(p, filled)
    assert ev_raw.ok, ev_raw.violations
    assert ev.ok, ev.violations
    assert ev.risk_covered >= ev_raw.risk_covered - 1e-9
    assert ev.idle_s <= ev_raw.idle_s


def test_base_risk_keep_and_presence_rows() -> None:
    """A grid with no incidents gets a stop from the base risk when kept, and presence rows
    cover the whole shift for every kept grid."""
    start = pd.Timestamp("2024-03-04T18:00", tz=TZ)
    end = pd.Timestamp("2024-03-05T02:00", tz=TZ)
    rows = []
    for gid, r in (("hot", 5.0), ("warm", 1.0), ("quiet", 0.0)):
        row = {"grid_id": gid, "risk": r, **dict.fromkeys(HOW_COLUMNS, 1 / 168)}
        rows.append(row)
    risk = pd.DataFrame(rows)
    plain = stop_table(risk, shift_start=start, shift_end=end, timezone=TZ, max_stops=1)
    assert plain["grid_id"].tolist() == ["hot"]
    table = stop_table(
        risk,
        shift_start=start,
        shift_end=end,
        timezone=TZ,
        max_stops=1,
        base_share=0.25,
        keep={"quiet"},
        presence_gap_s=3600,
    )
    hot = table.loc[~table["presence"]]
    assert hot["grid_id"].tolist() == ["hot", "quiet"]
    assert (hot["prize"] > 0).all()
    dose = table.loc[table["presence"]]
    assert dose["stop_id"].tolist() == ["hot~p", "quiet~p"]
    assert all(w == [(0, 8 * 3600 - 720)] for w in dose["windows"])
    assert (dose["min_gap_s"] == 3600).all()


def test_routes_keep_the_units_order() -> None:
    """Filling the idlest units first does not reorder the plan's routes."""
    p = _with_presence(random_problem(5, n_stops=12, n_units=4, shift_s=6 * 3600))
    plan = solve(p, time_limit_s=0.5, seed=0)
    order = [u.unit_id for u in p.units]
    ids = [r.unit_id for r in plan.routes]
    assert ids == sorted(ids, key=order.index)
