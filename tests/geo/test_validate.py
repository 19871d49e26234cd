"""geo.validate: every kind of broken grids file is reported, clean ones pass."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from geo.grids import nest_levels
from geo.validate import GridReport, check_file, check_grids, crs_findings
from tests.conftest import GUANGZHOU, PHL

DATA = Path(__file__).resolve().parents[1] / "data"
GZ_FILE = GUANGZHOU / "guangzhou_districts_datav_gcj02.geojson"
LON, LAT = -75.16, 39.98


def _grids(rows: list[tuple[str, str, str | None, Polygon | None]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "grid_id": [r[0] for r in rows],
            "level": [r[1] for r in rows],
            "parent_id": [r[2] for r in rows],
            "name": [r[0] for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs=4326,
    )


def _cell(i: int, j: int, size: float = 0.002) -> Polygon:
    return box(LON + i * size, LAT + j * size, LON + (i + 1) * size, LAT + (j + 1) * size)


def test_clean_hierarchy_passes() -> None:
    """A parent exactly tiled by its children, with valid polygons and unique ids, has no findings."""
    grids = _grids(
        [
            ("P", "community", None, box(LON, LAT, LON + 0.004, LAT + 0.002)),
            ("a", "grid", "P", _cell(0, 0)),
            ("b", "grid", "P", _cell(1, 0)),
        ]
    )
    report = check_grids(grids)
    assert report.ok
    assert len(report.issues) == 0
    assert report.levels == {"community": 1, "grid": 2}


def test_overlap_gap_duplicate_orphan_empty_invalid() -> None:
    """Each defect is reported once, with severity, the ids, the area in m2 and a location."""
    bowtie = Polygon(
        [
            (LON, LAT + 0.01),
            (LON + 0.002, LAT + 0.012),
            (LON + 0.002, LAT + 0.01),
            (LON, LAT + 0.012),
        ]
    )
    grids = _grids(
        [
            ("P", "community", None, box(LON, LAT, LON + 0.006, LAT + 0.002)),
            ("a", "grid", "P", _cell(0, 0)),
            ("b", "grid", "P", box(LON + 0.001, LAT, LON + 0.004, LAT + 0.002)),  # overlaps a
            # the third cell of P (x 0.004..0.006) is missing: a gap
            ("dup", "grid", None, _cell(5, 5)),
            ("dup", "grid", None, _cell(6, 5)),
            ("lost", "grid", "NOPE", _cell(8, 8)),
            ("void", "grid", None, Polygon()),
            ("bow", "grid", None, bowtie),
        ]
    )
    report = check_grids(grids)
    found = report.issues.groupby("check")["grid_id"].apply(list).to_dict()
    assert found["overlap"] == ["a"]
    assert found["gap"] == ["P"]
    assert found["duplicate_id"] == ["dup"]
    assert found["orphan"] == ["lost"]
    assert found["empty"] == ["void"]
    assert found["invalid"] == ["bow"]
    overlap = report.issues.set_index("check").loc["overlap"]
    assert overlap["other_id"] == "b"
    # 0.001 deg x 0.002 deg at 40 N: about 85 m x 222 m
    assert overlap["area_m2"] == pytest.approx(85.3 * 222.0, rel=0.02)
    gap = report.issues.set_index("check").loc["gap"]
    assert LON + 0.004 < gap["lon"] < LON + 0.006
    assert gap["area_m2"] == pytest.approx(2 * 85.3 * 222.0, rel=0.02)
    assert not report.ok
    assert report.errors == 5
    assert report.warnings == 1
    assert json.loads(json.dumps(report.to_dict()))["errors"] == 5


def test_generated_cells_have_no_phantom_gaps() -> None:
    """Cells clipped to an irregular parent report no gap or overlap: slivers are measured with
    straight lon/lat edges, as they are clipped, so exact tilings measure zero."""
    from geo.gridgen import make_grid

    parent = Polygon(
        [
            (LON, LAT),
            (LON + 0.031, LAT + 0.004),
            (LON + 0.027, LAT + 0.023),
            (LON + 0.004, LAT + 0.019),
        ]
    )
    grids = _grids([("P", "community", None, parent)])
    cells = make_grid(grids, cell_m=150, shape="hex")
    report = check_grids(pd.concat([grids, cells], ignore_index=True), min_area_m2=0.01)
    assert report.ok, report.issues


def test_min_area_ignores_dust() -> None:
    """Overlaps smaller than min_area_m2 are not findings."""
    grids = _grids(
        [
            ("a", "grid", None, _cell(0, 0)),
            ("b", "grid", None, box(LON + 0.00199999, LAT, LON + 0.004, LAT + 0.002)),
        ]
    )
    assert check_grids(grids, min_area_m2=1.0).ok
    assert not check_grids(grids, min_area_m2=0.0).ok


def test_swapped_axes() -> None:
    """A Philadelphia polygon written (lat, lon) is reported as swapped, and geometry checks stop there."""
    swapped = _grids([("a", "grid", None, box(LAT, LON, LAT + 0.01, LON + 0.01))])
    report = check_grids(swapped)
    assert report.issues["check"].tolist() == ["crs_swapped"]


def test_units_and_missing_crs() -> None:
    """Metres declared as degrees, degrees declared as metres and no CRS at all are errors."""
    metres = crs_findings(
        np.array([500000.0, 501000.0]), np.array([4427757.0, 4428757.0]), declared="EPSG:4326"
    )
    assert [r["check"] for r in metres] == ["crs_units"]
    degrees = crs_findings(np.array([LON]), np.array([LAT]), declared="EPSG:32618")
    assert [r["check"] for r in degrees] == ["crs_units"]
    missing = crs_findings(np.array([LON]), np.array([LAT]), declared=None)
    assert [r["check"] for r in missing] == ["crs_missing"]
    assert "EPSG:4326" in missing[0]["detail"]


def test_china_without_evidence_is_a_warning() -> None:
    """WGS84 coordinates in mainland China with no provenance give only a reminder (a warning)."""
    rows = crs_findings(
        np.array([113.3]), np.array([23.1]), declared="EPSG:4326", hints="wards.geojson name"
    )
    assert [(r["severity"], r["check"]) for r in rows] == [("warning", "crs_offset")]
    assert crs_findings(np.array([113.3]), np.array([23.1]), declared="gcj02") == []
    assert crs_findings(np.array([LON]), np.array([LAT]), declared="EPSG:4326") == []


def test_guangzhou_file_detected_as_gcj02() -> None:
    """Real data: the DataV Guangzhou file claims WGS84 but is flagged GCJ-02 (provenance and landmarks)."""
    report = check_file(GZ_FILE)
    assert report.issues["check"].tolist() == ["crs_offset"]
    assert report.issues["severity"].tolist() == ["error"]
    assert "gcj02" in report.issues["detail"].iloc[0]
    landmarks = pd.DataFrame(
        {
            "lon": [113.31307, 113.31466],
            "lat": [23.12236, 23.12107],
            "grid_id": ["440106", "440106"],
        }
    )
    by_landmarks = check_file(GZ_FILE, landmarks=landmarks)
    assert "2/2 landmarks" in by_landmarks.issues["detail"].iloc[0]
    assert check_file(GZ_FILE, crs="gcj02").ok


def test_landmarks_can_confirm_wgs84(tmp_path: Path) -> None:
    """Landmarks that fit the WGS84 reading silence the China reminder."""
    path = tmp_path / "wards.geojson"
    _grids([("w", "grid", None, box(113.30, 23.10, 113.32, 23.13))]).to_file(path)
    assert check_file(path).warnings == 1
    landmarks = pd.DataFrame({"lon": [113.3185], "lat": [23.115], "grid_id": ["w"]})
    assert len(check_file(path, landmarks=landmarks).issues) == 0


def test_file_lists_repairs() -> None:
    """check_file lists the polygon that loading repaired (the GBK fixture's bow-tie) as a warning."""
    report = check_file(
        DATA / "gbk_communities" / "gbk_communities.shp", columns={"编号": "grid_id"}
    )
    invalid = report.issues[report.issues["check"] == "invalid"]
    assert invalid["grid_id"].tolist() == ["C3"]
    assert invalid["severity"].tolist() == ["warning"]


@pytest.mark.slow
def test_philadelphia_nested_hierarchy_gaps() -> None:
    """Real data: districts > neighbourhoods nested by overlap show gaps (neighbourhoods mostly in another district)."""
    from geo.grids import load_grids

    districts = load_grids(PHL / "phl_police_districts.geojson", columns={"DIST_NUM": "grid_id"})
    hoods = load_grids(PHL / "phl_neighborhoods_azavea.geojson")
    report = check_grids(nest_levels([districts, hoods], levels=["district", "community"]))
    assert isinstance(report, GridReport)
    checks = set(report.issues["check"])
    assert {"gap", "outside", "overlap"} <= checks
    assert (report.issues.loc[report.issues["check"] == "gap", "area_m2"] > 1.0).all()
