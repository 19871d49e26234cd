"""Plans judged by what happened next: replayed shifts on Philadelphia 2016.

Run: ``python -m benchmarks.patrol_outcome`` (``--shifts 4`` for a quicker run).

The area is the neighbourhoods the shared street network covers (North Philadelphia around
Temple University), cut into 250 m cells. For each replayed shift (evening shifts 18:00-02:00,
every evening from 3 October to 20 December 2016; ``--shifts 32`` for a quicker run), plans are
made with the real planner (:func:`api.planning.plan_shift`, the default backend, the same units
and seed, a search of ``--max-solutions`` solutions capped at ``--time-limit`` seconds: the same
plans on any machine load), each from the incidents before the shift start only:

- ``counts``: the past year's incident counts per grid (naive), spread over the shift by the
  grid's weekday-hour profile;
- ``risk``: the recency-decayed, severity-weighted risk table (the planner's former default);
- ``forecast``: the default, the grid forecast for the shift's hours raised by trend warnings,
  near-repeat flare-ups and Gi* hot spots (:func:`geo.patrol_risk.patrol_prize`);
- ``forecast_base`` (a diagnosis, not a planner option): the same forecast without the signals,
  to tell the forecast's part from the signals'.

Then the shift's real incidents are counted: an incident is *covered* when it occurred in a grid
the plan visited, in a clock hour that one of the visits to that grid overlapped. Printed per plan
source: incidents covered, patrol hours (units x shift length), incidents covered per patrol hour,
and the ratio to ``counts`` (the same shifts, units and incidents).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.planning import RISK_SOURCES, plan_shift, shift_risk
from geo.gridgen import make_grid
from geo.grids import load_grids
from geo.hierarchy import leaf_grids
from geo.join import join_incidents
from geo.network import load_network
from planner.units_file import load_units

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "philadelphia"
HOODS = ("NORTH_CENTRAL", "YORKTOWN", "HARTRANFT", "LUDLOW", "STANTON")
#: The street file's extent (its <bounds>): the neighbourhoods are cut to it.
OSM_BOX = (-75.17, 39.9707, -75.145, 39.991)
UNITS = """\
timezone: America/New_York
shift: {{start: "{start}", end: "{end}"}}
max_stops: 60
units:
  - {{unit_id: car-1, kind: police_car, depot: [-75.1627, 39.9796]}}
  - {{unit_id: car-2, kind: police_car, depot: [-75.1627, 39.9796]}}
  - {{unit_id: foot-1, kind: foot_patrol, mode: walk, depot: [-75.155, 39.982]}}
