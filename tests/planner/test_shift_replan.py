"""Re-planning from events: the past kept exactly, few routes changed, bad events named."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from benchmarks._shift import city_shift, shift_problem
from maps.gpx import plan_to_gpx
from maps.kml import routes_to_kml
from maps.privacy import export_plan_routes
from planner.checkpoints import checkpoint_stop
from planner.evaluate import evaluate
from planner.events import EventError, parse_events
from planner.plan_json import plan_to_json
from planner.shift_file import ShiftState, read_shift, shift_bytes
from planner.shift_replan import apply_events, replan_to_json, split_route
from planner.solve import solve
from tests.planner.generated import random_problem

OUT_AND_INCIDENT = {
    "events": [
        {"type": "unit_unavailable", "unit_id": "car-2", "at": "20:00"},
        {"type": "incident", "lon": -75.14, "lat": 39.985, "at": "20:05", "category": "robbery"},
    ]
}


@pytest.fixture(scope="module")
def shift():  # type: ignore[no-untyped-def]
    """A planned shift: 4 cars, 40 stops, 18:00-02:00."""
    return city_shift(0, n_units=4, n_stops=40)


def test_shift_file_round_trip(shift) -> None:  # type: ignore[no-untyped-def]
    """The shift file gives back the same problem, plan and grids."""
    state, plan = shift
    back = read_shift(shift_bytes(state))
    assert back.problem.units == state.problem.units
    assert back.problem.stops == state.problem.stops
    assert back.plan == plan
    assert back.grid_ids == state.grid_ids
    for mode, m in state.problem.travel_s.items():
        assert (back.problem.travel_s[mode] == m).all()


def test_car_out_and_incident(shift) -> None:  # type: ignore[no-untyped-def]
    """car-2 out at 20:00 plus an incident: every step before 20:00 kept, car-2 idle after."""
    state, plan = shift
    events = parse_events(OUT_AND_INCIDENT, state.problem)
    result = apply_events(state, events, time_limit_s=1)
    now = result.now_s
    assert now == 2 * 3600
    assert result.evaluation.ok
    assert evaluate(result.rest_problem, result.rest_plan).ok
    for old in plan.routes:
        kept, _ = split_route(old, now)
        if old.unit_id == "car-2":  # out of service: only what it has started
            kept = tuple(s for s in old.steps if s.start_s < now)
        new = result.state.plan.route(old.unit_id)
        assert new is not None
        assert new.steps[: len(kept)] == kept
        if old.unit_id == "car-2":
            assert new.steps == kept
    assert "car-2" not in {r.unit_id for r in result.rest_plan.routes}
    assert result.state.unavailable == {"car-2": now}
    # only car-2 and the unit sent to the incident changed
    assert sum(result.changed.values()) <= 2
    assert result.changed["car-2"] == any(s.start_s >= now for s in plan.route("car-2").steps)
    incident = result.new_stops[0]
    visits = [s for r in result.rest_plan.routes for s in r.visits if s.stop_id == incident]
    assert len(visits) == 1
    assert visits[0].start_s >= 2 * 3600 + 300
    assert result.solve_s <= 5.0


def test_chained_replans_and_back_in_service(shift) -> None:  # type: ignore[no-untyped-def]
    """A second batch (car-2 back at 22:00 from a reported place) re-plans from the first."""
    state, _ = shift
    first = apply_events(state, parse_events(OUT_AND_INCIDENT, state.problem), time_limit_s=1)
    nxt = read_shift(shift_bytes(first.state))
    with pytest.raises(EventError, match=r"events\[0\]\.at: .*before the last re-plan"):
        parse_events(
            {"events": [{"type": "unit_available", "unit_id": "car-2", "at": "19:00"}]},
            nxt.problem,
            not_before_s=nxt.replanned_at_s,
        )
    events = parse_events(
        {
            "events": [
                {
                    "type": "unit_position",
                    "unit_id": "car-2",
                    "lon": -75.15,
                    "lat": 39.975,
                    "at": "22:00",
                },
                {"type": "unit_available", "unit_id": "car-2", "at": "22:00"},
            ]
        },
        nxt.problem,
        not_before_s=nxt.replanned_at_s,
    )
    second = apply_events(nxt, events, time_limit_s=1)
    assert second.evaluation.ok
    assert second.state.version == 2
    assert "car-2" not in second.state.unavailable
    back = second.rest_problem.unit("car-2")
    assert back.start_location == len(nxt.problem.locations)  # the reported place
    assert back.shift_start_s == 4 * 3600
    route = second.rest_plan.route("car-2")
    assert route is None or route.start_s >= 4 * 3600
    assert second.changed["car-1"] is False  # nothing asked car-1 to change


def test_checkpoint_is_visited_in_its_window(shift) -> None:  # type: ignore[no-untyped-def]
    """A key site added for tonight is visited inside its window for its dwell."""
    state, _ = shift
    events = parse_events(
        {
            "events": [
                {
                    "type": "checkpoint",
                    "name": "bank",
                    "lon": -75.15,
                    "lat": 39.98,
                    "windows": [["21:00", "21:30"]],
                    "dwell_min": 10,
                    "at": "20:30",
                }
            ]
        },
        state.problem,
    )
    result = apply_events(state, events, time_limit_s=1)
    (visit,) = [
        s for r in result.rest_plan.routes for s in r.visits if s.stop_id == "checkpoint:bank"
    ]
    assert 3 * 3600 <= visit.start_s <= 3 * 3600 + 1800
    assert visit.service_s >= 600
    assert sum(result.changed.values()) == 1


@pytest.mark.parametrize(
    ("event", "field", "words"),
    [
        ({"type": "teleport", "at": "20:00"}, "events.0.type", "not one of"),
        (
            {"type": "unit_unavailable", "unit_id": "car-9", "at": "20:00"},
            "events.0.unit_id",
            "unknown unit",
        ),
        (
            {"type": "unit_unavailable", "unit_id": "car-1", "at": "2025-01-23T09:00"},
            "events.0.at",
            "outside the shift",
        ),
        (
            {"type": "unit_unavailable", "unit_id": "car-1", "at": "soon"},
            "events.0.at",
            "not a time",
        ),
        (
            {
                "type": "unit_position",
                "unit_id": "car-1",
                "lon": -75.16,
                "lat": 95.0,
                "at": "20:00",
            },
            "events.0.lat",
            "latitude",
        ),
        (
            {
                "type": "unit_position",
                "unit_id": "car-1",
                "lon": -70.0,
                "lat": 39.97,
                "at": "20:00",
            },
            "events.0.lon",
            "km from every place",
        ),
        (
            {"type": "incident", "lon": "x", "lat": 39.97, "at": "20:00", "category": "theft"},
            "events.0.lon",
            "not a number",
        ),
        (
            {"type": "incident", "lon": -75.15, "lat": 39.98, "at": "20:00"},
            "events.0.category",
            "missing",
        ),
        (
            {
                "type": "checkpoint",
                "name": "b",
                "lon": -75.15,
                "lat": 39.98,
                "windows": [["22:00", "21:00"]],
            },
            "events.0.windows[0]",
            "ends before",
        ),
    ],
)
def test_bad_events_are_named(shift, event, field, words) -> None:  # type: ignore[no-untyped-def]
    """Each bad event is refused with its index and field in the message and in ``field``."""
    state, _ = shift
    with pytest.raises(EventError, match=words) as info:
        parse_events({"events": [event]}, state.problem, source="ev.json")
    assert info.value.field == field
    assert str(info.value).startswith("ev.json: events[0]")


@pytest.mark.slow
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # each example solves twice: report, do not shrink
)
@given(
    seed=st.integers(0, 10_000),
    n_stops=st.integers(3, 16),
    n_units=st.integers(1, 4),
    picks=st.lists(
        st.tuples(
            st.sampled_from(["unit_unavailable", "unit_available", "unit_position", "incident"]),
            st.integers(0, 3),
            st.integers(0, 4 * 3600 - 1),
            st.integers(0, 50),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_every_replan_passes_the_evaluator(
    seed: int, n_stops: int, n_units: int, picks: list[tuple[str, int, int, int]]
) -> None:
    """Property: on random problems (breaks, windows, areas, repeats) and random events every
    re-plan passes the evaluator, keeps every begun step, and leaves out-of-service units idle."""
    p = random_problem(seed, n_stops=n_stops, n_units=n_units)
    plan = solve(p, time_limit_s=0.3, seed=seed)
    state = ShiftState(p, plan)
    start = p.start
    assert start is not None
    raw = []
    for kind, unit, at_s, place in picks:
        at_s = min(max(at_s, max(u.shift_start_s for u in p.units)), p.horizon_s)
        event: dict[str, object] = {
            "type": kind,
            "at": (start + dt.timedelta(seconds=at_s)).isoformat(),
        }
        lon, lat = p.locations[place % len(p.locations)]
        if kind != "incident":
            event["unit_id"] = p.units[unit % len(p.units)].unit_id
        if kind in ("unit_position", "incident"):
            event.update(lon=lon + 0.0005, lat=lat, category="theft")
        raw.append(event)
    events = parse_events({"events": raw}, p)
    result = apply_events(state, events, time_limit_s=0.3, seed=seed)
    assert result.evaluation.violations == ()
    now = result.now_s
    for old in plan.routes:
        new = result.state.plan.route(old.unit_id)
        begun = [s for s in old.steps if s.start_s < now]
        assert new is not None
        assert list(new.steps[: len(begun)]) == begun
    for uid, since in result.state.unavailable.items():
        rest = result.rest_plan.route(uid)
        assert rest is None or rest.end_s <= max(since, now)


def test_checkpoint_without_time_joins_the_batch(shift) -> None:  # type: ignore[no-untyped-def]
    """A checkpoint without 'at' is added at the batch's earliest event, else at its window."""
    state, _ = shift
    cp = {
        "type": "checkpoint",
        "name": "bank",
        "lon": -75.15,
        "lat": 39.98,
        "windows": [["22:00", "23:00"]],
    }
    out = {"type": "unit_unavailable", "unit_id": "car-2", "at": "20:00"}
    alone = parse_events({"events": [cp]}, state.problem)
    assert alone[0].at_s == 4 * 3600
    both = parse_events({"events": [cp, out]}, state.problem)
    assert [e.at_s for e in both] == [2 * 3600, 2 * 3600]


