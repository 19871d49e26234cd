"""Engines on array-level instances: feasibility, warm starts, and the lexicographic objective."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.engines import ortools_engine, portfolio, pyvrp_engine, vroom_engine
from planner.engines.arrays import (
    Objective,
    RoutingArrays,
    VehicleSpec,
    objective,
    route_violations,
    violations,
)
from planner.errors import ProblemError


def line_instance(*, late: int = 100, capacity: int | None = None) -> RoutingArrays:
    """Depot 0 and visits 1..3 on a line at 10, 20, 30; visit 3 optional with prize 5."""
    pos = np.array([0, 10, 20, 30])
    travel = np.abs(pos[:, None] - pos[None, :])
    windows = np.array([[0, 1000], [0, late], [0, 1000], [0, 1000]])
    return RoutingArrays(
        travel=travel,
        service=np.array([0, 1, 1, 1]),
        windows=windows,
        vehicles=(VehicleSpec(shift=(0, 1000), capacity=capacity),) * 2,
        demand=np.array([0, 1, 1, 1]),
        prize=np.array([0, 0, 0, 5]),
        required=np.array([False, True, True, False]),
    )


def test_arrays_reject_bad_shapes_and_windows() -> None:
    """Mismatched shapes, float times and inverted windows are refused with a message."""
    base = line_instance()
    with pytest.raises(ProblemError, match="service has shape"):
        RoutingArrays(
            travel=base.travel, service=[0, 1], windows=base.windows, vehicles=base.vehicles
        )
    with pytest.raises(ProblemError, match="integers"):
        RoutingArrays(
            travel=base.travel * 1.5,
            service=base.service,
            windows=base.windows,
            vehicles=base.vehicles,
        )
    windows = base.windows.copy()
    windows[2] = (50, 10)
    with pytest.raises(ProblemError, match="node 2"):
        RoutingArrays(
            travel=base.travel, service=base.service, windows=windows, vehicles=base.vehicles
        )
    with pytest.raises(ProblemError, match="depot"):
        RoutingArrays(
            travel=base.travel,
            service=base.service,
            windows=base.windows,
            vehicles=(VehicleSpec(start=2),),
        )


def test_objective_is_lexicographic() -> None:
    """Missing required visits count first, then lost prizes, then the arc cost."""
    arrays = line_instance()
    assert objective(arrays, ((1, 2, 3), ())) == Objective(0, 0, 60)
    assert objective(arrays, ((1, 2), ())) == Objective(0, 5, 40)
    assert objective(arrays, ((2,), ())) == Objective(1, 5, 40)
    assert objective(arrays, ((1, 2, 3), ())) < objective(arrays, ((1, 2), ()))


def test_violations_find_late_visits_capacity_and_repeats() -> None:
    """A visit after its window, an overload and a repeated visit are each reported."""
    late = line_instance(late=5)
    assert any("window" in p for p in route_violations(late, 0, (1,)))
    small = line_instance(capacity=1)
    assert any("capacity" in p for p in route_violations(small, 0, (1, 2)))
    assert any("more than once" in p for p in violations(line_instance(), ((1,), (1, 2))))
    assert violations(line_instance(), ((1, 2, 3), ())) == []


def test_lexicographic_prize_weight_exceeds_any_cost() -> None:
    """The prize multiplier is above the cost of the most expensive solution."""
    arrays = line_instance()
    worst = objective(arrays, ((3, 1), (2,))).cost
    assert pyvrp_engine.lexicographic_prize_weight(arrays) > worst


@pytest.mark.parametrize(
    "solve",
    [
        lambda a: vroom_engine.solve(a, exploration=1),
        lambda a: pyvrp_engine.solve(a, time_limit_s=0.3),
        lambda a: ortools_engine.solve(a, time_limit_s=0.3),
        lambda a: portfolio.solve(a, time_limit_s=0.5),
    ],
    ids=["vroom", "pyvrp", "ortools", "portfolio"],
)
def test_engines_serve_everything_on_an_easy_line(solve) -> None:
    """Each engine serves all visits on a line and its objective is the recomputed one."""
    arrays = line_instance()
    result = solve(arrays)
    assert violations(arrays, result.routes) == []
    assert result.objective == objective(arrays, result.routes)
    assert result.objective == Objective(0, 0, 60)


def test_engines_drop_the_optional_visit_they_cannot_reach() -> None:
    """An optional visit whose window closes before it can be reached is left out, feasibly."""
    arrays = line_instance()
    windows = arrays.windows.copy()
    windows[3] = (0, 5)
    tight = RoutingArrays(
        travel=arrays.travel,
        service=arrays.service,
        windows=windows,
        vehicles=arrays.vehicles,
        prize=arrays.prize,
        required=arrays.required,
    )
    for result in (
        vroom_engine.solve(tight, exploration=1),
        pyvrp_engine.solve(tight, time_limit_s=0.2),
        ortools_engine.solve(tight, time_limit_s=0.2),
    ):
        assert violations(tight, result.routes) == []
        assert result.objective == Objective(0, 5, 40)


def test_engines_return_empty_routes_when_nothing_is_reachable() -> None:
    """When no visit can be reached in its window every engine returns empty routes."""
    arrays = line_instance()
    unreachable = RoutingArrays(
        travel=arrays.travel,
        service=arrays.service,
        windows=[[0, 1000], [0, 1], [0, 1], [0, 1]],
        vehicles=arrays.vehicles,
        prize=[0, 1, 2, 3],
        required=[False] * 4,
    )
    for result in (
        vroom_engine.solve(unreachable, exploration=1),
        pyvrp_engine.solve(unreachable, time_limit_s=0.1),
        ortools_engine.solve(unreachable, time_limit_s=0.1),
        portfolio.solve(unreachable, time_limit_s=0.2),
    ):
        assert result.routes == ((), ())
        assert result.objective == Objective(0, 6, 0)


def test_warm_start_is_never_lost() -> None:
    """PyVRP and OR-Tools given a warm start return a solution at least as good as it."""
    arrays = line_instance()
    warm = ((1, 2), (3,))
    for result in (
        pyvrp_engine.solve(arrays, time_limit_s=0.2, initial=warm),
        ortools_engine.solve(arrays, time_limit_s=0.2, initial=warm),
    ):
        assert result.objective <= objective(arrays, warm)


def two_mode_instance() -> RoutingArrays:
    """A car (profile 0) and a walker (profile 1, three times slower) limited to visit 1."""
    arrays = line_instance()
    travel = np.stack([arrays.travel[0], 3 * arrays.travel[0]])
    return RoutingArrays(
        travel=travel,
        service=arrays.service,
        windows=arrays.windows,
        vehicles=(
            VehicleSpec(shift=(0, 1000)),
            VehicleSpec(shift=(0, 1000), profile=1, allowed=frozenset({1})),
        ),
        prize=arrays.prize,
        required=arrays.required,
    )


def test_profiles_and_allowed_visits_are_checked() -> None:
    """A walker's route is timed on its own matrix, and a visit outside its set is a violation."""
    arrays = two_mode_instance()
    assert objective(arrays, ((), (1,))).cost == 60
    assert any("allowed" in p for p in violations(arrays, ((1,), (2,))))
    with pytest.raises(ProblemError, match="profile 2"):
        RoutingArrays(
            travel=arrays.travel,
            service=arrays.service,
            windows=arrays.windows,
            vehicles=(VehicleSpec(profile=2),),
        )


