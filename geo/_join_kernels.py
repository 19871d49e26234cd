"""Compiled (numba) kernels of the join's fast path, with the exact rules of the numpy code.

The raster lookup answers a point in an unmarked bin by one load, and a point in a marked bin by
counting the crossings of a horizontal ray with each candidate polygon's edges in the point's row
band, candidates in tie-break order, the same arithmetic as
:meth:`geo._raster_index.RasterIndex._covers`. Where an orientation sign is not certain
(Shewchuk's bound), the kernel does not guess: it answers :data:`UNSURE` and the caller decides
that point with the numpy/GEOS path, so results are identical to it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = [
    "UNSURE",
    "Bins",
    "Candidates",
    "crossing_test",
    "csr_starts",
    "group_by_key",
    "raster_bins",
    "raster_exact",
]

#: Answer for a point the kernel leaves to the exact (GEOS) path.
UNSURE = -3


_OUT = 0
_INSIDE = 1
_DOUBT = 2


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


class Bins(NamedTuple):
    """A raster's bins for the lookup: origin ``x0, y0``, reciprocal bin size ``inv_w``,
    ``inv_h``, and ``nx`` by ``ny`` bins."""

    x0: float
    y0: float
    inv_w: float
    inv_h: float
    nx: int
    ny: int


class Candidates(NamedTuple):
    """A raster's candidate table (see :class:`geo._raster_index.RasterIndex`): per marked bin
    its candidate polygons (CSR ``cand_start``, ``cand``), each candidate's edges in the bin's
    row band (``cand_edges``, ``cand_edge_count`` into ``edges``), and each polygon's box."""

    cand_start: np.ndarray
    cand: np.ndarray
    cand_edges: np.ndarray
    cand_edge_count: np.ndarray
    edges: np.ndarray
    bounds: np.ndarray


@njit(cache=True, nogil=True)
def raster_bins(
    x: np.ndarray, y: np.ndarray, bins: Bins, label: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """Label of each point's bin: polygon ``>= 0``, -1 none, ``<= -2`` a marked bin's slot."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.int64)
    x0, y0, inv_w, inv_h, nx, ny = bins
    for i in range(n):
        u = (x[i] - x0) * inv_w
        v = (y[i] - y0) * inv_h
        if u >= 0.0 and u < nx and v >= 0.0 and v < ny:  # False for NaN
            out[i] = label[int(v) * nx + int(u)]
        else:
            out[i] = -1
    return out


@njit(cache=True, nogil=True)
def raster_exact(
    x: np.ndarray, y: np.ndarray, slots: np.ndarray, table: Candidates, ccw_error: float
) -> np.ndarray:  # pragma: no cover - compiled
    """Winning polygon for points in marked bins (-1 none, :data:`UNSURE` to decide exactly).

    Point ``i`` lies in the marked bin ``slots[i]``. A candidate whose bounding box ``bounds``
    (``xmin, ymin, xmax, ymax`` per polygon) excludes the point cannot cover it and is skipped.
    """
    cand_start, cand, cand_edges, cand_edge_count, edges, bounds = table
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
