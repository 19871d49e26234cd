"""VROOM engine (pyvroom): fast construction and local search, priorities for optional visits.

VROOM answers in well under a second on 100-stop instances, which makes it a good warm start
for a slower, stronger searcher. VROOM has no notion of a required visit: every job is
optional, and it maximises the sum of priorities before minimising cost. Required visits get
the top priority (100); optional ones their prize scaled into 1..99 (VROOM caps priorities
at 100), so instances whose prizes exceed that range lose some resolution.
"""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import vroom

from .arrays import HORIZON, EngineResult, Routes, RoutingArrays, objective

__all__ = ["solve", "to_input"]

_MAX_PRIORITY = 100


def _priorities(arrays: RoutingArrays) -> np.ndarray:
    prize = arrays.prize.astype(float)
    optional = ~arrays.required
    top = prize[optional].max() if optional[arrays.n_depots :].any() else 0.0
    scale = 1.0 if top <= _MAX_PRIORITY - 1 else (_MAX_PRIORITY - 1) / top
    priorities = np.where(optional, np.rint(prize * scale), _MAX_PRIORITY).astype(int)
    return np.clip(priorities, 0, _MAX_PRIORITY)


def _skills(arrays: RoutingArrays) -> tuple[list[set[int] | None], dict[int, set[int]]]:
    """VROOM skills that keep each visit to its allowed vehicles (one skill per vehicle set)."""
    if all(v.allowed is None for v in arrays.vehicles):
        return [None] * len(arrays.vehicles), {}
    skill_of: dict[tuple[int, ...], int] = {}
    jobs: dict[int, set[int]] = {}
    for node in arrays.visits:
        who = tuple(k for k in range(len(arrays.vehicles)) if arrays.may_serve(k, node))
        jobs[node] = {skill_of.setdefault(who, len(skill_of))}
    vehicles: list[set[int] | None] = [
        {skill for who, skill in skill_of.items() if k in who} for k in range(len(arrays.vehicles))
    ]
    return vehicles, jobs


def to_input(arrays: RoutingArrays) -> vroom.Input:
    """Translate the arrays into a pyvroom ``Input`` (job id ``i`` is node ``i``).

    Window sets and vehicle breaks are not passed on: VROOM solves
    :meth:`RoutingArrays.restricted` (one window per node; breaks kept as free time).
    """
    arrays = arrays.restricted()
    problem = vroom.Input()
    for p in sorted({v.profile for v in arrays.vehicles}):
        problem.set_durations_matrix(f"p{p}", arrays.travel[p].astype(np.uint32))
        problem.set_costs_matrix(f"p{p}", arrays.cost[p].astype(np.uint32))
    vehicle_skills, job_skills = _skills(arrays)
    has_load = any(v.capacity is not None for v in arrays.vehicles)
    for k, v in enumerate(arrays.vehicles):
        capacity = [HORIZON if v.capacity is None else int(v.capacity)] if has_load else []
        extra = {} if v.max_duration is None else {"max_travel_time": int(v.max_duration)}
        problem.add_vehicle(
            vroom.Vehicle(
                id=k,
                start=v.start,
                end=v.end,
                profile=f"p{v.profile}",
                capacity=capacity,
                skills=vehicle_skills[k],
                time_window=vroom.TimeWindow(int(v.shift[0]), int(min(v.shift[1], HORIZON))),
                **extra,
            )
        )
    priorities = _priorities(arrays)
    jobs = [
        vroom.Job(
            id=i,
            location=i,
            default_service=int(arrays.service[i]),
            delivery=[int(arrays.demand[i])] if has_load else [],
            priority=int(priorities[i]),
            skills=job_skills.get(i),
            time_windows=[vroom.TimeWindow(int(arrays.windows[i, 0]), int(arrays.windows[i, 1]))],
        )
        for i in arrays.visits
    ]
    problem.add_job(jobs)
    return problem


def solve(
    arrays: RoutingArrays,
    *,
    exploration: int = 5,
    threads: int = 1,
    time_limit_s: float | None = None,
) -> EngineResult:
    """Solve with VROOM at the given exploration level (1 = fastest, 5 = VROOM's default).

    Parameters
    ----------
    arrays
        The instance.
    exploration
        VROOM's exploration level.
    threads
        Threads VROOM may use (results do not depend on it, only the wall time).
    time_limit_s
        Stop VROOM's search after this many seconds (its best solution so far); no limit
        when ``None``.

    Returns
    -------
    EngineResult
        VROOM's solution in the instance's node numbers.
    """
    began, cpu = time.perf_counter(), time.process_time()
    timeout = None if time_limit_s is None else timedelta(seconds=max(0.001, time_limit_s))
    solution = to_input(arrays).solve(
        exploration_level=exploration, nb_threads=threads, timeout=timeout
    )
    frame = solution.routes
    routes: list[list[int]] = [[] for _ in arrays.vehicles]
    if len(frame) and "id" in frame.columns:  # VROOM leaves the columns out when no route runs
        jobs = frame[frame["type"] == "job"]
        for vehicle, job in zip(jobs["vehicle_id"], jobs["id"], strict=True):
            routes[int(vehicle)].append(int(job))
    result: Routes = tuple(tuple(r) for r in routes)
    return EngineResult(
        routes=result,
        objective=objective(arrays, result),
        engine=f"vroom-x{exploration}",
        seconds=time.perf_counter() - began,
        cpu_seconds=time.process_time() - cpu,
    )
