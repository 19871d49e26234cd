"""Compiled (numba) kernels of the join's fast path, with the exact rules of the numpy code.

The raster lookup answers a point in an unmarked bin by one load, and a point in a marked bin by
counting the crossings of a horizontal ray with each candidate polygon's edges in the point's row
band, candidates in tie-break order, the same arithmetic as
:meth:`geo._raster_index.RasterIndex._covers`. Where an orientation sign is not certain
(Shewchuk's bound), the kernel does not guess: it answers :data:`UNSURE` and the caller decides
that point with the numpy/GEOS path, so results are identical to it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "PARTIAL",
    "SLOW",
    "UNSURE",
    "crossing_test",
    "csr_starts",
    "group_by_key",
    "lattice_bins",
    "polygon_outlines",
    "positions_below",
    "raster_bins",
    "raster_exact",
    "ring_areas",
    "tiling_candidates",
    "tiling_decide",
    "tiling_deviation",
    "tiling_frame",
    "tiling_locate",
    "tiling_lookup",
]

#: Answer for a point the kernel leaves to the exact (GEOS) path.
UNSURE = -3


_OUT = 0
_INSIDE = 1
_DOUBT = 2
#: Points per block of the two-pass lookups (:func:`lattice_bins`, :func:`tiling_lookup`): the
#: vectorised arithmetic pass fills a block of cell numbers that stays in cache for the pass
#: that answers from the cell table.
_BLOCK = 2048


@njit(cache=True, nogil=True)
def crossing_test(
    qx: float, qy: float, edges: np.ndarray, first: int, last: int, ccw_error: float
) -> int:  # pragma: no cover - compiled
    """Even-odd test of a point against ``edges[first:last]`` (rows ``ax, ay, bx, by``).

    Counts the crossings of a horizontal ray to the right of the point. Returns 1 inside, 0
    outside, 2 when the point is on or within rounding of an edge (the orientation's sign is
    not certain by Shewchuk's bound ``ccw_error``), which the caller decides exactly.
    """
    crossings = 0
    for k in range(first, last):
        ax = edges[k, 0]
        ay = edges[k, 1]
        bx = edges[k, 2]
        by = edges[k, 3]
        left = (bx - ax) * (qy - ay)
        right = (by - ay) * (qx - ax)
        det = left - right
        lo_x = min(ax, bx)
        hi_x = max(ax, bx)
        if (
            qx >= lo_x
            and qx <= hi_x
            and qy >= min(ay, by)
            and qy <= max(ay, by)
            and abs(det) <= ccw_error * (abs(left) + abs(right))
        ):
            return _DOUBT
        # A crossing right of the point: left of an upward edge, right of a downward one.
        if ((ay > qy) != (by > qy)) and (qx < lo_x or (qx <= hi_x and (by > ay) == (det > 0))):
            crossings += 1
    return _INSIDE if crossings % 2 == 1 else _OUT


@njit(cache=True, nogil=True)
def raster_bins(
    x: np.ndarray,
    y: np.ndarray,
    x0: float,
    y0: float,
    inv_w: float,
    inv_h: float,
    nx: int,
    ny: int,
    label: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """Label of each point's bin: polygon ``>= 0``, -1 none, ``<= -2`` a marked bin's slot."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = _bin_label(x[i], y[i], x0, y0, inv_w, inv_h, nx, ny, label)
    return out


@njit(cache=True, nogil=True, inline="always")
def _bin_label(
    qx: float,
    qy: float,
    x0: float,
    y0: float,
    inv_w: float,
    inv_h: float,
    nx: float,
    ny: float,
    label: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """``label`` of the raster bin holding a point, -1 outside the raster (or NaN)."""
    u = (qx - x0) * inv_w
    v = (qy - y0) * inv_h
    if u >= 0.0 and u < nx and v >= 0.0 and v < ny:  # False for NaN
        return label[int(v) * int(nx) + int(u)]
    return -1


@njit(cache=True, nogil=True)
def raster_exact(
    x: np.ndarray,
    y: np.ndarray,
    slots: np.ndarray,
    cand_start: np.ndarray,
    cand: np.ndarray,
    cand_edges: np.ndarray,
    cand_edge_count: np.ndarray,
    edges: np.ndarray,
    bounds: np.ndarray,
    ccw_error: float,
) -> np.ndarray:  # pragma: no cover - compiled
    """Winning polygon for points in marked bins (-1 none, :data:`UNSURE` to decide exactly).

    Point ``i`` lies in the marked bin ``slots[i]``. A candidate whose bounding box ``bounds``
    (``xmin, ymin, xmax, ymax`` per polygon) excludes the point cannot cover it and is skipped.
    """
    n = x.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        qx = x[i]
        qy = y[i]
        slot = slots[i]
        answer = -1
        for entry in range(cand_start[slot], cand_start[slot + 1]):
            k = cand[entry]
            if qx < bounds[k, 0] or qx > bounds[k, 2] or qy < bounds[k, 1] or qy > bounds[k, 3]:
                continue
            first = cand_edges[entry]
            found = crossing_test(qx, qy, edges, first, first + cand_edge_count[entry], ccw_error)
            if found == _DOUBT:
                answer = UNSURE
                break
            if found == _INSIDE:
                answer = k
                break
        out[i] = answer
    return out


@njit(cache=True, nogil=True)
def lattice_bins(
    x: np.ndarray,
    y: np.ndarray,
    frame: tuple[float, ...],
    shape: tuple[float, ...],
    quick: np.ndarray,
    margin: float,
) -> tuple[np.ndarray, int]:  # pragma: no cover - compiled
    """Lattice cell label per point (int32), :data:`UNSURE` within ``margin`` of a lattice
    line, and how many are :data:`UNSURE`.

    ``frame`` is ``x0, y0, 1 / w, 1 / h``, ``shape`` the lattice's columns and rows;
    ``quick`` holds :data:`UNSURE`, -1 (outside), then the cell labels row by row. The first
    pass over each block is branch-free arithmetic (it vectorises), the second one load each.
    """
    x0, y0, inv_w, inv_h = frame
    nx, ny = shape
    n = x.shape[0]
    out = np.empty(n, dtype=np.int32)
    cells = np.empty(_BLOCK, dtype=np.int64)
    unsure = 0
    for start in range(0, n, _BLOCK):
        # Loops over block views from 0 (not over start..stop of the whole arrays): only then
        # does LLVM vectorise the first pass (3x faster).
        xb = x[start : start + _BLOCK]
        yb = y[start : start + _BLOCK]
        ob = out[start : start + _BLOCK]
        for p in range(xb.shape[0]):
            u = (xb[p] - x0) * inv_w
            v = (yb[p] - y0) * inv_h
            col = np.floor(u)
            row = np.floor(v)
            fu = u - col
            fv = v - row
            clear = (fu > margin) & (fu < 1 - margin) & (fv > margin) & (fv < 1 - margin)
            clear = clear & (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
            near = (u > -margin) & (u < nx + margin) & (v > -margin) & (v < ny + margin)
            cell = np.int64(row * nx + col) + 2 if clear else (0 if near else 1)
            cells[p] = cell
        for p in range(ob.shape[0]):
            k = quick[cells[p]]
            ob[p] = k
            unsure += k == UNSURE
    return out, unsure


@njit(cache=True, nogil=True)
def csr_starts(key: np.ndarray, n_keys: int) -> np.ndarray:  # pragma: no cover - compiled
    """Where each key's group starts once grouped by key (``n_keys + 1`` entries, the last the
    total): the counts of ``key`` (integers in ``0 .. n_keys - 1``), summed."""
    start = np.zeros(n_keys + 1, dtype=np.int64)
    for k in key:
        start[k + 1] += 1
    for j in range(n_keys):
        start[j + 1] += start[j]
    return start


@njit(cache=True, nogil=True)
def group_by_key(key: np.ndarray, n_keys: int) -> np.ndarray:  # pragma: no cover - compiled
    """Positions of ``key`` ordered by key, ties in input order (a counting sort)."""
    start = csr_starts(key, n_keys)
    order = np.empty(key.shape[0], dtype=np.int64)
    for i in range(key.shape[0]):
        k = key[i]
        order[start[k]] = i
        start[k] += 1
    return order


# -- regular tilings seen through a smooth map (geo._tiling_index) ----------------------------


@njit(cache=True, nogil=True, inline="always")
def _cubic(
    c: np.ndarray | tuple[float, ...], u: float, v: float
) -> float:  # pragma: no cover - compiled
    """``c . [1, u, v, u2, uv, v2, u3, u2v, uv2, v3]`` in nested form."""
    return (
        c[0]
        + u * (c[1] + u * (c[3] + u * c[6] + v * c[7]) + v * c[4])
        + v * (c[2] + v * (c[5] + v * c[9] + u * c[8]))
    )


@njit(cache=True, nogil=True, inline="always")
def _lattice_coordinates(
    qx: float,
    qy: float,
    centre: np.ndarray,
    scale: np.ndarray,
    coef_s: np.ndarray,
    coef_t: np.ndarray,
) -> tuple[float, float]:  # pragma: no cover - compiled
    """The cubic map ``P``: lon/lat to lattice coordinates ``(s, t)``.

    (Two 1-D coefficient arrays: a row view of a 2-D array per point costs 7x the arithmetic.)
    """
    u = (qx - centre[0]) * scale[0]
    v = (qy - centre[1]) * scale[1]
    return _cubic(coef_s, u, v), _cubic(coef_t, u, v)


@njit(cache=True, nogil=True, inline="always")
def _cartesian(s: float, t: float, hexagonal: bool) -> tuple[float, float]:  # pragma: no cover
    """Lattice coordinates to the lattice's Euclidean frame (neighbours 1 apart)."""
    if hexagonal:
        return s + 0.5 * t, 0.8660254037844386 * t  # basis 60 degrees apart: sqrt(3) / 2
    return s, t


@njit(cache=True, nogil=True, inline="always")
def _nearest_cell(s: float, t: float, hexagonal: bool) -> tuple[float, float, float]:
    """Nearest lattice point to ``(s, t)`` (integral floats) and the distance to its ideal
    cell's boundary.

    Distances are in the lattice's Euclidean frame (neighbours 1 apart). Square lattice:
    rounding. Hexagonal (basis 60 degrees apart, i.e. axial coordinates): cube rounding; the
    clearance is 1/2 minus the largest projection of the offset on a neighbour direction.
    """  # pragma: no cover - compiled
    if not hexagonal:
        i = np.floor(s + 0.5)
        j = np.floor(t + 0.5)
        ds = abs(s - i)
        dt = abs(t - j)
        return i, j, 0.5 - (ds if ds > dt else dt)
    z = -s - t
    ri = np.floor(s + 0.5)
    rj = np.floor(t + 0.5)
    rz = np.floor(z + 0.5)
    di = abs(ri - s)
    dj = abs(rj - t)
    dz = abs(rz - z)
    # Cube rounding, written with selects (no data-dependent branches: they mispredict).
    fix_i = (di > dj) & (di > dz)
    fix_j = (not fix_i) & (dj > dz)
    ri, rj = (-rj - rz if fix_i else ri), (-ri - rz if fix_j else rj)
    ds = s - ri
    dt = t - rj
    r1 = abs(ds + 0.5 * dt)
    r2 = abs(0.5 * ds + dt)
    r3 = abs(0.5 * dt - 0.5 * ds)
    reach = r1 if r1 > r2 else r2
    reach = reach if reach > r3 else r3
    return ri, rj, 0.5 - reach


@njit(cache=True, nogil=True, inline="always")
def _slot(
    i: int, j: int, origin: np.ndarray, ni: int, nj: int, label: np.ndarray
) -> int:  # pragma: no cover - compiled
    """Label of lattice cell ``(i, j)``: its polygon, -1 none, ``<= -2`` a shared cell."""
    a = i - origin[0]
    b = j - origin[1]
    if a < 0 or a >= ni or b < 0 or b >= nj:
        return -1
    return label[b * ni + a]


@njit(cache=True, nogil=True)
def _add_candidates(
    k: int, shared_start: np.ndarray, shared: np.ndarray, buffer: np.ndarray, count: int
) -> int:  # pragma: no cover - compiled
    """Insert the polygons of a cell labelled ``k`` into ``buffer[:count]``, kept sorted."""
    if k == -1:
        return count
    first, last = (k, k + 1) if k >= 0 else (shared_start[-2 - k], shared_start[-1 - k])
    for m in range(first, last):
        poly = k if k >= 0 else shared[m]
        at = count
        while at > 0 and buffer[at - 1] > poly:
            buffer[at] = buffer[at - 1]
            at -= 1
        buffer[at] = poly
        count += 1
    return count


@njit(cache=True, nogil=True)
def _most_candidates(shared_start: np.ndarray) -> int:  # pragma: no cover - compiled
    """Most polygons the four cells around a point can hold."""
    return 4 * max(1, np.diff(shared_start).max() if shared_start.shape[0] > 1 else 1)


@njit(cache=True, nogil=True)
def _corner_candidates(
    s: float,
    t: float,
    origin: np.ndarray,
    ni: int,
    nj: int,
    label: np.ndarray,
    shared_start: np.ndarray,
    shared: np.ndarray,
    buffer: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Put the polygons of the cells at the four corners of the lattice rhombus around
    ``(s, t)`` into ``buffer``, sorted; return how many."""
    i0 = int(np.floor(s))
    j0 = int(np.floor(t))
    count = 0
    for c in range(4):
        k = _slot(i0 + (c & 1), j0 + (c >> 1), origin, ni, nj, label)
        count = _add_candidates(k, shared_start, shared, buffer, count)
    return count


@njit(cache=True, nogil=True)
def _first_covering(
    qx: float,
    qy: float,
    buffer: np.ndarray,
    count: int,
    edge_start: np.ndarray,
    edges: np.ndarray,
    ccw_error: float,
) -> int:  # pragma: no cover - compiled
    """The first of the sorted candidates covering the point, -1, or :data:`UNSURE`."""
    for c in range(count):
        k = buffer[c]
        found = crossing_test(qx, qy, edges, edge_start[k], edge_start[k + 1], ccw_error)
        if found == _DOUBT:
            return UNSURE
        if found == _INSIDE:
            return k
    return -1


#: :func:`tiling_lookup`'s answer for a point near a cell boundary (or off the table): decide
#: it by the exact tests of the cells around it (:func:`tiling_decide`).
SLOW = -2
#: :func:`tiling_lookup`'s answer for a point deep in a cell that its polygons do not fill
#: (clipped, or split between parents): only those polygons can cover it.
PARTIAL = -4


@njit(cache=True, nogil=True)
def _deep_cells(
    x: np.ndarray,
    y: np.ndarray,
    frame: tuple[float, ...],
    coef_s: tuple[float, ...],
    coef_t: tuple[float, ...],
    hexagonal: bool,
    table: tuple[float, ...],
    eps: float,
    cells: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``cells[p]``: 1 + the flat lattice cell point ``p`` is mapped more than ``eps`` into,
    or 0 (outside the bounds, NaN, near a cell boundary, off the table).

    Branch-free, on scalars and tuples only, over arrays indexed from 0 (a block's views), so
    that the loop vectorises: this is the join's per-point arithmetic for nearly every point
    of a tiling.
    """
    x0, y0, x1, y1, cx, cy, sx, sy = frame
    oi, oj, ni, nj = table
    for p in range(x.shape[0]):
        qx = x[p]
        qy = y[p]
        u = (qx - cx) * sx
        v = (qy - cy) * sy
        i, j, clearance = _nearest_cell(_cubic(coef_s, u, v), _cubic(coef_t, u, v), hexagonal)
        a = i - oi
        b = j - oj
        deep = (qx >= x0) & (qx <= x1) & (qy >= y0) & (qy <= y1) & (clearance > eps)
        deep = deep & (a >= 0) & (a < ni) & (b >= 0) & (b < nj)
        cells[p] = np.int32(b * ni + a) + 1 if deep else 0


@njit(cache=True, nogil=True)
def tiling_lookup(
    x: np.ndarray,
    y: np.ndarray,
    frame: tuple[float, ...],
    coef_s: tuple[float, ...],
    coef_t: tuple[float, ...],
    hexagonal: bool,
    table: tuple[float, ...],
    eps: float,
    quick: np.ndarray,
    bins: tuple[float, ...],
    bin_label: np.ndarray,
) -> tuple[np.ndarray, int, int]:  # pragma: no cover - compiled
    """The quick answer per point for :class:`geo._tiling_index.TilingIndex` (int32), and how
    many points it leaves :data:`SLOW` and :data:`PARTIAL`.

    A point mapped deeper than ``eps`` into a lattice cell can only be covered by that cell's
    polygons (every polygon's image lies within ``eps`` of its ideal cell): ``quick``
    (indexed by 1 + the flat cell) gives a full cell's polygon, -1 for an empty cell, or
    :data:`PARTIAL`; entry 0, for points deep in no cell, is :data:`SLOW`. A partial point
    then reads the raster over the partial cells' polygons (``bins``: ``x0, y0, 1 / w, 1 / h,
    nx, ny``; ``bin_label``: the polygon filling the bin, -1, or :data:`PARTIAL` where an edge
    crosses it), while its block is in cache.
    """
    x0, y0, inv_w, inv_h, nx, ny = bins
    n = x.shape[0]
    out = np.empty(n, dtype=np.int32)
    cells = np.empty(_BLOCK, dtype=np.int32)
    slow = 0
    partial = 0
    for start in range(0, n, _BLOCK):
        xb = x[start : start + _BLOCK]  # block views: see lattice_bins
        yb = y[start : start + _BLOCK]
        ob = out[start : start + _BLOCK]
        _deep_cells(xb, yb, frame, coef_s, coef_t, hexagonal, table, eps, cells)
        found = 0
        for p in range(ob.shape[0]):
            k = quick[cells[p]]
            ob[p] = k
            cells[found] = p  # the partial points' positions, over cells already read
            found += k == PARTIAL
            slow += k == SLOW
        for m in range(found):
            p = cells[m]
            # Outside the raster is outside every partial polygon: -1.
            k = _bin_label(xb[p], yb[p], x0, y0, inv_w, inv_h, nx, ny, bin_label)
            ob[p] = k
            partial += k == PARTIAL
    return out, slow, partial


@njit(cache=True, nogil=True)
def positions_below(values: np.ndarray, bound: int, count: int) -> np.ndarray:  # pragma: no cover
    """The ``count`` positions where ``values`` is below ``bound``, in order (branch-free)."""
    out = np.empty(count + 1, dtype=np.int64)
    found = 0
    for p in range(values.shape[0]):
        out[found] = p
        found += values[p] < bound
    return out[:count]


@njit(cache=True, nogil=True)
def tiling_decide(
    x: np.ndarray,
    y: np.ndarray,
    positions: np.ndarray,
    out: np.ndarray,
    bounds: np.ndarray,
    centre: np.ndarray,
    scale: np.ndarray,
    coef_s: np.ndarray,
    coef_t: np.ndarray,
    hexagonal: bool,
    origin: np.ndarray,
    ni: int,
    nj: int,
    label: np.ndarray,
    shared_start: np.ndarray,
    shared: np.ndarray,
    full: np.ndarray,
    eps: float,
    edge_start: np.ndarray,
    edges: np.ndarray,
    ccw_error: float,
) -> int:  # pragma: no cover - compiled
    """``out[p]`` for the points ``positions`` that :func:`tiling_lookup` left :data:`SLOW`;
    returns how many it answers :data:`UNSURE`.

    Partial cells, or the pieces of a cell split between parents, are tested exactly in index
    order; points nearer a cell boundary than ``eps`` test the polygons of the four corners of
    the lattice rhombus around them in index order (every polygon reaching within ``eps`` of
    the boundary is among them). :data:`UNSURE`: decide exactly.
    """
    buffer = np.empty(_most_candidates(shared_start), dtype=np.int64)
    unsure = 0
    for p in positions:
        qx = x[p]
        qy = y[p]
        if not (qx >= bounds[0] and qx <= bounds[2] and qy >= bounds[1] and qy <= bounds[3]):
            out[p] = -1  # outside every polygon's bounds, or NaN
            continue
        s, t = _lattice_coordinates(qx, qy, centre, scale, coef_s, coef_t)
        i, j, clearance = _nearest_cell(s, t, hexagonal)
        if clearance > eps:
            k = _slot(int(i), int(j), origin, ni, nj, label)
            if k == -1 or (k >= 0 and full[k]):
                out[p] = k
                continue
            count = _add_candidates(k, shared_start, shared, buffer, 0)
        else:
            count = _corner_candidates(s, t, origin, ni, nj, label, shared_start, shared, buffer)
        out[p] = _first_covering(qx, qy, buffer, count, edge_start, edges, ccw_error)
        unsure += out[p] == UNSURE
    return unsure


@njit(cache=True, nogil=True)
def tiling_candidates(
    x: np.ndarray,
    y: np.ndarray,
    centre: np.ndarray,
    scale: np.ndarray,
    coef_s: np.ndarray,
    coef_t: np.ndarray,
    origin: np.ndarray,
    ni: int,
    nj: int,
    label: np.ndarray,
    shared_start: np.ndarray,
    shared: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """The polygons of the four lattice cells around each point, ``(n, m)``, -1 padded."""
    n = x.shape[0]
    buffer = np.empty(_most_candidates(shared_start), dtype=np.int64)
    out = np.full((n, buffer.shape[0]), -1, dtype=np.int64)
    for p in range(n):
        s, t = _lattice_coordinates(x[p], y[p], centre, scale, coef_s, coef_t)
        count = _corner_candidates(s, t, origin, ni, nj, label, shared_start, shared, buffer)
        out[p, :count] = buffer[:count]
    return out


@njit(cache=True, nogil=True)
def tiling_locate(
    x: np.ndarray,
    y: np.ndarray,
    centre: np.ndarray,
    scale: np.ndarray,
    coef_s: np.ndarray,
    coef_t: np.ndarray,
    hexagonal: bool,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Lattice coordinates ``(n, 2)`` of points and their nearest lattice points ``(n, 2)``."""
    n = x.shape[0]
    st = np.empty((n, 2))
    ij = np.empty((n, 2), dtype=np.int64)
    for p in range(n):
        s, t = _lattice_coordinates(x[p], y[p], centre, scale, coef_s, coef_t)
        st[p, 0] = s
        st[p, 1] = t
        i, j, _ = _nearest_cell(s, t, hexagonal)
        ij[p, 0] = int(i)
        ij[p, 1] = int(j)
    return st, ij


@njit(cache=True, nogil=True)
def tiling_frame(
    x: np.ndarray,
    y: np.ndarray,
    centre: np.ndarray,
    scale: np.ndarray,
    coef_s: np.ndarray,
    coef_t: np.ndarray,
    hexagonal: bool,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Points mapped by ``P`` into the lattice's Euclidean frame (neighbours 1 apart).

    One branch-free pass over contiguous arrays, which LLVM vectorises (4x faster than mapping
    each polygon's vertices where they are used).
    """
    n = x.shape[0]
    ex = np.empty(n)
    ey = np.empty(n)
    for p in range(n):
        s, t = _lattice_coordinates(x[p], y[p], centre, scale, coef_s, coef_t)
        ex[p], ey[p] = _cartesian(s, t, hexagonal)
    return ex, ey


@njit(cache=True, nogil=True)
def tiling_deviation(
    ex: np.ndarray,
    ey: np.ndarray,
    start: np.ndarray,
    ij: np.ndarray,
    gaps_for: np.ndarray,
    reach_for: np.ndarray,
    hexagonal: bool,
    corners: np.ndarray,
    neighbours: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Per polygon: how far its vertices, mapped by ``P``, are from its ideal cell's corners,
    and how far they reach outside the cell.

    ``ex, ey`` hold every ring coordinate mapped into the lattice's Euclidean frame
    (:func:`tiling_frame`), polygon ``k``'s at ``start[k]:start[k + 1]`` (the last one closes
    the ring); ``ij`` the polygon's lattice point; ``corners`` and ``neighbours`` the ideal
    cell's corner offsets and unit directions to the neighbouring lattice points, in that frame.
    Returns ``corner_gap`` (for the ``gaps_for`` polygons, the largest distance from an ideal
    corner to the nearest vertex; inf for others) and ``reach`` (for the ``reach_for``
    polygons, how far the farthest coordinate lies outside the ideal cell; 0 when all are
    inside, and for others).
    """
    n = ij.shape[0]
    corner_gap = np.full(n, np.inf)
    reach = np.zeros(n)
    nearest = np.empty(corners.shape[0])
    for k in range(n):
        gaps = gaps_for[k]
        reaches = reach_for[k]
        if not (gaps or reaches):
            continue
        cx, cy = _cartesian(float(ij[k, 0]), float(ij[k, 1]), hexagonal)
        nearest[:] = np.inf
        out = 0.0
        for p in range(start[k], start[k + 1]):
            px = ex[p] - cx
            py = ey[p] - cy
            if reaches:
                for m in range(neighbours.shape[0]):
                    side = px * neighbours[m, 0] + py * neighbours[m, 1] - 0.5
                    out = max(out, side)
            if gaps and p < start[k + 1] - 1:  # vertices (the last coordinate closes the ring)
                for c in range(corners.shape[0]):
                    dx = px - corners[c, 0]
                    dy = py - corners[c, 1]
                    nearest[c] = min(nearest[c], dx * dx + dy * dy)  # squared, rooted below
        reach[k] = out
        if gaps:
            corner_gap[k] = np.sqrt(nearest.max())
    return corner_gap, reach


@njit(cache=True, nogil=True)
def polygon_outlines(
    xy: np.ndarray, ring: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Per polygon (coordinates ``start[k]:start[k + 1]``, ``ring`` numbering each coordinate's
    ring): the mean of its vertices (each ring's closing coordinate left out), and its edges,
    consecutive coordinates of one ring, as rows ``ax, ay, bx, by`` with their CSR start; and
    the largest ``|bx - ax|`` and ``|by - ay|`` of any edge."""
    n = start.shape[0] - 1
    m = xy.shape[0]
    mean = np.zeros((n, 2))
    edges = np.empty((max(m - 1, 0), 4))
    edge_start = np.empty(n + 1, dtype=np.int64)
    span = np.zeros(2)
    e = 0
    for k in range(n):
        edge_start[k] = e
        sx = 0.0
        sy = 0.0
        for p in range(start[k], start[k + 1]):
            if p + 1 < m and ring[p + 1] == ring[p]:  # p opens an edge: not a closing coordinate
                sx += xy[p, 0]
                sy += xy[p, 1]
                edges[e, 0] = xy[p, 0]
                edges[e, 1] = xy[p, 1]
                edges[e, 2] = xy[p + 1, 0]
                edges[e, 3] = xy[p + 1, 1]
                span[0] = max(span[0], abs(xy[p + 1, 0] - xy[p, 0]))
                span[1] = max(span[1], abs(xy[p + 1, 1] - xy[p, 1]))
                e += 1
        count = max(e - edge_start[k], 1)
        mean[k, 0] = sx / count
        mean[k, 1] = sy / count
    edge_start[n] = e
    return mean, edges[:e], edge_start, span


@njit(cache=True, nogil=True)
def ring_areas(xy: np.ndarray, start: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Shoelace area of the closed ring ``xy[start[k]:start[k + 1]]`` for each ``k``."""
    n = start.shape[0] - 1
    out = np.empty(n)
    for k in range(n):
        twice = 0.0
        x0 = xy[start[k], 0]
        y0 = xy[start[k], 1]
        for p in range(start[k], start[k + 1] - 1):  # relative to the first vertex: less rounding
            twice += (xy[p, 0] - x0) * (xy[p + 1, 1] - y0) - (xy[p + 1, 0] - x0) * (xy[p, 1] - y0)
        out[k] = abs(twice) / 2.0
    return out
