"""Run patrolgrid's engine and its peers on benchmark files, checking every solution.

Each case is solved by ``patrolgrid`` (the :mod:`planner.engines.portfolio`) and by the peers
named in the call, one after the other in the same process (so all share the machine's load).
Every solution is translated back to the file's numbering and checked by
:mod:`planner.bench.checker` before it is reported; a solution that fails the check keeps its
problems and gets no gap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from planner.engines import ortools_engine, portfolio, pyvrp_engine, vroom_engine
from planner.engines.arrays import EngineResult, RoutingArrays
from planner.engines.clock import Clock
from planner.errors import ProblemError

from . import solomon, toptw
from .bks import Reference, load_solomon_bks, load_toptw_bks, toptw_reference
from .checker import Check, check_toptw, check_vrptw

__all__ = [
    "PATROLGRID",
    "TOPTW_PEERS",
    "VRPTW_PEERS",
    "CaseResult",
    "SolverRun",
    "run_toptw",
    "run_vrptw",
]

PATROLGRID = "patrolgrid"
Solver = Callable[[RoutingArrays, float, int, Clock], EngineResult]

#: Peers of the VRPTW benchmark: VROOM at its default exploration level 5, PyVRP cold.
VRPTW_PEERS: dict[str, Solver] = {
    "vroom": lambda a, t, s, c: vroom_engine.solve(a, exploration=5),
    "pyvrp": lambda a, t, s, c: pyvrp_engine.solve(a, time_limit_s=t, seed=s, clock=c),
}
#: Peers of the TOPTW benchmark: VROOM with priorities, PyVRP with prizes, plain OR-Tools.
TOPTW_PEERS: dict[str, Solver] = {
    **VRPTW_PEERS,
    "ortools": lambda a, t, s, c: ortools_engine.solve(
        a, time_limit_s=t, first_solution="parallel_cheapest_insertion", clock=c
    ),
}


def _file_number(ids: np.ndarray, node: int) -> int:
    return int(ids[node])


def _ours(arrays: RoutingArrays, time_limit_s: float, seed: int, clock: Clock) -> EngineResult:
    return portfolio.solve(arrays, time_limit_s=time_limit_s, seed=seed, clock=clock)


@dataclass(frozen=True)
class SolverRun:
    """One solver on one case, in the file's numbering, after the independent check."""

    solver: str
    engine: str
    routes: tuple[tuple[int, ...], ...]
    seconds: float
    cpu_seconds: float
    check: Check


@dataclass(frozen=True)
class CaseResult:
    """All solvers on one case, with the reference the gaps are measured against."""

    name: str
    family: str
    m: int | None
    reference: Reference | None
    runs: dict[str, SolverRun]

    @property
    def maximise(self) -> bool:
        """TOPTW maximises the score; VRPTW minimises the distance."""
        return self.m is not None

    def value(self, solver: str) -> float | None:
        """The checked distance (VRPTW) or score (TOPTW), ``None`` when infeasible."""
        run = self.runs.get(solver)
        if run is None or not run.check.ok:
            return None
        return float(run.check.score) if self.maximise else run.check.distance

    def gap_pct(self, solver: str) -> float | None:
        """Gap to the reference in percent (positive = worse than the reference)."""
        value = self.value(solver)
        if value is None or self.reference is None or self.reference.value == 0:
            return None
        ref = self.reference.value
        return 100.0 * ((ref - value) if self.maximise else (value - ref)) / ref


def _run(
    solvers: dict[str, Solver],
    arrays: RoutingArrays,
    time_limit_s: float,
    seed: int,
    clock: Clock,
    to_file: Callable[[int], int],
    check: Callable[[tuple[tuple[int, ...], ...]], Check],
) -> dict[str, SolverRun]:
    runs: dict[str, SolverRun] = {}
    for name, solver in solvers.items():
        result = solver(arrays, time_limit_s, seed, clock)
        routes = tuple(tuple(to_file(node) for node in r) for r in result.routes if r)
        runs[name] = SolverRun(
            name, result.engine, routes, result.seconds, result.cpu_seconds, check(routes)
        )
    return runs


