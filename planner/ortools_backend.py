"""OR-Tools backend: the problem's lowering solved by the OR-Tools engine, timed back.

The problem is lowered once (:func:`planner.lowering.lower`: optional prize nodes per wanted
visit, several windows per node, breaks on the way as vehicle breaks, breaks at a fixed place
as required nodes, areas and skills as allowed vehicles), solved by the one OR-Tools model
(:mod:`planner.engines.ortools_engine`), and its routes are timed again on the problem's own
matrices with the breaks placed (:func:`planner.retime.to_plan`, shared with the portfolio
backend). Every visit is optional with a drop penalty proportional to its prize, so a plan
always exists; the objective is the risk left uncollected first, then travel time. The search
starts from parallel cheapest insertion (plain cheapest-arc finds no first solution on tight
instances) and improves with guided local search until the time limit or ``max_solutions``.
The first solution is always searched to the end (it may overrun a very short time limit), so
a plan always comes back.

A ``seed`` perturbs arc costs (up to 30 %) and penalties (up to 0.5 %): it picks among near-equal
grids and orders, so patrols are not predictable, while the collected risk stays close to the
unperturbed plan's. The search itself is deterministic: the same seed gives the same plan
whenever the search ends on its own or by ``max_solutions`` rather than by the clock.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from .engines import ortools_engine
from .feasibility import explain, screen
from .lowering import Lowered, lower
from .model import Plan, Problem
from .retime import to_plan

__all__ = ["solve_ortools"]

#: Least time allowed to find the first solution (beyond the time limit when needed).
FIRST_SOLUTION_CAP_S = 60.0
#: Largest relative arc-cost perturbation applied by a seed.
ARC_NOISE = 0.3
#: Largest relative penalty perturbation applied by a seed.
PRIZE_NOISE = 0.005


def solve_ortools(
    problem: Problem,
    *,
    time_limit_s: float = 10.0,
    seed: int | None = 0,
    max_solutions: int | None = None,
    search: Mapping[str, Any] | None = None,
    lowered: Lowered | None = None,
) -> Plan:
    """Plan patrols for ``problem`` with OR-Tools' routing solver.

    Parameters
    ----------
    problem
        The planning problem.
    time_limit_s
        Wall-clock limit of the search.
    seed
        Perturbation seed (None: no perturbation).
    max_solutions
        Stop after this many solutions (a machine-independent budget that makes runs repeatable).
    search
        Extra routing search parameters by dotted field name, e.g.
        ``{"local_search_operators.use_extended_swap_active": True}``.
    lowered
        The problem's lowering when the caller has it already (the portfolio backend).

    Returns
    -------
    Plan
        Routes of the units that leave their depot, and every stop or unit left out with the
        reason.
    """
    t0 = time.perf_counter()
    screening = screen(problem) if lowered is None else lowered.screening
    lowered = lower(problem, screening) if lowered is None else lowered
    if lowered is None:
        empty = Plan(routes=(), backend="ortools", seed=seed)
        unassigned = explain(problem, screening, empty)
        return Plan(routes=(), unassigned=unassigned, backend="ortools", seed=seed)
    perturb = seed is not None
    result = ortools_engine.solve(
        lowered.arrays,
        time_limit_s=time_limit_s,
        seed=0 if seed is None else seed,
        search=ortools_engine.Search(
            first_solution_min_s=max(FIRST_SOLUTION_CAP_S, 10 * time_limit_s),
            max_solutions=max_solutions,
            arc_noise=ARC_NOISE if perturb else 0.0,
            prize_noise=PRIZE_NOISE if perturb else 0.0,
            params=dict(search or {}),
        ),
    )
    plan = to_plan(problem, lowered, result.routes, seed=seed, backend="ortools")
    return dataclasses.replace(
        plan,
        objective=float(result.solver_objective or 0),
        solve_s=time.perf_counter() - t0,
    )
