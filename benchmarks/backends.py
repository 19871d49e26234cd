"""Planner backends side by side: risk collected by "ortools" and "portfolio" at the same limit.

``python -m benchmarks.backends`` (options: ``--help``)

Generated patrol stations (:func:`benchmarks.city_scale.station_problem`: heavy-tailed risk,
risky-hour windows, police cars with a meal break at the station, foot patrols, volunteers kept
in their quarter, security on bikes) of 100 to 200 stops are solved by each backend with the
same wall-clock limit and seed. Every plan is checked by the independent evaluator; the table
prints the risk each collects, the ratio portfolio / OR-Tools, and which stage won inside the
portfolio (its engines or its own OR-Tools run). Backends run one after the other, so on a
loaded machine both see the same load.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.city_scale import station_problem
from planner.evaluate import evaluate
from planner.solve import solve


def main(argv: list[str] | None = None) -> None:
    """Run the comparison and print one row per problem and the median ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=5, help="number of generated stations")
    parser.add_argument("--min-stops", type=int, default=100)
    parser.add_argument("--max-stops", type=int, default=200)
    parser.add_argument("--units", type=int, default=8, help="units per station")
    parser.add_argument("--time-limit", type=float, default=5.0, help="seconds per solve")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    step = (args.max_stops - args.min_stops) // max(1, args.problems - 1)
    print(
        f"{'problem':>8} {'stops':>5} {'ortools':>9} {'portfolio':>9} {'ratio':>6} "
        f"{'winner':>9} {'t_ort':>6} {'t_port':>6}"
    )
    ratios = []
    for k in range(args.problems):
        n = args.min_stops + k * step
        problem = station_problem(1000 + k, n_stops=n, n_units=args.units)
        risk, seconds, winner = {}, {}, ""
        for backend in ("ortools", "portfolio"):
            t0 = time.perf_counter()
            plan = solve(problem, time_limit_s=args.time_limit, seed=args.seed, backend=backend)
            seconds[backend] = time.perf_counter() - t0
            ev = evaluate(problem, plan)
            if not ev.ok:
                msg = f"{backend} plan breaks rules on problem {k}: {ev.violations[:3]}"
                raise SystemExit(msg)
            risk[backend] = ev.risk_covered
            if backend == "portfolio":
                winner = "engines" if plan.backend == "portfolio" else "ortools"
        ratio = risk["portfolio"] / risk["ortools"] if risk["ortools"] > 0 else float("nan")
        ratios.append(ratio)
        print(
            f"{k:>8} {n:>5} {risk['ortools']:>9.2f} {risk['portfolio']:>9.2f} {ratio:>6.3f} "
            f"{winner:>9} {seconds['ortools']:>6.1f} {seconds['portfolio']:>6.1f}"
        )
    print(f"median ratio portfolio / ortools: {statistics.median(ratios):.3f}")
    ahead = sum(r >= 1 - 1e-9 for r in ratios)
    close = sum(r >= 0.999 for r in ratios)
    print(f"portfolio at least as good on {ahead} of {len(ratios)}, within 0.1% on {close}")


if __name__ == "__main__":
    main()
