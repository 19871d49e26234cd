"""geo.grids: loading grid files of every kind, nesting levels, clipping."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from geo.errors import CRSError, GridError
from geo.grids import clip_grids, load_grids, nest_levels, read_grids, straddlers
from geo.hierarchy import ancestor_table, leaf_grids
from tests.conftest import GUANGZHOU, PHL

DATA = Path(__file__).resolve().parents[1] / "data"
SHARED_EDGE = DATA / "two_grids_shared_edge.geojson"
GBK_SHP = DATA / "gbk_communities" / "gbk_communities.shp"


def _frame(
    ids: list[str], boxes: list[tuple[float, float, float, float]], **extra: object
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"grid_id": ids, **extra}, geometry=[box(*b) for b in boxes], crs=4326)


def test_geojson_flat_level() -> None:
    """A file with no hierarchy columns is one flat level 'grid', ids str, EPSG:4326."""
    grids = load_grids(SHARED_EDGE)
    assert list(grids.columns) == ["grid_id", "level", "parent_id", "name", "geometry"]
    assert grids["grid_id"].tolist() == ["A", "B"]
    assert set(grids["level"]) == {"grid"}
    assert grids["parent_id"].isna().all()
    assert grids.crs.to_epsg() == 4326


def test_gbk_shapefile_names_and_repair() -> None:
    """Chinese attribute names and values survive the GBK .cpg; a bow-tie polygon is repaired and listed."""
    read = read_grids(GBK_SHP, columns={"编号": "grid_id", "社区名": "name"})
    grids = read.grids
    assert grids["name"].tolist() == ["猎德社区", "冼村社区", "石牌社区"]
    assert shapely.is_valid(grids.geometry.values).all()
    assert read.repaired["grid_id"].tolist() == ["C3"]
    assert "Self-intersection" in read.repaired["reason"].iloc[0]
    # EPSG:4490 (CGCS2000) is taken as WGS84: coordinates unchanged.
    assert grids.crs.to_epsg() == 4326
    assert grids.total_bounds[0] == pytest.approx(113.32)


def test_parent_naming_no_row_is_an_error() -> None:
    """A parent_id that names no grid is refused with the file and the id in the message."""
    with pytest.raises(GridError, match="S1"):
        load_grids(GBK_SHP, columns={"编号": "grid_id", "街道": "parent_id"})


def test_geopackage_layers_and_geoparquet(tmp_path: Path) -> None:
    """Any GeoPackage layer can be chosen; a multi-polygon-layer file without layer= is an error; GeoParquet loads."""
    cells = _frame(["a", "b"], [(0, 0, 1, 1), (1, 0, 2, 1)])
    tops = _frame(["T"], [(0, 0, 2, 1)])
    gpkg = tmp_path / "grids.gpkg"
    cells.to_file(gpkg, layer="cells", driver="GPKG")
    tops.to_file(gpkg, layer="tops", driver="GPKG")
    assert load_grids(gpkg, layer="tops")["grid_id"].tolist() == ["T"]
    with pytest.raises(GridError, match="layers"):
        load_grids(gpkg)
    with pytest.raises(GridError, match="no layer 'nope'"):
        load_grids(gpkg, layer="nope")
    parquet = tmp_path / "grids.parquet"
    cells.to_parquet(parquet)
    assert load_grids(parquet)["grid_id"].tolist() == ["a", "b"]


def test_hierarchy_from_parent_column(tmp_path: Path) -> None:
    """With parent_id but no level column, levels come from depth (deepest = grid)."""
    frame = _frame(
        ["S", "c1", "c2"], [(0, 0, 2, 1), (0, 0, 1, 1), (1, 0, 2, 1)], up=[None, "S", "S"]
    )
    path = tmp_path / "h.geojson"
    frame.to_file(path)
    grids = load_grids(path, columns={"up": "parent_id"})
    assert grids["level"].tolist() == ["community", "grid", "grid"]
    assert ancestor_table(grids).loc["c1", "community_id"] == "S"


def test_errors_name_file_and_fix(tmp_path: Path) -> None:
    """Missing file, unknown column, duplicate ids and missing CRS each give a one-line error naming the file."""
    with pytest.raises(GridError, match="not found"):
        load_grids(tmp_path / "nope.geojson")
    with pytest.raises(GridError, match="column 'ID'"):
        load_grids(SHARED_EDGE, columns={"ID": "grid_id"})
    dup = tmp_path / "dup.geojson"
    _frame(["x", "x"], [(0, 0, 1, 1), (1, 0, 2, 1)], key=["p", "q"]).to_file(dup)
    with pytest.raises(GridError, match="duplicate grid ids"):
        load_grids(dup, columns={"grid_id": "grid_id"})
    nocrs = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"grid_id": ["a"]}, geometry=[box(0, 0, 1, 1)]).to_file(nocrs)
    with pytest.raises(CRSError, match="--crs"):
        load_grids(nocrs)
    assert load_grids(nocrs, crs="EPSG:4326")["grid_id"].tolist() == ["a"]


def test_id_column_is_first_unique_column(tmp_path: Path) -> None:
    """Without grid_id, the first column whose values are unique becomes the id."""
    path = tmp_path / "f.geojson"
    gpd.GeoDataFrame(
        {"kind": ["k", "k"], "code": [7.0, 8.0]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=4326,
    ).to_file(path)
    assert load_grids(path)["grid_id"].tolist() == ["7", "8"]


def test_nest_levels_largest_overlap_and_straddlers() -> None:
    """Children get the parent with most of their area; a straddler is reported and, when asked, split exactly."""
    tops = _frame(["L", "R"], [(0, 0, 0.01, 0.01), (0.01, 0, 0.02, 0.01)])
    kids = _frame(
        ["k1", "k2", "k3"], [(0, 0, 0.005, 0.01), (0.007, 0, 0.013, 0.01), (0.015, 0, 0.02, 0.01)]
    )
    nested = nest_levels([tops, kids], levels=["district", "community"])
    parent = dict(zip(nested["grid_id"], nested["parent_id"], strict=True))
    assert parent["k1"] == "L"
    assert parent["k3"] == "R"
    assert parent["k2"] == "L"  # a tie (50/50) goes to the smaller parent id
    report = nested.attrs["straddlers"]
    assert report["grid_id"].tolist() == ["k2"]
    assert report["other_parents"].tolist() == ["R"]
    split = nest_levels([tops, kids], levels=["district", "community"], split_straddlers=True)
    assert {"k2@L", "k2@R"} <= set(split["grid_id"])
    pieces = split.set_index("grid_id").geometry
    assert pieces["k2@L"].within(tops.geometry[0].buffer(1e-12))
    utm = split.estimate_utm_crs()
    areas = split.to_crs(utm).set_index("grid_id").area
    assert areas["k2@L"] + areas["k2@R"] == pytest.approx(kids.to_crs(utm).area[1], rel=1e-9)


def test_nest_levels_rejects_bad_levels() -> None:
    """Levels must be known, distinct and top first; a single level is its own hierarchy."""
    tops = _frame(["L"], [(0, 0, 1, 1)])
    with pytest.raises(GridError, match="top first"):
        nest_levels([tops, tops], levels=["grid", "district"])
    single = nest_levels([tops], levels=["district"])
    assert single["parent_id"].tolist() == [None]
    assert len(single.attrs["straddlers"]) == 0


def test_straddlers_reports_orphans() -> None:
    """A child outside every parent is reported with parent None and all its area outside."""
    tops = _frame(["L"], [(0, 0, 0.01, 0.01)])
    kids = _frame(["far"], [(1, 1, 1.01, 1.01)])
    report = straddlers(kids, tops)
    assert report["parent_id"].tolist() == [None]
    assert report["outside_m2"].iloc[0] > 1e6


def test_clip_grids_keeps_hierarchy_inside() -> None:
    """Clipping keeps rows meeting the area, cut to it, and drops the rest."""
    grids = _frame(
        ["a", "b"], [(0, 0, 1, 1), (2, 2, 3, 3)], level="grid", parent_id=None, name=["a", "b"]
    )
    out = clip_grids(grids, box(0.5, 0.5, 1.5, 1.5))
    assert out["grid_id"].tolist() == ["a"]
    assert out.geometry.iloc[0].equals(box(0.5, 0.5, 1, 1))


@pytest.mark.slow
def test_philadelphia_districts_and_neighbourhoods() -> None:
    """Real data: 22 districts > 158 neighbourhoods nest; every neighbourhood gets a district."""
    districts = load_grids(PHL / "phl_police_districts.geojson", columns={"DIST_NUM": "grid_id"})
    hoods = load_grids(
        PHL / "phl_neighborhoods_azavea.geojson", columns={"name": "grid_id", "listname": "name"}
    )
    assert len(districts) == 22
    assert len(hoods) == 158
    nested = nest_levels([districts, hoods], levels=["district", "community"])
    leaves = leaf_grids(nested)
    assert (leaves["level"] == "community").sum() == 158
    # District 77 (the airport) holds the larger part of no neighbourhood: it stays a leaf.
    assert leaves.loc[leaves["level"] == "district", "grid_id"].tolist() == ["77"]
    assert nested.loc[nested["grid_id"] == "WEST_KENSINGTON", "parent_id"].iloc[0] == "26"
    table = ancestor_table(nested)
    assert table.loc["WEST_KENSINGTON", "district_id"] is not None
    assert isinstance(nested.attrs["straddlers"], pd.DataFrame)


def test_guangzhou_levels_and_ids() -> None:
    """Real data: the DataV file's 'level' column (district) is used and the adcode is the id."""
    grids = load_grids(GUANGZHOU / "guangzhou_districts_datav_gcj02.geojson", crs="gcj02")
    assert len(grids) == 11
    assert set(grids["level"]) == {"district"}
    assert grids["grid_id"].iloc[0] == "440103"
    assert grids["name"].iloc[0] == "荔湾区"


