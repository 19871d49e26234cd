"""geo.crs: declared CRSs, GCJ-02 / BD-09 offsets inside mainland China only."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import prcoords
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.crs import (
    bd09_to_wgs84,
    frame_to_wgs84,
    gcj02_to_wgs84,
    in_mainland_china,
    normalize_crs,
    to_gcj02,
    to_wgs84,
    wgs84_to_bd09,
)
from geo.errors import CRSError
from geo.grids import load_grids
from tests.conftest import GUANGZHOU

GZ_FILE = GUANGZHOU / "guangzhou_districts_datav_gcj02.geojson"
# OpenStreetMap (WGS84) points of streets in Zhujiang New Town, Tianhe (see SOURCES.md).
HUACHENG_AVENUE = (113.31307, 23.12236)
HUAZHENG_STREET = (113.31466, 23.12107)


def _metres(lon0: np.ndarray, lat0: np.ndarray, lon1: np.ndarray, lat1: np.ndarray) -> np.ndarray:
    geod = pyproj.Geod(ellps="WGS84")
    return np.asarray(geod.inv(lon0, lat0, lon1, lat1)[2])


# A box wholly inside mainland China (Yunnan to Henan, Guangdong to Inner Mongolia).
mainland_lon = st.floats(102.0, 115.0)
mainland_lat = st.floats(24.0, 40.0)


@settings(max_examples=200, deadline=None)
@given(lon=mainland_lon, lat=mainland_lat)
def test_gcj02_round_trip_under_1cm(lon: float, lat: float) -> None:
    """Property: WGS84 -> GCJ-02 -> WGS84 returns within 1 cm, and the shift itself is real (> 1 m)."""
    gx, gy = to_gcj02([lon], [lat])
    bx, by = gcj02_to_wgs84(gx, gy)
    assert _metres(np.array([lon]), np.array([lat]), bx, by)[0] < 0.01
    assert _metres(np.array([lon]), np.array([lat]), gx, gy)[0] > 1.0


@settings(max_examples=200, deadline=None)
@given(lon=mainland_lon, lat=mainland_lat)
def test_bd09_round_trip_under_1cm(lon: float, lat: float) -> None:
    """Property: WGS84 -> BD-09 -> WGS84 returns within 1 cm."""
    bx, by = wgs84_to_bd09([lon], [lat])
    wx, wy = bd09_to_wgs84(bx, by)
    assert _metres(np.array([lon]), np.array([lat]), wx, wy)[0] < 0.01


@settings(max_examples=100, deadline=None)
@given(lon=mainland_lon, lat=mainland_lat)
def test_same_numbers_as_prcoords(lon: float, lat: float) -> None:
    """The vectorised formulas give prcoords' own answers (forward exactly, inverse within 1 cm).

    prcoords stops its inverse at a 1e-5 degree step, so it is only millimetre-exact itself.
    """
    gx, gy = to_gcj02([lon], [lat])
    ref = prcoords.wgs_gcj((lat, lon))
    assert gx[0] == pytest.approx(ref.lon, abs=1e-12)
    assert gy[0] == pytest.approx(ref.lat, abs=1e-12)
    back = prcoords.gcj_wgs_bored((gy[0], gx[0]))
    wx, wy = gcj02_to_wgs84(gx, gy)
    assert _metres(wx, wy, np.array([back.lon]), np.array([back.lat]))[0] < 0.01
    bd = prcoords.wgs_bd((lat, lon))
    bx, by = wgs84_to_bd09([lon], [lat])
    assert bx[0] == pytest.approx(bd.lon, abs=1e-12)
    assert by[0] == pytest.approx(bd.lat, abs=1e-12)


def test_mainland_polygon_not_rectangle() -> None:
    """Hong Kong, Macau, Taiwan and neighbours are outside; Shenzhen, Zhuhai's Hengqin, Hainan inside."""
    inside = {
        "Guangzhou": (113.30, 23.10),
        "Futian, Shenzhen": (114.058, 22.543),
        "Shekou, Shenzhen": (113.92, 22.49),
        "Hengqin, Zhuhai": (113.52, 22.12),
        "Gongbei, Zhuhai": (113.55, 22.225),
        "Haikou": (110.33, 20.03),
        "Kashgar": (75.99, 39.47),
        "Mohe": (122.5, 52.97),
        "Xiamen": (118.09, 24.48),
    }
    outside = {
        "Tsim Sha Tsui, Hong Kong": (114.172, 22.297),
        "Sheung Shui, Hong Kong": (114.128, 22.50),
        "Senado Square, Macau": (113.539, 22.1935),
        "Taipa, Macau": (113.56, 22.155),
        "Taipei": (121.56, 25.04),
        "Penghu": (119.57, 23.57),
        "Seoul": (126.98, 37.57),
        "Hanoi": (105.85, 21.03),
        "Ulaanbaatar": (106.9, 47.9),
        "Philadelphia": (-75.16, 39.95),
    }
    lon, lat = np.array(list(inside.values()) + list(outside.values())).T
    expected = [True] * len(inside) + [False] * len(outside)
    assert in_mainland_china(lon, lat).tolist() == expected


