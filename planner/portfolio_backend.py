"""Portfolio backend: the array engines (VROOM warm start, then PyVRP) beside OR-Tools.

The problem is lowered once (:func:`planner.lowering.lower`); the engine portfolio
(:mod:`planner.engines.portfolio`) solves the arrays' restriction for engines with one window
per node and no breaks (:meth:`~planner.engines.arrays.RoutingArrays.restricted`: the longest
window of each node, each unit's breaks on the way kept as free time), and its routes are timed
again on the problem's own matrices with the breaks placed (:func:`planner.retime.to_plan`).
The OR-Tools backend then solves the same lowering, whole, in the rest of the budget, and the
plan that collects the most risk (tie: less travel) among those the independent evaluator
(:func:`planner.evaluate.evaluate`) accepts is returned, so a plan that breaks a rule is never
returned.

A seed seeds PyVRP and OR-Tools. With ``max_solutions`` it also limits PyVRP's iterations, so
the same seed gives the same plan when neither stage is cut by the clock (VROOM's warm start
is deterministic; its time cap is a share of the budget).
"""

from __future__ import annotations

import dataclasses
import time

from .engines import portfolio
from .evaluate import evaluate
from .feasibility import explain, screen
from .lowering import lower
from .model import Plan, Problem
from .ortools_backend import solve_ortools
from .retime import to_plan

__all__ = ["solve_portfolio"]

#: Share of the time limit given to the engine portfolio; OR-Tools gets the rest.
ENGINE_SHARE = 0.7
#: Least share of the limit left after the engines for the OR-Tools stage to run (when the
#: engines overran their share on a loaded machine, OR-Tools' first solution would overrun the
#: limit: seen at 21 s for a 10 s limit on 500 stops and 40 units).
ORTOOLS_MIN_SHARE = 0.15


def _score(problem: Problem, plan: Plan) -> tuple[bool, float, float] | None:
    """(valid, collected risk, travel seconds) of a plan, or None when it breaks a rule."""
    ev = evaluate(problem, plan)
    if not ev.ok:
        return None
    return True, ev.risk_covered, sum(u.travel_s for u in ev.units)


def solve_portfolio(
    problem: Problem,
    *,
    time_limit_s: float = 10.0,
    seed: int | None = 0,
    max_solutions: int | None = None,
    engine_share: float = ENGINE_SHARE,
) -> Plan:
    """Plan with the engine portfolio and OR-Tools; return the best plan the evaluator accepts.

    Parameters
    ----------
    problem
        The planning problem.
    time_limit_s
        Wall-clock limit for both (the OR-Tools stage may overrun a very short limit to find
        its first solution, as the OR-Tools backend does).
    seed
        Seed of PyVRP and OR-Tools (None: 0 for PyVRP, no perturbation for OR-Tools).
    max_solutions
        Limit on PyVRP iterations and OR-Tools solutions (repeatable plans for a seed).
    engine_share
        Share of the time limit for the engine portfolio (0 runs OR-Tools alone, 1 the
        engines alone unless they return no valid plan).

    Returns
    -------
    Plan
        The best valid plan by collected risk, then less travel; ``backend`` names the winner
        (``"portfolio"`` or ``"ortools"``).
    """
    t0 = time.perf_counter()
    screening = screen(problem)
    lowered = lower(problem, screening) if engine_share > 0 else None
    candidates: list[tuple[tuple[float, float], Plan]] = []
    if lowered is not None:
        result = portfolio.solve(
            lowered.arrays.restricted(),
            time_limit_s=max(0.05, engine_share * time_limit_s),
            seed=0 if seed is None else seed,
            max_iterations=max_solutions,
        )
        plan = to_plan(problem, lowered, result.routes, seed=seed)
        score = _score(problem, plan)
        if score is not None:
            candidates.append(((-score[1], score[2]), plan))
    left = time_limit_s - (time.perf_counter() - t0)
    # OR-Tools always finishes its first solution (seconds on 500 stops): run it only with a
    # useful share of the limit left, or when the engines found no valid plan. With a
    # machine-independent budget (max_solutions) the clock decides nothing: it always runs, so
    # the same seed gives the same plan.
    useful = max_solutions is not None or left >= ORTOOLS_MIN_SHARE * time_limit_s
    if not candidates or (engine_share < 1 and useful):
        plan = solve_ortools(
            problem,
            time_limit_s=max(0.05, left),
            seed=seed,
            max_solutions=max_solutions,
            lowered=lowered,
        )
        score = _score(problem, plan)
        if score is not None:
            candidates.append(((-score[1], score[2]), plan))
    if not candidates:
        empty = Plan(routes=(), backend="portfolio", seed=seed)
        best = Plan(routes=(), unassigned=explain(problem, screening, empty), seed=seed)
    else:
        best = min(candidates, key=lambda c: c[0])[1]
    return dataclasses.replace(best, solve_s=time.perf_counter() - t0)