"""


def _grids() -> gpd.GeoDataFrame:
    hoods = load_grids(
        SHARED / "phl_neighborhoods_azavea.geojson",
        columns={"name": "grid_id", "listname": "name"},
    )
    hoods = hoods.loc[hoods["grid_id"].isin(HOODS)].copy()
    hoods["geometry"] = hoods.geometry.intersection(shapely.box(*OSM_BOX))
    hoods["level"] = "community"
    hoods["parent_id"] = None
    cells = make_grid(hoods, cell_m=250.0)
    frame = pd.concat([hoods, cells], ignore_index=True)
    return gpd.GeoDataFrame(
        frame[["grid_id", "level", "parent_id", "name", "geometry"]], crs="EPSG:4326"
    )


def _incidents(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    from geo.incidents import load_incidents

    minx, miny, maxx, maxy = grids.total_bounds
    frames = []
    for path in sorted((SHARED / "incidents_2016").glob("incidents_2016_*.csv")):
        inc = load_incidents(path).incidents
        x, y = inc.geometry.x, inc.geometry.y
        frames.append(inc.loc[(x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)])
    incidents = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    joined = join_incidents(incidents, grids)
    return joined.loc[joined["grid_id"].notna()].reset_index(drop=True)


def covered_incidents(document: dict, shift: pd.DataFrame) -> int:
    """Incidents of ``shift`` (``grid_id``, ``occurred_at``) in a visited grid and a clock hour
    that a visit to it overlapped."""
    covered: set[tuple[str, pd.Timestamp]] = set()
    for route in document["routes"]:
        for step in route["steps"]:
            if step.get("type") != "visit":
                continue
            start = pd.Timestamp(step["arrival"]).tz_convert("UTC").floor("h")
            end = pd.Timestamp(step["departure"]).tz_convert("UTC")
            hour = start
            while hour <= end:
                covered.add((str(step["grid_id"]), hour))
                hour += pd.Timedelta(hours=1)
    hours = pd.DatetimeIndex(shift["occurred_at"]).tz_convert("UTC").floor("h")
    keys = zip(shift["grid_id"].astype(str), hours, strict=True)
    return sum(1 for key in keys if key in covered)


def main(argv: list[str] | None = None) -> None:
    """Replay the shifts and print incidents covered per patrol hour per risk source."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shifts", type=int, default=79, help="evening shifts replayed")
    parser.add_argument("--time-limit", type=float, default=30.0, help="cap per plan (s)")
    parser.add_argument(
        "--max-solutions",
        type=int,
        default=100,
        help="search length per plan: the same plans on any machine load (0: by the clock)",
    )
    parser.add_argument(
        "--sources", nargs="*", default=["counts", "risk", "forecast", "forecast_base"]
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    grids = _grids()
    joined = _incidents(grids)
    area = leaf_grids(grids).union_all()
    network = load_network(SHARED / "temple_north_philly.osm", polygon=area)
    print(
        f"{len(leaf_grids(grids))} grids of 250 m in {len(HOODS)} neighbourhoods, "
        f"{len(joined):,} incidents in 2016; loaded in {time.perf_counter() - start:.0f} s"
    )
    days = pd.date_range("2016-10-03", "2016-12-20", periods=args.shifts).normalize()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for day in days:
            shift_start = day + pd.Timedelta(hours=18)
            shift_end = shift_start + pd.Timedelta(hours=8)
            path = Path(tmp) / "units.yaml"
            path.write_text(
                UNITS.format(
                    start=shift_start.strftime("%Y-%m-%dT%H:%M"),
                    end=shift_end.strftime("%Y-%m-%dT%H:%M"),
                )
            )
            units = load_units(path)
            during = joined.loc[
                (joined["occurred_at"] >= units.shift_start)
                & (joined["occurred_at"] < units.shift_end)
            ]
            patrol_hours = sum(
                (u.shift_end - u.shift_start) / pd.Timedelta(hours=1) for u in units.units
            )
            for source in args.sources:
                if source not in (*RISK_SOURCES, "forecast_base"):
                    parser.error(f"unknown source {source}; choose from {RISK_SOURCES}")
                t0 = time.perf_counter()
                table = None
                if source == "forecast_base":  # diagnosis: the forecast without the live signals
                    before = joined.loc[joined["occurred_at"] < units.shift_start]
                    table = shift_risk(before, grids, units, source="forecast")
                    table["prize"] = table["base"]
                run = plan_shift(
                    grids,
                    joined,
                    network,
                    units,
                    time_limit_s=args.time_limit,
                    max_solutions=args.max_solutions or None,
                    risk_source="forecast" if table is not None else source,
                    risk=table,
                )
                rows.append(
                    {
                        "shift": shift_start.date().isoformat(),
                        "source": source,
                        "covered": covered_incidents(run.document, during),
                        "incidents": len(during),
                        "patrol_hours": patrol_hours,
                        "visits": run.document["summary"]["visits"],
                        "seconds": time.perf_counter() - t0,
                    }
                )
                r = rows[-1]
                print(
                    f"  {r['shift']} {source:9s} covered {r['covered']:3d} of {r['incidents']:3d} "
                    f"incidents, {r['visits']} visits, {r['seconds']:.0f} s",
                    flush=True,
                )
    frame = pd.DataFrame(rows)
    totals = frame.groupby("source", sort=False)[["covered", "incidents", "patrol_hours"]].sum()
    totals["per_hour"] = totals["covered"] / totals["patrol_hours"]
    base = totals.loc["counts", "per_hour"] if "counts" in totals.index else np.nan
    print(f"\n== {len(days)} shifts, {int(totals['incidents'].iloc[0])} incidents during them ==")
    print("  source     covered  patrol h  covered / patrol h  vs counts")
    for source, r in totals.iterrows():
        print(
            f"  {source!s:9s} {int(r['covered']):8d} {r['patrol_hours']:9.0f} "
            f"{r['per_hour']:19.4f} {r['per_hour'] / base:9.2f}x"
        )
    wins = frame.pivot_table(index="shift", columns="source", values="covered")
    if {"counts", "forecast"} <= set(wins.columns):
        better = int((wins["forecast"] > wins["counts"]).sum())
        worse = int((wins["forecast"] < wins["counts"]).sum())
        print(f"  forecast vs counts per shift: {better} better, {worse} worse")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
