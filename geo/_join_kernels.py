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

__all__ = ["UNSURE", "group_by_key", "lattice_bins", "raster_bins", "raster_exact"]

#: Answer for a point the kernel leaves to the exact (GEOS) path.
UNSURE = -3


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
        u = (x[i] - x0) * inv_w
        v = (y[i] - y0) * inv_h
        if u >= 0.0 and u < nx and v >= 0.0 and v < ny:  # False for NaN
            out[i] = label[int(v) * nx + int(u)]
        else:
            out[i] = -1
    return out


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
    ccw_error: float,
) -> np.ndarray:  # pragma: no cover - compiled
    """Winning polygon for points in marked bins (-1 none, :data:`UNSURE` to decide exactly)."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        qx = x[i]
        qy = y[i]
        slot = slots[i]
        answer = -1
        for entry in range(cand_start[slot], cand_start[slot + 1]):
            first = cand_edges[entry]
            crossings = 0
            unsure = False
            for k in range(first, first + cand_edge_count[entry]):
                ax = edges[k, 0]
                ay = edges[k, 1]
                bx = edges[k, 2]
                by = edges[k, 3]
                dx = bx - ax
                dy = by - ay
                left = dx * (qy - ay)
                right = dy * (qx - ax)
                det = left - right
                bound = ccw_error * (abs(left) + abs(right))
                lo_x = min(ax, bx)
                hi_x = max(ax, bx)
                if (
                    qx >= lo_x
                    and qx <= hi_x
                    and qy >= min(ay, by)
                    and qy <= max(ay, by)
                    and abs(det) <= bound
                ):
                    unsure = True
                    break
                # A crossing right of the point: left of an upward edge, right of a downward one.
                straddle = (ay > qy) != (by > qy)
                if straddle and (qx < lo_x or (qx <= hi_x and (by > ay) == (det > 0))):
                    crossings += 1
            if unsure:
                answer = UNSURE
                break
            if crossings % 2 == 1:
                answer = cand[entry]
                break
        out[i] = answer
    return out


@njit(cache=True, nogil=True)
def lattice_bins(
    x: np.ndarray,
    y: np.ndarray,
    x0: float,
    y0: float,
    inv_w: float,
    inv_h: float,
    nx: int,
    ny: int,
    label: np.ndarray,
    margin: float,
) -> np.ndarray:  # pragma: no cover - compiled
    """Lattice cell label per point; :data:`UNSURE` within ``margin`` of a lattice line."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        u = (x[i] - x0) * inv_w
        v = (y[i] - y0) * inv_h
        col = np.floor(u)
        row = np.floor(v)
        fu = u - col
        fv = v - row
        if (
            fu > margin
            and fu < 1 - margin
            and fv > margin
            and fv < 1 - margin
            and col >= 0
            and col < nx
            and row >= 0
            and row < ny
        ):
            out[i] = label[int(row) * nx + int(col)]
        elif u > -margin and u < nx + margin and v > -margin and v < ny + margin:
            out[i] = UNSURE
        else:
            out[i] = -1  # outside, or NaN
    return out


@njit(cache=True, nogil=True)
def group_by_key(key: np.ndarray, n_keys: int) -> np.ndarray:  # pragma: no cover - compiled
    """Positions of ``key`` ordered by key, ties in input order (a counting sort)."""
    start = np.zeros(n_keys + 1, dtype=np.int64)
    for k in key:
        start[k + 1] += 1
    for j in range(n_keys):
        start[j + 1] += start[j]
    order = np.empty(key.shape[0], dtype=np.int64)
    for i in range(key.shape[0]):
        k = key[i]
        order[start[k]] = i
        start[k] += 1
    return order
