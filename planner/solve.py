"""The small solving interface: ``solve(problem, *, time_limit_s, seed, backend)``.

Backends are functions ``(problem, *, time_limit_s, seed) -> Plan`` registered by name; the rest
of the planner never knows which one ran. ``"ortools"`` is built in; other engines register
themselves with :func:`register_backend`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Protocol

from .errors import PlannerError
from .evaluate import evaluate
from .feasibility import explain, screen
from .fill import fill_plan
from .model import Plan, Problem

__all__ = ["DEFAULT_BACKEND", "Backend", "backends", "register_backend", "solve"]

#: The backend real plans use unless told otherwise: the best on real shifts in
#: ``python -m benchmarks.patrol`` (docs/planner-benchmarks.md).
DEFAULT_BACKEND = "portfolio"
#: Share of the time limit kept for the fill pass (about 1.3 s for 500 stops and 40 units on
#: an idle core; more where the cores are shared).
FILL_SHARE = 0.2
#: Share of the time limit kept after the fill pass for the evaluator and the reasons.
FILL_MARGIN = 0.02


class Backend(Protocol):
    """A solver: turns a problem into a plan within a time limit, repeatably for a seed."""

    def __call__(
        self,
        problem: Problem,
        *,
        time_limit_s: float,
        seed: int | None,
        max_solutions: int | None = None,
    ) -> Plan: ...


_BACKENDS: dict[str, Backend] = {}


def register_backend(name: str, backend: Backend) -> None:
    """Make ``backend`` available to :func:`solve` under ``name`` (replacing any before)."""
    _BACKENDS[name] = backend


def backends() -> tuple[str, ...]:
    """Names of the registered backends."""
    return tuple(sorted(_BACKENDS))


def solve(
    problem: Problem,
    *,
    time_limit_s: float = 10.0,
    seed: int | None = 0,
    backend: str = DEFAULT_BACKEND,
    max_solutions: int | None = None,
    fill: bool = True,
) -> Plan:
    """Plan patrols for ``problem`` with the named backend, then fill the units' free time.

    Parameters
    ----------
    problem
        The planning problem.
    time_limit_s
        Wall-clock limit of the search, seconds.
    seed
        Seed of the backend's choices; the same seed gives the same plan (when the search is
        not cut by the clock), different seeds give different, equally good plans.
    backend
        A name from :func:`backends`.
    max_solutions
        A machine-independent search budget (solutions explored); with it, the same seed gives
        the same plan on any machine as long as the time limit is not reached first.
    fill
        Fill each unit's free time with more visits after the backend (:mod:`planner.fill`):
        left-out visits first, then presence doses; the unassigned list is redone after it.
        The backend then searches for :data:`FILL_SHARE` less of the limit.

    Returns
    -------
    Plan
        Routes and unassigned stops (with reasons).
    """
    try:
        run = _BACKENDS[backend]
    except KeyError:
        msg = f"unknown planner backend {backend!r}; choose one of {', '.join(backends())}"
        raise PlannerError(msg) from None
    if time_limit_s <= 0:
        msg = f"time_limit_s must be > 0, got {time_limit_s}"
        raise PlannerError(msg)
    t0 = time.perf_counter()
    search_s = time_limit_s * (1 - FILL_SHARE) if fill else time_limit_s
    plan = run(problem, time_limit_s=search_s, seed=seed, max_solutions=max_solutions)
    if not fill:
        return plan
    # the fill pass stops at the limit (less a margin for the evaluator and the reasons)
    # (it gets its share even when the backend overran a very short limit)
    deadline = max(
        t0 + time_limit_s * (1 - FILL_MARGIN), time.perf_counter() + FILL_SHARE * time_limit_s
    )
    filled = fill_plan(problem, plan, deadline=deadline)
    if not evaluate(problem, filled).ok:  # never trade a valid plan for an invalid one
        filled = plan
    return dataclasses.replace(
        filled,
        unassigned=explain(problem, screen(problem), filled),
        solve_s=time.perf_counter() - t0,
    )


def _ortools(
    problem: Problem, *, time_limit_s: float, seed: int | None, max_solutions: int | None = None
) -> Plan:
    from .ortools_backend import solve_ortools

    return solve_ortools(problem, time_limit_s=time_limit_s, seed=seed, max_solutions=max_solutions)


register_backend("ortools", _ortools)


def _portfolio(
    problem: Problem, *, time_limit_s: float, seed: int | None, max_solutions: int | None = None
) -> Plan:
    from .portfolio_backend import solve_portfolio

    return solve_portfolio(
        problem, time_limit_s=time_limit_s, seed=seed, max_solutions=max_solutions
    )


register_backend("portfolio", _portfolio)
