"""Arithmetic binning for grids that are a regular lattice of axis-aligned rectangles.

When every leaf grid is a rectangle of one size whose corners sit on a lattice in the grids'
own plane (a lon/lat graticule, for example), the cell of a point is ``floor`` arithmetic: no
polygon is touched. Points within rounding distance of a lattice line (a shared edge or vertex)
are decided exactly by GEOS among the up to nine cells around them, by the same rule as the
general index (smallest index wins).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ._exact import settle_unsure, smallest_covering
from ._join_kernels import UNSURE, lattice_bins, ring_areas
from ._raster_index import Rings, polygon_rings

__all__ = ["LatticeIndex"]

_OUTSIDE = -1
_REL_TOL = 1e-9
_MAX_CELLS = 1 << 26


@dataclass(frozen=True, eq=False)
class LatticeIndex:
    """Cells of a rectangular lattice: ``label[row * nx + col]`` is the polygon index or -1.

    Attributes
    ----------
    geoms
        The polygons, in tie-break order.
    x0, y0, w, h
        Lattice origin and cell size.
    nx, ny
        Lattice columns and rows.
    label
        int32 per lattice cell.
    quick
        ``UNSURE``, -1, then ``label``: the table :func:`~geo._join_kernels.lattice_bins` reads.
    margin
        Distance from a lattice line, in cell units, under which a point is tested exactly.
    """

    geoms: np.ndarray
    x0: float
    y0: float
    w: float
    h: float
    nx: int
    ny: int
    label: np.ndarray
    quick: np.ndarray
    margin: float

    @classmethod
    def detect(cls, geoms: np.ndarray, rings: Rings | None = None) -> LatticeIndex | None:
        """The lattice index of ``geoms``, or None when they are not such a lattice.

        ``rings``: the polygons' rings if already read (:func:`~geo._raster_index.polygon_rings`).
        """
        geoms = np.asarray(geoms, dtype=object)
        n = len(geoms)
        if n < 4:
            return None
        rings = polygon_rings(geoms) if rings is None else rings
        if len(rings.first_poly) != n:
            return None  # missing or empty polygons
        if not (rings.one_ring_each(n) and (rings.coordinate_counts(n) == 5).all()):
            return None  # one ring of four corners each
        b = rings.bounds
        widths, heights = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        w, h = float(np.median(widths)), float(np.median(heights))
        if w <= 0 or h <= 0:
            return None
        tol = _REL_TOL * max(np.abs(b).max(), w, h)
        if np.abs(widths - w).max() > tol or np.abs(heights - h).max() > tol:
            return None
        area = ring_areas(rings.xy, np.arange(0, 5 * n + 1, 5))  # one ring of five each
        if np.abs(area - widths * heights).max() > 1e-6 * w * h:
            return None  # not axis-aligned rectangles
        # Rings alike, but not all polygons (a pass over every one, unless reading showed it;
        # with one ring each, none is missing).
        if not (rings.polygons or (shapely.get_type_id(geoms) == 3).all()):
            return None
        x0, y0 = float(b[:, 0].min()), float(b[:, 1].min())
        col = np.rint((b[:, 0] - x0) / w).astype(np.int64)
        row = np.rint((b[:, 1] - y0) / h).astype(np.int64)
        deviation = max(
            np.abs(b[:, 0] - (x0 + col * w)).max(),
            np.abs(b[:, 2] - (x0 + (col + 1) * w)).max(),
            np.abs(b[:, 1] - (y0 + row * h)).max(),
            np.abs(b[:, 3] - (y0 + (row + 1) * h)).max(),
        )
        if deviation > max(tol, 1e-6 * min(w, h)):
            return None
        nx, ny = int(col.max()) + 1, int(row.max()) + 1
        if nx * ny > _MAX_CELLS:
            return None
        flat = row * nx + col
        if np.bincount(flat, minlength=nx * ny).max() > 1:
            return None  # two cells in one place: overlaps, leave to the general index
        label = np.full(nx * ny, _OUTSIDE, dtype=np.int32)
        label[flat] = np.arange(len(geoms), dtype=np.int32)
        # Well above the corner deviation and the rounding of (x - x0) / w.
        margin = max(1e-9, 4.0 * deviation / min(w, h) + 64 * np.finfo(float).eps * max(nx, ny))
        quick = np.concatenate([np.array([UNSURE, _OUTSIDE], dtype=np.int32), label])
        return cls(geoms, x0, y0, w, h, nx, ny, label, quick, float(margin))

    def lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the winning polygon for each point (int32), -1 where none covers it."""
        x = np.ascontiguousarray(x, dtype=float)
        y = np.ascontiguousarray(y, dtype=float)
        out, unsure = lattice_bins(
            x, y, (self.x0, self.y0, 1.0 / self.w, 1.0 / self.h),
            (float(self.nx), float(self.ny)), self.quick, self.margin,
        )  # fmt: skip
        if unsure == 0:
            return out
        return settle_unsure(out, x, y, self._lookup)  # near a lattice line: GEOS decides

    def _lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        m = self.margin
        u = x - self.x0
        u *= 1.0 / self.w
        v = y - self.y0
        v *= 1.0 / self.h
        col, row = np.floor(u), np.floor(v)
        fu, fv = u - col, v - row
        # Clear of every lattice line and inside the lattice (all False for NaN).
        clear = (fu > m) & (fu < 1 - m) & (fv > m) & (fv < 1 - m)
        clear &= (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        flat = row * self.nx
        flat += col
        flat[~clear] = 0
        result = self.label[flat.astype(np.intp)].astype(np.int64)
        result[~clear] = _OUTSIDE
        near = ~clear & (u > -m) & (u < self.nx + m) & (v > -m) & (v < self.ny + m)
        edge = np.flatnonzero(near)
        if len(edge):
            c, r = col[edge].astype(np.int64), row[edge].astype(np.int64)
            result[edge] = smallest_covering(self.geoms, self._around(c, r), x[edge], y[edge])
        return result

    def _around(self, col: np.ndarray, row: np.ndarray) -> np.ndarray:
        """The polygons of the nine cells around each ``(col, row)``, ``(n, 9)``, -1 for none."""
        cand = np.full((len(col), 9), _OUTSIDE, dtype=np.int64)
        for k, (dc, dr) in enumerate((dc, dr) for dc in (-1, 0, 1) for dr in (-1, 0, 1)):
            c, r = col + dc, row + dr
            ok = (c >= 0) & (c < self.nx) & (r >= 0) & (r < self.ny)
            cand[ok, k] = self.label[r[ok] * self.nx + c[ok]]
        return cand
