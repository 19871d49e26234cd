"""A raster point-in-polygon index for the leaf grids (the fast path of :mod:`geo.join`).

The leaf polygons are overlaid with a uniform lattice of bins in their own plane (lon/lat
degrees for grids at rest), so the answer is exactly the one a planar point-in-polygon test in
that plane gives (shapely/GEOS "covers"):

1. every polygon edge marks the bins it passes within ``eps`` of (a conservative supercover);
2. a scanline fill at the bin centres (even-odd crossings) says which polygon covers each
   unmarked bin, which therefore lies wholly inside it (or outside all);
3. a point in an unmarked bin is answered by one array lookup; a point in a marked bin is
   tested against that bin's candidate polygons by counting the crossings of a horizontal ray
   with the candidate's edges in the point's row band (compiled with numba,
   :mod:`geo._join_kernels`; marked points are grouped by bin first, so the candidate table is
   read in order). The orientation of the point against each edge is computed in floating
   point with Shewchuk's error bound; where the sign is not certain (the point is on or within
   rounding of an edge), the numpy path below and GEOS decide (``shapely.intersects_xy``), so
   the result is exact.

Where several polygons cover a point (a shared edge or vertex, or an overlap), the one with the
smallest index wins; :mod:`geo.join` stores polygons in grid-id order. Polygons must be valid
(``geo.grids.load_grids`` repairs them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ._join_kernels import UNSURE, Bins, Candidates, group_by_key, raster_bins, raster_exact
from ._raster_build import raster_tables, ring_bounds
from ._raster_params import Lattice

__all__ = ["CCW_ERROR", "RasterIndex", "Rings", "polygon_rings"]

_OUTSIDE = -1
_MAX_BINS = 1 << 23
#: Shewchuk's bound on the rounding error of a 2-D orientation determinant (ccwerrboundA).
CCW_ERROR = (3.0 + 16.0 * np.finfo(float).eps) * np.finfo(float).eps
#: Points decided per call of the exact path (bounds its temporary arrays).
_CHUNK = 1 << 16


@dataclass(frozen=True, eq=False)
class RasterIndex:
    """Bins over the polygons' extent; see the module docstring.

    Attributes
    ----------
    geoms
        The polygons, in the order that defines the tie-break (index 0 wins).
    x0, y0, w, h
        Origin and size of the bins.
    nx, ny
        Number of bin columns and rows.
    label
        int32 per bin (row-major): ``>= 0`` the polygon covering the whole bin, ``-1`` none,
        ``<= -2`` a boundary bin, number ``-label - 2`` in the candidate table.
    cand_start, cand
        Candidate table of the marked bins (CSR): polygons with an edge in the bin or covering
        its centre.
    cand_edges, cand_edge_count, edges
        For each candidate entry, where its polygon's edges in the bin's row band start in
        ``edges`` and how many there are; ``edges`` holds ``(m, 4)`` coordinates
        ``ax, ay, bx, by`` in the polygons' own CRS, grouped by polygon and row band.
    bounds
        ``(n, 4)`` bounding box of each polygon (NaN for those without coordinates): a
        candidate whose box excludes the point is skipped without a crossing test.
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
    cand_edges: np.ndarray
    cand_edge_count: np.ndarray
    edges: np.ndarray
    bounds: np.ndarray

    @classmethod
    def build(
        cls,
        geoms: np.ndarray,
        *,
        bins: int | None = None,
        points: int | None = None,
    ) -> RasterIndex:
        """Index polygons (order = tie-break order). Empty or missing geometries never match.

        Parameters
        ----------
        geoms
            Polygons or MultiPolygons.
        bins
            Number of bins. More bins: fewer points tested exactly, a slower build. By default
            a quarter of ``points``, between 4 and 1024 per polygon (64 when ``points`` is
            not given), and between ``2**16`` and ``2**23`` in all (the compiled exact test
            is cheap, so the build, not the lookup, sets the balance).
        points
            How many points the index will answer (sizes the default ``bins``).
        """
        geoms = np.asarray(geoms, dtype=object)
        rings = polygon_rings(geoms)
        usable = np.zeros(len(geoms), dtype=bool)
        usable[rings.first_poly] = True
        bounds = np.full((len(geoms), 4), np.nan)
        bounds[rings.first_poly] = rings.bounds
        if not usable.any():
            none = np.zeros(0, np.int64)
            return cls(
                geoms, 0.0, 0.0, 1.0, 1.0, 1, 1, np.full(1, _OUTSIDE, np.int32),
                np.zeros(1, np.int64), none, none, none, np.zeros((0, 4)), bounds,
            )  # fmt: skip
        xmin, ymin = np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1])
        xmax, ymax = np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])
        n = int(usable.sum())
        # Bin aspect follows the typical polygon's, so cells are cut evenly in both directions.
        widths = bounds[usable, 2] - bounds[usable, 0]
        heights = bounds[usable, 3] - bounds[usable, 1]
        aspect = float(np.median(heights) / np.median(widths)) if np.median(widths) > 0 else 1.0
        if not np.isfinite(aspect) or aspect <= 0:
            aspect = 1.0
        span_x = max(xmax - xmin, 1e-12)
        span_y = max(ymax - ymin, 1e-12)
        wanted = 64 * n if points is None else np.clip(points // 4, 4 * n, 1024 * n)
        total = float(bins or np.clip(wanted, 1 << 16, _MAX_BINS))
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
        lattice = Lattice(float(x0), float(y0), w, h, nx, ny, float(eps / w), float(eps / h))
        label, cand_start, cand, cand_edges, cand_edge_count, edges = raster_tables(
            rings.xy, rings.ring, rings.ring_poly, len(rings.first_poly), lattice
        )
        return cls(
            geoms, x0, y0, w, h, nx, ny, label, cand_start, cand, cand_edges, cand_edge_count,
            edges, bounds,
        )  # fmt: skip

    def lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the winning polygon for each point, -1 where none covers it."""
        x = np.ascontiguousarray(x, dtype=float)
        y = np.ascontiguousarray(y, dtype=float)
        bins = Bins(float(self.x0), float(self.y0), 1.0 / self.w, 1.0 / self.h, self.nx, self.ny)
        out = raster_bins(x, y, bins, self.label)
        marked = np.flatnonzero(out < -1)
        if len(marked):
            slot = -out[marked] - 2
            order = group_by_key(slot, len(self.cand_start) - 1)  # walk the table in order
            marked, slot = marked[order], slot[order]
            table = Candidates(
                self.cand_start, self.cand, self.cand_edges, self.cand_edge_count, self.edges,
                self.bounds,
            )  # fmt: skip
            out[marked] = raster_exact(x[marked], y[marked], slot, table, CCW_ERROR)
        unsure = np.flatnonzero(out == UNSURE)  # on or within rounding of an edge
        for start in range(0, len(unsure), _CHUNK):
            which = unsure[start : start + _CHUNK]
            out[which] = self._lookup(x[which], y[which])
        return out

    def _lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        u = (x - self.x0) * (1.0 / self.w)
        v = (y - self.y0) * (1.0 / self.h)
        inside = (u >= 0) & (u < self.nx) & (v >= 0) & (v < self.ny)  # False for NaN
        col = np.where(inside, u, 0).astype(np.int64)
        row = np.where(inside, v, 0).astype(np.int64)
        result = np.where(inside, self.label[row * self.nx + col], _OUTSIDE).astype(np.int64)
        marked = np.flatnonzero(result < -1)
        if len(marked):
            slot = -result[marked] - 2
            start = self.cand_start[slot]
            counts = self.cand_start[slot + 1] - start
            point = np.repeat(marked, counts)
            entry = np.repeat(start, counts) + _ramp(counts)
            poly = self.cand[entry]
            hit = self._covers(entry, poly, x[point], y[point])
            result[marked] = _OUTSIDE
            point, poly = point[hit], poly[hit]
            # Candidates are sorted by polygon within a bin: the first hit is the smallest.
            first = np.ones(len(point), dtype=bool)
            first[1:] = point[1:] != point[:-1]
            result[point[first]] = poly[first]
        return result

    def _covers(
        self, entry: np.ndarray, poly: np.ndarray, px: np.ndarray, py: np.ndarray
    ) -> np.ndarray:
        """Whether candidate ``entry[i]`` (polygon ``poly[i]``) covers point ``i``, exactly."""
        counts = self.cand_edge_count[entry]
        pair = np.repeat(np.arange(len(entry)), counts)
        e = self.edges[np.repeat(self.cand_edges[entry], counts) + _ramp(counts)]
        ax, ay, bx, by = e[:, 0], e[:, 1], e[:, 2], e[:, 3]
        qx, qy = px[pair], py[pair]
        dx, dy = bx - ax, by - ay
        left, right = dx * (qy - ay), dy * (qx - ax)
        det = left - right
        bound = CCW_ERROR * (np.abs(left) + np.abs(right))
        lo_x, hi_x = np.minimum(ax, bx), np.maximum(ax, bx)
        in_box = (
            (qx >= lo_x) & (qx <= hi_x) & (qy >= np.minimum(ay, by)) & (qy <= np.maximum(ay, by))
        )
        unsure = in_box & (np.abs(det) <= bound)
        straddle = (ay > qy) != (by > qy)
        # The crossing lies right of the point: left of an upward edge, right of a downward one.
        ahead = np.where(qx < lo_x, True, np.where(qx > hi_x, False, (by > ay) == (det > 0)))
        crossings = np.bincount(pair, weights=straddle & ahead, minlength=len(entry))
        covered = (crossings.astype(np.int64) % 2) == 1
        doubt = np.flatnonzero(np.bincount(pair, weights=unsure, minlength=len(entry)) > 0)
        if len(doubt):  # on or within rounding of an edge: GEOS decides
            covered[doubt] = shapely.intersects_xy(self.geoms[poly[doubt]], px[doubt], py[doubt])
        return covered


def _ramp(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., k-1 for each k in counts, concatenated."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


@dataclass(frozen=True)
class Rings:
    """Every ring's coordinates, polygon by polygon: ``xy`` (m, 2), ``ring`` per coordinate
    (numbered in order), ``ring_poly`` per ring; ``first_poly`` the polygons with coordinates
    and ``bounds`` (their xmin, ymin, xmax, ymax), in increasing polygon order."""

    xy: np.ndarray
    ring: np.ndarray
    ring_poly: np.ndarray
    first_poly: np.ndarray
    bounds: np.ndarray


def polygon_rings(geoms: np.ndarray) -> Rings:
    """Ring coordinates of polygons in a few vectorised passes (bounds come from them).

    Polygons and MultiPolygons go through ``get_rings``; anything else (rare: collections)
    through its boundary. Missing and empty geometries have no coordinates, so never match.
    """
    geoms = np.asarray(geoms, dtype=object)
    kind = shapely.get_type_id(geoms)
    if np.isin(kind, [-1, 3]).all():
        rings, ring_poly = shapely.get_rings(geoms, return_index=True)
    elif np.isin(kind, [-1, 3, 6]).all():
        parts, part_poly = shapely.get_parts(geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        ring_poly = part_poly[ring_part]
    else:
        rings, ring_poly = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    xy = np.ascontiguousarray(xy, dtype=float)
    ring = np.ascontiguousarray(ring, dtype=np.int64)
    ring_poly = np.ascontiguousarray(ring_poly, dtype=np.int64)
    first_poly, bounds = ring_bounds(xy, ring, ring_poly)
    return Rings(xy, ring, ring_poly, first_poly, bounds)
