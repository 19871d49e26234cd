"""Declared coordinate systems, and the Chinese GCJ-02 / BD-09 offsets.

Inputs declare their CRS: any EPSG code or pyproj CRS, ``"gcj02"`` (Amap, Tencent, DataV) or
``"bd09"`` (Baidu). CGCS2000 (EPSG:4490) is treated as WGS84: the two agree within centimetres.
Everything is converted to EPSG:4326 (WGS84) on load; :func:`to_gcj02` shifts back only to draw
on a GCJ-02 tile layer.

The offsets follow prcoords (Mingye Wang, CC0/GPLv3+): the forward GCJ-02 formula, Baidu's
rotation, and the "precise" inverses that iterate the forward formula to a fixed point (Caijun
2014). prcoords works one point at a time in pure Python (about 20 microseconds a point); the
functions here are the same formulas written over numpy arrays, checked against prcoords itself
in ``tests/geo/test_crs.py``. The offsets apply only inside mainland China, decided with a polygon
(:mod:`geo._china`), so Hong Kong, Macau and Taiwan are never shifted.

>>> lon, lat = to_gcj02([113.3], [23.1])
>>> bool(abs(lon[0] - 113.3) > 0.004)
True
>>> back = gcj02_to_wgs84(lon, lat)
>>> round(float(back[0][0]), 7), round(float(back[1][0]), 7)
(113.3, 23.1)
"""

from __future__ import annotations

import math
from typing import Literal

import geopandas as gpd
import numpy as np
import prcoords
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from ._china import MAINLAND_CHINA
from .errors import CRSError

__all__ = [
    "WGS84",
    "bd09_to_wgs84",
    "check_degrees",
    "degrees_like",
    "frame_to_wgs84",
    "gcj02_to_wgs84",
    "in_mainland_china",
    "normalize_crs",
    "to_gcj02",
    "to_wgs84",
    "wgs84_to_bd09",
]

WGS84 = "EPSG:4326"

Offset = Literal["gcj02", "bd09"]
Declared = pyproj.CRS | Offset

# Constants from prcoords (Krasovsky 1940 ellipsoid; Baidu's fixed shifts).
_A = float(prcoords.GCJ_A)
_EE = float(prcoords.GCJ_EE)
_BD_DLAT = float(prcoords.BD_DLAT)
_BD_DLON = float(prcoords.BD_DLON)
# Fixed-point iterations stop when the worst residual is below this many degrees (~0.01 mm).
_EPS_DEG = 1e-10
_MAX_ITER = 30

_ALIASES: dict[str, Offset] = {
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "gcj": "gcj02",
    "mars": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "bd09ll": "bd09",
    "baidu": "bd09",
}
# Treated as WGS84 (within centimetres).
_WGS84_LIKE = {4326, 4490, 4979, 4978}

Arrays = tuple[NDArray[np.float64], NDArray[np.float64]]


def normalize_crs(crs: object) -> Declared:
    """Read a declared CRS: ``"gcj02"``, ``"bd09"``, or anything pyproj understands.

    Returns ``"gcj02"``, ``"bd09"`` or a :class:`pyproj.CRS` (EPSG:4490 becomes EPSG:4326).

    Raises
    ------
    CRSError
        When the value names no CRS.

    >>> normalize_crs("GCJ-02")
    'gcj02'
    >>> normalize_crs("EPSG:4490").to_epsg()
    4326
    """
    if isinstance(crs, str) and crs.strip().lower() in _ALIASES:
        return _ALIASES[crs.strip().lower()]
    if isinstance(crs, str) and crs.strip().lower() in {"wgs84", "cgcs2000"}:
        return pyproj.CRS.from_user_input(WGS84)
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except (pyproj.exceptions.CRSError, TypeError) as exc:
        msg = (
            f"unknown CRS {crs!r}: give an EPSG code such as 'EPSG:4326', or 'gcj02' / 'bd09' "
            f"for Chinese map coordinates ({exc})"
        )
        raise CRSError(msg) from None
    if parsed.to_epsg() in _WGS84_LIKE:
        return pyproj.CRS.from_user_input(WGS84)
    return parsed


def degrees_like(x: ArrayLike, y: ArrayLike) -> bool:
    """Whether every finite coordinate pair fits lon -180..180, lat -90..90.

    >>> degrees_like([-75.1, -75.2], [39.9, 40.0]), degrees_like([486000.0], [4428000.0])
    (True, False)
    """
    xs, ys = _arrays(x, y)
    finite = np.isfinite(xs) & np.isfinite(ys)
    return bool(np.all(np.abs(xs[finite]) <= 180) and np.all(np.abs(ys[finite]) <= 90))


def _degrees_like(coords: NDArray[np.float64]) -> bool:
    return degrees_like(coords[:, 0], coords[:, 1]) if len(coords) else True


