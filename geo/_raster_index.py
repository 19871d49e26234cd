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

from ._join_kernels import UNSURE, group_by_key, raster_bins, raster_exact

__all__ = ["RasterIndex", "Rings", "polygon_rings"]

_OUTSIDE = -1
_MAX_BINS = 1 << 23
_CHUNK = 1 << 16
#: Shewchuk's bound on the rounding error of a 2-D orientation determinant (ccwerrboundA).
_CCW_ERROR = (3.0 + 16.0 * np.finfo(float).eps) * np.finfo(float).eps


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

    @classmethod
    def build(
        cls, geoms: np.ndarray, *, bins: int | None = None, points: int | None = None
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
                np.zeros(1, np.int64), none, none, none, np.zeros((0, 4)),
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
        lattice = _Lattice(x0, y0, w, h, nx, ny, eps)

        segments = _segments(rings, lattice)
        edge_bin, edge_poly = _edge_pairs(segments, lattice)
        special = np.zeros(nx * ny, dtype=bool)
        special[edge_bin] = True

        # Scanline fill at bin centres: how many polygons cover each centre, and which.
        row, poly, u_in, u_out = _intervals(segments, lattice)
        first = np.clip(np.ceil(u_in - 0.5), 0, nx).astype(np.int64)
        last = np.clip(np.floor(u_out - 0.5) + 1, 0, nx).astype(np.int64)  # exclusive
        start, stop = row * nx + first, row * nx + np.maximum(last, first)
        size = nx * ny + 1
        count = np.cumsum(np.bincount(start, minlength=size) - np.bincount(stop, minlength=size))
        owner = np.cumsum(
            np.bincount(start, weights=poly, minlength=size)
            - np.bincount(stop, weights=poly, minlength=size)
        )
        count, owner = count[:-1], np.rint(owner[:-1]).astype(np.int64)
        special |= count > 1  # overlapping polygons: decided exactly, point by point

        label = np.where(count == 1, owner, _OUTSIDE).astype(np.int32)
        slots = np.flatnonzero(special)
        label[slots] = -2 - np.arange(len(slots), dtype=np.int32)

        # Candidates of a special bin: polygons with an edge in it, and polygons covering its
        # centre. A polygon covering the whole bin without an edge near it (possible only
        # where polygons overlap) is of the second kind: its edges are at least half a bin from
        # the centre, far beyond rounding, so the fill's intervals find it.
        before = np.cumsum(special, dtype=np.int64) - special  # special bins before each bin
        lo = before[row * nx + np.minimum(first, nx - 1)]  # (empty intervals: spans 0)
        hi = (
            before[row * nx + np.maximum(last - 1, 0)] + special[row * nx + np.maximum(last - 1, 0)]
        )
        del before
        spans = np.where(last > first, np.maximum(hi - lo, 0), 0)
        cover_slot = np.repeat(lo, spans) + _ramp(spans)
        cover_poly = np.repeat(poly, spans)
        edge_keys = (-2 - label[edge_bin].astype(np.int64)) * len(geoms) + edge_poly
        # Consecutive edges of a ring mark the same bins: drop repeats before sorting.
        edge_keys = edge_keys[np.concatenate([[True], edge_keys[1:] != edge_keys[:-1]])]
        keys = np.concatenate([edge_keys, cover_slot * len(geoms) + cover_poly])
        keys.sort()
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
        which, cand = np.divmod(keys, len(geoms))
        cand_start = np.zeros(len(slots) + 1, dtype=np.int64)
        np.cumsum(np.bincount(which, minlength=len(slots)), out=cand_start[1:])
        edge_key, edge_start, edges = _edge_table(segments, lattice)
        key = cand * ny + slots[which] // nx  # (polygon, row of the bin)
        order = np.argsort(key)
        at = np.empty(len(key), dtype=np.int64)
        at[order] = np.minimum(np.searchsorted(edge_key, key[order]), len(edge_key) - 1)
        found = edge_key[at] == key
        cand_edge_count = np.where(found, edge_start[at + 1] - edge_start[at], 0)
        return cls(
            geoms, x0, y0, w, h, nx, ny, label, cand_start, cand.astype(np.int64),
            edge_start[at], cand_edge_count.astype(np.int32), edges,
        )  # fmt: skip

    def lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the winning polygon for each point, -1 where none covers it."""
        x = np.ascontiguousarray(x, dtype=float)
        y = np.ascontiguousarray(y, dtype=float)
        inv_w, inv_h = 1.0 / self.w, 1.0 / self.h
        out = raster_bins(x, y, self.x0, self.y0, inv_w, inv_h, self.nx, self.ny, self.label)
        marked = np.flatnonzero(out < -1)
        if len(marked):
            slot = -out[marked] - 2
            order = group_by_key(slot, len(self.cand_start) - 1)  # walk the table in order
            marked, slot = marked[order], slot[order]
            out[marked] = raster_exact(
                x[marked], y[marked], slot, self.cand_start, self.cand, self.cand_edges,
                self.cand_edge_count, self.edges, _CCW_ERROR,
            )  # fmt: skip
        unsure = np.flatnonzero(out == UNSURE)
        for start in range(0, len(unsure), _CHUNK):  # on or within rounding of an edge
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
        bound = _CCW_ERROR * (np.abs(left) + np.abs(right))
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


@dataclass(frozen=True)
class _Lattice:
    x0: float
    y0: float
    w: float
    h: float
    nx: int
    ny: int
    eps: float


@dataclass(frozen=True)
class _Segments:
    """Polygon edges in bin units (u = column, v = row), with the polygon of each."""

    ua: np.ndarray
    va: np.ndarray
    ub: np.ndarray
    vb: np.ndarray
    poly: np.ndarray
    xy: np.ndarray  # (m, 4) ax, ay, bx, by in the polygons' own coordinates


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
    kind = shapely.get_type_id(geoms)
    if ((kind == -1) | ((kind == 3) & (shapely.get_num_interior_rings(geoms) == 0))).all():
        # Polygons without holes: one ring each, read in a single pass.
        xy, ring = shapely.get_coordinates(geoms, return_index=True)
        return _rings_of(xy, ring, np.arange(len(geoms), dtype=np.int64))
    if np.isin(kind, [-1, 3]).all():
        rings, ring_poly = shapely.get_rings(geoms, return_index=True)
    elif np.isin(kind, [-1, 3, 6]).all():
        parts, part_poly = shapely.get_parts(geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        ring_poly = part_poly[ring_part]
    else:
        rings, ring_poly = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    return _rings_of(xy, ring, ring_poly)


def _rings_of(xy: np.ndarray, ring: np.ndarray, ring_poly: np.ndarray) -> Rings:
    poly = ring_poly[ring]
    start = np.flatnonzero(np.concatenate([[True], poly[1:] != poly[:-1]])) if len(poly) else poly
    if len(poly):
        lo = np.minimum.reduceat(xy, start, axis=0)
        hi = np.maximum.reduceat(xy, start, axis=0)
        bounds = np.column_stack([lo, hi])
    else:
        bounds = np.zeros((0, 4))
    return Rings(xy, ring, ring_poly, poly[start].astype(np.int64), bounds)


def _segments(rings: Rings, lattice: _Lattice) -> _Segments:
    same = rings.ring[1:] == rings.ring[:-1]
    head, tail = rings.xy[:-1][same], rings.xy[1:][same]
    return _Segments(
        ua=(head[:, 0] - lattice.x0) / lattice.w,
        va=(head[:, 1] - lattice.y0) / lattice.h,
        ub=(tail[:, 0] - lattice.x0) / lattice.w,
        vb=(tail[:, 1] - lattice.y0) / lattice.h,
        poly=rings.ring_poly[rings.ring[:-1][same]].astype(np.int64),
        xy=np.column_stack([head, tail]),
    )


def _edge_pairs(seg: _Segments, lattice: _Lattice) -> tuple[np.ndarray, np.ndarray]:
    """(bin, polygon) for every bin some edge of the polygon passes within ``eps`` of."""
    nx, ny = lattice.nx, lattice.ny
    eu, ev = lattice.eps / lattice.w, lattice.eps / lattice.h
    umin, umax = np.minimum(seg.ua, seg.ub), np.maximum(seg.ua, seg.ub)
    vmin, vmax = np.minimum(seg.va, seg.vb), np.maximum(seg.va, seg.vb)
    c_lo = np.clip(np.floor(umin - eu), 0, nx - 1).astype(np.int64)
    c_hi = np.clip(np.floor(umax + eu), 0, nx - 1).astype(np.int64)
    ncol = c_hi - c_lo + 1
    k = np.repeat(np.arange(len(seg.ua)), ncol)
    col = np.repeat(c_lo, ncol) + _ramp(ncol)
    # The part of each edge inside the column's slab (widened by eps), as a v-interval.
    ua, va, du = seg.ua[k], seg.va[k], seg.ub[k] - seg.ua[k]
    s0 = np.maximum(col - eu, umin[k])
    s1 = np.minimum(col + 1 + eu, umax[k])
    steep = np.abs(du) < 1e-12
    slope = np.divide(seg.vb[k] - va, du, out=np.zeros(len(k)), where=~steep)
    v0 = np.where(steep, vmin[k], va + (s0 - ua) * slope)
    v1 = np.where(steep, vmax[k], va + (s1 - ua) * slope)
    lo = np.clip(np.minimum(v0, v1), vmin[k], vmax[k]) - ev
    hi = np.clip(np.maximum(v0, v1), vmin[k], vmax[k]) + ev
    r_lo = np.clip(np.floor(lo), 0, ny - 1).astype(np.int64)
    r_hi = np.clip(np.floor(hi), 0, ny - 1).astype(np.int64)
    nrow = r_hi - r_lo + 1
    rows = np.repeat(r_lo, nrow) + _ramp(nrow)
    return rows * nx + np.repeat(col, nrow), np.repeat(seg.poly[k], nrow)


def _intervals(
    seg: _Segments, lattice: _Lattice
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where each polygon is inside along each row's centre line (even-odd crossings).

    Returns ``row, poly, u_in, u_out``: one entry per inside stretch, in bin units.
    """
    vmin, vmax = np.minimum(seg.va, seg.vb), np.maximum(seg.va, seg.vb)
    # Rows whose centre line r + 0.5 lies in [vmin, vmax): the half-open crossing rule.
    r_lo = np.ceil(vmin - 0.5).astype(np.int64)
    r_hi = np.ceil(vmax - 0.5).astype(np.int64)  # exclusive
    nrow = np.maximum(r_hi - r_lo, 0)
    k = np.repeat(np.arange(len(seg.ua)), nrow)
    row = np.repeat(r_lo, nrow) + _ramp(nrow)
    t = (row + 0.5 - seg.va[k]) / (seg.vb[k] - seg.va[k])
    u = seg.ua[k] + t * (seg.ub[k] - seg.ua[k])
    poly = seg.poly[k]
    # Order by polygon, row and column; crossings of one polygon that share a column may come
    # out of order, which only moves interval ends inside that column (a marked bin anyway).
    column = np.clip(np.floor(u), -1, lattice.nx).astype(np.int64) + 1
    order = np.argsort((poly * lattice.ny + row) * (lattice.nx + 2) + column)
    row, poly, u = row[order], poly[order], u[order]
    inside = slice(0, None, 2)
    outside = slice(1, None, 2)
    return row[inside], poly[inside], u[inside], u[outside]


def _edge_table(seg: _Segments, lattice: _Lattice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each polygon's edges per row band they reach into (widened by ``eps``), as CSR."""
    ev = lattice.eps / lattice.h
    vmin, vmax = np.minimum(seg.va, seg.vb), np.maximum(seg.va, seg.vb)
    r_lo = np.clip(np.floor(vmin - ev), 0, lattice.ny - 1).astype(np.int64)
    r_hi = np.clip(np.floor(vmax + ev), 0, lattice.ny - 1).astype(np.int64)
    nrow = r_hi - r_lo + 1
    k = np.repeat(np.arange(len(seg.ua)), nrow)
    key = seg.poly[k] * lattice.ny + np.repeat(r_lo, nrow) + _ramp(nrow)
    order = np.argsort(key, kind="stable")
    key, k = key[order], k[order]
    change = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    start = np.concatenate([change, [len(key)]]).astype(np.int64)
    return key[change], start, seg.xy[k]
