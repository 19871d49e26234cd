"""Benchmark the point-to-grid join: patrolgrid's fast path against geopandas.sjoin.

``python -m benchmarks.join [--points 2e6] [--cells 10000] [--shapes voronoi square hex]
[--repeat 3] [--dask]``

Each case (points x cells x shape) times, in this one process, on the same generated data (a
seeded city-sized extent in lon/lat, half the points clustered in hot spots):

- **patrolgrid**: ``assign_grids`` from coordinate arrays to a ``pandas.Categorical`` of grid
  ids, building its index (the "cold" time), and ``GridIndex.assign`` on an index built
  beforehand ("warm", as the API does with the grids it holds);
- **sjoin**: ``geopandas.sjoin(points, grids, predicate="within")`` on a points frame it is
  given for free, building its STRtree ("cold"), and on a grids frame whose ``sindex``
  geopandas has already built and cached ("warm").

Times are CPU seconds (both single-threaded; the development machine is shared), the median of
``--repeat`` runs each; the ratios are sjoin's time over patrolgrid's. The answers are checked:
every point sjoin puts in exactly one grid gets that grid; a point sjoin puts in none gets none
unless it lies on the boundary of the grid patrolgrid gives it (the documented edge rule);
nothing else. The run exits 1 if any check fails. A closing line checks the target: at least
5x sjoin (cold) on 10k irregular (Voronoi) and 10k square cells.

``--dask`` adds the scale-out case: the points as partitioned GeoParquet joined with
``geo.join_dask.join_geoparquet`` on a local cluster of 1 and 2 workers (wall clock), checked
identical to the in-memory join.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

__all__ = ["main", "make_cells", "make_points"]

#: A city-sized extent (Philadelphia), lon/lat.
EXTENT = (-75.28, 39.87, -74.96, 40.14)
#: The speed-up asked for (cold, against sjoin given its Points), by cell shape.
TARGET = 5.0


def make_cells(n: int, shape: str, seed: int = 0) -> gpd.GeoDataFrame:
    """About ``n`` cells tiling :data:`EXTENT`, ids in an order unrelated to the rows'.

    ``voronoi``: irregular cells. ``square``: squares of one size in metres laid out in the UTM
    zone (as ``geo.gridgen`` does) and converted to EPSG:4326, so in lon/lat they are slightly
    rotated quadrilaterals, clipped to the extent. ``hex``: ``geo.gridgen.make_grid`` hexagons.
    """
    frame = box(*EXTENT)
    rng = np.random.default_rng(seed)
    if shape == "voronoi":
        sites = np.column_stack(
            [rng.uniform(EXTENT[0], EXTENT[2], n), rng.uniform(EXTENT[1], EXTENT[3], n)]
        )
        cells = shapely.get_parts(
            shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=frame)
        )
        geoms = shapely.intersection(cells, frame)
        ids = [f"v{i:06d}" for i in rng.permutation(len(geoms))]
        return gpd.GeoDataFrame({"grid_id": ids}, geometry=geoms, crs=4326)
    area = gpd.GeoDataFrame({"grid_id": ["city"]}, geometry=[frame], crs=4326)
    utm = area.estimate_utm_crs()
    if shape == "hex":
        from geo.gridgen import make_grid

        return make_grid(
            area, cell_m=float(np.sqrt(area.to_crs(utm).area.iloc[0] / n)), shape="hex"
        )
    if shape != "square":
        msg = f"unknown cell shape {shape!r}; use voronoi, square or hex"
        raise ValueError(msg)
    xmin, ymin, xmax, ymax = area.to_crs(utm).total_bounds
    side_m = float(np.sqrt((xmax - xmin) * (ymax - ymin) / n))
    xs = np.arange(np.floor(xmin / side_m), np.ceil(xmax / side_m)) * side_m
    ys = np.arange(np.floor(ymin / side_m), np.ceil(ymax / side_m)) * side_m
    gx, gy = np.meshgrid(xs, ys)
    squares = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + side_m, gy.ravel() + side_m)
    cells = gpd.GeoSeries(squares, crs=utm).to_crs(4326)
    cells = cells[cells.intersects(frame)].intersection(frame)
    ids = [f"s{i:06d}" for i in rng.permutation(len(cells))]
    return gpd.GeoDataFrame({"grid_id": ids}, geometry=cells.to_numpy(), crs=4326)


def make_points(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points in the extent: half uniform, half in Gaussian hot spots (like incidents).

    Hot-spot points that fall outside the extent are redrawn uniformly (never clipped onto
    its edge, which would pile points on cell boundaries).
    """
    rng = np.random.default_rng(seed)
    half = n // 2
    lon = rng.uniform(EXTENT[0], EXTENT[2], n)
    lat = rng.uniform(EXTENT[1], EXTENT[3], n)
    centres = rng.uniform(EXTENT[:2], EXTENT[2:], (50, 2))
    pick = rng.integers(0, 50, n - half)
    hx = centres[pick, 0] + rng.normal(0, 0.01, n - half)
    hy = centres[pick, 1] + rng.normal(0, 0.01, n - half)
    ok = (hx > EXTENT[0]) & (hx < EXTENT[2]) & (hy > EXTENT[1]) & (hy < EXTENT[3])
    lon[half:] = np.where(ok, hx, lon[half:])
    lat[half:] = np.where(ok, hy, lat[half:])
    return lon, lat


