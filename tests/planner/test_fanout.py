"""Tests of the Dask fan-out of station plans."""

from __future__ import annotations

import pytest

from planner.evaluate import evaluate
from planner.fanout import plan_stations
from planner.solve import solve
from tests.planner.generated import random_problem


@pytest.mark.slow
def test_stations_fan_out_and_match_local_solves() -> None:
    """Every station gets its plan back over a local cluster, equal to solving it in-process."""
    problems = {
        f"station-{i}": random_problem(i, n_stops=8, n_units=2, with_breaks=False) for i in range(4)
    }
    result = plan_stations(problems, time_limit_s=20, seed=1, max_solutions=50, n_workers=2)
    assert set(result.plans) == set(problems)
    assert result.workers == 2
    for sid, problem in problems.items():
        plan = result.plans[sid]
        assert evaluate(problem, plan).ok
        local = solve(problem, time_limit_s=20, seed=1, max_solutions=50)
        assert plan.visit_key() == local.visit_key()
