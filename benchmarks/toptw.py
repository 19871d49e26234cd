"""Team orienteering with time windows: patrolgrid against VROOM, PyVRP and OR-Tools.

    python -m benchmarks.toptw [--time-limit 5] [--cases c101:1 pr01:4 ...] [--peers ...]
                               [--clock wall|cpu] [--jobs N]

Prints per-case score gaps to the best-known (or the labelled fallback reference of
``../shared/benchmarks/toptw/README.md``), then per-family mean and median gaps of each solver
with the ratio ``patrolgrid score / peer score`` (above 1 = patrolgrid collects more).
Default: the 22 cases (``instance:m``) of the peers' baseline ``baseline_results.csv``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from benchmarks._parallel import progress_line, report, run_cases, solver_options
from planner.bench.runner import run_toptw

SHARED = Path(os.environ.get("PATROLGRID_SHARED", Path(__file__).resolve().parents[2] / "shared"))
TOPTW = SHARED / "benchmarks" / "toptw"
#: The 22 cases of the peers' baseline.
DEFAULT = [
    "c101:1",
    "r101:1",
    "rc101:1",
    "c201:1",
    "r201:1",
    "rc201:1",
    "pr01:1",
    "pr11:1",
    "c105:2",
    "r105:2",
    "rc105:2",
    "c205:2",
    "r205:2",
    "rc205:2",
    "pr05:2",
    "pr12:2",
    "c101:4",
    "r109:4",
    "rc108:4",
    "rc201:4",
    "pr01:4",
    "pr12:4",
]


def _path(name: str) -> Path:
    for folder in ("solomon_100", "solomon_200", "cordeau"):
        path = TOPTW / "instances" / folder / f"{name}.txt"
        if path.is_file():
            return path
    msg = f"no TOPTW instance named {name!r} under {TOPTW / 'instances'}"
    raise SystemExit(msg)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    solver_options(parser, peers="vroom,pyvrp,ortools")
    parser.add_argument("--cases", nargs="*", default=DEFAULT)
    args = parser.parse_args(argv)
    print(f"TOPTW, {len(args.cases)} cases, {args.time_limit:g} {args.clock} s per solver and case")
    peers = [p for p in args.peers.split(",") if p]
    jobs = []
    for case in args.cases:
        name, _, m = case.partition(":")
        jobs.append(
            {
                "paths": [_path(name.lower())],
                "vehicles": [int(m or 1)],
                "time_limit_s": args.time_limit,
                "bks_path": TOPTW / "bks.csv",
                "peers": peers,
                "seed": args.seed,
                "clock": args.clock,
            }
        )
    results = run_cases(
        run_toptw, jobs, workers=args.jobs, progress=progress_line("{case.name}:{case.m:<3}")
    )
    report(results, args.out)


if __name__ == "__main__":
    main()
