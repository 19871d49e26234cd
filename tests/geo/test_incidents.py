"""Tests for geo.incidents.load_incidents: real exports, any CSV, rejects with reasons."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo.errors import IncidentError
from geo.incidents import load_incidents
from tests.conftest import PHL

CANONICAL = """incident_id,occurred_at,category,lon,lat
a1,2025-03-01T08:15:00+08:00,盗窃,113.3245,23.1190
a2,2025-03-01T09:00:00Z,Thefts,113.3300,23.1200
a3,2025-03-01 10:00:00,纠纷,113.3310,23.1210
"""


def test_canonical_csv_loads_with_no_options(tmp_path: Path) -> None:
    """incident_id, occurred_at, category, lon, lat in ISO 8601 load as UTC with severities."""
    path = tmp_path / "incidents.csv"
    path.write_text(CANONICAL, encoding="utf-8")
    load = load_incidents(path)
    frame = load.incidents
    assert list(frame["incident_id"]) == ["a1", "a2", "a3"]
    assert str(frame["occurred_at"].dt.tz) == "UTC"
    assert frame["occurred_at"].iloc[0] == pd.Timestamp("2025-03-01T00:15:00Z")
    assert frame["occurred_at"].iloc[2] == pd.Timestamp("2025-03-01T10:00:00Z")
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.iloc[0].equals(Point(113.3245, 23.1190))
    assert frame["severity"].between(1, 5).all()
    assert len(load.rejects) == 0
    assert load.preset is None


def test_naive_times_are_read_in_the_given_zone(tmp_path: Path) -> None:
    """With timezone='Asia/Shanghai' a timestamp without offset is local: 10:00 -> 02:00 UTC."""
    path = tmp_path / "incidents.csv"
    path.write_text(CANONICAL, encoding="utf-8")
    frame = load_incidents(path, timezone="Asia/Shanghai").incidents
    assert frame["occurred_at"].iloc[2] == pd.Timestamp("2025-03-01T02:00:00Z")
    assert frame["occurred_at"].iloc[0] == pd.Timestamp("2025-03-01T00:15:00Z")


def test_gbk_semicolon_csv_with_chinese_columns(tmp_path: Path) -> None:
    """A GBK file with ';' and Chinese headers loads: encoding, delimiter and names detected."""
    text = "警情编号;报警时间;警情类别;经度;纬度\nGZ-1;2025/03/01 08:00;抢劫;113.32;23.12\n"
    path = tmp_path / "jq.csv"
    path.write_bytes(text.encode("gbk"))
    load = load_incidents(path, timezone="Asia/Shanghai")
    row = load.incidents.iloc[0]
    assert row["incident_id"] == "GZ-1"
    assert row["category"] == "抢劫"
    assert row["occurred_at"] == pd.Timestamp("2025-03-01T00:00:00Z")
    assert row["severity"] == 5


def test_column_mapping_and_projected_crs(tmp_path: Path) -> None:
    """Any names via columns=; coordinates in a declared EPSG code are converted to WGS84."""
    path = tmp_path / "export.csv"
    path.write_text(
        "Case,When,What,E,N,Beat\nk1,2016-01-01T00:00:00Z,Thefts,2697000,236000,B7\n",
        encoding="utf-8",
    )
    load = load_incidents(
        path,
        columns={"incident_id": "Case", "occurred_at": "When", "category": "What",
                 "lon": "E", "lat": "N", "beat": "Beat"},
        crs="EPSG:2272",
    )  # fmt: skip
    point = load.incidents.geometry.iloc[0]
    assert -75.3 < point.x < -74.9
    assert 39.8 < point.y < 40.2
    assert load.incidents["beat"].iloc[0] == "B7"


def test_gcj02_coordinates_are_shifted_to_wgs84(tmp_path: Path) -> None:
    """A declared crs='gcj02' moves a Guangzhou point by the GCJ-02 offset (hundreds of metres)."""
    path = tmp_path / "gz.csv"
    path.write_text(
        "incident_id,occurred_at,category,lon,lat\ng1,2025-01-01T00:00:00Z,盗窃,113.3245,23.1190\n",
        encoding="utf-8",
    )
    plain = load_incidents(path).incidents.geometry.iloc[0]
    shifted = load_incidents(path, crs="gcj02").incidents.geometry.iloc[0]
    assert 0.002 < plain.distance(shifted) < 0.01


def test_rejects_carry_reasons(tmp_path: Path) -> None:
    """Missing/impossible coordinates and timestamps, and repeated ids, are rejected with why."""
    path = tmp_path / "messy.csv"
    path.write_text(
        "incident_id,occurred_at,category,lon,lat\n"
        "ok,2025-01-01T00:00:00Z,Thefts,-75.1,40.0\n"
        "nocoord,2025-01-01T00:00:00Z,Thefts,,\n"
        "far,2025-01-01T00:00:00Z,Thefts,-275.1,40.0\n"
        "zero,2025-01-01T00:00:00Z,Thefts,0,0\n"
        "notime,,Thefts,-75.1,40.0\n"
        "badtime,yesterday-ish,Thefts,-75.1,40.0\n"
        "ok,2025-01-02T00:00:00Z,Thefts,-75.2,40.1\n",
        encoding="utf-8",
    )
    load = load_incidents(path)
    assert list(load.incidents["incident_id"]) == ["ok"]
    reasons = dict(zip(load.rejects["row"], load.rejects["reason"], strict=True))
    assert reasons[2] == "missing coordinates"
    assert reasons[3].startswith("impossible coordinates")
    assert "(0, 0)" in reasons[4]
    assert reasons[5] == "missing timestamp"
    assert reasons[6].startswith("unreadable timestamp")
    assert reasons[7] == "duplicate incident_id (first seen in row 1)"
    assert load.duplicate_ids == ("ok",)
    assert len(load.incidents) + len(load.rejects) == 7


def test_missing_file_and_missing_columns_name_the_fix(tmp_path: Path) -> None:
    """A missing file or a file without coordinate columns raises IncidentError naming them."""
    with pytest.raises(IncidentError, match="not found"):
        load_incidents(tmp_path / "nope.csv")
    path = tmp_path / "nocoords.csv"
    path.write_text(
        "incident_id,occurred_at,category\na,2025-01-01T00:00:00Z,Thefts\n", encoding="utf-8"
    )
    with pytest.raises(IncidentError, match=r"nocoords\.csv.*lon, lat.*columns="):
        load_incidents(path)


def test_geojson_and_geoparquet_points(tmp_path: Path) -> None:
    """Point layers load; a non-point geometry is rejected with its reason."""
    frame = gpd.GeoDataFrame(
        {
            "incident_id": ["p1", "p2"],
            "occurred_at": ["2025-01-01T00:00:00Z", "2025-01-01T01:00:00Z"],
            "category": ["Thefts", "Fraud"],
        },
        geometry=[Point(-75.1, 40.0), box(0, 0, 1, 1)],
        crs=4326,
    )
    for path in (tmp_path / "i.geojson", tmp_path / "i.parquet"):
        if path.suffix == ".parquet":
            frame.to_parquet(path)
        else:
            frame.to_file(path)
        load = load_incidents(path)
        assert list(load.incidents["incident_id"]) == ["p1"]
        assert load.rejects["reason"].tolist() == ["missing coordinates"]


def test_philadelphia_2025_is_recognised(phl_dir: Path) -> None:
    """The 2025 export loads by itself: preset, ids without '.0', UTC times, 33 unlocated rows."""
    load = load_incidents(PHL / "phl_incidents_2025-01.csv")
    assert load.preset == "philadelphia"
    frame = load.incidents
    assert not frame["incident_id"].str.endswith(".0").any()
    assert {"dc_dist", "psa", "location_block"} <= set(frame.columns)
    assert frame["occurred_at"].min() >= pd.Timestamp("2025-01-01T00:00:00Z")
    assert (load.rejects["reason"] == "missing coordinates").sum() == 33
    assert len(frame) + len(load.rejects) == 7874
    assert load.unknown_categories == ()


def test_philadelphia_2016_point_xy_only(phl_dir: Path) -> None:
    """A 2016 file (point_x/point_y, no lat/lng) is recognised and located."""
    load = load_incidents(PHL / "incidents_2016" / "incidents_2016_01.csv")
    assert load.preset == "philadelphia"
    bounds = load.incidents.total_bounds
    assert -75.3 < bounds[0] < bounds[2] < -74.9
    assert 39.8 < bounds[1] < bounds[3] < 40.2
    assert load.incidents["incident_id"].iloc[0] == "201625002668"


def test_rows_without_an_id_column_get_stable_ids(tmp_path: Path) -> None:
    """Without an id column, ids derive from time, place and category: same file, same ids."""
    path = tmp_path / "noid.csv"
    path.write_text(
        "occurred_at,category,lon,lat\n"
        "2025-01-01T00:00:00Z,Thefts,-75.1,40.0\n"
        "2025-01-01T01:00:00Z,Fraud,-75.2,40.1\n",
        encoding="utf-8",
    )
    first = load_incidents(path).incidents["incident_id"].tolist()
    assert first == load_incidents(path).incidents["incident_id"].tolist()
    assert len(set(first)) == 2
    assert all(i.startswith("h") for i in first)
