"""The patrol problem at city scale: one big station, then many stations over Dask.

``python -m benchmarks.city_scale`` (options: ``--help``)

1. One station with 500 candidate stops and 20 units of mixed kinds (police cars with a meal
   break, foot patrols, volunteers kept in their own quarter, property security on bikes): the
   risk collected with a 10 s search against a 60 s search of the same problem (target: within
   2 %), both checked by the independent evaluator.
2. ``--stations`` stations (100 by default) planned over Dask: one worker against all workers of
   a local cluster (or an existing scheduler given by ``--scheduler``), reporting the speed-up.
   Each task carries only its station's small problem.

Problems are generated (travel times from Manhattan distances with a per-pair detour factor and
per-mode speeds), deterministic for a seed, so runs compare like with like.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time

import numpy as np

from planner.evaluate import evaluate
from planner.fanout import plan_stations
from planner.model import Break, Problem, Stop, Unit
from planner.solve import solve

SPEED_MPS = {"drive": 7.0, "walk": 1.3, "bike": 3.5}
SHIFT_S = 8 * 3600


def station_problem(
    seed: int, *, n_stops: int = 500, n_units: int = 20, side_m: float = 4000.0
) -> Problem:
    """A generated station: stops with heavy-tailed risk and risky-hour windows, mixed units."""
    rng = np.random.default_rng(seed)
    depot = np.array([[side_m / 2, side_m / 2]])
    meet = rng.random((4, 2)) * side_m / 2 + np.array([[0, 0], [1, 0], [0, 1], [1, 1]]) * side_m / 2
    xy = np.vstack([depot, meet, rng.random((n_stops, 2)) * side_m])
    d = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
    detour = rng.uniform(1.0, 1.4, size=d.shape)
    d = d * (detour + detour.T) / 2
    travel = {m: d / v for m, v in SPEED_MPS.items()}
    lonlat = tuple((113.25 + x / 102_000, 23.10 + y / 111_000) for x, y in xy)
    quarter = (xy[5:, 0] >= side_m / 2).astype(int) + 2 * (xy[5:, 1] >= side_m / 2)
    grids = [f"g{i:04d}" for i in range(n_stops)]
    prize = rng.pareto(1.5, n_stops) + 0.1
    hot = prize >= np.quantile(prize, 0.9)
    stops = []
    for i in range(n_stops):
        a = int(rng.integers(0, SHIFT_S - 3 * 3600))
        windows = () if hot[i] else ((a, a + int(rng.integers(2, 4)) * 3600),)
        stops.append(
            Stop(
                stop_id=grids[i],
                grid_id=grids[i],
                location=5 + i,
                windows=windows,
                prize=float(prize[i]),
                visits=2 if hot[i] else 1,
            )
        )
    mix = ["police_car"] * 6 + ["foot_patrol"] * 6 + ["volunteer"] * 6 + ["property_security"] * 2
    units = []
    for k in range(n_units):
        kind = mix[k % len(mix)]
        q = k % 4
        area = None
        start = 0
        mode = {"police_car": "drive", "property_security": "bike"}.get(kind, "walk")
        if kind in ("volunteer", "property_security"):
            area = frozenset(g for g, qq in zip(grids, quarter, strict=True) if qq == q)
            start = 1 + q
        # police cars eat at the station (a break with a place keeps the search fast)
        breaks = (
            (Break("meal", 3 * 3600, 5 * 3600, 1800, location=0),) if kind == "police_car" else ()
        )
        shift_end = SHIFT_S if kind != "volunteer" else 4 * 3600
        units.append(
            Unit(
                unit_id=f"{kind}-{k}",
                kind=kind,
                mode=mode,
                start_location=start,
                shift_end_s=shift_end,
                breaks=breaks,
                allowed_grids=area,
            )
        )
    return Problem(
        locations=lonlat,
        travel_s=travel,
        units=tuple(units),
        stops=tuple(stops),
        start=dt.datetime(2025, 1, 22, 10, 0, tzinfo=dt.UTC),
        timezone="Asia/Shanghai",
    )


def one_station(limits: list[float], seed: int) -> None:
    """Collected risk of the big station at each time limit, against the longest."""
    problem = station_problem(seed)
    print(
        f"one station: {len(problem.stops)} stops, {len(problem.units)} units, "
        f"{sum(s.visits for s in problem.stops)} wanted visits"
    )
    rows = []
    for limit in limits:
        t0 = time.perf_counter()
        plan = solve(problem, time_limit_s=limit, seed=0)
        wall = time.perf_counter() - t0
        ev = evaluate(problem, plan)
        rows.append((limit, wall, ev))
    best = rows[-1][2].risk_covered
    print(
        f"{'limit s':>8} {'wall s':>7} {'visits':>7} {'risk':>9} {'% shift':>8} {'vs longest':>10} valid"
    )
    for limit, wall, ev in rows:
        visits = sum(u.visits for u in ev.units)
        ratio = ev.risk_covered / best if best else float("nan")
        print(
            f"{limit:8.0f} {wall:7.1f} {visits:7d} {ev.risk_covered:9.2f} "
            f"{ev.risk_covered_pct:7.1f}% {ratio:10.3f} {ev.ok}"
        )


def many_stations(
    n: int, limit: float, workers: int, scheduler: str | None, stops: int, units: int
) -> None:
    """Plan ``n`` stations with one worker and with ``workers``; print the speed-up."""
    problems = {
        f"station-{i:03d}": station_problem(1000 + i, n_stops=stops, n_units=units)
        for i in range(n)
    }
    print(
        f"{n} stations x ({stops} stops, {units} units), {limit:g} s each; "
        f"largest task payload {max(len(__import__('pickle').dumps(p)) for p in problems.values()) / 1e6:.2f} MB"
    )
    one = plan_stations(problems, time_limit_s=limit, n_workers=1, scheduler=None)
    many = plan_stations(
        problems, time_limit_s=limit, n_workers=None if scheduler else workers, scheduler=scheduler
    )
    ok = all(evaluate(problems[s], p).ok for s, p in many.plans.items())
    risk_one = statistics.fmean(
        evaluate(problems[s], p).risk_covered_pct for s, p in one.plans.items()
    )
    risk_many = statistics.fmean(
        evaluate(problems[s], p).risk_covered_pct for s, p in many.plans.items()
    )
    print(f"{'workers':>8} {'wall s':>8} {'speed-up':>9} {'mean risk %':>12}")
    print(f"{one.workers:8d} {one.wall_s:8.1f} {1.0:9.2f} {risk_one:12.1f}")
    print(f"{many.workers:8d} {many.wall_s:8.1f} {one.wall_s / many.wall_s:9.2f} {risk_many:12.1f}")
    print(f"all {len(many.plans)} plans pass the evaluator: {ok}")


def main() -> None:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limits", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stations", type=int, default=100)
    parser.add_argument("--station-limit", type=float, default=1.0)
    parser.add_argument("--station-stops", type=int, default=60)
    parser.add_argument("--station-units", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    parser.add_argument("--skip-one", action="store_true", help="skip the one-station part")
    args = parser.parse_args()
    if not args.skip_one:
        one_station(args.limits, args.seed)
    if args.stations:
        many_stations(
            args.stations,
            args.station_limit,
            args.workers,
            args.scheduler,
            args.station_stops,
            args.station_units,
        )


if __name__ == "__main__":
    main()
