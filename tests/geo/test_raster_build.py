"""The compiled build of the raster index (geo._raster_build) gives the numpy build's index.

The numpy build it replaced is kept below as ``_build_reference`` (used only here): on Voronoi
cells, polygons with holes, MultiPolygons, overlapping polygons, missing and empty geometries
and the Philadelphia police districts, every array of the index is identical, and lookups at
vertices, on edges and anywhere near answer like the STRtree + GEOS reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from geo._raster_index import RasterIndex, Rings, polygon_rings
from tests.conftest import PHL
from tests.geo.join_oracle import assign_grids_reference

FIELDS = ("label", "cand_start", "cand", "cand_edges", "cand_edge_count", "edges")


def _voronoi(n: int, seed: int, extent: tuple[float, ...] = (0.0, 0.0, 1.0, 1.0)) -> np.ndarray:
    """Irregular cells tiling ``extent`` (a Voronoi diagram of random sites)."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = extent
    sites = np.column_stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)])
    frame = box(*extent)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=frame))
    return np.asarray(shapely.intersection(cells, frame), dtype=object)


def _with_holes(seed: int) -> np.ndarray:
    """Voronoi cells, some with a hole, and the holes' islands as polygons of their own."""
    cells = _voronoi(60, seed)
    out = []
    for k, cell in enumerate(cells):
        if k % 3 == 0:
            c = cell.centroid
            r = 0.3 * np.sqrt(cell.area / np.pi)
            hole = Point(c.x, c.y).buffer(r, 6)
            out.append(Polygon(cell.exterior.coords, [hole.exterior.coords]))
            out.append(Point(c.x, c.y).buffer(0.5 * r, 5))
        else:
            out.append(cell)
    return np.asarray(out, dtype=object)


def _multipolygons(seed: int) -> np.ndarray:
    """Voronoi cells paired into MultiPolygons (a pair may touch), with plain ones."""
    cells = _voronoi(80, seed)
    out: list[object] = [MultiPolygon([cells[k], cells[k + 40]]) for k in range(20)]
    out += list(cells[20:40]) + list(cells[60:80])
    out.append(MultiPolygon([Polygon(cells[50].exterior.coords, [])]))
    return np.asarray(out, dtype=object)


