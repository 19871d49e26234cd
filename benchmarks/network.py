"""Travel-time matrices: patrolgrid (scipy csgraph Dijkstra) against networkx, in the same run.

Run: ``python -m benchmarks.network`` (``--quick`` for K = 100 and 500 only).

Three drive networks, all loaded through ``geo.load_network`` from OSM XML: the real North
Philadelphia extract (``../shared/data/philadelphia``) and two generated cities
(``benchmarks/_city.py``) of about 48,000 nodes: "osm-like", 12 km x 12 km with two shape nodes
per block side (48,000 way nodes, 10,000 junctions after merging pass-through nodes), and
"junctions", 22 km x 22 km with every node a junction (48,000 routing nodes). For K = 100, 500,
2000 points (uniform over the Philadelphia extract; over an 8 km x 8 km station area in the middle
of each generated city) it times:

- ``pg node``: ``net.travel_time_matrix(..., snap_to="node", engine="dijkstra")``, the full
  K x K matrix between the snapped junctions (what networkx can compute too), bounded searches;
- ``unbounded``: the same with ``bounded=False`` (every search covers the whole graph);
- ``pg edge``: the same engine, points snapped onto street segments (the default snapping);
- ``ch node`` / ``ch edge``: ``engine="ch"``, bucket queries on the contraction hierarchy
  (``geo._ch``); its one-off build (then cached on disk) is timed separately, per network;
- ``pandana``: when pandana is installed, its contraction hierarchy on the same junction graph
  (parallel edges reduced to the fastest): one-off build timed per network, then the K x K node
  matrix as K*K ``shortest_path_lengths`` pairs (K <= ``--pandana-max-k``), checked against
  Dijkstra;
- ``networkx``: ``nx.single_source_dijkstra_path_length`` on the whole graph
  ``net.to_networkx("drive")`` from a subsample of sources (``--nx-sources``, default 20),
  extrapolated linearly to K sources (each source's search is independent, so this is fair);
  OSMnx's shortest-path functions call the same networkx routine.

Printed: median wall seconds over ``--repeats`` runs, the CPU seconds of the same runs (the
machine may be shared; CPU time shows the work itself), the ratio networkx / patrolgrid (wall),
and the largest difference between patrolgrid's and networkx's travel times on the subsample
(Dijkstra and CH engines). The bounded and unbounded matrices are checked to be identical.
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

import networkx as nx
import numpy as np

from benchmarks._city import write_city
from geo.network import Network, load_network

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "philadelphia"
OSM = DATA / "temple_north_philly.osm"
KS = (100, 500, 2000)
STATION_M = 8000.0


def _timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), out


def _philly_points(net: Network, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    west, south, east, north = -75.1700, 39.9707, -75.1450, 39.9910  # the extract's <bounds>
    return rng.uniform(west, east, k), rng.uniform(south, north, k)


def _station_points(
    net: Network, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    lon0, lat0 = float(net.nodes["lon"].mean()), float(net.nodes["lat"].mean())
    half = STATION_M / 2
    dx, dy = rng.uniform(-half, half, k), rng.uniform(-half, half, k)
    lat = lat0 + dy / 111_320.0
    lon = lon0 + dx / (111_320.0 * np.cos(np.radians(lat0)))
    return lon, lat


def _pandana_network(graph: Any) -> Any:
    """pandana's contraction hierarchy on the junction graph (None when pandana is missing)."""
    try:
        import pandana
    except ModuleNotFoundError:
        return None
    import pandas as pd

    ids = np.asarray(graph.osmid)  # the node ids snapping returns
    edges = (
        pd.DataFrame({"u": ids[graph.src], "v": ids[graph.dst], "t": graph.time_s})
        .groupby(["u", "v"], as_index=False)["t"]
        .min()
    )
    return pandana.Network(
        pd.Series(graph.x, index=ids),
        pd.Series(graph.y, index=ids),
        edges["u"].to_numpy(),
        edges["v"].to_numpy(),
        edges[["t"]],
        twoway=False,
    )


