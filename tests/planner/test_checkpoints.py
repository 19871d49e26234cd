"""Checkpoints (key sites): parsed from the units file, served in a window by an allowed kind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.checkpoints import checkpoint_windows, parse_checkpoints
from planner.errors import ProblemError
from planner.evaluate import evaluate
from planner.plan_json import plan_to_json
from planner.problem import assemble_problem
from planner.solve import backends, solve
from planner.units_file import parse_units
from tests.planner.generated import matrices

TZ = "America/New_York"


def _doc(checkpoints: list[dict]) -> dict:
    return {
        "timezone": TZ,
        "shift": {"start": "2024-03-04T14:00", "end": "2024-03-04T22:00"},
        "units": [
            {"unit_id": "car", "kind": "police_car", "depot": [-75.15, 39.98]},
            {"unit_id": "vol", "kind": "volunteer", "depot": [-75.15, 39.98], "grids": ["g0"]},
        ],
        "checkpoints": checkpoints,
    }


def _problem(checkpoints: list[dict]):
    units = parse_units(_doc(checkpoints))
    xy = np.array([[0.0, 0.0], [600.0, 0.0], [0.0, 700.0], [900.0, 900.0], [300.0, 900.0]])
    stops = pd.DataFrame(
        {
            "stop_id": ["g0", "g1"],
            "grid_id": ["g0", "g1"],
            "prize": [3.0, 2.0],
            "windows": [[(0, 8 * 3600 - 720)], [(0, 8 * 3600 - 720)]],
            "lon": [-75.15 + 600 / 85_000, -75.15],
            "lat": [39.98, 39.98 + 700 / 111_000],
        }
    )
    n = 3 + len(units.checkpoints)
    travel, dist = matrices(xy[:n])
    return assemble_problem(
        units,
        stops,
        travel_s=travel,
        distance_m=dist,
        allowed={"car": None, "vol": frozenset({"g0"})},
    )


SCHOOL = {
    "name": "school",
    "lon": -75.14,
    "lat": 39.99,
    "windows": ["15:15-15:45"],
    "dwell_min": 10,
    "kinds": ["police_car"],
}


def test_parse_windows_kinds_days() -> None:
    """Windows (also past midnight), kinds and days are read; the visit fits inside its window."""
    (cp,) = parse_checkpoints([{**SCHOOL, "windows": ["23:30-00:30"], "days": ["mon", "Tue"]}])
    assert cp.windows == ((23 * 60 + 30, 24 * 60 + 30),)
    assert cp.days == frozenset({0, 1})
    origin = pd.Timestamp("2024-03-04T18:00", tz=TZ)  # a Monday
    w = checkpoint_windows(
        cp, origin=origin, shift_end=origin + pd.Timedelta(hours=8), timezone=TZ, dwell_s=600
    )
    assert w == ((5.5 * 3600, 6.5 * 3600 - 600),)
    friday = pd.Timestamp("2024-03-08T18:00", tz=TZ)
    none = checkpoint_windows(
        cp, origin=friday, shift_end=friday + pd.Timedelta(hours=8), timezone=TZ, dwell_s=600
    )
    assert none == ()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"windows": ["15:15"]}, "checkpoints[0].windows[0]"),
        ({"kinds": ["tank"]}, "checkpoints[0].kinds"),
        ({"days": ["someday"]}, "checkpoints[0].days"),
        ({"lon": 500}, "checkpoints[0]"),
        ({"dwell_min": "long"}, "checkpoints[0].dwell_min"),
    ],
)
def test_bad_checkpoint_names_the_field(change: dict, fragment: str) -> None:
    """A malformed checkpoint is a one-line error naming its field."""
    with pytest.raises(ProblemError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        parse_units(_doc([{**SCHOOL, **change}]))


@pytest.mark.parametrize("backend", backends())
def test_checkpoint_served_in_window_by_allowed_kind(backend: str) -> None:
    """Each backend serves the checkpoint inside its window with a unit of an allowed kind,
    and plan.json shows a checkpoint step with the name."""
    p = _problem([SCHOOL])
    plan = solve(p, time_limit_s=1, seed=0, backend=backend)
    ev = evaluate(p, plan)
    assert ev.ok, ev.violations
    assert ev.checkpoints_missed == ()
    ((unit, visit),) = [
        (r.unit_id, v) for r in plan.routes for v in r.visits if v.stop_id == "checkpoint:school"
    ]
    assert unit == "car"
    assert 1.25 * 3600 <= visit.start_s <= 1.75 * 3600 - 600
    doc = plan_to_json(p, plan, evaluation=ev)
    steps = [s for r in doc["routes"] for s in r["steps"] if s["type"] == "checkpoint"]
    assert [s["name"] for s in steps] == ["school"]
    assert doc["summary"]["checkpoints"][0]["met"] is True


def test_unmeetable_checkpoint_is_named_with_reason() -> None:
    """A checkpoint no unit kind may serve, and one whose window is outside the shift, are
    unassigned with their reasons and warned about; the plan is still valid."""
    p = _problem(
        [
            {**SCHOOL, "name": "bank", "kinds": ["property_security"]},
            {**SCHOOL, "name": "night", "windows": ["03:00-03:30"]},
        ]
    )
    plan = solve(p, time_limit_s=1, seed=0)
    ev = evaluate(p, plan)
    assert ev.ok, ev.violations
    assert set(ev.checkpoints_missed) == {"bank", "night"}
    reasons = {u.stop_id: u.reason for u in plan.unassigned}
    assert "no unit of a kind allowed here" in reasons["checkpoint:bank"]
    assert reasons["checkpoint:night"] == "none of its windows falls inside the shift"
    assert any(w.startswith("checkpoint bank not met") for w in ev.warnings)
    doc = plan_to_json(p, plan, evaluation=ev)
    assert {c["name"]: c["met"] for c in doc["summary"]["checkpoints"]} == {
        "bank": False,
        "night": False,
    }
