"""Run benchmark cases in worker processes (only meaningful with CPU-clock budgets)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from planner.bench.runner import CaseResult


def run_cases(
    task: Callable[..., list[CaseResult]],
    jobs: Sequence[dict[str, Any]],
    *,
    workers: int,
    progress: Callable[[CaseResult], None],
) -> list[CaseResult]:
    """Call ``task(**job)`` for every job, ``workers`` at a time; results in job order."""
    if workers <= 1:
        out: list[CaseResult] = []
        for job in jobs:
            for case in task(**job):
                progress(case)
                out.append(case)
        return out
    done: dict[int, list[CaseResult]] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(task, **job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            for case in done[futures[future]]:
                progress(case)
    return [case for i in range(len(jobs)) for case in done[i]]
