"""Compiled (numba) build of :class:`geo._raster_index.RasterIndex`.

The same arithmetic as the vectorised numpy build it replaces (kept as the reference in
``tests/geo/test_raster_build.py``), in a few passes over the polygons instead of ``np.repeat``
temporaries and sorts of the whole edge set:

* ``ring_bounds``: the polygons with coordinates and their bounds, from the ring coordinates;
* ``raster_tables``: a pre-pass sizes every table; the edge table (each polygon's edges per row
  band) is filled polygon by polygon; then, taking the polygons in a spatial order (by the bin
  of their first vertex; the tie-break order may be spatially random, and bins touched in
  random order are cache misses), the ``eps`` supercover of the edges marks bins, and the
  crossings of the edges with the row centre lines, sorted per row and paired, give each
  polygon's inside stretches (a difference array over the bins counts and names the covering
  polygons); the bins are labelled, and the candidate table is counted, filled, and each bin's
  few candidates sorted by polygon.

Every value is computed with the same operations in the same order as the numpy build (no
fastmath), so the index is identical to it. The only freedom the numpy build had, the order of
crossings of one polygon that fall in the same column of a row, is fixed here by sorting them by
position; it moves interval ends only inside bins the polygon's own edges mark, which does not
change any output array. The large arrays are allocated by numpy (which asks the kernel for huge
pages: far fewer page faults than numba's allocator on fresh memory) and filled by the kernels;
helpers inside the loops take no arrays (each call would count references).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._join_kernels import group_by_key
from ._raster_params import Lattice, Marks, Polygons, Rows, Swept, Table

__all__ = ["raster_tables", "ring_bounds"]

Tables = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@njit(cache=True, nogil=True)
def ring_bounds(
    xy: np.ndarray, ring: np.ndarray, ring_poly: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Polygons with coordinates (increasing) and their ``xmin, ymin, xmax, ymax``.

    ``ring`` numbers the ring of each coordinate, ``ring_poly`` the polygon of each ring; the
    coordinates of a polygon are contiguous. A NaN coordinate makes its polygon's bounds NaN
    (as ``np.minimum.reduceat`` does).
    """
    m = xy.shape[0]
    first = np.empty(ring_poly.shape[0], dtype=np.int64)
    bounds = np.empty((ring_poly.shape[0], 4))
    g = -1
    prev = -1
    for i in range(m):
        p = ring_poly[ring[i]]
        x = xy[i, 0]
        y = xy[i, 1]
        if g < 0 or p != prev:
            g += 1
            first[g] = p
            bounds[g, 0] = x
            bounds[g, 1] = y
            bounds[g, 2] = x
            bounds[g, 3] = y
            prev = p
            continue
        if bounds[g, 0] == bounds[g, 0] and not x >= bounds[g, 0]:
            bounds[g, 0] = x
        if bounds[g, 1] == bounds[g, 1] and not y >= bounds[g, 1]:
            bounds[g, 1] = y
        if bounds[g, 2] == bounds[g, 2] and not x <= bounds[g, 2]:
            bounds[g, 2] = x
        if bounds[g, 3] == bounds[g, 3] and not y <= bounds[g, 3]:
            bounds[g, 3] = y
    return first[: g + 1].copy(), bounds[: g + 1].copy()


@njit(cache=True, nogil=True, inline="always")
def _clip(x: float, lo: float, hi: float) -> float:  # pragma: no cover - compiled
    """``np.clip`` of one value."""
    return min(max(x, lo), hi)


@njit(cache=True, nogil=True, inline="always")
def _band(a: float, b: float, e: float, n: int) -> tuple[int, int]:  # pragma: no cover
    """First and last of ``n`` bins within ``e`` of the span ``a``..``b`` (bin units)."""
    return (
        int(_clip(math.floor(min(a, b) - e), 0, n - 1)),
        int(_clip(math.floor(max(a, b) + e), 0, n - 1)),
    )


@njit(cache=True, nogil=True)
def _grow(a: np.ndarray, need: int) -> np.ndarray:  # pragma: no cover - compiled
    """``a`` with room for at least ``need`` entries (doubling)."""
    if need <= a.shape[0]:
        return a
    bigger = np.empty(max(need, 2 * a.shape[0]), dtype=a.dtype)
    bigger[: a.shape[0]] = a
    return bigger