BANK = {
    "type": "checkpoint",
    "name": "bank",
    "lon": -75.15,
    "lat": 39.98,
    "windows": ["21:00-21:30"],
    "dwell_min": 10,
    "kinds": ["police_car"],
    "at": "20:30",
}


def test_checkpoint_event_is_a_hard_checkpoint(shift) -> None:  # type: ignore[no-untyped-def]
    """A checkpoint event is the planner's own checkpoint: met inside its window (the whole
    dwell in it) by an allowed kind, a step of type "checkpoint" with its name in plan.json,
    GPX and KML, and met in the summary."""
    state, plan = shift
    result = apply_events(state, parse_events({"events": [BANK]}, state.problem), time_limit_s=1)
    stop = result.state.problem.stop("checkpoint:bank")
    assert stop.checkpoint == "bank"
    assert stop.kinds == frozenset({"police_car"})
    (visit,) = [
        s for r in result.state.plan.routes for s in r.visits if s.stop_id == "checkpoint:bank"
    ]
    assert visit.start_s >= 3 * 3600
    assert visit.departure_s <= 3 * 3600 + 1800
    assert visit.service_s >= 600
    doc = replan_to_json(plan_to_json(state.problem, plan), result)
    (route,) = [r for r in doc["routes"] if any(s.get("name") == "bank" for s in r["steps"])]
    (step,) = [s for s in route["steps"] if s.get("name") == "bank"]
    assert step["type"] == "checkpoint"
    assert step["arrival"] <= step["departure"] <= "2025-01-22T21:30:00-05:00"
    assert doc["summary"]["checkpoints"][0]["met"] is True
    assert doc["summary"]["new_stops"] == ["checkpoint:bank"]
    assert "checkpoint bank" in plan_to_gpx(doc, route["unit_id"])
    (clean,) = export_plan_routes(doc, units=[route["unit_id"]])
    assert "checkpoint bank" in routes_to_kml([clean])


