"""A raster point-in-polygon index for the leaf grids (the fast path of :mod:`geo.join`).

The leaf polygons are overlaid with a uniform lattice of bins in their own plane (lon/lat
degrees for grids at rest), so the answer is exactly the one a planar point-in-polygon test in
that plane gives:

1. every polygon edge marks the bins it passes within ``eps`` of (a conservative supercover);
2. the other bins contain no boundary, so 4-connected runs of them lie wholly inside the same
   polygons: one exact test of a representative bin centre labels the whole run;
3. a point in an unmarked bin is answered by one array lookup; a point in a marked bin is
   tested exactly (``shapely.intersects_xy``, i.e. "the polygon covers the point") against the
   polygons whose bounding box meets the bin.

Where several polygons cover a point (a shared edge or vertex, or an overlap), the one with the
smallest grid id wins; polygons are stored in grid-id order, so that is the smallest index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage

__all__ = ["RasterIndex"]

_OUTSIDE = -1
_MAX_BINS = 1 << 24
_CHUNK = 1 << 21


@dataclass(frozen=True, eq=False)
class RasterIndex:
    """Bins over the polygons' extent; see the module docstring.

    Attributes
    ----------
    geoms
        Prepared polygons, in the order that defines the tie-break (index 0 wins).
    x0, y0, w, h
        Origin and size of the bins.
    nx, ny
        Number of bin columns and rows.
    label
        int32 per bin (row-major): ``>= 0`` the polygon covering the whole bin, ``-1`` none,
        ``<= -2`` a boundary bin, number ``-label - 2`` in the candidate table.
    cand_start, cand
        Candidate table of the boundary bins (CSR): polygons whose bounds meet the bin.
    bounds
        ``(n, 4)`` polygon bounds, a cheap prefilter before the exact test.
    """

    geoms: np.ndarray
    x0: float
    y0: float
    w: float
    h: float
    nx: int
    ny: int
    label: np.ndarray
    cand_start: np.ndarray
    cand: np.ndarray
    bounds: np.ndarray

    @classmethod
    def build(cls, geoms: np.ndarray, *, bins_per_polygon: float | None = None) -> RasterIndex:
        """Index polygons (order = tie-break order). Empty or missing geometries never match.

        Parameters
        ----------
        geoms
            Polygons or MultiPolygons.
        bins_per_polygon
            Lattice resolution; by default as fine as ``2**24`` bins allow, 64 to 4096 per
            polygon.
        """
        geoms = np.asarray(geoms, dtype=object)
        usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        shapely.prepare(geoms[usable])
        bounds = np.full((len(geoms), 4), np.nan)
        bounds[usable] = shapely.bounds(geoms[usable])
        if not usable.any():
            return cls(
                geoms, 0.0, 0.0, 1.0, 1.0, 1, 1, np.full(1, _OUTSIDE, np.int32),
                np.zeros(1, np.int64), np.zeros(0, np.int64), bounds,
            )  # fmt: skip
        xmin, ymin = np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1])
        xmax, ymax = np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])
        n = int(usable.sum())
        per = bins_per_polygon or float(np.clip(_MAX_BINS / n, 64, 4096))
        # Bin aspect follows the typical polygon's, so cells are cut evenly in both directions.
        widths = bounds[usable, 2] - bounds[usable, 0]
        heights = bounds[usable, 3] - bounds[usable, 1]
        aspect = float(np.median(heights) / np.median(widths)) if np.median(widths) > 0 else 1.0
        if not np.isfinite(aspect) or aspect <= 0:
            aspect = 1.0
        span_x = max(xmax - xmin, 1e-12)
        span_y = max(ymax - ymin, 1e-12)
        total = min(per * n, _MAX_BINS)
        w = float(np.sqrt(span_x * span_y / (total * aspect)))
        h = w * aspect
        # A margin of one bin keeps every edge strictly inside the lattice.
        x0, y0 = xmin - w, ymin - h
        nx = int(np.ceil(span_x / w)) + 2
        ny = int(np.ceil(span_y / h)) + 2
        while nx * ny > 4 * _MAX_BINS:  # degenerate extents (a needle of polygons)
            w, h = w * 2, h * 2
            x0, y0 = xmin - w, ymin - h
            nx = int(np.ceil(span_x / w)) + 2
            ny = int(np.ceil(span_y / h)) + 2
        eps = 1e-9 * max(span_x, span_y, abs(xmin), abs(xmax), abs(ymin), abs(ymax))

        marked = _edge_bins(geoms[usable], x0, y0, w, h, nx, ny, eps)
        boundary = np.zeros(nx * ny, dtype=bool)
        boundary[marked] = True

        label = np.full(nx * ny, _OUTSIDE, dtype=np.int32)
        runs, count = ndimage.label(~boundary.reshape(ny, nx))
        runs = runs.ravel()
        if count:
            _, first = np.unique(runs, return_index=True)
            first = first[runs[first] > 0]  # one bin per run, in run order 1..count
            cx = x0 + (first % nx + 0.5) * w
            cy = y0 + (first // nx + 0.5) * h
            owner = _exact(geoms, bounds, cx, cy)
            table = np.concatenate([[_OUTSIDE], owner]).astype(np.int32)
            label = table[runs]

        edge_bins = np.flatnonzero(boundary)
        label[edge_bins] = -2 - np.arange(len(edge_bins), dtype=np.int32)
        ex = x0 + (edge_bins % nx) * w
        ey = y0 + (edge_bins // nx) * h
        boxes = shapely.box(ex - eps, ey - eps, ex + w + eps, ey + h + eps)
        tree = shapely.STRtree(np.where(usable, geoms, None))
        which, poly = tree.query(boxes)
        order = np.lexsort((poly, which))
        which, poly = which[order], poly[order]
        cand_start = np.zeros(len(edge_bins) + 1, dtype=np.int64)
        np.cumsum(np.bincount(which, minlength=len(edge_bins)), out=cand_start[1:])
        return cls(geoms, x0, y0, w, h, nx, ny, label, cand_start, poly.astype(np.int64), bounds)

    def lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the winning polygon for each point, -1 where none covers it."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        out = np.empty(len(x), dtype=np.int64)
        for start in range(0, len(x), _CHUNK):
            stop = start + _CHUNK
            out[start:stop] = self._lookup(x[start:stop], y[start:stop])
        return out

    def _lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        u = (x - self.x0) * (1.0 / self.w)
        v = (y - self.y0) * (1.0 / self.h)
        inside = (u >= 0) & (u < self.nx) & (v >= 0) & (v < self.ny)  # False for NaN
        flat = np.zeros(len(x), dtype=np.int64)
        flat[inside] = v[inside].astype(np.int64) * self.nx + u[inside].astype(np.int64)
        result = np.where(inside, self.label[flat], _OUTSIDE).astype(np.int64)
        edge = np.flatnonzero(result < -1)
        if len(edge):
            slot = -result[edge] - 2
            start = self.cand_start[slot]
            counts = self.cand_start[slot + 1] - start
            point = np.repeat(edge, counts)
            offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            poly = self.cand[np.repeat(start, counts) + offset]
            result[edge] = _first_hit(self.geoms, self.bounds, poly, point, x, y, len(x))[edge]
        return result


def _exact(geoms: np.ndarray, bounds: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Exact winner for a few points (run representatives): an STRtree of the polygons."""
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    tree = shapely.STRtree(np.where(usable, geoms, None))
    point, poly = tree.query(shapely.points(x, y), predicate="intersects")
    order = np.lexsort((poly, point))
    return _first_hit(geoms, bounds, poly[order], point[order], x, y, len(x), test=False)