def _cpu(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median CPU seconds of ``repeat`` runs, and the last run's answer (the previous one
    freed before each run's clock starts)."""
    times, answer = [], None
    for _ in range(repeat):
        answer = None
        start = time.process_time()
        answer = run()
        times.append(time.process_time() - start)
    return statistics.median(times), answer


def _check(
    ours: pd.Categorical, joined: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, points: np.ndarray
) -> str:
    """'ok', or what differs between patrolgrid's answer and sjoin's (see the module notes)."""
    hits = joined.index.to_numpy()
    count = np.bincount(hits, minlength=len(ours))
    codes = ours.codes
    theirs = np.full(len(ours), -1, dtype=np.int64)
    one = count[hits] == 1
    theirs[hits[one]] = ours.categories.get_indexer(joined["grid_id"].to_numpy()[one])
    single = count == 1
    differ = int((codes[single] != theirs[single]).sum())
    several = int((count > 1).sum())  # overlapping grids: none in these tilings
    extra = np.flatnonzero((count == 0) & (codes >= 0))  # ours only: on a boundary, or wrong
    geoms = grids.set_index(grids["grid_id"].astype(str)).geometry
    mine = geoms.reindex(ours.categories[codes[extra]]).to_numpy()
    off_edge = int((~shapely.intersects(shapely.boundary(mine), points[extra])).sum())
    if differ or several or off_edge:
        return f"DIFFERENT: {differ} other grid, {off_edge} inside no grid of sjoin's, {several} in several"
    return f"ok ({len(extra)} on an edge)"


def _case(n: int, n_cells: int, shape: str, repeat: int) -> tuple[float, bool]:
    from geo.join import GridIndex, assign_grids

    grids = make_cells(n_cells, shape)
    lon, lat = make_points(n)
    cold, ours = _cpu(lambda: assign_grids(lon, lat, grids), repeat)
    index = GridIndex.build(grids, points=n)
    warm, again = _cpu(lambda: index.assign(lon, lat), repeat)
    assert np.array_equal(again.codes, ours.codes)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    right = grids[["grid_id", "geometry"]]

    fresh = iter([right.copy() for _ in range(repeat)])  # no cached STRtree: sjoin builds it
    peer_cold, joined = _cpu(lambda: gpd.sjoin(points, next(fresh), predicate="within"), repeat)
    _ = right.sindex  # built once and cached on the frame
    peer_warm, _ = _cpu(lambda: gpd.sjoin(points, right, predicate="within"), repeat)
    verdict = _check(ours, joined, grids, points.geometry.to_numpy())
    ratio = peer_cold / cold
    print(
        f"{shape:8} {len(grids):>7} {n:>9} | {n / cold / 1e6:>8.2f} {n / warm / 1e6:>8.2f} | "
        f"{n / peer_cold / 1e6:>8.2f} {n / peer_warm / 1e6:>8.2f} | {ratio:>6.1f}x "
        f"{peer_warm / warm:>6.1f}x | {verdict}",
        flush=True,
    )
    return ratio, verdict.startswith("ok")


def _scale_out(points: int, n_cells: int, partitions: int) -> bool:
    import dask_geopandas
    from distributed import Client, LocalCluster

    from geo.join import assign_grids
    from geo.join_dask import join_geoparquet

    grids = make_cells(n_cells, "voronoi")
    lon, lat = make_points(points)
    expected = assign_grids(lon, lat, grids)
    print(
        f"\nscale-out: {points} points in {partitions} GeoParquet parts -> {n_cells} Voronoi cells"
    )
    same_all = True
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp, "points")
        frame = gpd.GeoDataFrame(
            {"incident_id": np.char.add("p", np.arange(points).astype(str))},
            geometry=gpd.points_from_xy(lon, lat),
            crs=4326,
        )
        dask_geopandas.from_geopandas(frame, npartitions=partitions).to_parquet(source)
        del frame
        for workers in (1, 2):
            with (
                LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster,
                Client(cluster) as client,
            ):
                out = Path(tmp, f"out{workers}")
                start = time.perf_counter()
                join_geoparquet(source, grids, out=out, client=client)
                seconds = time.perf_counter() - start
            got = pd.read_parquet(out, columns=["incident_id", "grid_id"])
            order = np.argsort(got["incident_id"].str.slice(1).astype(np.int64).to_numpy())
            codes = expected.categories.get_indexer(got["grid_id"].to_numpy()[order])
            same = bool(np.array_equal(codes, expected.codes))
            same_all &= same
            print(
                f"  {workers} worker(s): {points / seconds / 1e6:6.2f} M points/s  identical: {same}"
            )
    return same_all


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if an answer differs from geopandas.sjoin's."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.join", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--points", nargs="+", type=float, default=[2e6])
    parser.add_argument("--cells", nargs="+", type=int, default=[10000])
    parser.add_argument("--shapes", nargs="+", default=["voronoi", "square", "hex"])
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--dask", action="store_true", help="also run the 1 vs 2 worker scale-out")
    parser.add_argument("--dask-points", type=float, default=2e6)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(
        "M points/s from CPU time; cold: from coordinate arrays (patrolgrid) or a points frame\n"
        "(sjoin, predicate='within'), each building its index; warm: the index built before.\n"
        f"{'shape':8} {'cells':>7} {'points':>9} | {'ours':>8} {'warm':>8} | {'sjoin':>8} "
        f"{'warm':>8} | {'ratio':>7} {'warm':>7} | answers"
    )
    from geo.join import assign_grids

    assign_grids(*make_points(1000), make_cells(50, "voronoi"))  # load the compiled kernels
    ok, worst = True, {}
    for shape in args.shapes:
        for n_cells in args.cells:
            for n in args.points:
                ratio, same = _case(int(n), n_cells, shape, args.repeat)
                ok &= same
                worst[shape] = min(worst.get(shape, np.inf), ratio)
    met = ", ".join(f"{s} {r:.1f}x" for s, r in worst.items())
    print(f"\ntarget >= {TARGET:.0f}x sjoin (cold), smallest ratio per shape: {met}")
    if args.dask:
        ok &= _scale_out(int(args.dask_points), 10000, 8)
    print("answers agree with geopandas.sjoin" if ok else "ANSWERS DIFFER")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
