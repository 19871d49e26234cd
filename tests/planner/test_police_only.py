"""Police-only categories: a grid whose risk comes from them is served only by police kinds;
its presence doses stay open to volunteers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.errors import ProblemError
from planner.evaluate import evaluate
from planner.model import POLICE_KINDS, Problem
from planner.problem import assemble_problem
from planner.solve import solve
from planner.stops import police_only_grids
from planner.units_file import parse_units
from tests.planner.generated import matrices


def test_police_only_grids_by_severity_share() -> None:
    """A grid is police-only when police-only incidents hold at least the share of its severity;
    incidents outside every grid, tables without the flag and a bad share are handled."""
    incidents = pd.DataFrame(
        {
            "grid_id": ["a", "a", "b", "b", "c", None],
            "police_only": [True, False, True, False, False, True],
            "severity": [4, 1, 1, 4, 5, 5],
        }
    )
    assert police_only_grids(incidents) == frozenset({"a"})
    assert police_only_grids(incidents, min_share=0.2) == frozenset({"a", "b"})
    assert police_only_grids(incidents.drop(columns="severity")) == frozenset({"a", "b"})
    assert police_only_grids(incidents.drop(columns="police_only")) == frozenset()
    with pytest.raises(ProblemError, match="share"):
        police_only_grids(incidents, min_share=0)


def _problem(with_car: bool) -> Problem:
    units = [
        {"unit_id": "vol", "kind": "volunteer", "mode": "walk", "depot": [-75.15, 39.98],
         "grids": ["a", "b"]},
    ]  # fmt: skip
    if with_car:
        units.append({"unit_id": "car", "kind": "police_car", "depot": [-75.15, 39.98]})
    parsed = parse_units(
        {
            "timezone": "UTC",
            "shift": {"start": "2024-03-04T18:00Z", "end": "2024-03-04T22:00Z"},
            "units": units,
        }
    )
    # depot, a (risk stop), a~p (its presence doses, same place), b
    xy = np.array([[0.0, 0.0], [300.0, 0.0], [300.0, 0.0], [0.0, 300.0]])
    travel, dist = matrices(xy)
    end = 4 * 3600 - 600
    stops = pd.DataFrame(
        {
            "stop_id": ["a", "a~p", "b"],
            "grid_id": ["a", "a", "b"],
            "prize": [10.0, 0.5, 1.0],
            "windows": [[(0, 3600)], [(0, end)], [(0, 3600)]],
            "visits": [1, 3, 1],
            "dwell_s": [600, 600, 600],
            "min_gap_s": [7200, 1800, 7200],
            "presence": [False, True, False],
            "police_only": [True, False, False],
            "lon": [-75.15 + 300 / 85_000, -75.15 + 300 / 85_000, -75.15],
            "lat": [39.98, 39.98, 39.98 + 300 / 111_000],
        }
    )
    return assemble_problem(parsed, stops, travel_s=travel, distance_m=dist)


def test_police_only_stop_needs_police_presence_stays_open() -> None:
    """The risk stop of a police-only grid needs a police kind: a volunteer alone leaves it
    unassigned (named as a kind matter) but still walks the grid's presence doses and the other
    grid; with a police car in the shift the car serves it. Every plan passes the evaluator."""
    alone = _problem(with_car=False)
    assert alone.stop("a").kinds == POLICE_KINDS
    assert alone.stop("a~p").kinds is None
    assert alone.stop("b").kinds is None
    plan = solve(alone, time_limit_s=1, seed=0)
    assert evaluate(alone, plan).ok
    done = {v.stop_id for r in plan.routes for v in r.steps if v.kind == "visit"}
    assert "a" not in done
    assert {"a~p", "b"} <= done
    why = {u.stop_id: u.reason for u in plan.unassigned}
    assert "police_car" in why["a"], why

    both = _problem(with_car=True)
    plan = solve(both, time_limit_s=1, seed=0)
    assert evaluate(both, plan).ok
    who = {v.stop_id: r.unit_id for r in plan.routes for v in r.steps if v.kind == "visit"}
    assert who["a"] == "car"
