"""Run benchmark cases in worker processes (only meaningful with CPU-clock budgets)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from planner.bench.report import case_lines, family_lines, results_json
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


def solver_options(parser: argparse.ArgumentParser, *, peers: str) -> None:
    """The options every routing benchmark takes: limit, peers, seed, clock, out, jobs."""
    parser.add_argument("--time-limit", type=float, default=5.0)
    parser.add_argument("--peers", default=peers)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="count limits in wall or CPU seconds (cpu: quiet-machine search on a loaded one)",
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--jobs", type=int, default=1, help="worker processes (use with --clock cpu only)"
    )


def progress_line(label: str) -> Callable[[CaseResult], None]:
    """A progress printer: the case's label, then each solver's gap."""

    def show(case: CaseResult) -> None:
        gaps = "  ".join(
            f"{s} {'n/a' if (g := case.gap_pct(s)) is None else f'{g:6.2f}%'}" for s in case.runs
        )
        print(f"{label.format(case=case)} {gaps}", flush=True)

    return show


def report(results: list[CaseResult], out: Path | None) -> None:
    """Print the per-case and per-family tables; write the results JSON to ``out``."""
    print()
    print("\n".join(case_lines(results)))
    print()
    print("\n".join(family_lines(results)))
    if out is not None:
        out.write_text(json.dumps(results_json(results)))
    sys.stdout.flush()
