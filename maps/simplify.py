"""Track simplification with a tolerance in metres, for small files over narrow radio links."""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["simplify_line"]


def simplify_line(lonlat: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Douglas-Peucker simplification of a lon/lat polyline, tolerance in metres.

    The line is projected to a local equirectangular plane (metres, accurate to well under
    1% over a city), simplified with shapely, and the kept vertices are returned unchanged
    (the end points always stay).

    Parameters
    ----------
    lonlat
        ``(n, 2)`` array of ``[lon, lat]``.
    tolerance_m
        Largest distance in metres a removed vertex may lie from the simplified line;
        0 or less returns the input.

    Returns
    -------
    np.ndarray
        ``(m, 2)`` subset of the input vertices, ``m <= n``.

    Examples
    --------
    >>> line = np.array([[0.0, 0.0], [0.00001, 0.000001], [0.001, 0.0]])
    >>> simplify_line(line, 5.0).shape
    (2, 2)
    """
    pts = np.asarray(lonlat, dtype=float).reshape(-1, 2)
    if tolerance_m <= 0 or len(pts) < 3:
        return pts
    lat0 = np.radians(pts[:, 1].mean())
    xy = np.column_stack(
        [np.radians(pts[:, 0]) * np.cos(lat0) * 6_371_008.8, np.radians(pts[:, 1]) * 6_371_008.8]
    )
    kept = shapely.get_coordinates(
        shapely.simplify(shapely.linestrings(xy), tolerance_m, preserve_topology=False)
    )
    # Map the kept projected vertices back to the input vertices (exact matches).
    index = {(float(x), float(y)): i for i, (x, y) in enumerate(xy)}
    rows = sorted({index[(float(x), float(y))] for x, y in kept if (float(x), float(y)) in index})
    if not rows or rows[0] != 0:
        rows.insert(0, 0)
    if rows[-1] != len(pts) - 1:
        rows.append(len(pts) - 1)
    return pts[rows]