def _solvers(peers: Sequence[str], table: dict[str, Solver]) -> dict[str, Solver]:
    unknown = [p for p in peers if p not in table]
    if unknown:
        msg = f"unknown peer {unknown[0]!r}; choose among {', '.join(table)}"
        raise ProblemError(msg)
    return {PATROLGRID: _ours, **{p: table[p] for p in peers}}


def run_vrptw(
    paths: Sequence[str | Path],
    *,
    time_limit_s: float,
    bks_path: str | Path | None = None,
    peers: Sequence[str] = ("vroom", "pyvrp"),
    seed: int = 0,
    clock: Clock = "wall",
    progress: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Solve Solomon VRPTW files with patrolgrid and the peers; check and compare.

    Parameters
    ----------
    paths
        Instance files.
    time_limit_s
        Budget per instance for patrolgrid and for each time-limited peer.
    bks_path
        ``solomon_bks.csv``; gaps are left empty without it.
    peers
        Names from :data:`VRPTW_PEERS`.
    seed
        Seed for the randomised engines.
    clock
        Whether time limits count wall-clock or CPU seconds (``"cpu"`` on a loaded machine).
    progress
        Called with each case's result as soon as it is done.

    Returns
    -------
    list of CaseResult
        One per file, in order.
    """
    solvers = _solvers(peers, VRPTW_PEERS)
    table = load_solomon_bks(bks_path) if bks_path is not None else {}
    results = []
    for path in paths:
        instance = solomon.read_solomon(path)
        arrays = solomon.to_arrays(instance)
        ids = instance.ids
        runs = _run(
            solvers,
            arrays,
            time_limit_s,
            seed,
            clock,
            partial(_file_number, ids),
            partial(check_vrptw, instance),
        )
        case = CaseResult(instance.name, instance.family, None, table.get(instance.name), runs)
        results.append(case)
        if progress is not None:
            progress(case)
    return results


def run_toptw(
    paths: Sequence[str | Path],
    *,
    vehicles: Sequence[int],
    time_limit_s: float,
    bks_path: str | Path | None = None,
    peers: Sequence[str] = ("vroom", "pyvrp", "ortools"),
    seed: int = 0,
    clock: Clock = "wall",
    progress: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Solve TOPTW files for each number of routes with patrolgrid and the peers.

    Parameters
    ----------
    paths
        Instance files.
    vehicles
        Numbers of routes ``m`` to solve each file for (one case per file and ``m``).
    time_limit_s
        Budget per case for patrolgrid and for each time-limited peer.
    bks_path
        ``bks.csv``; without it the reference is the best score in the run (``ref*(run)``).
    peers
        Names from :data:`TOPTW_PEERS`.
    seed
        Seed for the randomised engines.
    clock
        Whether time limits count wall-clock or CPU seconds (``"cpu"`` on a loaded machine).
    progress
        Called with each case's result as soon as it is done.

    Returns
    -------
    list of CaseResult
        One per file and ``m``, in order.
    """
    solvers = _solvers(peers, TOPTW_PEERS)
    table = load_toptw_bks(bks_path) if bks_path is not None else {}
    results = []
    for path in paths:
        instance = toptw.read_toptw(path)
        for m in vehicles:
            arrays = toptw.to_arrays(instance, m=m)
            runs = _run(
                solvers,
                arrays,
                time_limit_s,
                seed,
                clock,
                int,
                partial(check_toptw, instance, m),
            )
            best = max((r.check.score for r in runs.values() if r.check.ok), default=0)
            reference = toptw_reference(table, instance.name, m, best) if table else None
            if reference is None:
                reference = Reference(float(best), "ref*(run)")
            case = CaseResult(instance.name, instance.family, m, reference, runs)
            results.append(case)
            if progress is not None:
                progress(case)
    return results
