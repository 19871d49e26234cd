"""Tests for geo.join: exactly one leaf grid per point, by a documented rule, fast and exact."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box
from typer.testing import CliRunner, Result

from api.cli import app
from geo.errors import GridError
from geo.incidents import load_incidents
from geo.join import (
    GridIndex,
    assign_grids,
    join_incidents,
    join_summary,
)
from tests.conftest import PHL
from tests.geo.join_oracle import assign_grids_reference


def _names(ids: pd.Categorical) -> list[str | None]:
    """The grid ids as a list, None outside every grid."""
    names = ids.categories.to_numpy(dtype=object)
    return [None if code < 0 else names[code] for code in ids.codes.tolist()]


def _same(got: pd.Categorical, want: pd.Categorical) -> bool:
    """Same categories (the leaf ids in order) and the same code for every point."""
    return got.categories.equals(want.categories) and np.array_equal(got.codes, want.codes)


def _two_level() -> gpd.GeoDataFrame:
    """One district, one street, two communities, four 1x1 leaf grids in a 2x2 block."""
    rows = [
        ("D1", "district", None, box(0, 0, 2, 2)),
        ("S1", "street", "D1", box(0, 0, 2, 2)),
        ("C1", "community", "S1", box(0, 0, 1, 2)),
        ("C2", "community", "S1", box(1, 0, 2, 2)),
        ("g-01", "grid", "C1", box(0, 0, 1, 1)),
        ("g-02", "grid", "C1", box(0, 1, 1, 2)),
        ("g-03", "grid", "C2", box(1, 0, 2, 1)),
        ("g-04", "grid", "C2", box(1, 1, 2, 2)),
    ]
    ids, levels, parents, geoms = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"grid_id": ids, "level": levels, "parent_id": parents, "name": ids},
        geometry=list(geoms),
        crs=4326,
    )


def _voronoi(n: int, seed: int) -> gpd.GeoDataFrame:
    """Irregular cells tiling the unit square (a Voronoi diagram of random sites)."""
    rng = np.random.default_rng(seed)
    sites = shapely.multipoints(rng.uniform(0, 1, (n, 2)))
    frame = box(0, 0, 1, 1)
    cells = shapely.get_parts(shapely.voronoi_polygons(sites, extend_to=frame))
    cells = shapely.intersection(cells, frame)
    ids = [f"v{i:04d}" for i in rng.permutation(len(cells))]
    return gpd.GeoDataFrame({"grid_id": ids}, geometry=cells, crs=4326)


def test_points_inside_get_their_leaf_and_ancestors() -> None:
    """A point inside a leaf gets it, with community, street and district ids."""
    incidents = gpd.GeoDataFrame(
        {"incident_id": ["i1", "i2"]}, geometry=[Point(0.5, 1.5), Point(5, 5)], crs=4326
    )
    joined = join_incidents(incidents, _two_level())
    first = joined.iloc[0]
    assert (first.grid_id, first.community_id, first.street_id, first.district_id) == (
        "g-02", "C1", "S1", "D1",
    )  # fmt: skip
    assert pd.isna(joined.iloc[1].grid_id)
    assert isinstance(joined["grid_id"].dtype, pd.CategoricalDtype)
    assert joined.iloc[1].district_id is None
    assert joined.attrs["join"]["outside"] == 1
    assert join_summary(joined).outside == 1


def test_shared_edge_and_vertex_go_to_the_smallest_grid_id() -> None:
    """On an edge or the vertex shared by all four leaves, the smallest grid_id wins."""
    grids = _two_level()
    lon = np.array([1.0, 1.0, 0.5, 1.0, 2.0, 2.0000001])
    lat = np.array([1.0, 1.5, 1.0, 0.5, 2.0, 2.0])
    got = assign_grids(lon, lat, grids)
    assert _names(got) == ["g-01", "g-02", "g-01", "g-01", "g-04", None]
    assert _same(got, assign_grids_reference(lon, lat, grids))


def test_nan_coordinates_get_none() -> None:
    """NaN coordinates are outside every grid, not an error."""
    got = assign_grids(np.array([np.nan, 0.5]), np.array([0.5, np.nan]), _two_level())
    assert got.codes.tolist() == [-1, -1]


def test_flat_grids_without_hierarchy_columns() -> None:
    """A frame with only grid_id and geometry is one flat level; ancestor columns are None."""
    flat = gpd.GeoDataFrame(
        {"grid_id": ["a", "b"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326
    )
    incidents = gpd.GeoDataFrame({"incident_id": ["x"]}, geometry=[Point(1.5, 0.5)], crs=4326)
    joined = join_incidents(incidents, flat)
    assert _names(joined.grid_id.array) == ["b"]
    assert joined.district_id.tolist() == [None]


def test_projected_grids_are_converted() -> None:
    """Grids in a metric CRS are joined after conversion to EPSG:4326."""
    grids = _two_level().to_crs(3857)
    assert _names(assign_grids(np.array([0.5]), np.array([0.5]), grids)) == ["g-01"]


def _row_of_boxes(ids: list[str]) -> gpd.GeoDataFrame:
    """One unit box per id, side by side, in the order given."""
    cells = [box(k, 0, k + 1, 1) for k in range(len(ids))]
    return gpd.GeoDataFrame({"grid_id": ids}, geometry=cells, crs=4326)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("ab09-_:Z\x00\x01éÿ中\U0001f600 "), max_size=19),
        min_size=2,
        max_size=40,
        unique=True,
    ),
    st.sampled_from(["str", "object", "string[python]"]),
)
def test_grid_ids_are_in_pythons_string_order(ids: list[str], dtype: str) -> None:
    """The index (the answers' categories) holds the ids in Python's string order, whatever
    the column holds, and each box answers with its own id."""
    grids = _row_of_boxes(ids).astype({"grid_id": dtype})
    index = GridIndex.build(grids)
    assert index.grid_ids.tolist() == sorted(ids)
    got = index.assign(np.arange(len(ids)) + 0.5, np.full(len(ids), 0.5))
    assert _names(got) == ids


@pytest.mark.parametrize("ids", [["b", "a", "b"], ["x\x00", "a", "x\x00"], ["p-1", "p-1"]])
def test_repeated_or_missing_ids_are_named(ids: list[str]) -> None:
    """A repeated id (or a missing one) is a clear error that names it."""
    with pytest.raises(GridError, match="more than one"):
        GridIndex.build(_row_of_boxes(ids))
    with pytest.raises(GridError, match="row 1 has no grid_id"):
        GridIndex.build(_row_of_boxes(["a", None, "c"]))  # type: ignore[list-item]


def test_ids_sorted_apart_from_geometry_order_keep_the_rule() -> None:
    """Leaves whose ids run against the frame's order: the geometries are read in the frame's
    order and reordered, and the smallest id still wins on a shared edge."""
    grids = gpd.GeoDataFrame(
        {"grid_id": ["c", "b", "a"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        crs=4326,
    )
    got = assign_grids(np.array([0.5, 1.0, 1.5, 2.0, 2.5]), np.zeros(5) + 0.5, grids)
    assert _names(got) == ["c", "b", "b", "a", "a"]


def test_duplicate_leaf_ids_are_refused() -> None:
    """Two leaves with one id make the answer ambiguous: GridError."""
    grids = gpd.GeoDataFrame(
        {"grid_id": ["a", "a"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326
    )
    with pytest.raises(GridError, match="more than one"):
        assign_grids(np.array([0.5]), np.array([0.5]), grids)


def test_fast_path_equals_reference_on_voronoi_cells() -> None:
    """On 300 irregular cells, 100k random points and every cell vertex agree with the STRtree."""
    grids = _voronoi(300, seed=1)
    rng = np.random.default_rng(2)
    vertices = shapely.get_coordinates(grids.geometry.array)
    lon = np.concatenate([rng.uniform(-0.1, 1.1, 100_000), vertices[:, 0]])
    lat = np.concatenate([rng.uniform(-0.1, 1.1, 100_000), vertices[:, 1]])
    fast = assign_grids(lon, lat, grids)
    assert _same(fast, assign_grids_reference(lon, lat, grids))
    assert (fast.codes[len(fast) - len(vertices) :] >= 0).all()


def test_overlapping_and_holed_grids_agree_with_reference() -> None:
    """Overlaps and holes (invalid tilings) still follow the rule exactly."""
    ring = box(0, 0, 4, 4).difference(box(1, 1, 3, 3))
    grids = gpd.GeoDataFrame(
        {"grid_id": ["ring", "inner", "big"]},
        geometry=[ring, box(1.5, 1.5, 2.5, 2.5), box(-1, -1, 1.2, 5)],
        crs=4326,
    )
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(-2, 5, 50_000), rng.uniform(-2, 6, 50_000)
    assert _same(assign_grids(lon, lat, grids), assign_grids_reference(lon, lat, grids))


def test_regular_lattice_agrees_with_reference() -> None:
    """Axis-aligned equal squares (corners and edges shared everywhere, one cell missing):
    the reference's answers at every corner, on edges and anywhere near."""
    xs, ys = np.meshgrid(np.arange(30) * 0.01, np.arange(20) * 0.01)
    cells = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 0.01, ys.ravel() + 0.01)
    cells = np.delete(cells, 17)  # one missing cell: a hole in the lattice
    ids = [f"q{i:03d}" for i in np.random.default_rng(9).permutation(len(cells))]
    grids = gpd.GeoDataFrame({"grid_id": ids}, geometry=cells, crs=4326)
    rng = np.random.default_rng(10)
    corners = shapely.get_coordinates(grids.geometry.array)
    lon = np.concatenate([rng.uniform(-0.02, 0.32, 50_000), corners[:, 0], corners[:, 0] + 0.005])
    lat = np.concatenate([rng.uniform(-0.02, 0.22, 50_000), corners[:, 1], corners[:, 1]])
    lon[::4999] = np.nan
    assert _same(assign_grids(lon, lat, grids), assign_grids_reference(lon, lat, grids))


