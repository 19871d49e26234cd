"""Every backend honours its time limit (generous slack: this checks returning, not speed)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from pyvrp import PenaltyParams

from planner.engines.pyvrp_engine import BANNED
from planner.evaluate import evaluate
from planner.solve import backends, solve
from tests.planner.generated import random_problem

#: Slack over the limit: a loaded 2-core machine, Python-side timing and the evaluator.
SLACK_S = 30.0


def test_banned_cost_cannot_overflow_pyvrp() -> None:
    """A route through every banned visit, at PyVRP's largest penalty, stays inside int64:
    the overflow of 2**44 times a grown penalty made PyVRP's local search cycle forever."""
    worst_route = 1000 * 2 * BANNED  # 1000 banned visits, in and out
    assert worst_route * PenaltyParams().max_penalty < np.iinfo(np.int64).max / 4
    assert BANNED > 30 * 24 * 3600  # still far beyond any shift: never feasible


@pytest.mark.parametrize("backend", backends())
def test_backends_return_within_their_limit(backend: str) -> None:
    """A 1 s solve of a mixed problem (areas, breaks, repeats) returns well within its limit."""
    p = random_problem(3, n_stops=40, n_units=5, shift_s=8 * 3600)
    t0 = time.perf_counter()
    plan = solve(p, time_limit_s=1.0, seed=0, backend=backend)
    assert time.perf_counter() - t0 < 1.0 + SLACK_S
    assert evaluate(p, plan).ok


@pytest.mark.slow
def test_portfolio_returns_on_the_demo_shift(tmp_path: Path) -> None:
    """On the demo shift (where PyVRP's search never returned with a 10 s limit), the
    portfolio backend returns within its limit plus slack with a valid plan."""
    from tests.planner.demo_shift import demo_problem

    p = demo_problem()
    t0 = time.perf_counter()
    plan = solve(p, time_limit_s=12.0, seed=0, backend="portfolio")
    assert time.perf_counter() - t0 < 12.0 + SLACK_S
    assert evaluate(p, plan).ok