def _overlapping(seed: int) -> np.ndarray:
    """Discs and boxes that overlap each other, with missing and empty geometries mixed in."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1, (50, 2))
    r = rng.uniform(0.02, 0.2, 50)
    out: list[object] = [Point(x, y).buffer(s, 4) for (x, y), s in zip(xy, r, strict=True)]
    out += [
        box(x - s, y - s / 2, x + s, y + s / 2) for (x, y), s in zip(xy[:20], r[:20], strict=True)
    ]
    out += [box(0.2, 0.2, 0.8, 0.8), None, Polygon(), box(0.2, 0.2, 0.8, 0.8)]
    return np.asarray(out, dtype=object)


def _districts() -> np.ndarray:
    frame = gpd.read_file(PHL / "phl_police_districts.geojson")
    return frame.geometry.to_numpy()


def _neighborhoods() -> np.ndarray:
    frame = gpd.read_file(PHL / "phl_neighborhoods_azavea.geojson").to_crs(4326)
    return frame.geometry.to_numpy()


CASES = {
    "voronoi": lambda: _voronoi(500, 1),
    "voronoi-lonlat": lambda: _voronoi(2000, 2, (-75.3, 39.85, -74.95, 40.15)),
    "holes": lambda: _with_holes(3),
    "multipolygons": lambda: _multipolygons(4),
    "overlapping": lambda: _overlapping(5),
    "districts": _districts,
    "neighborhoods": _neighborhoods,
}


def _assert_same_index(geoms: np.ndarray, **sizes: int) -> RasterIndex:
    got = RasterIndex.build(geoms, **sizes)
    want = _build_reference(geoms, **sizes)
    for name, expected in zip(FIELDS, want, strict=True):
        actual = getattr(got, name)
        assert actual.dtype == expected.dtype, name
        assert actual.shape == expected.shape, name
        assert np.array_equal(actual, expected), name
    return got


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("sizes", [{}, {"points": 10}, {"points": 10**7}, {"bins": 300}])
def test_compiled_build_gives_the_numpy_index(case: str, sizes: dict[str, int]) -> None:
    """Coarse, default and fine bins: label, candidate table and edge table are identical."""
    _assert_same_index(CASES[case](), **sizes)


@pytest.mark.parametrize("case", list(CASES))
def test_rings_and_bounds_are_the_numpy_ones(case: str) -> None:
    """polygon_rings (compiled bounds) gives the vectorised pass's coordinates, each with its
    polygon, and the same polygons' bounds."""
    geoms = CASES[case]()
    got, want = polygon_rings(geoms), _rings_reference(geoms)
    for name in ("xy", "first_poly", "bounds"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert np.array_equal(got.ring_poly[got.ring], want.ring_poly[want.ring])


def test_many_cells_read_at_once_give_the_same_index() -> None:
    """Thousands of cells, in lon/lat as the benchmark makes them."""
    from benchmarks.join import make_cells

    geoms = make_cells(3000, "voronoi").geometry.to_numpy()
    _assert_same_index(geoms, points=100_000)


def test_nothing_usable_gives_an_empty_index() -> None:
    """Only missing and empty geometries: every point is outside."""
    geoms = np.asarray([None, Polygon()], dtype=object)
    index = _assert_same_index(geoms)
    assert index.lookup(np.array([0.0, 1.0]), np.array([0.0, np.nan])).tolist() == [-1, -1]


def _probe_points(geoms: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Vertices, points on edges (exact and rounded) and random points near the polygons."""
    coords = shapely.get_coordinates(shapely.boundary(geoms[~shapely.is_empty(geoms)]))
    vertices = coords[rng.integers(0, len(coords), n)]
    k = rng.integers(0, len(coords) - 1, n)
    t = rng.uniform(0, 1, (n, 1))
    on_edges = coords[k] + t * (coords[k + 1] - coords[k])
    xmin, ymin = coords.min(axis=0)
    xmax, ymax = coords.max(axis=0)
    pad = 0.05 * (xmax - xmin)
    uniform = np.column_stack(
        [rng.uniform(xmin - pad, xmax + pad, n), rng.uniform(ymin - pad, ymax + pad, n)]
    )
    return np.concatenate([vertices, on_edges, uniform])


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("sizes", [{}, {"points": 10}])
def test_lookups_answer_like_the_reference(case: str, sizes: dict[str, int]) -> None:
    """At vertices, on edges and anywhere near: the smallest covering polygon, as GEOS says."""
    geoms = CASES[case]()
    index = _assert_same_index(geoms, **sizes)
    xy = _probe_points(geoms, np.random.default_rng(7), 3000)
    ids = np.array([f"g{k:05d}" for k in range(len(geoms))], dtype=object)
    grids = gpd.GeoDataFrame({"grid_id": ids}, geometry=list(geoms), crs=4326)
    want = assign_grids_reference(xy[:, 0], xy[:, 1], grids)  # ids in index order already
    assert np.array_equal(index.lookup(xy[:, 0], xy[:, 1]), want.codes)


# -- the numpy build this module's compiled one replaced, kept as the reference -------------

_OUTSIDE = -1
_MAX_BINS = 1 << 23
Tables = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _build_reference(
    geoms: np.ndarray, *, bins: int | None = None, points: int | None = None
) -> Tables:
    """``label, cand_start, cand, cand_edges, cand_edge_count, edges`` of the numpy build."""
    geoms = np.asarray(geoms, dtype=object)
    rings = _rings_reference(geoms)
    usable = np.zeros(len(geoms), dtype=bool)
    usable[rings.first_poly] = True
    bounds = np.full((len(geoms), 4), np.nan)
    bounds[rings.first_poly] = rings.bounds
    if not usable.any():
        none = np.zeros(0, np.int64)
        return (
            np.full(1, _OUTSIDE, np.int32), np.zeros(1, np.int64), none, none, none,
            np.zeros((0, 4)),
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
    hi = before[row * nx + np.maximum(last - 1, 0)] + special[row * nx + np.maximum(last - 1, 0)]
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
    return (
        label, cand_start, cand.astype(np.int64), edge_start[at],
        cand_edge_count.astype(np.int32), edges,
    )  # fmt: skip


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


def _rings_reference(geoms: np.ndarray) -> Rings:
    """Ring coordinates of polygons in a few vectorised passes (bounds come from them).

    Polygons and MultiPolygons go through ``get_rings``; anything else (rare: collections)
    through its boundary. Missing and empty geometries have no coordinates, so never match.
    """
    kind = shapely.get_type_id(geoms)
    if ((kind == -1) | ((kind == 3) & (shapely.get_num_interior_rings(geoms) == 0))).all():
        # Polygons without holes: one ring each, read in a single pass.
        xy, ring = shapely.get_coordinates(geoms, return_index=True)
        return _rings_of_reference(xy, ring, np.arange(len(geoms), dtype=np.int64))
    if np.isin(kind, [-1, 3]).all():
        rings, ring_poly = shapely.get_rings(geoms, return_index=True)
    elif np.isin(kind, [-1, 3, 6]).all():
        parts, part_poly = shapely.get_parts(geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        ring_poly = part_poly[ring_part]
    else:
        rings, ring_poly = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    return _rings_of_reference(xy, ring, ring_poly)


def _rings_of_reference(xy: np.ndarray, ring: np.ndarray, ring_poly: np.ndarray) -> Rings:
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
