"""Contraction hierarchy: the same fastest times (and path lengths) as scipy's Dijkstra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from benchmarks._city import write_city
from geo import NetworkError, load_network
from geo import network as network_module
from geo._ch import build_hierarchy, load_hierarchy, save_hierarchy
from geo._ch_query import many_to_many
from geo.network import Mode, Network, SnapTo
from tests.conftest import PHL

OSM = PHL / "temple_north_philly.osm"
WEST, EAST, SOUTH, NORTH = -75.168, -75.147, 39.972, 39.990
TOL = 1e-6


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ch-cache")


@pytest.fixture(scope="module")
def phl(cache: Path) -> Network:
    """The North Philadelphia network (parsed once per module, cached)."""
    if not OSM.is_file():
        pytest.skip(f"{OSM} is not available")
    return load_network(OSM, cache_dir=cache)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Network:
    """A generated 24 x 24-junction city with one-way streets and missing blocks."""
    path = tmp_path_factory.mktemp("ch-city") / "city.osm"
    write_city(path, n=24, block_m=100.0, between=1, oneway_share=0.5, seed=3)
    return load_network(path)


def _random_graph(
    seed: int, n: int, extra: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    u = rng.integers(0, n, size=n + extra)
    v = np.concatenate([(np.arange(n) + 1) % n, rng.integers(0, n, size=extra)])
    u[:n] = np.arange(n)  # a directed ring keeps most of it connected one way only
    keep = u != v
    u, v = u[keep], v[keep]
    w = rng.choice([1.0, 2.0, 2.5, 7.0], size=len(u)) * rng.uniform(0.5, 1.5, size=len(u))
    return u, v, w, w * rng.uniform(5.0, 15.0, size=len(u))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 60), extra=st.integers(0, 150))
def test_node_to_node_times_equal_dijkstra(seed: int, n: int, extra: int) -> None:
    """On random digraphs (parallel edges, one-way only rings) CH times equal Dijkstra's, inf included."""
    u, v, w, length = _random_graph(seed, n, extra)
    h = build_hierarchy(n, u, v, w, length)
    nodes = np.column_stack([np.arange(n), np.full(n, -1)])
    cost = np.column_stack([np.zeros(n), np.full(n, np.inf)])
    times, lengths = many_to_many(h, nodes, cost, np.zeros((n, 2)), nodes, cost, np.zeros((n, 2)))
    # scipy sums parallel entries: keep the fastest of each pair
    order = np.lexsort((w, v, u))
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[order][1:] != u[order][:-1]) | (v[order][1:] != v[order][:-1])
    pick = order[first]
    csr = sp.csr_matrix((w[pick], (u[pick], v[pick])), shape=(n, n))
    expected, pred = dijkstra(csr, return_predecessors=True)
    assert np.array_equal(np.isfinite(times), np.isfinite(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(times[finite], expected[finite], rtol=0, atol=TOL)
    # lengths of the fastest paths, walking scipy's predecessor trees (no ties: random weights)
    lookup = {
        (int(a), int(b)): float(m) for a, b, m in zip(u[pick], v[pick], length[pick], strict=True)
    }
    for i, j in zip(*np.nonzero(finite), strict=True):
        walked, cur = 0.0, int(j)
        while cur != i:
            walked += lookup[(int(pred[i, cur]), cur)]
            cur = int(pred[i, cur])
        assert abs(lengths[i, j] - walked) <= TOL


def test_one_way_street_is_not_driven_backwards() -> None:
    """0 -> 1 is one-way: 1 -> 0 must go round through 2 (and the length follows that detour)."""
    u, v = np.array([0, 1, 2, 2]), np.array([1, 2, 0, 1])
    w = np.array([1.0, 1.0, 1.0, 5.0])
    h = build_hierarchy(3, u, v, w, 10 * w)
    nodes = np.column_stack([np.arange(3), np.full(3, -1)])
    cost = np.column_stack([np.zeros(3), np.full(3, np.inf)])
    times, lengths = many_to_many(h, nodes, cost, np.zeros((3, 2)), nodes, cost, np.zeros((3, 2)))
    assert times[0, 1] == 1.0
    assert times[1, 0] == 2.0  # 1 -> 2 -> 0
    assert lengths[1, 0] == 20.0
    assert times[2, 1] == 2.0  # 2 -> 0 -> 1 beats the direct 5 s edge
    assert lengths[2, 1] == 20.0


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 40),
    mode=st.sampled_from(["drive", "walk", "bike"]),
    snap_to=st.sampled_from(["edge", "node"]),
)
def test_philadelphia_matrices_equal_dijkstra(
    phl: Network, seed: int, k: int, mode: Mode, snap_to: SnapTo
) -> None:
    """On North Philadelphia, CH times and lengths equal the scipy engine's within 1e-6."""
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(WEST, EAST, k), rng.uniform(SOUTH, NORTH, k)
    lon[-1], lat[-1] = lon[0] + 2e-5, lat[0]  # two points on one street
    t_ch, d_ch = phl.matrices(lon, lat, mode, snap_to=snap_to, engine="ch")
    t_dj, d_dj = phl.matrices(lon, lat, mode, snap_to=snap_to, engine="dijkstra")
    np.testing.assert_allclose(t_ch, t_dj, rtol=0, atol=TOL)
    np.testing.assert_allclose(d_ch, d_dj, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("mode", ["drive", "walk"])
def test_generated_city_matrices_equal_dijkstra(city: Network, seed: int, mode: Mode) -> None:
    """On a generated city with many one-way streets, CH sources -> targets equal Dijkstra's."""
    rng = np.random.default_rng(seed)
    lon0, lat0 = float(city.nodes["lon"].mean()), float(city.nodes["lat"].mean())
    lon = lon0 + rng.uniform(-0.01, 0.01, 50)
    lat = lat0 + rng.uniform(-0.01, 0.01, 50)
    targets = (lon[30:], lat[30:])
    ch = city.travel_time_matrix(lon[:30], lat[:30], mode, targets=targets, engine="ch")
    dj = city.travel_time_matrix(lon[:30], lat[:30], mode, targets=targets, engine="dijkstra")
    np.testing.assert_allclose(ch, dj, rtol=0, atol=TOL)
    if mode == "drive":  # one-way streets make some trips longer one way than back
        square = city.travel_time_matrix(lon, lat, mode, engine="ch")
        assert np.abs(square - square.T).max() > 1.0


def test_auto_engine_builds_the_hierarchy_only_when_it_pays(
    monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    """engine="auto" answers large matrices with Dijkstra until the sources it has run would pay
    for building the hierarchy, then builds it and answers from it (Dijkstra's answers within
    1e-6 s); a network whose hierarchy is cached on disk answers from it at once."""
    monkeypatch.setattr(network_module, "_CH_BUILD_SOURCES", 250)
    net = load_network(OSM)  # no cache folder
    rng = np.random.default_rng(11)
    lon, lat = rng.uniform(WEST, EAST, 100), rng.uniform(SOUTH, NORTH, 100)
    first = net.travel_time_matrix(lon, lat, "drive")  # 100 sources run
    again = net.travel_time_matrix(lon, lat, "drive")  # 200
    assert "drive" not in net._hierarchies
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(
        first, net.travel_time_matrix(lon, lat, "drive", engine="dijkstra")
    )
    third = net.travel_time_matrix(lon, lat, "drive")  # 300 >= 250: built now
    assert "drive" in net._hierarchies
    np.testing.assert_allclose(third, first, rtol=0, atol=TOL)
    small = net.travel_time_matrix(lon[:5], lat[:5], "drive")  # < 10,000 pairs: Dijkstra
    np.testing.assert_array_equal(small, first[:5, :5])
    load_network(OSM, cache_dir=cache).hierarchy("bike")  # written to the cache folder
    cached = load_network(OSM, cache_dir=cache)
    cached.travel_time_matrix(lon, lat, "bike")
    assert "bike" in cached._hierarchies


def test_hierarchy_is_cached_next_to_the_graph(phl: Network, cache: Path) -> None:
    """The hierarchy is written to the cache folder and a second network loads it unchanged."""
    first = phl.hierarchy("walk")
    files = list(cache.glob("*.walk.ch-1.npz"))
    assert len(files) == 1
    again = load_network(OSM, cache_dir=cache).hierarchy("walk")
    for name in ("rank", "up_ptr", "up_to", "up_w", "down_ptr", "down_to", "down_w"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    """save_hierarchy / load_hierarchy keep every array."""
    u, v, w, length = _random_graph(5, 30, 40)
    h = build_hierarchy(30, u, v, w, length)
    save_hierarchy(h, tmp_path / "h.npz")
    back = load_hierarchy(tmp_path / "h.npz")
    assert back.n_edges == h.n_edges
    np.testing.assert_array_equal(back.up_l, h.up_l)
    np.testing.assert_array_equal(back.down_w, h.down_w)


def test_unknown_engine_is_one_clear_error(phl: Network) -> None:
    """A misspelt engine raises NetworkError naming the choices."""
    with pytest.raises(NetworkError, match="engine"):
        phl.travel_time_matrix([-75.16], [39.98], "drive", engine="fast")  # type: ignore[arg-type]
