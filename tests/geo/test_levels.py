"""geo.levels: a city's own level files nested into one hierarchy that passes grids check."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from geo.errors import GridError
from geo.levels import build_hierarchy, extract_area, osm_bounds, read_level, standard_levels
from geo.validate import check_grids
from planner.problem import allowed_leaves
from tests.api.own_city import EAST, NORTH, SOUTH, WEST, write_city
from tests.conftest import PHL


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_city(tmp_path_factory.mktemp("city"))


def _levels(city: dict[str, Path]) -> list:
    return [
        read_level("area", city["areas.gpkg"], id_column="AREA_NO", name_column="AREA_NAME"),
        read_level("beat", city["beats.gpkg"], id_column="beat_num", name_column="beat_name"),
    ]


def test_same_id_rows_merge_into_one_unit(city: dict[str, Path]) -> None:
    """Beat B12, drawn as two rows, is one unit (the rows' union), and the merge is noted."""
    beats = read_level("beat", city["beats.gpkg"], id_column="beat_num")
    assert beats.units["grid_id"].tolist() == ["B11", "B12", "B13", "B21", "B22", "B23"]
    assert any("rows 2, 3 share id 'B12'" in note for note in beats.notes)
    assert beats.units.crs.to_epsg() == 4326  # read from UTM metres declared in the file


def test_same_id_different_names_is_an_error_naming_rows(tmp_path: Path) -> None:
    """Two rows with one id but different names are different units: an error naming the rows."""
    path = tmp_path / "beats.geojson"
    gpd.GeoDataFrame(
        {"beat": ["1", "1"], "label": ["North", "South"]},
        geometry=[box(0, 0, 0.01, 0.01), box(0, 0.01, 0.01, 0.02)],
        crs=4326,
    ).to_file(path)
    with pytest.raises(GridError, match=r"row 1 label='North'; row 2 label='South'"):
        read_level("beat", path, id_column="beat", name_column="label")
    with pytest.raises(GridError, match=r"no id column 'BEAT_NUM'; the file has beat, label"):
        read_level("beat", path, id_column="BEAT_NUM")


def test_build_clips_cuts_and_passes_check(city: dict[str, Path]) -> None:
    """Clipped to the extract's bounds, beats cut by the area border become pieces ID@AREA with
    the beat's id in source_id, the cells' slivers merge away, and check_grids finds no error."""
    grids = build_hierarchy(
        _levels(city), area=box(WEST, SOUTH, EAST, NORTH), cell_m=250.0, shape="square"
    )
    assert set(grids["level_name"]) == {"area", "beat", "cell"}
    assert set(grids["level"]) == {"district", "community", "grid"}
    pieces = grids.loc[grids["source_id"] == "B12", "grid_id"].tolist()
    assert sorted(pieces) == ["B12@7", "B12@9"]
    assert grids.total_bounds[0] >= WEST - 1e-9
    assert grids.total_bounds[3] <= NORTH + 1e-9
    report = check_grids(grids, min_area_m2=1.0)
    assert report.errors == 0, report.issues.to_string()
    cells = grids.loc[grids["level"] == "grid"]
    area_m2 = cells.to_crs(32618).area
    assert area_m2.min() >= 5000.0 or len(cells) == 0
    # a units file naming the beat means every piece (and its cells)
    leaves = allowed_leaves(grids, ["B12"])
    assert leaves
    assert {grids.set_index("grid_id").loc[g, "parent_id"] for g in leaves} == set(pieces)


def test_slivers_merge_into_the_neighbour(tmp_path: Path) -> None:
    """A beat that pokes 5 m over the area border keeps its id (the 5 m sliver merges into the
    neighbouring beat of the other area) and the result has no gap or overlap."""
    top = gpd.GeoDataFrame(
        {"a": ["A", "B"]}, geometry=[box(0, 0, 0.01, 0.01), box(0.01, 0, 0.02, 0.01)], crs=4326
    )
    low = gpd.GeoDataFrame(
        {"b": ["1", "2"]},
        geometry=[box(0, 0, 0.01005, 0.01), box(0.01005, 0, 0.02, 0.01)],
        crs=4326,
    )
    top.to_file(tmp_path / "a.geojson")
    low.to_file(tmp_path / "b.geojson")
    grids = build_hierarchy(
        [
            read_level("area", tmp_path / "a.geojson", id_column="a"),
            read_level("beat", tmp_path / "b.geojson", id_column="b"),
        ]
    )
    beats = grids.loc[grids["level_name"] == "beat"].set_index("grid_id")
    assert beats["parent_id"].to_dict() == {"1": "A", "2": "B"}
    assert any("sliver" in note for note in grids.attrs["notes"])
    assert check_grids(grids).errors == 0


def test_ids_shared_across_levels_are_an_error(tmp_path: Path) -> None:
    """An id used by two levels names both levels instead of building a broken tree."""
    frame = gpd.GeoDataFrame({"id": ["1"]}, geometry=[box(0, 0, 0.01, 0.01)], crs=4326)
    frame.to_file(tmp_path / "x.geojson")
    level = read_level("x", tmp_path / "x.geojson", id_column="id")
    with pytest.raises(GridError, match=r"id '1' is used by level x and level y"):
        build_hierarchy([level, read_level("y", tmp_path / "x.geojson", id_column="id")])


def test_standard_levels_and_bounds() -> None:
    """City level names map to the contract's levels; the shared extract's <bounds> are read."""
    assert standard_levels(["area", "beat", "sector"], cells=False) == [
        "district",
        "community",
        "grid",
    ]
    assert standard_levels(["a", "b", "c"], cells=True) == [
        "district",
        "street",
        "community",
        "grid",
    ]
    with pytest.raises(GridError, match="at most 4 levels"):
        standard_levels(["a", "b", "c", "d"], cells=True)
    bounds = osm_bounds(PHL / "temple_north_philly.osm")
    assert bounds is not None
    assert pd.Series(bounds.bounds).round(4).tolist() == [-75.17, 39.9707, -75.145, 39.991]


@pytest.mark.slow
def test_real_city_files_nest_and_pass_check() -> None:
    """Philadelphia's real police districts and neighbourhoods (which straddle, overlap and leave
    slivers along shared borders) nest into a hierarchy that check_grids passes."""
    levels = [
        read_level("district", PHL / "phl_police_districts.geojson", id_column="DIST_NUM"),
        read_level(
            "hood",
            PHL / "phl_neighborhoods_azavea.geojson",
            id_column="name",
            name_column="listname",
        ),
    ]
    grids = build_hierarchy(levels)
    assert (grids["level_name"] == "district").sum() >= 20
    assert (grids["level_name"] == "hood").sum() >= 150
    assert check_grids(grids, min_area_m2=1.0).errors == 0


def test_pbf_header_box_is_the_area(tmp_path: Path) -> None:
    """A .osm.pbf extract's header box is read as its area; an extract without one gives None."""
    import osmium

    header = osmium.io.Header()
    header.add_box(
        osmium.osm.Box(osmium.osm.Location(-75.17, 39.97), osmium.osm.Location(-75.145, 39.991))
    )
    path = tmp_path / "city.osm.pbf"
    writer = osmium.SimpleWriter(str(path), 0, header)
    writer.add_node(osmium.osm.mutable.Node(id=1, location=(-75.16, 39.98)))
    writer.close()
    bounds = osm_bounds(path)
    assert bounds is not None
    assert pd.Series(bounds.bounds).round(3).tolist() == [-75.17, 39.97, -75.145, 39.991]
    bare = tmp_path / "bare.osm"
    bare.write_text('<?xml version="1.0"?>\n<osm version="0.6"></osm>\n')
    assert osm_bounds(bare) is None


@pytest.mark.slow
def test_extract_area_falls_back_to_the_streets_reach(tmp_path: Path) -> None:
    """The area to clip grids to (CLI --network and POST /grids/build): the extract's bounds,
    or, for a file that declares none, the area within 150 m of its drivable streets, which
    reaches past the box (ways are kept whole) but not far."""
    source = PHL / "temple_north_philly.osm"
    box_area = extract_area(source)
    assert box_area.equals(osm_bounds(source))
    bare = tmp_path / "no_bounds.osm"
    text = source.read_text(encoding="utf-8")
    bare.write_text(re.sub(r"<bounds[^>]*/>", "", text, count=1), encoding="utf-8")
    assert osm_bounds(bare) is None
    reach = extract_area(bare)
    assert reach.intersection(box_area).area > 0.8 * box_area.area
    assert reach.bounds[0] > box_area.bounds[0] - 0.02
    assert reach.bounds[2] < box_area.bounds[2] + 0.02


def test_overlapping_units_are_made_disjoint(tmp_path: Path) -> None:
    """Two beats drawn overlapping, and one drawn wholly inside another, come out disjoint (the
    smaller id keeps the shared part; the swallowed one is noted) and the result passes check."""
    path = tmp_path / "beats.geojson"
    gpd.GeoDataFrame(
        {"beat": ["1", "2", "3"]},
        geometry=[
            box(0, 0, 0.011, 0.01),
            box(0.01, 0, 0.02, 0.01),
            box(0.012, 0.002, 0.014, 0.004),
        ],
        crs=4326,
    ).to_file(path)
    grids = build_hierarchy([read_level("beat", path, id_column="beat")])
    assert grids["grid_id"].tolist() == ["1", "2"]
    assert any("wholly inside another" in note for note in grids.attrs["notes"])
    assert check_grids(grids).errors == 0