def run_network(
    name: str,
    net: Network,
    points: Callable[[Network, int, np.random.Generator], tuple[np.ndarray, np.ndarray]],
    ks: tuple[int, ...],
    *,
    repeats: int,
    nx_sources: int,
    pandana_max_k: int = 500,
) -> None:
    """Time both engines on one network for each K and print one row per K."""
    graph = net.graph("drive")
    nx_graph = net.to_networkx("drive")
    print(
        f"\n{name}: {graph.n_way_nodes:,} way nodes -> {graph.n_nodes:,} junctions, "
        f"{len(graph.src):,} directed edges (drive)"
    )
    # engine="auto" on the network as loaded (no hierarchy in memory; one on disk is loaded):
    # the first K = 500 matrix against plain Dijkstra from the same sources.
    lon, lat = points(net, 500, np.random.default_rng(500))
    keep = ~net.snap(lon, lat, "drive").far
    lon, lat = lon[keep], lat[keep]
    first_wall, _, _ = _timed(lambda: net.travel_time_matrix(lon, lat, "drive"), 1)
    plain_wall, _, _ = _timed(
        lambda: net.travel_time_matrix(lon, lat, "drive", engine="dijkstra"), 1
    )
    how = "hierarchy loaded from disk" if "drive" in net._hierarchies else "Dijkstra"
    print(
        f"first auto {len(lon)} x {len(lon)} matrix: {first_wall:.2f} s wall ({how}); plain "
        f"Dijkstra {plain_wall:.2f} s: {first_wall / plain_wall:.2f}x (at most 2x asked)"
    )
    build_wall, build_cpu, _ = _timed(lambda: net.hierarchy("drive"), 1)
    print(
        f"contraction hierarchy built in {build_wall:.1f} s wall, {build_cpu:.1f} s CPU "
        f"({net.hierarchy('drive').n_edges:,} upward edges; once per network and mode, "
        "then cached on disk)"
    )
    pdn_wall, pdn_cpu, pdn = _timed(lambda: _pandana_network(graph), 1)
    if pdn is not None:
        print(
            f"pandana contraction hierarchy built in {pdn_wall:.1f} s wall, {pdn_cpu:.1f} s CPU "
            f"(against {build_wall:.1f} s for geo._ch)"
        )
    header = (
        f"{'K':>6} {'pg node s':>10} {'pg cpu s':>9} {'unbounded s':>12} {'pg edge s':>10} "
        f"{'ch node s':>10} {'ch cpu s':>9} {'ch edge s':>10} "
        f"{'nx s (extrap.)':>15} {'nx srcs':>8} {'ratio':>8} {'ratio ch':>9} {'max |diff| s':>13}"
    )
    print(header)
    for k in ks:
        rng = np.random.default_rng(k)
        lon, lat = points(net, k, rng)
        snap = net.snap(lon, lat, "drive")
        keep = ~snap.far
        lon, lat = lon[keep], lat[keep]
        nodes = snap.node[keep]
        reps = repeats if k <= 500 else 1
        wall, cpu, times = _timed(
            lambda lon=lon, lat=lat: net.travel_time_matrix(
                lon, lat, "drive", snap_to="node", engine="dijkstra"
            ),
            reps,
        )
        edge_wall, _, edge = _timed(
            lambda lon=lon, lat=lat: net.travel_time_matrix(lon, lat, "drive", engine="dijkstra"),
            reps,
        )
        assert isinstance(times, np.ndarray)
        full_wall, _, full = _timed(
            lambda lon=lon, lat=lat: net.travel_time_matrix(
                lon, lat, "drive", snap_to="node", bounded=False, engine="dijkstra"
            ),
            1,
        )
        ch_wall, ch_cpu, ch_times = _timed(
            lambda lon=lon, lat=lat: net.travel_time_matrix(
                lon, lat, "drive", snap_to="node", engine="ch"
            ),
            repeats,
        )
        ch_edge_wall, _, ch_edge = _timed(
            lambda lon=lon, lat=lat: net.travel_time_matrix(lon, lat, "drive", engine="ch"),
            repeats,
        )
        assert isinstance(ch_times, np.ndarray)
        assert isinstance(ch_edge, np.ndarray)
        assert isinstance(edge, np.ndarray)
        engines = max(np.abs(ch_times - times).max(), np.abs(ch_edge - edge).max())
        assert engines <= 1e-6, f"CH and Dijkstra engines differ by {engines} s"
        assert np.array_equal(full, times), "bounded and unbounded searches disagree"
        if pdn is not None and len(nodes) <= pandana_max_k:
            n_k = len(nodes)
            orig, dest = np.repeat(nodes, n_k), np.tile(nodes, n_k)
            pdn_k_wall, pdn_k_cpu, pdn_times = _timed(
                lambda orig=orig, dest=dest, n=n_k: np.asarray(
                    pdn.shortest_path_lengths(orig, dest, imp_name="t")
                ).reshape(n, n),
                repeats,
            )
            pdn_diff = float(np.abs(np.asarray(pdn_times) - times).max())
            print(
                f"{'':>6} pandana node K={len(nodes)}: {pdn_k_wall:.3f} s wall, {pdn_k_cpu:.3f} s "
                f"CPU; geo._ch node {ch_wall:.3f} s; pandana / geo._ch {pdn_k_wall / ch_wall:.1f}x "
                f"(max |diff| vs Dijkstra {pdn_diff:.2e} s)"
            )
        sample = rng.choice(len(nodes), size=min(nx_sources, len(nodes)), replace=False)
        diff = 0.0
        start = time.perf_counter()
        for i in sample:
            dist = nx.single_source_dijkstra_path_length(
                nx_graph, int(nodes[i]), weight="travel_time"
            )
            expected = np.array([dist[int(n)] for n in nodes])
            diff = max(diff, float(np.abs(times[i] - expected).max()))
            diff = max(diff, float(np.abs(ch_times[i] - expected).max()))
        nx_s = (time.perf_counter() - start) * len(nodes) / len(sample)
        print(
            f"{len(nodes):>6} {wall:>10.3f} {cpu:>9.3f} {full_wall:>12.3f} {edge_wall:>10.3f} "
            f"{ch_wall:>10.3f} {ch_cpu:>9.3f} {ch_edge_wall:>10.3f} {nx_s:>15.2f} "
            f"{len(sample):>8} {nx_s / wall:>7.0f}x {nx_s / ch_wall:>8.0f}x {diff:>13.2e}"
        )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K = 100 and 500 only")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (K <= 500)")
    parser.add_argument("--nx-sources", type=int, default=20, help="networkx sources timed")
    parser.add_argument(
        "--pandana-max-k", type=int, default=500, help="largest K given to pandana (K*K pairs)"
    )
    parser.add_argument("--work", type=Path, default=None, help="folder for the city file + cache")
    args = parser.parse_args(argv)
    ks = KS[:2] if args.quick else KS
    print(f"cpus: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="patrolgrid-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        phl = load_network(OSM, cache_dir=work / "cache")
        print(f"North Philadelphia loaded in {time.perf_counter() - started:.1f} s")
        run_network(
            "North Philadelphia (OSM)",
            phl,
            _philly_points,
            ks,
            repeats=args.repeats,
            nx_sources=args.nx_sources,
            pandana_max_k=args.pandana_max_k,
        )
        cities = {
            "osm-like": {"n": 100, "block_m": 120.0, "between": 2},
            "junctions": {"n": 220, "block_m": 100.0, "between": 0},
        }
        for label, shape in cities.items():
            city_file = work / f"city_{label}.osm"
            if not city_file.exists():
                write_city(city_file, **shape)
            started = time.perf_counter()
            city = load_network(city_file, cache_dir=work / "cache")
            city.graph("drive")
            print(f"\ncity {label} loaded in {time.perf_counter() - started:.1f} s")
            run_network(
                f"generated city ({label}), 8 km x 8 km station area",
                city,
                _station_points,
                ks,
                repeats=args.repeats,
                nx_sources=args.nx_sources,
                pandana_max_k=args.pandana_max_k,
            )
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