def test_no_shift_outside_mainland() -> None:
    """Hong Kong and Macau points are never shifted, either way."""
    lon, lat = np.array([114.172, 113.539]), np.array([22.297, 22.1935])
    for func in (to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84):
        x, y = func(lon, lat)
        assert np.array_equal(x, lon)
        assert np.array_equal(y, lat)


def test_normalize_and_to_wgs84() -> None:
    """EPSG:4490 is WGS84; projected inputs go through pyproj; unknown names are CRSErrors."""
    assert normalize_crs("EPSG:4490").to_epsg() == 4326
    assert normalize_crs("BD-09") == "bd09"
    x, y = to_wgs84([500000.0], [4427757.0], "EPSG:32618")
    assert x[0] == pytest.approx(-75.0, abs=1e-6)
    assert y[0] == pytest.approx(40.0, abs=1e-3)
    with pytest.raises(CRSError, match="unknown CRS"):
        normalize_crs("mars-bar")
    with pytest.raises(CRSError, match="shape"):
        to_wgs84([1.0, 2.0], [1.0], "EPSG:4326")


def test_frames_round_trip() -> None:
    """Shifted to GCJ-02 (to_gcj02), frame_to_wgs84(crs='gcj02') gives the polygons back within 1 cm."""
    grids = load_grids(GZ_FILE, crs="gcj02")
    shifted = grids.set_geometry(
        shapely.transform(
            grids.geometry.to_numpy(), lambda xy: np.column_stack(to_gcj02(xy[:, 0], xy[:, 1]))
        )
    )
    back = frame_to_wgs84(shifted, "gcj02")
    a = shapely.get_coordinates(grids.geometry.to_numpy())
    b = shapely.get_coordinates(back.geometry.to_numpy())
    assert _metres(a[:, 0], a[:, 1], b[:, 0], b[:, 1]).max() < 0.01
    with pytest.raises(CRSError, match="no CRS"):
        frame_to_wgs84(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)]))


def test_guangzhou_zhujiang_new_town_moves_into_tianhe() -> None:
    """Read as WGS84 the two Tianhe streets fall in Yuexiu; converted from GCJ-02 they fall in Tianhe."""
    points = gpd.GeoSeries(
        [shapely.Point(*HUACHENG_AVENUE), shapely.Point(*HUAZHENG_STREET)], crs=4326
    )
    raw = load_grids(GZ_FILE)  # wrongly taken as WGS84
    converted = load_grids(GZ_FILE, crs="gcj02")
    for grids, district in ((raw, "越秀区"), (converted, "天河区")):
        for point in points:
            names = grids.loc[grids.contains(point), "name"].tolist()
            assert names == [district]