def _first_hit(
    geoms: np.ndarray,
    bounds: np.ndarray,
    poly: np.ndarray,
    point: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    n: int,
    *,
    test: bool = True,
) -> np.ndarray:
    """Smallest polygon index covering each point, given (point, poly) pairs sorted by both."""
    if test:
        px, py = x[point], y[point]
        b = bounds[poly]
        near = (px >= b[:, 0]) & (px <= b[:, 2]) & (py >= b[:, 1]) & (py <= b[:, 3])
        point, poly, px, py = point[near], poly[near], px[near], py[near]
        hit = shapely.intersects_xy(geoms[poly], px, py)
        point, poly = point[hit], poly[hit]
    result = np.full(n, _OUTSIDE, dtype=np.int64)
    if len(point):
        keep = np.ones(len(point), dtype=bool)
        keep[1:] = point[1:] != point[:-1]
        result[point[keep]] = poly[keep]
    return result


def _edge_bins(
    geoms: np.ndarray, x0: float, y0: float, w: float, h: float, nx: int, ny: int, eps: float
) -> np.ndarray:
    """Flat indices of every bin that some polygon edge passes within ``eps`` of."""
    rings = shapely.get_parts(shapely.boundary(geoms))
    coords, part = shapely.get_coordinates(rings, return_index=True)
    same = part[1:] == part[:-1]
    ua = (coords[:-1, 0][same] - x0) / w
    va = (coords[:-1, 1][same] - y0) / h
    ub = (coords[1:, 0][same] - x0) / w
    vb = (coords[1:, 1][same] - y0) / h
    eu, ev = eps / w, eps / h
    umin, umax = np.minimum(ua, ub), np.maximum(ua, ub)
    vmin, vmax = np.minimum(va, vb), np.maximum(va, vb)
    c_lo = np.clip(np.floor(umin - eu), 0, nx - 1).astype(np.int64)
    c_hi = np.clip(np.floor(umax + eu), 0, nx - 1).astype(np.int64)
    ncol = c_hi - c_lo + 1
    seg = np.repeat(np.arange(len(ua)), ncol)
    col = np.repeat(c_lo, ncol) + (np.arange(ncol.sum()) - np.repeat(np.cumsum(ncol) - ncol, ncol))
    # The part of each segment inside the column's slab (widened by eps), as a v-interval.
    s0 = np.maximum(col - eu, umin[seg])
    s1 = np.minimum(col + 1 + eu, umax[seg])
    du = ub[seg] - ua[seg]
    steep = np.abs(du) < 1e-12
    slope = np.divide(vb[seg] - va[seg], du, out=np.zeros(len(seg)), where=~steep)
    v0 = np.where(steep, vmin[seg], va[seg] + (s0 - ua[seg]) * slope)
    v1 = np.where(steep, vmax[seg], va[seg] + (s1 - ua[seg]) * slope)
    lo = np.clip(np.minimum(v0, v1), vmin[seg], vmax[seg]) - ev
    hi = np.clip(np.maximum(v0, v1), vmin[seg], vmax[seg]) + ev
    r_lo = np.clip(np.floor(lo), 0, ny - 1).astype(np.int64)
    r_hi = np.clip(np.floor(hi), 0, ny - 1).astype(np.int64)
    nrow = r_hi - r_lo + 1
    row = np.repeat(r_lo, nrow) + (np.arange(nrow.sum()) - np.repeat(np.cumsum(nrow) - nrow, nrow))
    return np.unique(row * nx + np.repeat(col, nrow))