def test_index_is_reusable() -> None:
    """A GridIndex built once answers like assign_grids on the frame."""
    grids = _voronoi(50, seed=4)
    index = GridIndex.build(grids)
    lon, lat = np.linspace(0, 1, 500), np.linspace(1, 0, 500)
    assert _same(index.assign(lon, lat), assign_grids(lon, lat, grids))


_GRIDS = _voronoi(40, seed=5)
_VERTICES = shapely.get_coordinates(_GRIDS.geometry.array)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.floats(-0.2, 1.2), st.floats(-0.2, 1.2)),
            st.integers(0, len(_VERTICES) - 1).map(lambda i: tuple(_VERTICES[i])),
        ),
        min_size=1,
        max_size=60,
    ),
    st.randoms(use_true_random=False),
)
def test_result_does_not_depend_on_row_order(
    points: list[tuple[float, float]], rnd: object
) -> None:
    """Shuffling the incidents shuffles the answers the same way (vertices included)."""
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    order = np.arange(len(points))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    before = assign_grids(lon, lat, _GRIDS)
    after = assign_grids(lon[order], lat[order], _GRIDS)
    assert np.array_equal(after.codes, before.codes[order])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 4), st.integers(0, 4), st.floats(0, 1), st.booleans())
def test_points_on_shared_edges_go_to_exactly_one_grid(
    i: int, j: int, t: float, vertical: bool
) -> None:
    """A point on an edge of a 5x5 lattice gets exactly one of the cells that cover it."""
    cells = [box(x, y, x + 1, y + 1) for x in range(5) for y in range(5)]
    grids = gpd.GeoDataFrame(
        {"grid_id": [f"c{k:02d}" for k in range(25)]}, geometry=cells, crs=4326
    )
    lon, lat = (float(i), j + t) if vertical else (i + t, float(j))
    got = _names(assign_grids(np.array([lon]), np.array([lat]), grids))[0]
    covering = sorted(
        g for g, c in zip(grids.grid_id, cells, strict=True) if c.covers(Point(lon, lat))
    )
    assert got == covering[0]


