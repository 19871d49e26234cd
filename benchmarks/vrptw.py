"""Solomon VRPTW: patrolgrid's engine against VROOM and PyVRP measured in the same run.

    python -m benchmarks.vrptw [--time-limit 5] [--instances C101 R109 ...] [--peers vroom,pyvrp]
                               [--clock wall|cpu] [--jobs N]

Prints per-instance gaps to the distance-only best-known distances, then per-family mean and
median gaps of each solver with the ratio ``peer distance / patrolgrid distance`` (above 1 =
patrolgrid shorter). Default: 18 instances across the six families, as in the peers' baseline
(``../shared/benchmarks/vrp/baseline_solomon_results.csv``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from benchmarks._parallel import progress_line, report, run_cases, solver_options
from planner.bench.runner import run_vrptw

SHARED = Path(os.environ.get("PATROLGRID_SHARED", Path(__file__).resolve().parents[2] / "shared"))
VRP = SHARED / "benchmarks" / "vrp"
#: The 18 instances of the peers' baseline: three per family.
DEFAULT = [
    "C101",
    "C105",
    "C201",
    "C205",
    "R101",
    "R105",
    "R109",
    "R112",
    "R201",
    "R205",
    "R209",
    "R211",
    "RC101",
    "RC105",
    "RC108",
    "RC201",
    "RC205",
    "RC208",
]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    solver_options(parser, peers="vroom,pyvrp")
    parser.add_argument("--instances", nargs="*", default=DEFAULT)
    args = parser.parse_args(argv)
    paths = [VRP / "solomon" / f"{name.upper()}.txt" for name in args.instances]
    print(
        f"Solomon VRPTW, {len(paths)} instances, {args.time_limit:g} {args.clock} s per solver and instance"
    )
    peers = [p for p in args.peers.split(",") if p]
    jobs = [
        {
            "paths": [path],
            "time_limit_s": args.time_limit,
            "bks_path": VRP / "solomon_bks.csv",
            "peers": peers,
            "seed": args.seed,
            "clock": args.clock,
        }
        for path in paths
    ]
    results = run_cases(
        run_vrptw, jobs, workers=args.jobs, progress=progress_line("{case.name:<6}")
    )
    report(results, args.out)


if __name__ == "__main__":
    main()