def test_columns_mapping_either_direction() -> None:
    """{file column: target} and the reverse {target: file column} give the same frame."""
    forward = load_grids(GBK_SHP, columns={"编号": "grid_id", "社区名": "name"})
    reverse = load_grids(GBK_SHP, columns={"grid_id": "编号", "name": "社区名"})
    assert forward["grid_id"].tolist() == ["C1", "C2", "C3"]
    assert reverse.drop(columns="geometry").equals(forward.drop(columns="geometry"))


def test_split_nests_exactly() -> None:
    """With split_straddlers, no child overhangs its parent; a child inside one parent keeps its id."""
    from geo.validate import check_grids

    tops = _frame(["L", "R"], [(0, 0, 0.01, 0.01), (0.01, 0, 0.02, 0.01)])
    kids = _frame(
        ["k1", "k2", "k3"],
        [(0, 0, 0.0105, 0.01), (0.0105, 0, 0.015, 0.01), (0.015, 0, 0.02, 0.01)],
    )
    whole = nest_levels([tops, kids], levels=["district", "community"])
    assert "outside" in set(check_grids(whole).issues["check"])
    split = nest_levels([tops, kids], levels=["district", "community"], split_straddlers=True)
    assert sorted(split["grid_id"]) == ["L", "R", "k1@L", "k1@R", "k2", "k3"]
    report = check_grids(split)
    assert report.ok
    assert len(report.issues) == 0