def check_degrees(x: ArrayLike, y: ArrayLike, crs: object, where: str) -> None:
    """Refuse coordinates in metres read as degrees (and degrees declared as metres).

    A file whose coordinates reach beyond +-180 / +-90 while its CRS is geographic (declared, or
    WGS84 by default) holds projected metres: every point would fall outside every grid, so the
    answer would be silently empty. This raises instead, naming the file and the fix.

    Raises
    ------
    CRSError
        ``where`` first, then what was seen and the ``--crs`` to declare.

    >>> check_degrees([486000.0], [4428000.0], "EPSG:4326", "grids file g.geojson")
    Traceback (most recent call last):
    ...
    geo.errors.CRSError: grids file g.geojson: coordinates reach x=486000, y=4428000, which are metres, not degrees, but the CRS is EPSG:4326; declare the projected CRS they are in, e.g. --crs EPSG:32618 (UTM) or the city's state plane / CGCS2000 zone
    """
    xs, ys = _arrays(x, y)
    finite = np.isfinite(xs) & np.isfinite(ys)
    if not finite.any():
        return
    parsed = normalize_crs(crs)
    geographic = isinstance(parsed, str) or parsed.is_geographic
    if geographic and not degrees_like(xs[finite], ys[finite]):
        msg = (
            f"{where}: coordinates reach x={np.abs(xs[finite]).max():.0f}, "
            f"y={np.abs(ys[finite]).max():.0f}, which are metres, not degrees, but the CRS is "
            f"{crs}; declare the projected CRS they are in, e.g. --crs EPSG:32618 (UTM) or the "
            "city's state plane / CGCS2000 zone"
        )
        raise CRSError(msg)
    if not geographic and degrees_like(xs[finite], ys[finite]):
        msg = (
            f"{where}: the CRS {crs} is projected (metres) but every coordinate is within "
            "+-180 / +-90, which are degrees; declare --crs EPSG:4326 (or gcj02 / bd09)"
        )
        raise CRSError(msg)


def in_mainland_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Whether each point lies in mainland China, where the GCJ-02 offset applies.

    Hong Kong, Macau and Taiwan are outside. See :mod:`geo._china` for the outline's accuracy.

    >>> in_mainland_china([113.3, 114.172, 121.56], [23.1, 22.297, 25.04]).tolist()
    [True, False, False]
    """
    x, y = _arrays(lon, lat)
    return np.asarray(shapely.contains_xy(MAINLAND_CHINA, x, y), dtype=bool)


def _arrays(lon: ArrayLike, lat: ArrayLike) -> Arrays:
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    if x.shape != y.shape:
        msg = f"lon and lat differ in shape: {x.shape} vs {y.shape}"
        raise CRSError(msg)
    return x, y


def _gcj_offset(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Arrays:
    """GCJ-02 minus WGS84 in degrees at a WGS84 point (prcoords.wgs_gcj, vectorised)."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    dlat_m = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (
            2.0 * np.sin(x * 6.0 * pi)
            + 2.0 * np.sin(x * 2.0 * pi)
            + 2.0 * np.sin(y * pi)
            + 4.0 * np.sin(y / 3.0 * pi)
            + 16.0 * np.sin(y / 12.0 * pi)
            + 32.0 * np.sin(y / 30.0 * pi)
        )
        * 20.0
        / 3.0
    )
    dlon_m = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (
            2.0 * np.sin(x * 6.0 * pi)
            + 2.0 * np.sin(x * 2.0 * pi)
            + 2.0 * np.sin(x * pi)
            + 4.0 * np.sin(x / 3.0 * pi)
            + 15.0 * np.sin(x / 12.0 * pi)
            + 30.0 * np.sin(x / 30.0 * pi)
        )
        * 20.0
        / 3.0
    )
    rad_lat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    lat_deg_m = np.radians(_A * (1.0 - _EE) / magic**1.5)
    lon_deg_m = np.radians(_A * np.cos(rad_lat) / np.sqrt(magic))
    return dlon_m / lon_deg_m, dlat_m / lat_deg_m