def raster_tables(
    xy: np.ndarray, ring: np.ndarray, ring_poly: np.ndarray, n_polys: int, lattice: Lattice
) -> Tables:
    """``label, cand_start, cand, cand_edges, cand_edge_count, edges`` of a raster index.

    ``xy``, ``ring`` and ``ring_poly`` are :class:`geo._raster_index.Rings`', ``n_polys`` the
    number of polygons with coordinates, ``lattice`` the bins. See
    :class:`geo._raster_index.RasterIndex` for the outputs. The large arrays are allocated
    here by numpy (which asks for huge pages), the compiled passes fill them.
    """
    m, ng, nx, nbins = len(xy), n_polys, lattice.nx, lattice.nx * lattice.ny
    i64 = np.int64
    polys = Polygons(
        np.empty(ng + 1, i64), np.empty(ng, i64), np.zeros(ng, i64), np.full(ng, -1, i64),
        np.zeros(ng, i64), np.full(ng, -1, i64), np.zeros(ng + 1, i64), np.zeros(ng + 1, i64),
        np.zeros(ng, i64), np.empty(ng, i64),
    )  # fmt: skip
    n_cross, most_cross, most_rows, most_table = _prepass(xy, ring, ring_poly, lattice, polys)
    tbase = polys.tbase
    estart = np.empty(tbase[ng] + 1, i64)
    edges = np.empty((polys.ebase[ng], 4))
    _edge_table(xy, ring, lattice, polys, most_table, estart, edges)
    order = group_by_key(polys.home, nbins)  # by the bin of their first vertex

    marks = Marks(
        stamp=np.full(nbins, -1, np.int32),
        special=np.zeros(nbins, np.bool_),
        covers=np.zeros(nbins + 1, np.int32),  # (bins and their counts fit in int32)
        owner=np.zeros(nbins + 1, i64),
        mark=np.empty(min(int(polys.box_bins.sum()), 4 * m + nbins) + 1, np.int32),
        mark_start=np.zeros(ng + 1, i64),
        intervals=np.empty((n_cross // 2 + 1, 3), np.int32),
        iv_start=np.zeros(ng + 1, i64),
    )
    # The sweep reads the polygons in processing order: gather them into it first.
    swept = Swept(
        np.empty(m), np.empty(m), np.empty(m, np.bool_), np.empty(ng + 1, i64),
        polys.gpoly[order], polys.cr_min[order], polys.cr_max[order], polys.box_bins[order],
    )  # fmt: skip
    _gather(xy, ring, lattice, polys.gstart, order, swept)
    mark, n_cover = _sweep(swept, lattice, most_cross, most_rows, marks)
    marks = marks._replace(mark=mark)
    del swept
    label = np.empty(nbins, np.int32)
    n_slots = _label(marks.covers, marks.owner, marks.special, label)
    cand_start = np.zeros(n_slots + 1, i64)
    cb = np.empty(marks.mark_start[ng] + n_cover, np.int32)
    cb_start = np.zeros(ng + 1, i64)
    _count_candidates(nx, label, marks, cand_start, cb, cb_start)
    total = int(cand_start[n_slots])
    table = Table(cand_start, np.empty(total, i64), np.empty(total, i64), np.empty(total, np.int32))
    rows = Rows(
        polys.gpoly[order], polys.tr_min[order], polys.tr_max[order], tbase[order],
        tbase[order + 1],
    )  # fmt: skip
    _fill_candidates(nx, rows, estart, tbase[ng], label, cb, cb_start, table)
    return (label, *table, edges)


@njit(cache=True, nogil=True)
def _prepass(
    xy: np.ndarray, ring: np.ndarray, ring_poly: np.ndarray, lattice: Lattice, polys: Polygons
) -> tuple[int, int, int, int]:  # pragma: no cover - compiled
    """The polygons' coordinate ranges, and per polygon: its rows in the edge
    table (``tr_min..tr_max``, their place ``tbase`` and its edges' ``ebase``), the rows whose
    centre lines it crosses (``cr_min..cr_max``), the bins of its widened box (bounding its
    marks) and the bin of its first vertex (``home``). Returns the number of crossings, the
    most crossings and crossed rows of one polygon, and the most edge-table rows of one."""
    x0, y0, w, h, nx, ny, eu, ev = lattice
    gstart, gpoly, tr_min, tr_max, cr_min, cr_max, tbase, ebase, box_bins, home = polys
    m = xy.shape[0]
    ng = 0
    prev = -1
    for i in range(m):
        p = ring_poly[ring[i]]
        if ng == 0 or p != prev:
            gstart[ng] = i
            gpoly[ng] = p
            ng += 1
            prev = p
    gstart[ng] = m
    n_cross = 0
    most_cross = 0
    most_rows = 0
    most_table = 0
    for g in range(ng):
        t_lo = ny
        t_hi = -1
        k_lo = nx
        k_hi = -1
        c_lo = 1 << 62
        c_hi = -(1 << 62)
        nc = 0
        ne = 0
        gs = gstart[g]
        uh = ub = (xy[gs, 0] - x0) / w  # bin coordinates, as the numpy build computed them
        vh = vb = (xy[gs, 1] - y0) / h
        for i in range(gs, gstart[g + 1] - 1):
            ua = ub
            va = vb
            ub = (xy[i + 1, 0] - x0) / w
            vb = (xy[i + 1, 1] - y0) / h
            if ring[i] != ring[i + 1]:
                continue
            col_lo, col_hi = _band(ua, ub, eu, nx)
            k_lo = min(k_lo, col_lo)
            k_hi = max(k_hi, col_hi)
            vmin = min(va, vb)
            vmax = max(va, vb)
            r_lo, r_hi = _band(va, vb, ev, ny)
            ne += r_hi - r_lo + 1
            t_lo = min(t_lo, r_lo)
            t_hi = max(t_hi, r_hi)
            a = math.ceil(vmin - 0.5)
            b = math.ceil(vmax - 0.5)  # exclusive
            if b > a:
                nc += b - a
                c_lo = min(c_lo, a)
                c_hi = max(c_hi, b - 1)
        if t_hi >= 0:
            tr_min[g] = t_lo
            tr_max[g] = t_hi
            box_bins[g] = (k_hi - k_lo + 1) * (t_hi - t_lo + 1)
        tbase[g + 1] = tbase[g] + (tr_max[g] - tr_min[g] + 1)
        ebase[g + 1] = ebase[g] + ne
        most_table = max(most_table, tr_max[g] - tr_min[g] + 1)
        if nc > 0:
            cr_min[g] = c_lo
            cr_max[g] = c_hi
            most_rows = max(most_rows, c_hi - c_lo + 1)
        n_cross += nc
        most_cross = max(most_cross, nc)
        if uh == uh and vh == vh:
            row = int(_clip(math.floor(vh), 0, ny - 1))
            home[g] = row * nx + int(_clip(math.floor(uh), 0, nx - 1))
        else:
            home[g] = 0
    return n_cross, most_cross, most_rows, most_table


@njit(cache=True, nogil=True)
def _edge_table(
    xy: np.ndarray,
    ring: np.ndarray,
    lattice: Lattice,
    polys: Polygons,
    most_table: int,
    estart: np.ndarray,
    edges: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Each polygon's edges per row band they reach into (widened by ``eps``), in edge order,
    ordered by polygon then row; ``estart`` the start of every row of every polygon's
    ``tr_min..tr_max`` (dense, so a row without edges starts where the next one does)."""
    y0, h, ny, ev = lattice.y0, lattice.h, lattice.ny, lattice.ev
    gstart, tr_min, tbase, ebase = polys.gstart, polys.tr_min, polys.tbase, polys.ebase
    ng = tr_min.shape[0]
    cursor = np.empty(max(most_table, 1), dtype=np.int64)
    for g in range(ng):
        gs = gstart[g]
        ge = gstart[g + 1] - 1
        t0 = tr_min[g]
        tb = tbase[g]
        rows = tbase[g + 1] - tb
        for k in range(rows):
            cursor[k] = 0
        vb = (xy[gs, 1] - y0) / h
        for i in range(gs, ge):
            va = vb
            vb = (xy[i + 1, 1] - y0) / h
            if ring[i] != ring[i + 1]:
                continue
            r_lo, r_hi = _band(va, vb, ev, ny)
            for r in range(r_lo, r_hi + 1):
                cursor[r - t0] += 1
        running = ebase[g]
        for k in range(rows):
            n = cursor[k]
            estart[tb + k] = running
            cursor[k] = running
            running += n
        vb = (xy[gs, 1] - y0) / h
        for i in range(gs, ge):
            va = vb
            vb = (xy[i + 1, 1] - y0) / h
            if ring[i] != ring[i + 1]:
                continue
            r_lo, r_hi = _band(va, vb, ev, ny)
            for r in range(r_lo, r_hi + 1):
                at = cursor[r - t0]
                cursor[r - t0] = at + 1
                edges[at, 0] = xy[i, 0]
                edges[at, 1] = xy[i, 1]
                edges[at, 2] = xy[i + 1, 0]
                edges[at, 3] = xy[i + 1, 1]
    estart[tbase[ng]] = ebase[ng]


@njit(cache=True, nogil=True)
def _gather(
    xy: np.ndarray,
    ring: np.ndarray,
    lattice: Lattice,
    gstart: np.ndarray,
    order: np.ndarray,
    out: Swept,
) -> None:  # pragma: no cover - compiled
    """The polygons' vertices in bin coordinates, polygon by polygon in ``order``, and whether
    an edge runs from each to the next (the next is of the same ring)."""
    x0, y0, w, h = lattice.x0, lattice.y0, lattice.w, lattice.h
    su, sv, snext, sstart = out.u, out.v, out.edge, out.start
    at = 0
    for j in range(order.shape[0]):
        g = order[j]
        sstart[j] = at
        stop = gstart[g + 1]
        for i in range(gstart[g], stop):
            su[at] = (xy[i, 0] - x0) / w
            sv[at] = (xy[i, 1] - y0) / h
            snext[at] = i + 1 < stop and ring[i] == ring[i + 1]
            at += 1
    sstart[order.shape[0]] = at


@njit(cache=True, nogil=True)
def _sweep(
    swept: Swept, lattice: Lattice, most_cross: int, most_rows: int, marks: Marks
) -> tuple[np.ndarray, int]:  # pragma: no cover - compiled
    """Polygon by polygon (gathered in processing order): the bins each edge passes within eps of (marks, unique
    per polygon), and the polygon's inside stretches along each row's centre line (even-odd
    crossings, half-open rule), added to the difference arrays ``count`` and ``owner`` and
    listed in ``intervals`` (row, first, last). Returns ``mark`` (grown if it had to be) and
    the number of bins the stretches span."""
    u, v, edge, gstart, gpoly, cr_min, cr_max, box_bins = swept
    nx, ny, eu, ev = lattice.nx, lattice.ny, lattice.eu, lattice.ev
    stamp, special, count, owner, mark, mark_start, intervals, iv_start = marks
    n_mark = 0
    n_iv = 0
    n_cover = 0
    cross_u = np.empty(max(most_cross, 1), dtype=np.float64)
    cross_at = np.zeros(most_rows + 1, dtype=np.int64)
    for j in range(gpoly.shape[0]):  # j: position in processing order
        g = j
        p = gpoly[g]
        gs = gstart[g]
        ge = gstart[g + 1] - 1
        if n_mark + box_bins[g] > mark.shape[0]:
            mark = _grow(mark, n_mark + box_bins[g])
        for i in range(gs, ge):
            if not edge[i]:
                continue
            ua = u[i]
            va = v[i]
            ub = u[i + 1]
            vb = v[i + 1]
            umin = min(ua, ub)
            umax = max(ua, ub)
            vmin = min(va, vb)
            vmax = max(va, vb)
            c_lo, c_hi = _band(ua, ub, eu, nx)
            du = ub - ua
            steep = abs(du) < 1e-12
            slope = 0.0 if steep else (vb - va) / du
            for col in range(c_lo, c_hi + 1):
                if steep:
                    v0 = vmin
                    v1 = vmax
                else:
                    s0 = max(col - eu, umin)
                    s1 = min(col + 1 + eu, umax)
                    v0 = va + (s0 - ua) * slope
                    v1 = va + (s1 - ua) * slope
                lo = _clip(min(v0, v1), vmin, vmax) - ev
                hi = _clip(max(v0, v1), vmin, vmax) + ev
                r_lo = int(_clip(math.floor(lo), 0, ny - 1))
                r_hi = int(_clip(math.floor(hi), 0, ny - 1))
                for r in range(r_lo, r_hi + 1):
                    b = r * nx + col
                    if stamp[b] != j:
                        stamp[b] = j
                        special[b] = True
                        mark[n_mark] = b
                        n_mark += 1
        mark_start[j + 1] = n_mark
        if cr_max[g] < cr_min[g]:
            iv_start[j + 1] = n_iv
            continue
        # Crossings with the row centre lines, counted per row, placed, sorted, paired.
        base = cr_min[g]
        rows = cr_max[g] - base + 1
        for k in range(rows + 1):
            cross_at[k] = 0
        for i in range(gs, ge):
            if not edge[i]:
                continue
            a = math.ceil(min(v[i], v[i + 1]) - 0.5)
            b = math.ceil(max(v[i], v[i + 1]) - 0.5)
            for r in range(a, b):
                cross_at[r - base + 1] += 1
        for k in range(rows):
            cross_at[k + 1] += cross_at[k]
        for i in range(gs, ge):
            if not edge[i]:
                continue
            ua = u[i]
            va = v[i]
            ub = u[i + 1]
            vb = v[i + 1]
            a = math.ceil(min(va, vb) - 0.5)
            b = math.ceil(max(va, vb) - 0.5)
            for r in range(a, b):
                t = (r + 0.5 - va) / (vb - va)
                k = r - base
                cross_u[cross_at[k]] = ua + t * (ub - ua)
                cross_at[k] += 1
        start = 0  # cross_at[k] is now the end of row k
        for k in range(rows):
            stop = cross_at[k]
            if stop - start > 32:
                cross_u[start:stop].sort()
            else:  # the usual few: insertion sort
                for c in range(start + 1, stop):
                    x = cross_u[c]
                    d = c - 1
                    while d >= start and cross_u[d] > x:
                        cross_u[d + 1] = cross_u[d]
                        d -= 1
                    cross_u[d + 1] = x
            row = base + k
            for c in range(start, stop - 1, 2):
                first = int(_clip(math.ceil(cross_u[c] - 0.5), 0, nx))
                last = int(_clip(math.floor(cross_u[c + 1] - 0.5) + 1, 0, nx))
                if last > first:
                    count[row * nx + first] += 1
                    count[row * nx + last] -= 1
                    owner[row * nx + first] += p
                    owner[row * nx + last] -= p
                    intervals[n_iv, 0] = row
                    intervals[n_iv, 1] = first
                    intervals[n_iv, 2] = last
                    n_iv += 1
                    n_cover += last - first
            start = stop
        iv_start[j + 1] = n_iv
    return mark, n_cover


@njit(cache=True, nogil=True)
def _label(
    count: np.ndarray, owner: np.ndarray, special: np.ndarray, label: np.ndarray
) -> int:  # pragma: no cover - compiled
    """The fill: how many polygons cover each bin centre (the running sums of the difference
    arrays), and which where one does; bins covered twice are special too (overlaps, decided
    point by point). Special bins get slots in row-major order. Returns the number of slots."""
    c = 0
    o = 0
    n_slots = 0
    for b in range(label.shape[0]):
        c += count[b]
        o += owner[b]
        if c > 1:
            special[b] = True
        if special[b]:
            label[b] = -2 - n_slots
            n_slots += 1
        elif c == 1:
            label[b] = o
        else:
            label[b] = -1
    return n_slots


@njit(cache=True, nogil=True)
def _count_candidates(
    nx: int,
    label: np.ndarray,
    marks: Marks,
    cand_start: np.ndarray,
    cb: np.ndarray,
    cb_start: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """The candidates of the special bins: polygons with an edge in it (its marks) and
    polygons covering its centre (special bins in its stretches), once each; listed per
    polygon in processing order in ``cb`` and counted per slot into ``cand_start`` (CSR)."""
    _, special, _, _, mark, mark_start, intervals, iv_start = marks
    stamp = marks.stamp
    ng = mark_start.shape[0] - 1
    n_cb = 0
    for q in range(ng):
        tag = q + ng  # the sweep stamped bins with 0..ng-1
        for j in range(mark_start[q], mark_start[q + 1]):
            b = mark[j]
            stamp[b] = tag
            cb[n_cb] = b
            n_cb += 1
            cand_start[-label[b] - 1] += 1
        for j in range(iv_start[q], iv_start[q + 1]):
            at = intervals[j, 0] * nx
            for b in range(at + intervals[j, 1], at + intervals[j, 2]):
                if special[b] and stamp[b] != tag:
                    stamp[b] = tag
                    cb[n_cb] = b
                    n_cb += 1
                    cand_start[-label[b] - 1] += 1
        cb_start[q + 1] = n_cb
    for s in range(cand_start.shape[0] - 1):
        cand_start[s + 1] += cand_start[s]


@njit(cache=True, nogil=True)
def _fill_candidates(
    nx: int,
    rows: Rows,
    estart: np.ndarray,
    n_rows: int,
    label: np.ndarray,
    cb: np.ndarray,
    cb_start: np.ndarray,
    table: Table,
) -> None:  # pragma: no cover - compiled
    """Each candidate's polygon and its edges in the bin's row band (where they start in
    ``edges`` and how many; without any, where the next (polygon, row) of the table starts, or
    the last one past the end, as a search of the table would say), then each slot's
    candidates sorted by polygon (the tie-break order; a few each: insertion sort). The
    polygons' ``gpoly, tr_min, tr_max, tbase`` and ``tnext`` (the next polygon's ``tbase``) are
    in processing order, ``n_rows`` is the number of (polygon, row) entries of ``estart``."""
    gpoly, tr_min, tr_max, tbase, tnext = rows
    cand_start, cand, cand_edges, cand_edge_count = table
    n_slots = cand_start.shape[0] - 1
    ng = gpoly.shape[0]
    cursor = np.empty(n_slots, dtype=np.int64)
    for s in range(n_slots):
        cursor[s] = cand_start[s]
    # The row of bin b is (b + 0.5) / nx rounded down, which is at least 0.5 / nx from an
    # integer: far beyond the rounding of a product with 1 / nx (cheaper than a division).
    inv_nx = 1.0 / nx
    n_edge = estart[n_rows]
    last_key = 0
    for k in range(n_rows - 1, -1, -1):
        if estart[k] < estart[k + 1]:
            last_key = estart[k]
            break
    for q in range(ng):
        p = gpoly[q]
        r0 = tr_min[q]
        r1 = tr_max[q]
        tb = tbase[q]
        for j in range(cb_start[q], cb_start[q + 1]):
            b = cb[j]
            s = -label[b] - 2
            at = cursor[s]
            cursor[s] = at + 1
            row = int((b + 0.5) * inv_nx)
            if row < r0:
                first = estart[tb]
                n = 0
            elif row > r1:
                first = estart[tnext[q]]
                n = 0
            else:
                first = estart[tb + row - r0]
                n = estart[tb + row - r0 + 1] - first
            if n == 0 and first >= n_edge:
                first = last_key
            cand[at] = p
            cand_edges[at] = first
            cand_edge_count[at] = n
    for slot in range(n_slots):
        lo = cand_start[slot]
        for i in range(lo + 1, cand_start[slot + 1]):
            p = cand[i]
            e = cand_edges[i]
            n = cand_edge_count[i]
            k = i - 1
            while k >= lo and cand[k] > p:
                cand[k + 1] = cand[k]
                cand_edges[k + 1] = cand_edges[k]
                cand_edge_count[k + 1] = cand_edge_count[k]
                k -= 1
            cand[k + 1] = p
            cand_edges[k + 1] = e
            cand_edge_count[k + 1] = n
