"""The portfolio engine: PyVRP's search from the better of its own and VROOM's start.

Measured on Solomon VRPTW and team orienteering with time windows (docs/planner-benchmarks.md):
PyVRP's iterated local search finds the best solutions, VROOM finds good ones in a fraction of
the time and sometimes better ones where PyVRP stalls, and OR-Tools' guided local search trails
both at a few seconds. For VRPTW the portfolio runs VROOM first (exploration 1, at most a quarter
of the budget) and hands its routes to PyVRP as the initial solution for the rest. On
prize-collecting instances (team orienteering, patrols) a warm start from VROOM (exploration 5)
is worth a lot on some instances (pr12, m = 2: 757-766 against 729-738 cold) and traps PyVRP
near VROOM's solution on others (pr05, m = 2: 1010 in one seed of three, against 1044-1082 cold),
so there the portfolio first runs PyVRP cold for 40% of the budget, then VROOM for up to 30%,
and continues PyVRP from the better of the two. The best solution by
:func:`~planner.engines.arrays.objective` is kept. An optional OR-Tools polish stage
(``polish_share``) starts OR-Tools from the best routes so far. Every candidate is checked with
:func:`~planner.engines.arrays.violations`; an infeasible one is never returned.
"""

from __future__ import annotations

import time

from . import ortools_engine, pyvrp_engine, vroom_engine
from .arrays import EngineResult, RoutingArrays, objective, violations
from .clock import Budget, Clock

__all__ = ["solve"]


def solve(
    arrays: RoutingArrays,
    *,
    time_limit_s: float,
    seed: int = 0,
    warm_exploration: int | None = None,
    warm_share: float | None = None,
    cold_share: float | None = None,
    polish_share: float = 0.0,
    clock: Clock = "wall",
    max_iterations: int | None = None,
) -> EngineResult:
    """Solve with VROOM (warm start), then PyVRP, then optionally OR-Tools.

    Parameters
    ----------
    arrays
        The instance.
    time_limit_s
        Budget for all stages together.
    seed
        Seed of PyVRP's search; the same seed and budget repeat the same search.
    warm_exploration
        VROOM exploration level of the warm start (0 skips VROOM); ``None`` picks by the
        instance: 5 when some visits are optional (prize collecting), else 1.
    warm_share
        Largest share of the budget VROOM may use; ``None``: 0.3 when some visits are
        optional, else 0.25.
    cold_share
        Share of the budget for a first PyVRP search from its own start, before VROOM (0
        skips it); ``None``: 0.4 when some visits are optional, else 0.
    polish_share
        Share of the budget kept for an OR-Tools polish of the best routes (0 skips it).
    clock
        Whether the budget counts wall-clock or CPU seconds (see :mod:`.clock`).
    max_iterations
        Iteration limit of PyVRP's search (repeatable plans for a seed; see
        :func:`.pyvrp_engine.solve`).

    Returns
    -------
    EngineResult
        The best feasible solution of all stages; ``engine`` names the stages run.
    """
    began, cpu = time.perf_counter(), time.process_time()
    budget = Budget(time_limit_s, clock)
    collecting = not arrays.required[arrays.n_depots :].all()
    if warm_exploration is None:
        warm_exploration = 5 if collecting else 1
    if warm_share is None:
        warm_share = 0.3 if collecting else 0.25
    if cold_share is None:
        cold_share = 0.4 if collecting else 0.0
    candidates: list[EngineResult] = []
    stages: list[str] = []

    def keep(result: EngineResult) -> None:
        stages.append(result.engine)
        if not violations(arrays, result.routes):
            candidates.append(result)

    def best() -> EngineResult | None:
        return min(candidates, key=lambda r: r.objective) if candidates else None

    if cold_share > 0:
        keep(
            pyvrp_engine.solve(
                arrays,
                time_limit_s=cold_share * time_limit_s,
                seed=seed,
                clock=clock,
                max_iterations=max_iterations,
            )
        )
    if warm_exploration > 0:
        keep(
            vroom_engine.solve(
                arrays,
                exploration=warm_exploration,
                time_limit_s=budget.wall_equivalent(warm_share * time_limit_s),
            )
        )
    warm = best()
    keep(
        pyvrp_engine.solve(
            arrays,
            time_limit_s=budget.remaining() - polish_share * time_limit_s,
            seed=seed,
            initial=None if warm is None else warm.routes,
            clock=clock,
            max_iterations=max_iterations,
        )
    )
    found = best()
    if polish_share > 0 and budget.remaining() > 0.05:
        keep(
            ortools_engine.solve(
                arrays,
                time_limit_s=budget.remaining(),
                initial=None if found is None else found.routes,
                clock=clock,
            )
        )
    found = best()
    routes = arrays.empty_routes() if found is None else found.routes
    return EngineResult(
        routes=routes,
        objective=objective(arrays, routes),
        engine="portfolio(" + "+".join(stages) + ")",
        seconds=time.perf_counter() - began,
        cpu_seconds=time.process_time() - cpu,
    )