def test_checkpoint_event_that_cannot_be_met_says_why(shift) -> None:  # type: ignore[no-untyped-def]
    """A checkpoint no unit may serve (volunteers only, none on duty) is reported with its
    reason in unassigned, summary.checkpoints and the warnings; the re-plan is still valid."""
    state, plan = shift
    event = {**BANK, "kinds": ["volunteer"]}
    result = apply_events(state, parse_events({"events": [event]}, state.problem), time_limit_s=1)
    assert result.evaluation.ok
    doc = replan_to_json(plan_to_json(state.problem, plan), result)
    (entry,) = doc["summary"]["checkpoints"]
    assert entry["met"] is False
    assert "no unit of a kind allowed here (volunteer)" in entry["reason"]
    assert any(
        w.startswith("checkpoint bank not met: no unit of a kind")
        for w in doc["summary"]["warnings"]
    )
    assert any(u["stop_id"] == "checkpoint:bank" for u in doc["unassigned"])


@pytest.fixture(scope="module")
def checkpoint_shift():  # type: ignore[no-untyped-def]
    """A planned shift with two checkpoints of its own: one at 18:30-19:30, one at 21:00-21:30."""
    problem, ids, wkb = shift_problem(0, n_units=4, n_stops=40)
    n = len(problem.locations)
    cps = (
        checkpoint_stop(
            "school", location=2, grid_id=None, windows=((1800, 4200),), dwell_s=600, kinds=None
        ),
        checkpoint_stop(
            "bank", location=3, grid_id=None, windows=((10800, 12000),), dwell_s=600, kinds=None
        ),
    )
    assert n > 3
    problem = dataclasses.replace(problem, stops=(*problem.stops, *cps))
    plan = solve(problem, time_limit_s=2, seed=0, max_solutions=100)
    assert {v.stop_id for r in plan.routes for v in r.visits} >= {
        "checkpoint:school",
        "checkpoint:bank",
    }
    return ShiftState(problem, plan, grid_ids=ids, grid_wkb=wkb), plan


