"""Point location for regular tilings seen through a smooth map: square and hexagonal grids.

Grids generated in a metric CRS (``geo.gridgen.make_grid`` squares and hexagons, a city's own
square grid in its UTM zone) and H3 cells are regular tilings in some plane, but in lon/lat
their cells are slightly warped quadrilaterals and hexagons, so :class:`~geo._lattice_index.
LatticeIndex` does not apply and the general raster index spends most of its time near edges.
This index finds the tiling instead:

1. the cells' vertex means, in a local plane, reveal the lattice (four equidistant nearest
   neighbours: squares; six: hexagons) and its basis at the middle of the grid;
2. a cubic map ``P`` from lon/lat to lattice coordinates is fitted to the cells' integer
   positions, growing outward from the middle so that drift never rounds to the wrong cell;
3. every polygon's image under ``P`` is measured against its ideal lattice cell (the Voronoi
   cell of its lattice point): a *full* cell's vertices sit at the ideal corners, a *partial*
   (clipped) cell stays inside; ``eps`` bounds every deviation, including how far ``P`` bends
   a straight edge (from ``P``'s second derivatives).

A point mapped more than ``eps`` inside an ideal cell can then be covered by that cell's
polygon only: a full cell answers by one lookup, a partial one by an exact crossing test.
Points nearer an ideal cell boundary test the polygons of the four surrounding lattice points
exactly (compiled, :mod:`geo._join_kernels`), and points on or within rounding of an edge go to
GEOS. The answers are therefore exactly those of a planar covers test in lon/lat, with the same
rule as the other indexes (smallest index wins). Grids that are not such a tiling (irregular,
overlapping, spanning an H3 icosahedron edge) make :meth:`TilingIndex.detect` return None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._exact import CCW_ERROR, settle_unsure, smallest_covering
from ._join_kernels import (
    PARTIAL,
    SLOW,
    polygon_outlines,
    positions_below,
    ring_areas,
    tiling_candidates,
    tiling_decide,
    tiling_deviation,
    tiling_frame,
    tiling_locate,
    tiling_lookup,
)
from ._raster_index import RasterIndex, Rings, polygon_rings

__all__ = ["TilingIndex"]

_OUTSIDE = -1
_MAX_SLOTS = 1 << 26
#: Largest ``eps`` (lattice units) worth indexing; larger means the map does not fit the grid.
_MAX_EPS = 0.1
#: A regular polygon is full when every ideal corner has a vertex this near (lattice units),
#: and not much farther than in the typical cell.
_FULL_WITHIN = 0.01
#: Bins of the raster over the partial cells' polygons, at least and at most.
_PARTIAL_BINS = (1 << 16, 1 << 22)
#: At most this many cells go into one least-squares fit of the map.
_FIT_SAMPLE = 4000
#: Ideal cell corners around a lattice point, in the lattice's Euclidean frame.
_CORNERS = {
    False: np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]),
    True: np.column_stack(
        [np.cos(np.radians(30 + 60 * np.arange(6))), np.sin(np.radians(30 + 60 * np.arange(6)))]
    )
    / np.sqrt(3.0),
}
#: Directions to the lattice point's edge neighbours (unit length), in the Euclidean frame.
_NEIGHBOURS = {
    False: np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]),
    True: np.column_stack(
        [np.cos(np.radians(60 * np.arange(6))), np.sin(np.radians(60 * np.arange(6)))]
    ),
}


@dataclass(frozen=True, eq=False)
class TilingIndex:
    """A square or hexagonal tiling of polygons, located through the cubic map ``P``.

    Attributes
    ----------
    geoms
        The polygons, in tie-break order.
    bounds
        ``xmin, ymin, xmax, ymax`` of all polygons: nothing outside is covered.
    centre, scale
        ``P``'s input is ``((x - centre) * scale)``, about -1..1 over ``bounds``.
    coef
        ``(2, 10)`` cubic coefficients of ``P`` (to lattice ``s`` and ``t``).
    hexagonal
        Hexagonal lattice (basis 60 degrees apart) or square.
    origin, ni, nj, label
        Lattice cell ``(i, j)`` has label ``label[(j - origin[1]) * ni + i - origin[0]]``: its
        polygon, -1 for none, or ``-2 - m`` when several polygons share it (the pieces of a
        cell split between parents): ``shared[shared_start[m]:shared_start[m + 1]]``, sorted.
    shared_start, shared
        The polygons of shared cells (CSR).
    full
        Per polygon: its image fills its ideal cell (to ``eps``), so covers it without a test.
    quick
        The answer for a point mapped deeper than ``eps`` into cell ``c``: ``quick[1 + c]`` is
        ``label[c]`` where that is a full polygon or -1, else ``PARTIAL``; ``quick[0]`` (a
        point deep in no cell) is ``SLOW``.
    partial, partial_ids, partial_bins
        A raster index over the polygons of the cells ``quick`` leaves ``PARTIAL`` (not full,
        or sharing a cell; ``partial_ids``, increasing): a point deep in such a cell can only
        be covered by that cell's polygons, all among them. ``partial_bins`` is its bin table
        in this index's numbering (``PARTIAL`` for bins an edge crosses).
    eps
        Bound on every polygon's deviation from its ideal cell under ``P`` (lattice units).
    edge_start, edges
        Each polygon's ring edges ``ax, ay, bx, by`` (CSR), for the exact crossing test.
    """

    geoms: np.ndarray
    bounds: np.ndarray
    centre: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    hexagonal: bool
    origin: np.ndarray
    ni: int
    nj: int
    label: np.ndarray
    shared_start: np.ndarray
    shared: np.ndarray
    full: np.ndarray
    quick: np.ndarray
    partial: RasterIndex
    partial_ids: np.ndarray
    partial_bins: np.ndarray
    eps: float
    edge_start: np.ndarray
    edges: np.ndarray

    @classmethod
    def detect(
        cls, geoms: np.ndarray, rings: Rings | None = None, *, points: int | None = None
    ) -> TilingIndex | None:
        """The tiling index of ``geoms`` (lon/lat), or None when they are not such a tiling.

        ``rings``: the polygons' rings if already read (:func:`~geo._raster_index.polygon_rings`);
        ``points``: how many points the index will answer (sizes the partial cells' raster).
        """
        geoms = np.asarray(geoms, dtype=object)
        n = len(geoms)
        if n < 16:
            return None
        rings = polygon_rings(geoms) if rings is None else rings
        if len(rings.first_poly) != n:
            return None  # empty polygons
        counts = rings.coordinate_counts(n)
        if rings.one_ring_each(n):
            simple = np.ones(n, dtype=bool)
        else:
            simple = np.bincount(rings.ring_poly, minlength=n) == 1
        modal = int(np.bincount(counts[simple]).argmax()) if simple.any() else 0
        if modal not in (5, 7) or 3 * int((simple & (counts == modal)).sum()) < n:
            return None  # a tiling's cells mostly share one shape (Voronoi cells do not)
        if not rings.areal:
            return None
        hexagonal = modal == 7
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)  # rings in order
        mean, edges, edge_start, span = polygon_outlines(rings.xy, rings.ring, start)
        area = ring_areas(rings.xy, start)  # the shell's area: only simple polygons use it
        typical = float(np.median(area[simple & (counts == modal)]))
        regular = simple & (counts == modal) & (np.abs(area / typical - 1.0) < 0.05)
        if regular.sum() < max(9, n // 4):
            return None  # a tiling's cells are mostly alike (Voronoi cells are not)
        b = rings.bounds  # column by column: numpy's axis reductions of narrow arrays are slow
        bounds = np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])
        centre = (bounds[:2] + bounds[2:]) / 2.0
        scale = 2.0 / np.maximum(bounds[2:] - bounds[:2], 1e-12)
        coef = _fit_map(mean, regular, centre, scale, hexagonal)
        if coef is None:
            return None
        cs, ct = np.ascontiguousarray(coef[0]), np.ascontiguousarray(coef[1])
        # Each polygon's lattice point: the nearest to its mapped vertex mean.
        st, ij = tiling_locate(mean[:, 0], mean[:, 1], centre, scale, cs, ct, hexagonal)
        off = np.maximum(np.abs(st[:, 0] - ij[:, 0]), np.abs(st[:, 1] - ij[:, 1]))
        if off[regular].max() > _MAX_EPS:
            return None
        origin = np.array([ij[:, 0].min(), ij[:, 1].min()])
        ni, nj = int(ij[:, 0].max() - origin[0] + 1), int(ij[:, 1].max() - origin[1] + 1)
        if ni * nj > min(_MAX_SLOTS, 16 * n + 1024):
            return None
        flat = (ij[:, 1] - origin[1]) * ni + (ij[:, 0] - origin[0])
        label, shared_start, shared = _cell_table(flat, ni * nj)
        x, y = np.ascontiguousarray(rings.xy[:, 0]), np.ascontiguousarray(rings.xy[:, 1])
        ex, ey = tiling_frame(x, y, centre, scale, cs, ct, hexagonal)
        shape = (hexagonal, _CORNERS[hexagonal], _NEIGHBOURS[hexagonal])
        none = np.zeros(n, dtype=bool)
        corner_gap, _ = tiling_deviation(ex, ey, start, ij, regular, none, *shape)
        # Full: corners where the typical cell's are (a cell clipped by a sliver is partial).
        limit = min(_FULL_WITHIN, max(16.0 * float(np.median(corner_gap[regular])), 1e-9))
        full = corner_gap <= limit
        # How far the others reach out of their cells (a full cell's vertices are its corners).
        _, reach = tiling_deviation(ex, ey, start, ij, none, ~full, *shape)
        deviation = max(
            float(corner_gap[full].max(initial=0.0)), float(reach[~full].max(initial=0.0))
        )
        bend = _bend_bound(coef, span, scale, hexagonal)
        eps = 2.0 * (deviation + bend) + 1e-9
        if eps > _MAX_EPS or not _injective(coef):
            return None
        quick = _quick_table(label, full)
        # The polygons of every cell the quick table leaves PARTIAL (not full, or sharing a cell).
        partial_ids = np.flatnonzero(quick[1 + flat] == PARTIAL)
        # The raster spans the grid (clipped cells ring it): a bin per 16 points, 2^16..2^22.
        bins = int(np.clip((points or 0) // 16, _PARTIAL_BINS[0], _PARTIAL_BINS[1]))
        partial = RasterIndex.build(geoms[partial_ids], bins=bins)
        partial_bins = np.full(len(partial.label), PARTIAL, dtype=np.int32)
        filled = partial.label >= 0
        partial_bins[filled] = partial_ids[partial.label[filled]]
        partial_bins[partial.label == _OUTSIDE] = _OUTSIDE
        return cls(
            geoms, bounds, centre, scale, np.stack([cs, ct]), hexagonal,
            origin.astype(np.int64), int(ni), int(nj), label, shared_start, shared, full,
            quick, partial, partial_ids, partial_bins,
            float(eps), edge_start, edges,
        )  # fmt: skip

    def lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the winning polygon for each point (int32), -1 where none covers it."""
        x = np.ascontiguousarray(x, dtype=float)
        y = np.ascontiguousarray(y, dtype=float)
        frame = (*self.bounds, *self.centre, *self.scale)
        table = (*self.origin.astype(float), float(self.ni), float(self.nj))
        raster = self.partial
        bins = (raster.x0, raster.y0, 1.0 / raster.w, 1.0 / raster.h, raster.nx, raster.ny)
        out, slow, partial = tiling_lookup(
            x, y, tuple(map(float, frame)), tuple(self.coef[0]), tuple(self.coef[1]),
            self.hexagonal, table, self.eps, self.quick, tuple(map(float, bins)),
            self.partial_bins,
        )  # fmt: skip
        if slow + partial == 0:
            return out
        left = positions_below(out, _OUTSIDE, slow + partial)  # one scan for both kinds
        where = left[out[left] == PARTIAL]
        if len(where):
            got = self.partial.lookup(x[where], y[where])
            out[where] = np.where(got >= 0, self.partial_ids[np.maximum(got, 0)], _OUTSIDE)
        if slow == 0:
            return out
        unsure = tiling_decide(
            x, y, left[out[left] == SLOW], out, self.bounds, self.centre, self.scale,
            self.coef[0], self.coef[1], self.hexagonal, self.origin, self.ni, self.nj,
            self.label, self.shared_start, self.shared, self.full, self.eps, self.edge_start,
            self.edges, CCW_ERROR,
        )  # fmt: skip
        if unsure == 0:
            return out
        return settle_unsure(out, x, y, self._exact)  # on or within rounding of an edge

    def _exact(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Smallest covering polygon among the four cells around each point (GEOS)."""
        cand = tiling_candidates(
            x, y, self.centre, self.scale, self.coef[0], self.coef[1], self.origin, self.ni,
            self.nj, self.label, self.shared_start, self.shared,
        )  # fmt: skip
        return smallest_covering(self.geoms, cand, x, y)


def _cell_table(flat: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell labels for polygons at lattice cells ``flat`` (see :class:`TilingIndex`)."""
    polygons = np.arange(len(flat), dtype=np.int64)
    counts = np.bincount(flat, minlength=size)
    label = np.full(size, _OUTSIDE, dtype=np.int32)
    alone = counts[flat] == 1
    label[flat[alone]] = polygons[alone]
    cells = np.flatnonzero(counts > 1)
    label[cells] = -2 - np.arange(len(cells))
    order = np.lexsort((polygons[~alone], flat[~alone]))  # by cell, then polygon
    shared = polygons[~alone][order]
    shared_start = np.concatenate([[0], np.cumsum(counts[cells])]).astype(np.int64)
    return label, shared_start, shared


def _quick_table(label: np.ndarray, full: np.ndarray) -> np.ndarray:
    """:attr:`TilingIndex.quick` from the cell labels and the full polygons."""
    quick = np.full(len(label) + 1, PARTIAL, dtype=np.int32)
    quick[0] = SLOW
    alone = label >= 0
    answered = (label == _OUTSIDE) | (alone & full[np.where(alone, label, 0)])
    quick[1:][answered] = label[answered]
    return quick


# -- fitting the map -------------------------------------------------------------------------


def _basis(
    dx: np.ndarray, dy: np.ndarray, hexagonal: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Lattice basis at the cell whose offset ``(dx, dy)`` is 0, from its nearest neighbours.

    Square lattices show four equidistant neighbours, then the diagonals at sqrt(2); hexagonal
    ones six, then sqrt(3). Returns ``(dist, e1, e2)`` or None when they do not show.
    """
    dist = np.sqrt(dx * dx + dy * dy)
    k = 7 if hexagonal else 5
    if len(dist) <= k + 1:
        return None
    near = np.argpartition(dist, k + 1)[: k + 2]
    near = near[np.argsort(dist[near])][1:]  # drop the cell itself
    d = dist[near]
    ring = 6 if hexagonal else 4
    next_ratio = np.sqrt(3.0) if hexagonal else np.sqrt(2.0)
    # Up to 15% apart: H3's hexagons are regular on an icosahedron face, not in lon/lat.
    if d[0] <= 0 or d[ring - 1] / d[0] > 1.15 or abs(d[ring] / d[0] - next_ratio) > 0.2:
        return None
    vectors = np.column_stack([dx[near[:ring]], dy[near[:ring]]])
    e1 = vectors[0]
    cross = e1[0] * vectors[:, 1] - e1[1] * vectors[:, 0]
    cosine = vectors @ e1 / (d[:ring] * d[0])
    want = 0.5 if hexagonal else 0.0
    score = np.where(cross > 0, np.abs(cosine - want), np.inf)
    if not np.isfinite(score.min()) or score.min() > 0.15:
        return None
    return dist, e1, vectors[int(np.argmin(score))]


def _design(uv: np.ndarray) -> np.ndarray:
    """Cubic monomials ``1, u, v, u2, uv, v2, u3, u2v, uv2, v3`` (the kernel's order)."""
    u, v = uv[:, 0], uv[:, 1]
    out = np.empty((len(uv), 10))
    out[:, 0] = 1.0
    out[:, 1] = u
    out[:, 2] = v
    np.multiply(u, u, out=out[:, 3])
    np.multiply(u, v, out=out[:, 4])
    np.multiply(v, v, out=out[:, 5])
    np.multiply(out[:, 3], u, out=out[:, 6])  # u3 (multiplied: a power calls pow per element)
    np.multiply(out[:, 3], v, out=out[:, 7])
    np.multiply(out[:, 5], u, out=out[:, 8])
    np.multiply(out[:, 5], v, out=out[:, 9])
    return out


def _apply(coef: np.ndarray, uv: np.ndarray) -> np.ndarray:
    return _design(uv) @ coef.T


def _fit_map(
    mean: np.ndarray, regular: np.ndarray, centre: np.ndarray, scale: np.ndarray, hexagonal: bool
) -> np.ndarray | None:
    """Cubic ``P``: lon/lat to lattice coordinates, or None when no lattice shows.

    The basis comes from the nearest neighbours of a regular cell near the middle whose
    neighbours are all regular cells too (in a local equirectangular plane); the fit then grows
    outward from it (5%, 25%, all regular cells by distance), each round rounding the previous
    map's prediction to integer lattice positions. (Column by column: numpy masks and
    broadcasts over ``(n, 2)`` arrays row by row, several times slower.)
    """
    px = mean[:, 0][regular]
    py = mean[:, 1][regular]
    if len(px) <= 9:
        return None
    x = (px - centre[0]) * np.cos(np.radians(centre[1]))  # the local plane
    y = py - centre[1]
    near_middle = x * x + y * y
    candidates = np.argpartition(near_middle, min(24, len(near_middle) - 1))[:25]
    for middle in candidates[np.argsort(near_middle[candidates])]:
        dx, dy = x - x[middle], y - y[middle]
        found = _basis(dx, dy, hexagonal)
        if found is not None:
            break
    else:
        return None
    dist, e1, e2 = found
    to_lattice = np.linalg.inv(np.column_stack([e1, e2])).T
    coef = np.zeros((2, 10))
    for share in (0.05, 0.25, 1.0):
        size = min(len(dist), max(30, int(share * len(dist))))
        take = np.argpartition(dist, size - 1)[:size] if size < len(dist) else np.arange(size)
        take = take[:: max(1, len(take) // _FIT_SAMPLE)]  # a spread-out sample of them
        uv = np.column_stack([(px[take] - centre[0]) * scale[0], (py[take] - centre[1]) * scale[1]])
        if share == 0.05:
            target = np.rint(np.column_stack([dx[take], dy[take]]) @ to_lattice)
        else:
            target = np.rint(_apply(coef, uv))
        design = _design(uv) if len(take) >= 30 else _design(uv)[:, :3]
        solved = np.linalg.lstsq(design, target, rcond=None)[0].T
        coef = np.zeros((2, 10))
        coef[:, : solved.shape[1]] = solved
    return coef


def _bend_bound(coef: np.ndarray, span: np.ndarray, scale: np.ndarray, hexagonal: bool) -> float:
    """How far ``P`` can bend a straight edge away from the chord of its mapped ends.

    A segment of extent ``(du, dv)`` (in ``P``'s input units) deviates from the chord by at most
    ``(|Puu| du^2 + 2 |Puv| du dv + |Pvv| dv^2) / 8``, bounded over the input square [-1, 1]^2
    by the absolute values of the cubic's second-derivative coefficients.
    """
    du = float(span[0]) * scale[0]  # the longest edge's extent in x and in y (degrees)
    dv = float(span[1]) * scale[1]
    c = np.abs(coef)
    # second derivatives of [1, u, v, u2, uv, v2, u3, u2v, uv2, v3] with |u|, |v| <= 1
    puu = 2 * c[:, 3] + 6 * c[:, 6] + 2 * c[:, 7]
    puv = c[:, 4] + 2 * c[:, 7] + 2 * c[:, 8]
    pvv = 2 * c[:, 5] + 2 * c[:, 8] + 6 * c[:, 9]
    bend = (puu * du * du + 2 * puv * du * dv + pvv * dv * dv) / 8.0
    return float(bend.sum()) * (1.5 if hexagonal else 1.0)


def _injective(coef: np.ndarray) -> bool:
    """``P`` keeps one orientation, far from folding, over its input square."""
    g = np.linspace(-1.0, 1.0, 17)
    u, v = (a.ravel() for a in np.meshgrid(g, g))
    c = coef
    su = c[:, 1, None] + 2 * c[:, 3, None] * u + c[:, 4, None] * v + 3 * c[:, 6, None] * u * u
    su = su + 2 * c[:, 7, None] * u * v + c[:, 8, None] * v * v
    sv = c[:, 2, None] + c[:, 4, None] * u + 2 * c[:, 5, None] * v + c[:, 7, None] * u * u
    sv = sv + 2 * c[:, 8, None] * u * v + 3 * c[:, 9, None] * v * v
    det = su[0] * sv[1] - sv[0] * su[1]
    linear = c[0, 1] * c[1, 2] - c[0, 2] * c[1, 1]
    return bool(linear != 0 and (det / linear).min() > 0.5)
