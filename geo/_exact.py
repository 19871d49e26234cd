"""The exact (GEOS) fallback the three point-in-polygon indexes of :mod:`geo.join` share.

Each index answers most points with compiled arithmetic and marks the few it cannot decide
with certainty (:data:`~geo._join_kernels.UNSURE`: on or within rounding of an edge). Those
are decided here by GEOS ``covers`` semantics (``shapely.intersects_xy`` on a point), with the
join's rule: among the candidate polygons that cover a point, the smallest index wins.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely

from ._join_kernels import UNSURE

__all__ = ["CCW_ERROR", "settle_unsure", "smallest_covering"]

#: Shewchuk's bound on the rounding error of a 2-D orientation determinant (ccwerrboundA).
CCW_ERROR = (3.0 + 16.0 * np.finfo(float).eps) * np.finfo(float).eps
#: Points decided per call of the exact path (bounds its temporary arrays).
_CHUNK = 1 << 16
_NONE = np.iinfo(np.int64).max


def settle_unsure(
    out: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    decide: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Replace each :data:`UNSURE` answer in ``out`` by ``decide(x, y)`` for its point."""
    unsure = np.flatnonzero(out == UNSURE)
    for start in range(0, len(unsure), _CHUNK):
        which = unsure[start : start + _CHUNK]
        out[which] = decide(x[which], y[which])
    return out


def smallest_covering(
    geoms: np.ndarray, cand: np.ndarray, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """The smallest candidate polygon covering each point, -1 where none does.

    ``cand`` is ``(n, m)``: point ``i``'s candidate polygon indices, -1 for no candidate.
    """
    best = np.full(len(x), _NONE, dtype=np.int64)
    for column in cand.T:
        test = np.flatnonzero(column >= 0)
        hit = test[shapely.intersects_xy(geoms[column[test]], x[test], y[test])]
        best[hit] = np.minimum(best[hit], column[hit])
    return np.where(best == _NONE, -1, best)
