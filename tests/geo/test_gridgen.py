"""geo.gridgen: generated cells tile their area, with ids that never depend on row order."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from geo.errors import GridError
from geo.gridgen import cell_size_for_households, make_grid, make_h3_grid
from geo.grids import clip_grids, load_grids, nest_levels
from geo.hierarchy import leaf_grids
from tests.conftest import PHL

LON, LAT = -75.16, 39.98  # North Philadelphia


def _areas() -> gpd.GeoDataFrame:
    """Two neighbouring areas: a rectangle and an irregular pentagon sharing part of an edge."""
    return gpd.GeoDataFrame(
        {"grid_id": ["west", "east"], "households": [1200.0, 300.0]},
        geometry=[
            box(LON, LAT, LON + 0.012, LAT + 0.009),
            Polygon(
                [
                    (LON + 0.012, LAT),
                    (LON + 0.025, LAT + 0.002),
                    (LON + 0.022, LAT + 0.011),
                    (LON + 0.015, LAT + 0.008),
                    (LON + 0.012, LAT + 0.006),
                ]
            ),
        ],
        crs=4326,
    )


def _assert_tiles(cells: gpd.GeoDataFrame, area: gpd.GeoDataFrame) -> None:
    """Cells of each area row cover it with no gap and no overlap (in EPSG:4326, exactly)."""
    for row in area.itertuples():
        own = cells.loc[cells["parent_id"] == row.grid_id]
        geoms = own.geometry.to_numpy()
        union = shapely.union_all(geoms)
        target = row.geometry.area
        assert (
            shapely.symmetric_difference(union, row.geometry).area
            < 1e-12 * max(target, 1e-9) + 1e-16
        )
        assert shapely.area(geoms).sum() == pytest.approx(target, rel=1e-9)
        assert shapely.is_valid(geoms).all()


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_cells_tile_each_area(shape: str) -> None:
    """Square and hex cells inside each area row tile it: union equals the area, areas sum, no overlap."""
    area = _areas()
    cells = make_grid(area, cell_m=200, shape=shape)
    _assert_tiles(cells, area)
    assert set(cells["level"]) == {"grid"}
    assert cells["grid_id"].is_unique
    assert all(
        g.startswith(f"{p}:{'sq' if shape == 'square' else 'hx'}200:")
        for g, p in zip(cells["grid_id"], cells["parent_id"], strict=True)
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dx=st.floats(0.001, 0.03),
    dy=st.floats(0.001, 0.03),
    ox=st.floats(-0.05, 0.05),
    oy=st.floats(-0.05, 0.05),
    cell_m=st.sampled_from([90.0, 150.0, 250.0, 400.0]),
    shape=st.sampled_from(["square", "hex"]),
)
def test_cells_tile_random_boxes(
    dx: float, dy: float, ox: float, oy: float, cell_m: float, shape: str
) -> None:
    """Property: for any box and cell size, the generated cells tile the box exactly."""
    area = gpd.GeoDataFrame(
        {"grid_id": ["z"]},
        geometry=[box(LON + ox, LAT + oy, LON + ox + dx, LAT + oy + dy)],
        crs=4326,
    )
    _assert_tiles(make_grid(area, cell_m=cell_m, shape=shape), area)  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_every_point_in_exactly_one_cell(shape: str) -> None:
    """Property: random points inside the area lie in the interior of at most one cell and are
    covered by at least one (exactly one unless on a shared edge)."""
    area = _areas()
    cells = make_grid(area, cell_m=150, shape=shape)
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = area.total_bounds
    points = shapely.points(rng.uniform(minx, maxx, 4000), rng.uniform(miny, maxy, 4000))
    union = shapely.union_all(area.geometry.to_numpy())
    points = points[shapely.contains_properly(union, points)]
    tree = shapely.STRtree(cells.geometry.to_numpy())
    inner_pts, _ = tree.query(points, predicate="within")
    cover_pts, _ = tree.query(points, predicate="intersects")
    assert np.bincount(inner_pts, minlength=len(points)).max() <= 1
    assert np.bincount(cover_pts, minlength=len(points)).min() >= 1


@settings(max_examples=10, deadline=None)
@given(st.permutations([0, 1]))
def test_ids_stable_under_row_order(order: list[int]) -> None:
    """Property: shuffling the area rows changes neither the ids nor the geometry of any cell."""
    area = _areas()
    base = make_grid(area, cell_m=250).set_index("grid_id")
    again = make_grid(area.iloc[order], cell_m=250).set_index("grid_id")
    assert base.index.tolist() == again.index.tolist()
    assert all(a.equals_exact(b, 0) for a, b in zip(base.geometry, again.geometry, strict=True))


def test_ids_are_global_lattice_positions() -> None:
    """A cell's id depends on its place on the lattice, not on the area it was generated from."""
    small = gpd.GeoDataFrame(
        {"grid_id": ["p"]}, geometry=[box(LON, LAT, LON + 0.004, LAT + 0.004)], crs=4326
    )
    large = gpd.GeoDataFrame(
        {"grid_id": ["p"]}, geometry=[box(LON - 0.01, LAT - 0.01, LON + 0.02, LAT + 0.02)], crs=4326
    )
    crs = "EPSG:32618"
    inner = make_grid(small, cell_m=250, crs=crs).set_index("grid_id")
    outer = make_grid(large, cell_m=250, crs=crs).set_index("grid_id")
    assert set(inner.index) <= set(outer.index)
    for grid_id, geom in inner.geometry.items():
        if shapely.contains_properly(small.geometry[0], geom):
            assert geom.equals_exact(outer.geometry[grid_id], 1e-12)