def test_files_without_geometry(tmp_path: Path) -> None:
    """A table with no geometry column, or with only null geometries, is a GridError naming the file."""
    csv = tmp_path / "table.csv"
    csv.write_text("grid_id,name\na,b\n")
    with pytest.raises(GridError, match=r"table\.csv: has no geometry column"):
        load_grids(csv)
    parquet = tmp_path / "plain.parquet"
    pd.DataFrame({"grid_id": ["a"]}).to_parquet(parquet)
    with pytest.raises(GridError, match=r"plain\.parquet: not a GeoParquet"):
        load_grids(parquet)
    nulls = tmp_path / "nulls.geojson"
    nulls.write_text(
        '{"type": "FeatureCollection", "features": '
        '[{"type": "Feature", "properties": {"grid_id": "a"}, "geometry": null}]}'
    )
    with pytest.raises(GridError, match=r"nulls\.geojson: no rows with a geometry"):
        load_grids(nulls)
    with pytest.raises(CRSError, match="unknown CRS"):
        load_grids(SHARED_EDGE, crs="mars-bar")


def test_cpg_code_page_number(tmp_path: Path) -> None:
    """A .cpg holding the Windows code page number 936 is read as GBK."""
    import shutil

    for part in GBK_SHP.parent.iterdir():
        shutil.copy(part, tmp_path / part.name)
    (tmp_path / "gbk_communities.cpg").write_text("936")
    grids = load_grids(
        tmp_path / "gbk_communities.shp", columns={"编号": "grid_id", "社区名": "name"}
    )
    assert grids["name"].tolist() == ["猎德社区", "冼村社区", "石牌社区"]
