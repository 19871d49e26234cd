"""Re-planning from events: 20 units x 200 stops, "car-2 out at 20:00" plus a new incident.

    python -m benchmarks.replan [--units 20] [--stops 200] [--time-limit 2] [--repeat 3]
                                [--checkpoint]

Plans the shift once (10 s), then re-plans the same events with the default narrow scope (only
the units the events concern are re-solved) and with every unit re-solved (the baseline, same
run, same time limit). Prints wall seconds (``summary.solve_s``: events checked, problem cut,
solved, merged and evaluated), the ratio baseline / narrow, routes changed and the risk of the
rest of the shift each collects. ``--checkpoint`` adds a key site for tonight (a hard
checkpoint, 21:00-21:30, police cars) to the events and reports whether it was met. Target:
<= 5 s; moonshot 1 s.
"""

from __future__ import annotations

import argparse
import statistics

from benchmarks._shift import city_shift
from planner.events import parse_events
from planner.shift_replan import apply_events

EVENTS = {
    "events": [
        {"type": "unit_unavailable", "unit_id": "car-2", "at": "20:00"},
        {"type": "incident", "lon": -75.14, "lat": 39.985, "at": "20:05", "category": "robbery"},
    ]
}
CHECKPOINT = {
    "type": "checkpoint",
    "name": "bank",
    "lon": -75.13,
    "lat": 39.99,
    "windows": ["21:00-21:30"],
    "dwell_min": 10,
    "kinds": ["police_car"],
}


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--stops", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--checkpoint", action="store_true", help="add a checkpoint event")
    args = parser.parse_args()
    state, _ = city_shift(
        0,
        n_units=args.units,
        n_stops=args.stops,
        time_limit_s=10.0,
        max_solutions=None,
        side_m=8000.0,
    )
    doc = {"events": [*EVENTS["events"], CHECKPOINT]} if args.checkpoint else EVENTS
    events = parse_events(doc, state.problem)
    rows = {}
    for scope in ("minimal", "all"):
        runs = [
            apply_events(state, events, time_limit_s=args.time_limit, scope=scope)
            for _ in range(args.repeat)
        ]
        assert all(r.evaluation.ok for r in runs)
        if args.checkpoint:
            missed = [r.evaluation.checkpoints_missed for r in runs]
            print(f"{scope}: checkpoint met in {sum(not m for m in missed)} of {len(runs)} runs")
        rows[scope] = (
            statistics.median(r.solve_s for r in runs),
            max(r.solve_s for r in runs),
            sum(runs[0].changed.values()),
            runs[0].evaluation.risk_covered_pct,
        )
    print(
        f"{args.units} units x {args.stops} stops, time limit {args.time_limit} s, "
        f"{args.repeat} runs each"
    )
    print(f"{'scope':<8} {'median s':>9} {'max s':>7} {'changed':>8} {'rest risk %':>12}")
    for scope, (med, worst, changed, risk) in rows.items():
        print(f"{scope:<8} {med:>9.2f} {worst:>7.2f} {changed:>8d} {risk:>12.1f}")
    print(f"ratio all / minimal (median wall): {rows['all'][0] / rows['minimal'][0]:.2f}")
    verdict = "met" if rows["minimal"][1] <= 5.0 else "MISSED"
    print(
        f"target <= 5 s: {verdict}; moonshot <= 1 s: {'met' if rows['minimal'][1] <= 1 else 'not met'}"
    )


if __name__ == "__main__":
    main()
