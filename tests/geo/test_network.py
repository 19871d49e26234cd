"""Street networks: building from OSM files, snapping, matrices, paths and stops."""

from __future__ import annotations

import bz2
import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo import NetworkError, load_network
from geo.network import Network
from tests.conftest import PHL

OSM = PHL / "temple_north_philly.osm"
# a box well inside the North Philadelphia extract (Temple University)
WEST, EAST, SOUTH, NORTH = -75.168, -75.147, 39.972, 39.990


def _osm_xml(nodes: dict[int, tuple[float, float]], ways: list[tuple[int, list[int], dict]]) -> str:
    """A small OSM XML document from node coordinates and tagged ways."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    lines += [f'  <node id="{i}" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in nodes.items()]
    for way_id, refs, tags in ways:
        lines.append(f'  <way id="{way_id}">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines)


def _ladder(tmp: Path) -> Path:
    """Two parallel east-west streets 200 m apart joined at both ends; the north one is one-way west->east.

    Nodes 1-2-3 (south, two-way), 4-5-6 (north, one-way 4->5->6), rungs 1-4 and 3-6 (two-way).
    """
    dlon = 0.0012  # ~100 m at 40 N
    dlat = 0.0018  # ~200 m
    nodes = {
        1: (-75.16, 39.98),
        2: (-75.16 + dlon, 39.98),
        3: (-75.16 + 2 * dlon, 39.98),
        4: (-75.16, 39.98 + dlat),
        5: (-75.16 + dlon, 39.98 + dlat),
        6: (-75.16 + 2 * dlon, 39.98 + dlat),
    }
    ways = [
        (10, [1, 2, 3], {"highway": "residential"}),
        (11, [4, 5, 6], {"highway": "residential", "oneway": "yes"}),
        (12, [1, 4], {"highway": "residential"}),
        (13, [3, 6], {"highway": "residential"}),
    ]
    path = tmp / "ladder.osm"
    path.write_text(_osm_xml(nodes, ways))
    return path


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("network-cache")


@pytest.fixture(scope="module")
def phl(cache: Path) -> Network:
    """The North Philadelphia network (parsed once per module, cached)."""
    return load_network(OSM, cache_dir=cache)


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Network:
    return load_network(_ladder(tmp_path_factory.mktemp("ladder")))


def _points(seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(WEST, EAST, k), rng.uniform(SOUTH, NORTH, k)


def _reference_with_points(net: Network, mode: str, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """networkx times between snapped points, each point spliced into its street segment as a node."""
    segments = net.edges(mode)
    snap = net.snap(lon, lat, mode)
    on_segment: dict[int, list[tuple[float, object]]] = {}
    for i, (seg, t) in enumerate(zip(snap.segment, snap.fraction, strict=True)):
        on_segment.setdefault(int(seg), []).append((float(t), ("p", i)))
    g = nx.DiGraph()

    def add(a: object, b: object, w: float) -> None:
        if a != b and (not g.has_edge(a, b) or g[a][b]["w"] > w):
            g.add_edge(a, b, w=w)

    for seg, row in enumerate(segments.itertuples()):
        chain = [(0.0, int(row.u)), *sorted(on_segment.get(seg, [])), (1.0, int(row.v))]
        for (ta, na), (tb, nb) in itertools.pairwise(chain):
            if np.isfinite(row.time_uv_s):
                add(na, nb, (tb - ta) * row.time_uv_s)
            if np.isfinite(row.time_vu_s):
                add(nb, na, (tb - ta) * row.time_vu_s)
    out = np.empty((len(lon), len(lon)))
    for i in range(len(lon)):
        dist = nx.single_source_dijkstra_path_length(g, ("p", i), weight="w")
        out[i] = [dist[("p", j)] for j in range(len(lon))]
    return out


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), mode=st.sampled_from(["drive", "walk", "bike"]))
def test_node_matrix_equals_networkx(phl: Network, seed: int, mode: str) -> None:
    """Between snapped nodes, the matrix equals networkx Dijkstra on to_networkx() within 1e-6 s."""
    lon, lat = _points(seed, 12)
    snap = phl.snap(lon, lat, mode)
    times = phl.travel_time_matrix(lon, lat, mode, snap_to="node")
    g = phl.to_networkx(mode)
    for i in range(3):
        dist = nx.single_source_dijkstra_path_length(g, int(snap.node[i]), weight="travel_time")
        expected = np.array([dist[int(n)] for n in snap.node])
        np.testing.assert_allclose(times[i], expected, rtol=0, atol=1e-6)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), mode=st.sampled_from(["drive", "walk"]))
def test_edge_matrix_equals_networkx_with_points_inserted(
    phl: Network, seed: int, mode: str
) -> None:
    """Edge snapping: times equal networkx on the graph with each point spliced into its segment."""
    lon, lat = _points(seed, 8)
    # put two points on the same street to exercise travel along a shared segment
    lon[1], lat[1] = lon[0] + 2e-5, lat[0]
    times = phl.travel_time_matrix(lon, lat, mode)
    expected = _reference_with_points(phl, mode, lon, lat)
    np.testing.assert_allclose(times, expected, rtol=0, atol=1e-6)


def test_distance_matrix_follows_fastest_paths(phl: Network) -> None:
    """distance_matrix is the length of networkx's fastest path (node snapping), within 1e-6 m."""
    lon, lat = _points(7, 20)
    snap = phl.snap(lon, lat, "drive")
    times, dists = phl.matrices(lon, lat, "drive", snap_to="node")
    g = phl.to_networkx("drive")
    _, paths = nx.single_source_dijkstra(g, int(snap.node[0]), weight="travel_time")
    expected = [nx.path_weight(g, paths[int(n)], "length") for n in snap.node]
    np.testing.assert_allclose(dists[0], expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(times, phl.travel_time_matrix(lon, lat, "drive", snap_to="node"))


@pytest.mark.parametrize("mode", ["drive", "walk", "bike"])
def test_matrices_finite_square_and_zero_diagonal(phl: Network, mode: str) -> None:
    """Every snapped point reaches every other: finite, non-negative, zero on the diagonal."""
    lon, lat = _points(3, 60)
    times = phl.travel_time_matrix(lon, lat, mode)
    assert times.shape == (60, 60)
    assert np.isfinite(times).all()
    assert (times >= 0).all()
    np.testing.assert_allclose(np.diag(times), 0.0, atol=1e-9)


def test_sources_to_targets_is_a_block_of_the_square_matrix(phl: Network) -> None:
    """A sources x targets matrix equals the matching block of the full square matrix."""
    lon, lat = _points(11, 30)
    full = phl.travel_time_matrix(lon, lat, "drive")
    block = phl.travel_time_matrix(lon[:10], lat[:10], "drive", targets=(lon[10:], lat[10:]))
    np.testing.assert_allclose(block, full[:10, 10:], atol=1e-9)


def test_one_way_respected_when_driving_not_walking(ladder: Network) -> None:
    """Driving east->west along the one-way north street must go round; walking goes straight."""
    west, east = (-75.16 + 0.0001, 39.9818), (-75.16 + 0.0023, 39.9818)
    lon, lat = [west[0], east[0]], [west[1], east[1]]
    drive = ladder.travel_time_matrix(lon, lat, "drive")
    walk = ladder.travel_time_matrix(lon, lat, "walk")
    assert drive[1, 0] > 2.5 * drive[0, 1]  # against the one-way: round the block
    np.testing.assert_allclose(walk[0, 1], walk[1, 0], rtol=1e-9)
    # pass-through nodes are merged: junctions 4 and 6 joined by the one-way north street and
    # by the two-way chain 4-1-2-3-6 round the south side
    drive_g = ladder.to_networkx("drive")
    assert drive_g[6][4]["travel_time"] > 2.5 * drive_g[4][6]["travel_time"]
    assert ladder.edges("drive")["oneway"].sum() == 1
    assert not ladder.edges("walk")["oneway"].any()


def test_cached_network_loads_identically(phl: Network, cache: Path) -> None:
    """A second load reads the cache (tables and routing graphs) and answers identically."""
    first = phl  # parsed from the OSM file, wrote the cache
    lon, lat = _points(5, 25)
    expected = {m: first.travel_time_matrix(lon, lat, m) for m in ("walk", "drive")}
    assert len(list(cache.glob("*.parquet"))) == 2
    assert len(list(cache.glob("*.npz"))) >= 2
    second = load_network(OSM, cache_dir=cache)
    assert first.nodes.equals(second.nodes)
    assert first.edge_table.equals(second.edge_table)
    for mode, times in expected.items():
        np.testing.assert_array_equal(times, second.travel_time_matrix(lon, lat, mode))
        assert first.edges(mode).equals(second.edges(mode))
        assert first.path(lon[:3], lat[:3], mode).equals_exact(
            second.path(lon[:3], lat[:3], mode), 0
        )


def test_cache_key_follows_the_speed_table(phl: Network, cache: Path) -> None:
    """Editing the speed table gives different (slower) times, not a stale cached graph."""
    base = phl
    slow_table = base.speeds.copy()
    slow_table["drive_kph"] = slow_table["drive_kph"] / 2
    slow = load_network(OSM, cache_dir=cache, speeds=slow_table, maxspeed_share=0.35)
    lon, lat = _points(6, 10)
    np.testing.assert_allclose(
        slow.travel_time_matrix(lon, lat, "drive"), 2 * base.travel_time_matrix(lon, lat, "drive")
    )


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1), k=st.integers(1, 40), mode=st.sampled_from(["drive", "bike"])
)
def test_bounded_search_is_exact(phl: Network, seed: int, k: int, mode: str) -> None:
    """Bounded searches (hub limits) give exactly the whole-graph answer, times and distances."""
    lon, lat = _points(seed, k)
    bounded = phl.travel_time_matrix(lon, lat, mode)
    full = phl.travel_time_matrix(lon, lat, mode, bounded=False)
    np.testing.assert_array_equal(bounded, full)
    assert np.isfinite(phl.distance_matrix(lon, lat, mode)).all()


