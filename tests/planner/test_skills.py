"""Skills: from the units file (per unit) and from the category table (per grid's stop)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.evaluate import evaluate
from planner.problem import assemble_problem
from planner.solve import solve
from planner.stops import category_skills, grid_skills
from planner.units_file import parse_units
from tests.planner.generated import matrices


def test_category_table_skill_column_makes_grids_need_it() -> None:
    """A category needing a skill (matched trimmed and case-folded) makes its grids need it."""
    table = pd.DataFrame(
        {
            "category": ["Narcotics", "Thefts", "Dog attack"],
            "severity": [3, 2, 4],
            "group": ["drugs", "property", "other"],
            "skill": ["k9", "", "k9"],
        }
    )
    skills = category_skills(table)
    assert skills == {"narcotics": "k9", "dog attack": "k9"}
    incidents = pd.DataFrame(
        {
            "grid_id": ["a", "a", "b", None],
            "category": [" narcotics", "Thefts", "Thefts", "Narcotics"],
        }
    )
    assert grid_skills(incidents, skills) == {"a": frozenset({"k9"})}
    assert category_skills(table.drop(columns="skill")) == {}


def test_stop_needing_a_skill_goes_to_a_unit_with_it() -> None:
    """Units file skills reach the units; a stop needing k9 is served only by the k9 unit."""
    units = parse_units(
        {
            "timezone": "UTC",
            "shift": {"start": "2024-03-04T18:00Z", "end": "2024-03-04T22:00Z"},
            "units": [
                {"unit_id": "car", "kind": "police_car", "depot": [-75.15, 39.98]},
                {
                    "unit_id": "dog",
                    "kind": "police_car",
                    "depot": [-75.15, 39.98],
                    "skills": ["k9", "zh"],
                },
            ],
        }
    )
    assert units.units[1].skills == frozenset({"k9", "zh"})
    xy = np.array([[0.0, 0.0], [500.0, 0.0], [0.0, 500.0]])
    travel, dist = matrices(xy)
    stops = pd.DataFrame(
        {
            "stop_id": ["a", "b"],
            "grid_id": ["a", "b"],
            "prize": [5.0, 1.0],
            "windows": [[(0, 3600)], [(0, 3600)]],
            "skills": [["k9"], []],
            "lon": [-75.15 + 500 / 85_000, -75.15],
            "lat": [39.98, 39.98 + 500 / 111_000],
        }
    )
    p = assemble_problem(units, stops, travel_s=travel, distance_m=dist)
    assert p.stop("a").skills == frozenset({"k9"})
    plan = solve(p, time_limit_s=1, seed=0)
    ev = evaluate(p, plan)
    assert ev.ok, ev.violations
    who = {v.stop_id: r.unit_id for r in plan.routes for v in r.visits}
    assert who["a"] == "dog"