def test_checkpoints_of_the_plan_survive_a_replan(checkpoint_shift) -> None:  # type: ignore[no-untyped-def]
    """The plan's own checkpoints stay hard visits: the one met before the event is kept
    exactly, the later one, whose unit goes out of service, is met by another unit in its
    window (and the shift file keeps them as checkpoints)."""
    state, plan = checkpoint_shift
    back = read_shift(shift_bytes(state))
    assert back.problem.stop("checkpoint:bank").checkpoint == "bank"
    (owner, school) = next(
        (r.unit_id, v) for r in plan.routes for v in r.visits if v.stop_id == "checkpoint:school"
    )
    bank_unit = next(
        r.unit_id for r in plan.routes for v in r.visits if v.stop_id == "checkpoint:bank"
    )
    events = parse_events(
        {"events": [{"type": "unit_unavailable", "unit_id": bank_unit, "at": "20:00"}]},
        back.problem,
    )
    result = apply_events(back, events, time_limit_s=1)
    assert result.evaluation.ok
    assert school in result.state.plan.route(owner).steps
    (bank,) = [
        (r.unit_id, v)
        for r in result.state.plan.routes
        for v in r.visits
        if v.stop_id == "checkpoint:bank"
    ]
    assert bank[0] != bank_unit
    assert 10800 <= bank[1].start_s <= 12000
    assert result.evaluation.checkpoints_missed == ()


def test_missed_checkpoint_with_past_window_is_reported_not_routed() -> None:
    """A checkpoint the plan could not meet whose windows closed before the re-plan stays
    unmet with the reason "window already past", and no route is sent to it afterwards."""
    problem, ids, wkb = shift_problem(0, n_units=2, n_stops=12)
    cp = checkpoint_stop(
        "school", location=2, grid_id=None, windows=((1800, 4200),), dwell_s=600, kinds=None
    )
    # only volunteers may serve it, and there are none: the plan cannot meet it
    cp = dataclasses.replace(cp, kinds=frozenset({"volunteer"}))
    problem = dataclasses.replace(problem, stops=(*problem.stops, cp))
    plan = solve(problem, time_limit_s=1, seed=0, max_solutions=50)
    state = ShiftState(problem, plan, grid_ids=ids, grid_wkb=wkb)
    events = parse_events(
        {"events": [{"type": "unit_unavailable", "unit_id": "car-1", "at": "20:00"}]}, problem
    )
    result = apply_events(state, events, time_limit_s=0.5)
    assert result.evaluation.ok
    assert result.rest_problem.stop("checkpoint:school").windows == ((-1, -1),)
    reasons = {u.stop_id: u.reason for u in result.state.plan.unassigned}
    assert reasons["checkpoint:school"].startswith("window already past: it closed (18:30-19:10)")
    assert "before the re-plan at 20:00" in reasons["checkpoint:school"]
    assert not any(
        v.stop_id == "checkpoint:school" for r in result.state.plan.routes for v in r.visits
    )