def test_hex_cells_have_the_square_area() -> None:
    """A whole hexagon has the area of a cell_m square (so counts are comparable)."""
    area = gpd.GeoDataFrame(
        {"grid_id": ["h"]}, geometry=[box(LON, LAT, LON + 0.03, LAT + 0.03)], crs=4326
    )
    cells = make_grid(area, cell_m=300, shape="hex")
    metric = cells.to_crs(cells.estimate_utm_crs()).area
    assert float(np.median(metric)) == pytest.approx(300 * 300, rel=1e-3)


def test_households_sizing() -> None:
    """With households_per_cell, each area gets cells holding about that many households, summing to its total."""
    area = _areas()
    cells = make_grid(area, households_per_cell=100)
    sums = cells.groupby("parent_id")["households"].sum()
    assert sums["west"] == pytest.approx(1200.0)
    assert sums["east"] == pytest.approx(300.0)
    west_sizes = {g.split(":")[1] for g in cells.loc[cells["parent_id"] == "west", "grid_id"]}
    east_sizes = {g.split(":")[1] for g in cells.loc[cells["parent_id"] == "east", "grid_id"]}
    assert len(west_sizes) == 1
    assert len(east_sizes) == 1
    assert west_sizes != east_sizes
    assert cell_size_for_households(1_000_000, 400, 100) == 500.0
    with pytest.raises(GridError, match="households"):
        make_grid(area.drop(columns="households"), households_per_cell=100)


def test_h3_cells_tile_and_name() -> None:
    """H3 cells of a resolution tile each area and carry the H3 index in their id."""
    area = _areas()
    cells = make_h3_grid(area, resolution=9)
    _assert_tiles(cells, area)
    assert cells["grid_id"].str.match(r"^(west|east):h3:89[0-9a-f]+$").all()


def test_bad_input() -> None:
    """Bad shape, size or unnamed multi-row area give a GridError naming the option."""
    area = _areas()
    with pytest.raises(GridError, match="shape"):
        make_grid(area, shape="triangle")  # type: ignore[arg-type]
    with pytest.raises(GridError, match="cell_m"):
        make_grid(area, cell_m=0)
    with pytest.raises(GridError, match="id_col"):
        make_grid(area.drop(columns="grid_id"))
    single = make_grid(area.iloc[:1].drop(columns="grid_id"), cell_m=400)
    assert single["parent_id"].isna().all()
    assert single["grid_id"].str.startswith("sq400:").all()


@pytest.mark.slow
def test_philadelphia_demo_hierarchy() -> None:
    """Real data: districts > neighbourhoods > 250 m cells clipped to the OSM sample area nest into one hierarchy."""
    districts = load_grids(PHL / "phl_police_districts.geojson", columns={"DIST_NUM": "grid_id"})
    hoods = load_grids(PHL / "phl_neighborhoods_azavea.geojson")
    nested = nest_levels([districts, hoods], levels=["district", "community"])
    area = box(-75.1700, 39.9707, -75.1450, 39.9910)
    clipped = clip_grids(nested, area)
    cells = make_grid(leaf_grids(clipped), cell_m=250)
    assert 60 < len(cells) < 200
    assert set(cells["parent_id"]) <= set(clipped.loc[clipped["level"] == "community", "grid_id"])
    assert shapely.union_all(cells.geometry.to_numpy()).symmetric_difference(area).area < 1e-9
