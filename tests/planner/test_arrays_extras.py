"""What only some engines honour: several windows per node and breaks on the way.

OR-Tools models both; PyVRP and VROOM solve :meth:`RoutingArrays.restricted`; the checker
(:func:`route_violations`) judges routes against the full instance.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from planner.engines import ortools_engine, pyvrp_engine, vroom_engine
from planner.engines.arrays import BreakSpec, RoutingArrays, VehicleSpec, route_violations
from planner.errors import ProblemError


def _instance(*, breaks: tuple[BreakSpec, ...] = ()) -> RoutingArrays:
    """Depot 0, visits 1 and 2 at 10 and 20 on a line; visit 2 has windows 0-5 and 100-200."""
    pos = np.array([0, 10, 20])
    return RoutingArrays(
        travel=np.abs(pos[:, None] - pos[None, :]),
        service=np.array([0, 5, 5]),
        windows=np.array([[0, 1000], [0, 1000], [100, 200]]),
        vehicles=(VehicleSpec(shift=(0, 300), breaks=breaks),),
        window_sets=(None, None, ((0, 5), (100, 200))),
    )


def test_window_sets_are_checked_on_construction() -> None:
    """A window set must be sorted and disjoint, and hold the node's single window."""
    base = _instance()
    with pytest.raises(ProblemError, match="node 2"):
        dataclasses.replace(base, window_sets=(None, None, ((0, 5), (150, 200))))
    with pytest.raises(ProblemError, match="entries"):
        dataclasses.replace(base, window_sets=(None, None))


def test_route_violations_use_every_window() -> None:
    """Node 2 is served in the first window it can still reach: at 20 in (0, 25), else waiting
    for 100; past every window is a violation."""
    arrays = _instance()
    assert route_violations(arrays, 0, (1, 2)) == []  # reaches it at 25, waits for 100
    short = dataclasses.replace(arrays, vehicles=(VehicleSpec(shift=(0, 110)),))
    assert "shift" in route_violations(short, 0, (2,))[0]
    early = dataclasses.replace(arrays, window_sets=(None, None, ((0, 25), (100, 200))))
    assert route_violations(early, 0, (2,)) == []  # starts at 20 in the first window
    assert early.windows_of(2) == ((0, 25), (100, 200))


def test_breaks_must_fit() -> None:
    """A break of 50 s starting in 0-10 fits on the way; one of 250 s leaves no time to return."""
    fits = _instance(breaks=(BreakSpec(0, 10, 50),))
    assert route_violations(fits, 0, (1, 2)) == []
    too_long = _instance(breaks=(BreakSpec(250, 260, 100),))
    (problem,) = route_violations(too_long, 0, (1, 2))
    assert "breaks" in problem or "shift" in problem


def test_restricted_keeps_break_time_free() -> None:
    """The restriction drops window sets and takes the breaks' time off shift and duration."""
    arrays = _instance(breaks=(BreakSpec(0, 10, 50), BreakSpec(100, 150, 20)))
    simple = arrays.restricted()
    assert simple.window_sets is None
    (vehicle,) = simple.vehicles
    assert vehicle.breaks == ()
    assert vehicle.shift == (0, 230)
    assert vehicle.max_duration == 230
    assert _instance().restricted().window_sets is None
    plain = dataclasses.replace(arrays, window_sets=None, vehicles=(VehicleSpec(),))
    assert plain.restricted() is plain


@pytest.mark.parametrize(
    "engine",
    [
        lambda a: ortools_engine.solve(a, time_limit_s=0.3),
        lambda a: pyvrp_engine.solve(a, time_limit_s=0.3),
        lambda a: vroom_engine.solve(a),
    ],
    ids=["ortools", "pyvrp", "vroom"],
)
def test_engines_return_routes_the_full_instance_accepts(engine: object) -> None:
    """Every engine serves both visits; OR-Tools with the breaks modelled, the others on the
    restriction, and the routes pass the full instance's check."""
    arrays = _instance(breaks=(BreakSpec(30, 60, 40),))
    result = engine(arrays)  # type: ignore[operator]
    assert sorted(result.routes[0]) == [1, 2]
    assert route_violations(arrays, 0, result.routes[0]) == []


def test_ortools_uses_the_earlier_window() -> None:
    """With node 2 worth visiting only in its first window (the second lies past the shift),
    OR-Tools, which honours window sets, still serves it."""
    pos = np.array([0, 10])
    arrays = RoutingArrays(
        travel=np.abs(pos[:, None] - pos[None, :]),
        service=np.array([0, 5]),
        windows=np.array([[0, 1000], [500, 900]]),
        vehicles=(VehicleSpec(shift=(0, 100)),),
        prize=np.array([0, 7]),
        required=np.array([False, False]),
        window_sets=(None, ((0, 40), (500, 900))),
    )
    assert ortools_engine.solve(arrays, time_limit_s=0.2).routes == ((1,),)
    assert pyvrp_engine.solve(arrays, time_limit_s=0.2).routes == ((),)