@pytest.mark.parametrize(
    "solve",
    [
        lambda a: vroom_engine.solve(a, exploration=1),
        lambda a: pyvrp_engine.solve(a, time_limit_s=0.3),
        lambda a: ortools_engine.solve(a, time_limit_s=0.3),
    ],
    ids=["vroom", "pyvrp", "ortools"],
)
def test_engines_respect_allowed_visits(solve) -> None:
    """Every engine keeps the walker to its allowed visit and still serves everything."""
    arrays = two_mode_instance()
    result = solve(arrays)
    assert violations(arrays, result.routes) == []
    assert result.objective.missing_required == 0
    assert set(result.routes[1]) <= {1}


@st.composite
def random_instances(draw: st.DrawFn) -> RoutingArrays:
    """Small random instances: two speed profiles, random windows, vehicles with allowed sets."""
    n = draw(st.integers(3, 9))
    xy = np.array(
        draw(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=n, max_size=n))
    )
    travel = np.ceil(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(int)
    opens = np.array(draw(st.lists(st.integers(0, 150), min_size=n, max_size=n)))
    widths = np.array(draw(st.lists(st.integers(0, 120), min_size=n, max_size=n)))
    windows = np.column_stack([opens, opens + widths])
    windows[0] = (0, 400)
    k = draw(st.integers(1, 3))
    visits = list(range(1, n))
    return RoutingArrays(
        travel=np.stack([travel, 2 * travel]),
        service=np.array([0, *draw(st.lists(st.integers(0, 10), min_size=n - 1, max_size=n - 1))]),
        windows=windows,
        vehicles=tuple(
            VehicleSpec(
                shift=(0, 400),
                capacity=draw(st.integers(2, 6)),
                profile=draw(st.integers(0, 1)),
                allowed=draw(st.none() | st.frozensets(st.sampled_from(visits))),
            )
            for _ in range(k)
        ),
        demand=np.array([0] + [1] * (n - 1)),
        prize=np.array([0, *draw(st.lists(st.integers(1, 20), min_size=n - 1, max_size=n - 1))]),
        required=np.zeros(n, dtype=bool),
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_instances())
def test_portfolio_returns_feasible_routes_no_worse_than_vroom(arrays: RoutingArrays) -> None:
    """On random instances the portfolio's routes pass the checker and beat or tie VROOM's."""
    result = portfolio.solve(arrays, time_limit_s=0.3, warm_exploration=1)
    assert violations(arrays, result.routes) == []
    assert result.objective <= vroom_engine.solve(arrays, exploration=1).objective


def test_same_seed_and_iteration_limit_give_the_same_routes() -> None:
    """With an iteration limit, PyVRP's search repeats exactly for a seed."""
    rng = np.random.default_rng(3)
    xy = rng.integers(0, 100, size=(30, 2))
    travel = np.ceil(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(int)
    opens = rng.integers(0, 300, size=30)
    arrays = RoutingArrays(
        travel=travel,
        service=np.full(30, 5),
        windows=np.column_stack([opens, opens + 60]),
        vehicles=(VehicleSpec(shift=(0, 500)),) * 3,
        prize=rng.integers(1, 10, size=30),
        required=np.zeros(30, dtype=bool),
    )
    runs = [
        pyvrp_engine.solve(arrays, time_limit_s=60, seed=7, max_iterations=300) for _ in range(2)
    ]
    assert runs[0].routes == runs[1].routes
    assert violations(arrays, runs[0].routes) == []