def _wgs_gcj(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Arrays:
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_wgs(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Arrays:
    """Precise inverse: iterate the forward formula to its fixed point (prcoords' "bored")."""
    dlon, dlat = _gcj_offset(lon, lat)
    x, y = lon - dlon, lat - dlat
    for _ in range(_MAX_ITER):
        fx, fy = _wgs_gcj(x, y)
        rx, ry = fx - lon, fy - lat
        x, y = x - rx, y - ry
        if x.size == 0 or max(np.max(np.abs(rx)), np.max(np.abs(ry))) < _EPS_DEG:
            break
    return x, y


def _gcj_bd(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Arrays:
    r = np.hypot(lon, lat) + 0.00002 * np.sin(np.radians(lat) * 3000.0)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(np.radians(lon) * 3000.0)
    return r * np.cos(theta) + _BD_DLON, r * np.sin(theta) + _BD_DLAT


def _bd_gcj(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Arrays:
    """Precise inverse of Baidu's rotation by fixed-point iteration."""
    x0, y0 = lon - _BD_DLON, lat - _BD_DLAT
    r = np.hypot(x0, y0) - 0.00002 * np.sin(np.radians(y0) * 3000.0)
    theta = np.arctan2(y0, x0) - 0.000003 * np.cos(np.radians(x0) * 3000.0)
    x, y = r * np.cos(theta), r * np.sin(theta)
    for _ in range(_MAX_ITER):
        fx, fy = _gcj_bd(x, y)
        rx, ry = fx - lon, fy - lat
        x, y = x - rx, y - ry
        if x.size == 0 or max(np.max(np.abs(rx)), np.max(np.abs(ry))) < _EPS_DEG:
            break
    return x, y


def _masked(lon: ArrayLike, lat: ArrayLike, func: object) -> Arrays:
    """Apply ``func`` to the points inside mainland China, leave the others as they are."""
    x, y = _arrays(lon, lat)
    out_x, out_y = x.copy(), y.copy()
    finite = np.isfinite(x) & np.isfinite(y)
    inside = np.zeros(x.shape, dtype=bool)
    inside[finite] = in_mainland_china(x[finite], y[finite])
    if inside.any():
        fx, fy = func(x[inside], y[inside])  # type: ignore[operator]
        out_x[inside], out_y[inside] = fx, fy
    return out_x, out_y


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Arrays:
    """GCJ-02 to WGS84 (precise inverse, round trip under a millimetre), mainland only."""
    return _masked(lon, lat, _gcj_wgs)


def to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Arrays:
    """WGS84 to GCJ-02, for drawing on GCJ-02 tiles (Amap, Tencent); mainland only.

    Points outside mainland China (Hong Kong, Macau, Taiwan, abroad) come back unchanged.
    """
    return _masked(lon, lat, _wgs_gcj)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Arrays:
    """BD-09 (Baidu) to WGS84 (precise inverses), mainland only."""

    def both(x: NDArray[np.float64], y: NDArray[np.float64]) -> Arrays:
        return _gcj_wgs(*_bd_gcj(x, y))

    return _masked(lon, lat, both)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Arrays:
    """WGS84 to BD-09 (Baidu), mainland only."""

    def both(x: NDArray[np.float64], y: NDArray[np.float64]) -> Arrays:
        return _gcj_bd(*_wgs_gcj(x, y))

    return _masked(lon, lat, both)


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: object) -> Arrays:
    """Convert coordinate arrays from a declared CRS to WGS84 ``(lon, lat)``.

    ``crs`` is ``"gcj02"``, ``"bd09"`` or anything pyproj reads (EPSG:4490 is taken as WGS84).
    """
    declared = normalize_crs(crs)
    x, y = _arrays(lon, lat)
    if isinstance(declared, str) and declared == "gcj02":
        return gcj02_to_wgs84(x, y)
    if isinstance(declared, str) and declared == "bd09":
        return bd09_to_wgs84(x, y)
    assert isinstance(declared, pyproj.CRS)
    if declared.to_epsg() == 4326:
        return x.copy(), y.copy()
    transformer = pyproj.Transformer.from_crs(declared, WGS84, always_xy=True)
    tx, ty = transformer.transform(x, y)
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)


def _transform_frame(gdf: gpd.GeoDataFrame, func: object) -> gpd.GeoDataFrame:
    def coords(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        fx, fy = func(xy[:, 0], xy[:, 1])  # type: ignore[operator]
        return np.column_stack([fx, fy])

    geoms = shapely.transform(np.asarray(gdf.geometry.array, dtype=object), coords)
    out = gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), copy=True)
    return out.set_geometry(
        gpd.GeoSeries(geoms, index=gdf.index, crs=WGS84, name=gdf.geometry.name)
    )


def frame_to_wgs84(gdf: gpd.GeoDataFrame, crs: object = None) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` in EPSG:4326, reading its coordinates in the declared ``crs``.

    A declared ``crs`` overrides the frame's own (a GeoJSON file always claims WGS84, even when
    its numbers are GCJ-02). Without one the frame's CRS is used.

    Raises
    ------
    CRSError
        When neither the frame nor the caller gives a CRS.
    """
    if crs is None:
        if gdf.crs is None:
            msg = "coordinates have no CRS: declare one, e.g. crs='EPSG:4326' or crs='gcj02'"
            raise CRSError(msg)
        crs = gdf.crs
    declared = normalize_crs(crs)
    if isinstance(declared, str) and declared == "gcj02":
        return _transform_frame(gdf, gcj02_to_wgs84)
    if isinstance(declared, str) and declared == "bd09":
        return _transform_frame(gdf, bd09_to_wgs84)
    assert isinstance(declared, pyproj.CRS)
    if declared.to_epsg() == 4326:
        return gdf.set_crs(WGS84, allow_override=True)
    return gdf.set_crs(declared, allow_override=True).to_crs(WGS84)
