"""Tests of planner.model: frozen data checked on construction."""

from __future__ import annotations

import numpy as np
import pytest

from planner.errors import ProblemError
from planner.model import Break, Plan, Problem, Route, Stop, Unassigned, Unit, Visit

T = np.array([[0.0, 60.0], [60.0, 0.0]])


def _problem(**kw: object) -> Problem:
    args: dict[str, object] = {
        "locations": ((0.0, 0.0), (0.001, 0.0)),
        "travel_s": {"walk": T},
        "units": (Unit("u1", "foot_patrol", "walk", start_location=0),),
        "stops": (Stop("s1", "g1", location=1),),
    }
    args.update(kw)
    return Problem(**args)  # type: ignore[arg-type]


def test_valid_problem_defaults() -> None:
    """A minimal problem builds; stops default to a 12-minute dwell and one visit."""
    p = _problem()
    assert p.stop("s1").dwell_s == 720
    assert p.stop("s1").visits == 1
    assert p.horizon_s == 8 * 3600
    assert p.windows_of(p.stops[0]) == ((0, 8 * 3600),)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"units": (Unit("u", "foot_patrol", "drive", 0),)}, "no travel-time matrix"),
        ({"stops": (Stop("s", "g", 5),)}, "location 5"),
        ({"stops": (Stop("s", "g", 1), Stop("s", "g", 1))}, "not unique"),
        ({"travel_s": {"walk": np.zeros((3, 3))}}, "shape"),
        ({"travel_s": {"walk": -T}}, ">= 0"),
    ],
)
def test_bad_problem_is_refused(kwargs: dict[str, object], fragment: str) -> None:
    """Inconsistent problems raise ProblemError naming the field."""
    with pytest.raises(ProblemError, match=fragment):
        _problem(**kwargs)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: Unit("u", "tank", "drive", 0), "kind"),
        (lambda: Unit("u", "police_car", "fly", 0), "mode"),
        (lambda: Unit("u", "police_car", "drive", 0, shift_start_s=10, shift_end_s=5), "window"),
        (
            lambda: Unit(
                "u", "police_car", "drive", 0, shift_end_s=100, breaks=(Break("b", 50, 90, 30),)
            ),
            "inside the shift",
        ),
        (lambda: Stop("s", "g", 0, prize=-1), "prize"),
        (lambda: Stop("s", "g", 0, visits=0), "visits"),
        (lambda: Stop("s", "g", 0, windows=((0, 10), (5, 20))), "disjoint"),
        (lambda: Stop("s", "g", 0, kinds=frozenset({"ufo"})), "unknown unit kinds"),
        (lambda: Visit("visit", "s", 0, 10, 5, 20), "arrival <= start"),
        (lambda: Route("u", 0, 10, (Visit("visit", "s", 0, 0, 0, 20),)), "before its last step"),
        (lambda: Unassigned("s", "g", ""), "reason"),
    ],
)
def test_bad_parts_are_refused(make: object, fragment: str) -> None:
    """Units, stops, visits and routes check themselves on construction."""
    with pytest.raises(ProblemError, match=fragment):
        make()  # type: ignore[operator]


def test_matrices_are_read_only() -> None:
    """A problem's matrices cannot be changed after construction (frozen data)."""
    p = _problem()
    with pytest.raises(ValueError, match="read-only"):
        p.travel_s["walk"][0, 1] = 1.0


def test_may_serve_checks_area_kind_and_skills() -> None:
    """may_serve combines allowed grids, allowed kinds and skills."""
    vol = Unit("v", "volunteer", "walk", 0, allowed_grids=frozenset({"g1"}))
    car = Unit("c", "police_car", "walk", 0)
    p = _problem(units=(vol, car))
    assert p.may_serve(vol, Stop("a", "g1", 1))
    assert not p.may_serve(vol, Stop("b", "g2", 1))
    police_only = Stop("c", "g1", 1, kinds=frozenset({"police_car"}))
    assert not p.may_serve(vol, police_only)
    assert p.may_serve(car, police_only)
    assert not p.may_serve(car, Stop("d", "g1", 1, skills=frozenset({"k9"})))


def test_repeat_prize_defaults_to_half() -> None:
    """Repeat visits collect half the prize unless told otherwise."""
    s = Stop("s", "g", 0, prize=4.0, visits=3)
    assert s.total_prize == pytest.approx(8.0)
    assert Stop("s", "g", 0, prize=4.0, visits=2, repeat_prize=1.0).total_prize == 5.0


def test_plan_one_route_per_unit() -> None:
    """A plan refuses two routes for one unit."""
    with pytest.raises(ProblemError, match="one route per unit"):
        Plan(routes=(Route("u", 0, 1), Route("u", 0, 1)))


def test_problem_pickles() -> None:
    """A problem survives pickling (it is shipped to Dask workers)."""
    import pickle

    p = _problem()
    q = pickle.loads(pickle.dumps(p))
    assert q.stops == p.stops
    assert q.units == p.units
    assert np.array_equal(q.travel_s["walk"], p.travel_s["walk"])
    assert q.stop_index == {"s1": 0}
