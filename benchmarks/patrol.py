"""Real shifts, each backend at 10 s against the best plan any backend finds with a long limit.

``python -m benchmarks.patrol`` (options: ``--help``; ``--quick`` for a run of a few minutes)

Cases: the demo shift on the shared North Philadelphia data (two cars, three volunteers, as
``patrolgrid demo`` plans it) and generated stations (:func:`benchmarks.city_scale.station_problem`:
heavy-tailed risk, risky-hour windows, cars with a meal break at the station, foot patrols,
volunteers kept in their quarter, security on bikes) of several sizes, 2 to 40 units and 50 to
500 stops, with presence doses at every grid as ``patrolgrid plan`` adds them. Each case is
solved by every backend at ``--limit`` seconds (10) and at ``--reference`` seconds (300; 30 with
``--quick``); the reference is the best plan of all of them by collected risk. Every plan is
checked by the independent evaluator (a plan that breaks a rule stops the run).

Printed per case and backend: risk collected at the limit as a share of the reference, idle
share of the units' shift time, units ending over 30 minutes early while risk they may serve is
left, and wall seconds (``vs_best``: the limit's plan against the reference; ``ref``: the
backend's own long plan against it). One solve at a time, the full run takes 5 cases x (2 x 10 s
+ 2 x 300 s), about 52 minutes, and ``--quick`` (the demo and 3 smaller cases, 30 s reference)
about 6 minutes; ``--jobs N`` runs N solves at once (one core each: only on a machine with N
free cores, or the limits buy less search), e.g. the full run in about 11 minutes with
``--jobs 10``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.city_scale import station_problem
from planner.evaluate import evaluate
from planner.model import Problem, Stop
from planner.solve import backends, solve

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: (name, stops, units) of the generated cases; --quick runs the first three (and the demo).
CASES = [
    ("city-50x2", 50, 2),
    ("city-150x8", 150, 8),
    ("city-300x20", 300, 20),
    ("city-500x40", 500, 40),
]


def with_presence(problem: Problem, gap_s: int = 3600, doses: int = 8) -> Problem:
    """``problem`` plus a presence stop at each stop's grid (whole-shift window, the stop's
    prize spread over the shift per dwell), as :func:`planner.stops.stop_table` adds them."""
    horizon = problem.horizon_s
    extra = [
        Stop(
            f"{s.stop_id}~p",
            s.grid_id,
            s.location,
            dwell_s=s.dwell_s,
            windows=((0, horizon - s.dwell_s),),
            prize=s.total_prize * s.dwell_s / horizon,
            visits=doses,
            min_gap_s=gap_s,
            kinds=s.kinds,
            skills=s.skills,
            presence=True,
        )
        for s in problem.stops
    ]
    return dataclasses.replace(problem, stops=(*problem.stops, *extra))


def demo_problem(data: Path) -> Problem:
    """The demo's shift as ``patrolgrid demo`` plans it."""
    from api.demo import TIMEZONE, DemoConfig, build_grids, demo_units, shift_after
    from api.planning import shift_problem
    from geo.hotspots import risk_table
    from geo.incidents import load_incidents
    from geo.join import join_incidents
    from geo.network import load_network

    config = DemoConfig(data_dir=data, out_dir=Path("."))
    network = load_network(config.path("network"))
    grids = build_grids(config, network)
    load = load_incidents(config.path("incidents"), timezone=TIMEZONE)
    joined = join_incidents(load.incidents, grids)
    shift = shift_after(load.incidents["occurred_at"].max())
    risk = risk_table(joined, grids, now=shift[0], timezone=TIMEZONE)
    units = demo_units(config, grids, risk, network, shift)
    problem, *_ = shift_problem(grids, joined, network, units, max_stops=80, risk=risk)
    return problem


@functools.cache
def case_problem(name: str, data: Path) -> Problem:
    """The problem of one case (built once per process)."""
    if name == "demo":
        return demo_problem(data)
    k, (_, n_stops, n_units) = next((k, c) for k, c in enumerate(CASES) if c[0] == name)
    return with_presence(station_problem(2000 + k, n_stops=n_stops, n_units=n_units))


def solve_case(name: str, backend: str, limit: float, seed: int, data: Path) -> dict[str, Any]:
    """Solve one case with one backend at one limit; the evaluator's figures."""
    problem = case_problem(name, data)
    t0 = time.perf_counter()
    plan = solve(problem, time_limit_s=limit, seed=seed, backend=backend)
    wall = time.perf_counter() - t0
    ev = evaluate(problem, plan)
    if not ev.ok:
        msg = f"{name}: {backend} at {limit} s breaks rules: {ev.violations[:3]}"
        raise SystemExit(msg)
    return {
        "case": name,
        "backend": backend,
        "limit": limit,
        "stops": sum(not s.presence for s in problem.stops),
        "units": len(problem.units),
        "risk": ev.risk_covered,
        "risk_pct": ev.risk_covered_pct,
        "idle": ev.idle_share,
        "early": len(ev.early_units),
        "wall": wall,
    }


def main(argv: list[str] | None = None) -> None:
    """Run every case and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller cases, 30 s reference")
    parser.add_argument("--limit", type=float, default=10.0, help="seconds per solve")
    parser.add_argument("--reference", type=float, default=None, help="long limit, seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DATA, help="shared data folder")
    parser.add_argument("--cases", type=str, default=None, help="comma-separated case names")
    parser.add_argument(
        "--jobs", type=int, default=1, help="solves at once (one core each; wall-clock limits)"
    )
    args = parser.parse_args(argv)
    reference = args.reference or (30.0 if args.quick else 300.0)
    names = ["demo"] + [c[0] for c in (CASES[:3] if args.quick else CASES)]
    if args.cases:
        names = args.cases.split(",")
    tasks = [
        {"name": n, "backend": b, "limit": lim, "seed": args.seed, "data": args.data}
        for n in names
        for lim in (reference, args.limit)
        for b in backends()
    ]
    print(f"limit {args.limit:g} s, reference: best of {', '.join(backends())} at {reference:g} s")
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(_call, tasks))
    else:
        results = [_call(t) for t in tasks]
    print(
        f"{'case':>12} {'stops':>5} {'units':>5} {'backend':>9} {'vs_best':>7} {'ref':>7} "
        f"{'risk%':>6} {'idle':>6} {'early':>5} {'wall':>6}"
    )
    for name in names:
        rows = [r for r in results if r["case"] == name]
        best = max(r["risk"] for r in rows) or 1.0
        for b in backends():
            fast = next(r for r in rows if r["backend"] == b and r["limit"] == args.limit)
            slow = next(r for r in rows if r["backend"] == b and r["limit"] == reference)
            print(
                f"{name:>12} {fast['stops']:>5} {fast['units']:>5} {b:>9} "
                f"{fast['risk'] / best:>7.3f} {slow['risk'] / best:>7.3f} {fast['risk_pct']:>6.1f} "
                f"{fast['idle']:>6.3f} {fast['early']:>5} {fast['wall']:>6.1f}"
            )


def _call(task: dict[str, Any]) -> dict[str, Any]:
    return solve_case(**task)


if __name__ == "__main__":
    main()