@pytest.mark.slow
def test_bz2_loads_same_graph_as_xml(tmp_path: Path, phl: Network) -> None:
    """A .osm.bz2 copy builds the same node and edge tables as the plain XML."""
    packed = tmp_path / "temple.osm.bz2"
    packed.write_bytes(bz2.compress(OSM.read_bytes()))
    net = load_network(packed)
    assert net.nodes.equals(phl.nodes)
    assert net.edge_table.equals(phl.edge_table)


def test_pbf_loads_same_graph_as_xml(tmp_path: Path, phl: Network) -> None:
    """A .osm.pbf made from the XML with osmium builds the same node and edge tables."""
    pbf = tmp_path / "temple.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(OSM)):
            writer.add(obj)
    net = load_network(pbf)
    assert net.nodes.equals(phl.nodes)
    assert net.edge_table.equals(phl.edge_table)


def test_unreadable_pbf_is_one_clear_error(tmp_path: Path) -> None:
    """A file named .osm.pbf that is not PBF raises NetworkError naming the file."""
    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(b"not a pbf file at all")
    with pytest.raises(NetworkError, match=r"broken\.osm\.pbf"):
        load_network(bad)


def test_path_follows_streets_between_snapped_points(phl: Network) -> None:
    """path() starts and ends at the snapped points and is at least as long as the crow flies."""
    lon, lat = _points(9, 4)
    line = phl.path(lon, lat, "drive")
    snap = phl.snap(lon, lat, "drive")
    assert line.coords[0] == pytest.approx((snap.lon[0], snap.lat[0]))
    assert line.coords[-1] == pytest.approx((snap.lon[-1], snap.lat[-1]))
    crow = shapely.LineString(np.column_stack([snap.lon, snap.lat]))
    assert line.length >= crow.length - 1e-12
    assert len(line.coords) > 4