def test_philadelphia_districts_match_dc_dist(phl_dir: Path) -> None:
    """Joining the 2025 incidents to police districts gives DIST_NUM == dc_dist for >= 95%."""
    districts = gpd.read_file(PHL / "phl_police_districts.geojson")
    districts["grid_id"] = districts["DIST_NUM"].astype(str)
    incidents = load_incidents(PHL / "phl_incidents_2025-01.csv").incidents
    joined = join_incidents(incidents, districts)
    located = joined[joined["grid_id"].notna()]
    agree = (located["grid_id"] == located["dc_dist"].astype(int).astype(str)).mean()
    assert agree >= 0.95
    assert joined.attrs["join"]["outside"] == len(joined) - len(located)


def _invoke(args: list[str]) -> Result:
    return CliRunner().invoke(app, ["join", *args])


def test_cli_writes_every_input_row(phl_dir: Path, tmp_path: Path) -> None:
    """`patrolgrid join` writes one row per input row (rejected ones with no grid) and rejects."""
    out, rejects = tmp_path / "out.csv", tmp_path / "rejects.csv"
    result = _invoke([
        "--grids", str(PHL / "phl_police_districts.geojson"),
        "--incidents", str(PHL / "phl_incidents_2025-01.csv"),
        "--out", str(out), "--rejects", str(rejects),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype=str)
    assert list(table.columns) == [
        "incident_id",
        "grid_id",
        "community_id",
        "street_id",
        "district_id",
    ]
    assert len(table) == 7874
    source = pd.read_csv(PHL / "phl_incidents_2025-01.csv", dtype=str)
    assert (
        table["incident_id"].tolist()
        == source["dc_key"].str.replace(r"\.0+$", "", regex=True).tolist()
    )
    assert len(pd.read_csv(rejects)) == table["grid_id"].isna().sum() - 3


def test_cli_bad_input_is_one_line(tmp_path: Path) -> None:
    """A missing grids file exits 2 with a one-line error naming it."""
    result = _invoke(
        ["--grids", str(tmp_path / "none.geojson"), "--incidents", "x.csv", "--out", "o.csv"]
    )
    assert result.exit_code == 2
    assert "none.geojson" in result.output
    assert "Traceback" not in result.output


def _generated(shape: str) -> gpd.GeoDataFrame:
    """Cells ``geo.gridgen`` makes in two neighbouring areas sharing an edge (clipped cells)."""
    from geo.gridgen import make_grid, make_h3_grid

    area = gpd.GeoDataFrame(
        {"grid_id": ["a", "b"]},
        geometry=[box(-75.17, 39.95, -75.155, 39.965), box(-75.155, 39.95, -75.14, 39.965)],
        crs=4326,
    )
    if shape == "h3":
        return make_h3_grid(area, resolution=9)
    return make_grid(area, cell_m=200.0, shape=shape)  # type: ignore[arg-type]


_SHAPES = {shape: _generated(shape) for shape in ("square", "hex", "h3")}
_SHAPES["voronoi"] = _voronoi(300, seed=7)


def _boundary_points(grids: gpd.GeoDataFrame, rng: np.random.Generator, n: int) -> np.ndarray:
    """Vertices, points on edges (exact and rounded) and random points near the cells."""
    coords = shapely.get_coordinates(shapely.boundary(grids.geometry.to_numpy()))
    vertices = coords[rng.integers(0, len(coords), n)]
    k = rng.integers(0, len(coords) - 1, n)
    t = rng.uniform(0, 1, (n, 1))
    on_edges = coords[k] + t * (coords[k + 1] - coords[k])
    xmin, ymin, xmax, ymax = grids.total_bounds
    pad = 0.05 * (xmax - xmin)
    uniform = np.column_stack(
        [rng.uniform(xmin - pad, xmax + pad, n), rng.uniform(ymin - pad, ymax + pad, n)]
    )
    return np.concatenate([vertices, on_edges, uniform])


@pytest.mark.parametrize("shape", ["square", "hex", "h3", "voronoi"])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_fast_path_equals_reference_on_generated_cells(shape: str, seed: int) -> None:
    """For make_grid squares and hexagons, H3 cells and Voronoi cells, points at vertices, on
    shared edges and anywhere near get exactly the reference's (STRtree + GEOS) answer."""
    grids = _SHAPES[shape]
    xy = _boundary_points(grids, np.random.default_rng(seed), 400)
    got = assign_grids(xy[:, 0], xy[:, 1], grids)
    want = assign_grids_reference(xy[:, 0], xy[:, 1], grids)
    assert _same(got, want)
    index = GridIndex.build(grids, points=10)  # coarse bins: most points tested exactly
    assert _same(index.assign(xy[:, 0], xy[:, 1]), want)


@pytest.mark.parametrize("shape", ["square", "hex", "h3"])
def test_generated_tilings_answer_like_the_reference(shape: str) -> None:
    """make_grid squares and hexagons (cells split between two parents, clipped cells) and H3
    cells answer exactly like the reference at vertices, on edges and anywhere near, NaN
    coordinates spread through the batch."""
    grids = _SHAPES[shape]
    xy = _boundary_points(grids, np.random.default_rng(11), 5000)
    xy[::997] = np.nan
    want = assign_grids_reference(xy[:, 0], xy[:, 1], grids)
    assert _same(GridIndex.build(grids).assign(xy[:, 0], xy[:, 1]), want)


def test_utm_squares_over_a_city_agree_with_reference() -> None:
    """Squares laid out in a UTM zone (warped quadrilaterals in lon/lat) over a city, with the
    benchmark's clustered points and points on their boundaries."""
    from benchmarks.join import make_cells, make_points

    grids = make_cells(3000, "square")
    lon, lat = make_points(100_000)
    xy = np.concatenate(
        [np.column_stack([lon, lat]), _boundary_points(grids, np.random.default_rng(12), 5000)]
    )
    want = assign_grids_reference(xy[:, 0], xy[:, 1], grids)
    assert _same(assign_grids(xy[:, 0], xy[:, 1], grids), want)


@pytest.mark.parametrize("change", ["duplicate", "shifted", "shrunk"])
def test_a_broken_tiling_still_gets_the_references_answers(change: str) -> None:
    """A duplicated cell (an overlap), a cell moved by a third of its size, or one shrunk:
    the answers are the reference's."""
    grids = _SHAPES["hex"].copy()
    geoms = grids.geometry.to_numpy().copy()
    k = int(np.argmax(shapely.area(geoms)))
    cell = geoms[k]
    if change == "duplicate":
        extra = gpd.GeoDataFrame({"grid_id": ["zz-copy"]}, geometry=[cell], crs=4326)
        grids = pd.concat([grids, extra], ignore_index=True)
    else:
        size = np.sqrt(cell.area)
        moved = (
            shapely.affinity.translate(cell, xoff=size / 3)
            if change == "shifted"
            else shapely.affinity.scale(cell, 0.6, 0.6)
        )
        geoms[k] = moved
        grids = grids.set_geometry(geoms)
    xy = _boundary_points(grids, np.random.default_rng(13), 4000)
    want = assign_grids_reference(xy[:, 0], xy[:, 1], grids)
    assert _same(assign_grids(xy[:, 0], xy[:, 1], grids), want)
