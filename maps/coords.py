"""Plan routes in the coordinates a handheld's map app expects: WGS84, GCJ-02 or BD-09.

Chinese map apps (Amap, Tencent: GCJ-02; Baidu: BD-09) draw WGS84 points 300-700 m off inside
mainland China. :func:`routes_in_crs` shifts every step's ``lon``/``lat`` and every route
geometry's vertices with :mod:`geo.crs` (mainland only: Hong Kong, Macau and Taiwan stay as
they are), so exports for those apps land on their streets. WGS84 is the default everywhere.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from geo.crs import to_gcj02, wgs84_to_bd09

from .errors import ExportError

__all__ = ["OUTPUT_CRS", "output_crs", "points_in_crs", "routes_in_crs"]

#: Output coordinate systems: name -> function of (lon, lat) arrays (None: unchanged).
OUTPUT_CRS = {"wgs84": None, "gcj02": to_gcj02, "bd09": wgs84_to_bd09}


def _shift(coords: Any, func: Any) -> Any:
    array = np.asarray(coords, dtype=float)
    if array.size == 0:
        return coords
    flat = array.reshape(-1, array.shape[-1])
    lon, lat = func(flat[:, 0], flat[:, 1])
    flat = (
        np.column_stack([lon, lat, *flat[:, 2:].T])
        if flat.shape[1] > 2
        else np.column_stack([lon, lat])
    )
    return flat.reshape(array.shape).tolist()


def output_crs(crs: str) -> str:
    """The output CRS name (``wgs84``, ``gcj02``, ``bd09``) of a user's spelling of it.

    >>> output_crs("GCJ-02")
    'gcj02'
    """
    key = crs.strip().lower().replace("-", "")
    if key not in OUTPUT_CRS:
        msg = f"--crs {crs!r}: use one of {', '.join(OUTPUT_CRS)}"
        raise ExportError(msg)
    return key


def points_in_crs(lon: Any, lat: Any, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 points in ``crs`` (shifted inside mainland China only).

    >>> lon, lat = points_in_crs([-75.16], [39.98], "gcj02")
    >>> float(lon[0]), float(lat[0])
    (-75.16, 39.98)
    """
    func = OUTPUT_CRS[output_crs(crs)]
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    if func is None:
        return x, y
    out_x, out_y = func(x, y)
    return np.asarray(out_x, dtype=float), np.asarray(out_y, dtype=float)


def routes_in_crs(routes: list[dict[str, Any]], crs: str) -> list[dict[str, Any]]:
    """Copies of plan routes with steps and geometry in ``crs`` (``wgs84``, ``gcj02``, ``bd09``).

    >>> r = [{"steps": [{"lon": 113.3, "lat": 23.1}], "geometry": None}]
    >>> round(routes_in_crs(r, "gcj02")[0]["steps"][0]["lon"] - 113.3, 4) != 0
    True
    """
    func = OUTPUT_CRS[output_crs(crs)]
    if func is None:
        return routes
    out = copy.deepcopy(routes)
    for route in out:
        for step in route.get("steps") or []:
            if step.get("lon") is not None and step.get("lat") is not None:
                (lon,), (lat,) = func(np.array([step["lon"]]), np.array([step["lat"]]))
                step["lon"], step["lat"] = round(float(lon), 7), round(float(lat), 7)
        geometry = route.get("geometry")
        if isinstance(geometry, dict) and geometry.get("coordinates") is not None:
            geometry["coordinates"] = _shift(geometry["coordinates"], func)
    return out