def test_stop_in_polygon_lies_on_a_street_inside(phl: Network) -> None:
    """A block-sized polygon gets a stop inside it, on a routable street (snap distance ~ 0)."""
    cell = shapely.box(-75.1580, 39.9800, -75.1560, 39.9815)
    stop = phl.stop_in_polygon(cell, "drive")
    lon, lat = stop
    assert stop.inside
    assert cell.buffer(1e-9).contains(shapely.Point(lon, lat))
    assert phl.snap([lon], [lat], "drive").distance_m[0] < 0.01


def test_stop_in_polygon_without_streets_is_flagged(phl: Network) -> None:
    """A polygon with no routable street gives the nearest street point, flagged outside."""
    tiny = shapely.Point(-75.1560, 39.9805).buffer(1e-6)
    stop = phl.stop_in_polygon(tiny, "drive")
    assert not stop.inside
    assert stop.distance_m > 0


def test_point_in_another_city_is_reported_not_routed(phl: Network) -> None:
    """A point in Guangzhou is flagged far by snap and refused by the matrix with its index."""
    lon, lat = [-75.156, 113.26], [39.981, 23.13]
    snap = phl.snap(lon, lat, "drive")
    assert snap.far.tolist() == [False, True]
    with pytest.raises(NetworkError, match="index 1"):
        phl.travel_time_matrix(lon, lat, "drive")


def test_osm_without_streets_is_one_clear_error(tmp_path: Path) -> None:
    """An .osm file with only a building raises NetworkError naming the file."""
    path = tmp_path / "building.osm"
    nodes = {1: (-75.16, 39.98), 2: (-75.159, 39.98), 3: (-75.159, 39.981)}
    path.write_text(_osm_xml(nodes, [(5, [1, 2, 3, 1], {"building": "yes"})]))
    with pytest.raises(NetworkError, match=r"building\.osm"):
        load_network(path)


@pytest.mark.slow
def test_polygon_missing_the_network_is_one_clear_error() -> None:
    """A clip polygon in another city raises NetworkError naming the network's extent."""
    far_away = shapely.box(113.2, 23.1, 113.3, 23.2)
    with pytest.raises(NetworkError, match="holds no street"):
        load_network(OSM, polygon=far_away, buffer_m=100)


@pytest.mark.slow
def test_clip_keeps_streets_near_the_polygon(phl: Network) -> None:
    """Clipping to a polygon keeps fewer nodes, all within the polygon plus buffer."""
    cell = shapely.box(-75.160, 39.978, -75.154, 39.984)
    net = load_network(OSM, polygon=cell, buffer_m=200)
    assert 0 < len(net.nodes) < len(phl.nodes)
    pts = shapely.points(net.nodes["lon"], net.nodes["lat"])
    assert shapely.within(pts, cell.buffer(0.004)).all()
