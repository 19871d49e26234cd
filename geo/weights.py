"""Spatial weights between grids, built robustly.

libpysal's queen contiguity matches polygon vertices exactly, so square grids whose neighbouring
edges are computed separately in floating point lose links (measured on 100k cells: 496k of 795k
links found). Two robust builders instead:

- :func:`lattice_weights` from integer lattice indices (``ix``, ``iy``): exact by construction;
  :func:`lattice_indices` recovers the indices of an axis-aligned square grid from its cells'
  centroids in the metric CRS (as :func:`geo.gridgen.make_grid` and the forecast lattice lay them).
- :func:`contiguity_weights` for any polygons (hexagons, clipped cells, communities): two grids are
  queen neighbours when their boundaries come within ``tolerance_m`` metres of each other, rook
  neighbours when they share more than ``4 * tolerance_m`` of boundary length.

:func:`grid_weights` picks the lattice builder when the grids are a regular square grid and the
contiguity builder otherwise. Weights are a :class:`GridWeights`: ids plus a symmetric binary
``scipy.sparse`` matrix, convertible to a libpysal ``W`` for esda.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse

from ._optional import require
from .errors import GridError

__all__ = [
    "GridWeights",
    "contiguity_weights",
    "grid_weights",
    "lattice_indices",
    "lattice_weights",
]

_QUEEN = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
_ROOK = ((-1, 0), (0, -1), (0, 1), (1, 0))


@dataclass(frozen=True)
class GridWeights:
    """Binary symmetric spatial weights: ``matrix[i, j] = 1`` when grid ``i`` neighbours ``j``."""

    ids: tuple[str, ...]
    matrix: sparse.csr_matrix = field(repr=False)
    method: str = "lattice"

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.matrix.shape != (n, n):
            msg = f"weights matrix shape {self.matrix.shape} does not match {n} ids"
            raise GridError(msg)

    @property
    def n(self) -> int:
        """Number of grids."""
        return len(self.ids)

    def neighbour_counts(self) -> np.ndarray:
        """Number of neighbours of each grid."""
        return np.asarray(self.matrix.sum(axis=1)).ravel().astype(np.int64)

    def to_libpysal(self) -> Any:
        """A ``libpysal.weights.W`` (ids are positions 0..n-1, in :attr:`ids` order)."""
        return require("libpysal.weights").W.from_sparse(self.matrix.tocsr())


def _symmetric(rows: np.ndarray, cols: np.ndarray, n: int) -> sparse.csr_matrix:
    keep = rows != cols
    data = np.ones(int(keep.sum()))
    matrix = sparse.coo_matrix((data, (rows[keep], cols[keep])), shape=(n, n)).tocsr()
    matrix = matrix.maximum(matrix.T).tocsr()
    matrix.data[:] = 1.0
    return matrix


def lattice_weights(
    ix: np.ndarray, iy: np.ndarray, ids: list[str] | None = None, *, kind: str = "queen"
) -> GridWeights:
    """Queen (8) or rook (4) neighbours of cells given by integer lattice indices.

    >>> ix, iy = np.meshgrid(np.arange(3), np.arange(3))
    >>> lattice_weights(ix.ravel(), iy.ravel()).neighbour_counts().reshape(3, 3).tolist()
    [[3, 5, 3], [5, 8, 5], [3, 5, 3]]
    """
    offsets = {"queen": _QUEEN, "rook": _ROOK}.get(kind)
    if offsets is None:
        msg = f"unknown weights kind {kind!r}; use 'queen' or 'rook'"
        raise GridError(msg)
    ix = np.asarray(ix, dtype=np.int64)
    iy = np.asarray(iy, dtype=np.int64)
    n = ix.size
    ids = [str(i) for i in range(n)] if ids is None else [str(i) for i in ids]
    if n == 0:
        return GridWeights((), sparse.csr_matrix((0, 0)), "lattice")
    span = int(iy.max() - iy.min()) + 3
    key = (ix - ix.min() + 1) * span + (iy - iy.min() + 1)
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    if np.any(sorted_keys[1:] == sorted_keys[:-1]):
        msg = "two grids share one lattice index; the grid is not a regular lattice"
        raise GridError(msg)
    rows, cols = [], []
    for dx, dy in offsets:
        target = key + dx * span + dy
        pos = np.clip(np.searchsorted(sorted_keys, target), 0, n - 1)
        hit = sorted_keys[pos] == target
        rows.append(np.flatnonzero(hit))
        cols.append(order[pos[hit]])
    matrix = _symmetric(np.concatenate(rows), np.concatenate(cols), n)
    return GridWeights(tuple(ids), matrix, f"lattice-{kind}")


def _metric(grids: gpd.GeoDataFrame) -> gpd.GeoSeries:
    if grids.crs is None:
        msg = "grids: no CRS; grids at rest are EPSG:4326"
        raise GridError(msg)
    geoms = grids.geometry
    return geoms.to_crs(geoms.estimate_utm_crs()) if grids.crs.is_geographic else geoms


def lattice_indices(
    grids: gpd.GeoDataFrame, *, rel_tol: float = 0.02
) -> tuple[np.ndarray, np.ndarray] | None:
    """Integer ``(ix, iy)`` of an axis-aligned square grid, or None if the grids are not one.

    The cell size is the median side of the cells' bounding boxes in the UTM zone; every cell
    must be (up to ``rel_tol``) a full square of that size on one common lattice. Cells clipped at
    an area's edge are not squares, so such grids use :func:`contiguity_weights` instead.
    """
    if len(grids) == 0:
        return None
    geoms = _metric(grids).to_numpy()
    bounds = shapely.bounds(geoms)
    width = bounds[:, 2] - bounds[:, 0]
    height = bounds[:, 3] - bounds[:, 1]
    size = float(np.median(width))
    if not size > 0:
        return None
    area = shapely.area(geoms)
    square = (
        (np.abs(width - size) <= rel_tol * size)
        & (np.abs(height - size) <= rel_tol * size)
        & (np.abs(area - size * size) <= 2 * rel_tol * size * size)
    )
    if not square.all():
        return None
    fx = (bounds[:, 0] - bounds[:, 0].min()) / size
    fy = (bounds[:, 1] - bounds[:, 1].min()) / size
    ix, iy = np.rint(fx).astype(np.int64), np.rint(fy).astype(np.int64)
    if np.abs(fx - ix).max() > rel_tol or np.abs(fy - iy).max() > rel_tol:
        return None
    return ix, iy


def contiguity_weights(
    grids: gpd.GeoDataFrame, *, kind: str = "queen", tolerance_m: float = 0.5
) -> GridWeights:
    """Neighbours by touching boundaries, tolerant of floating-point gaps of ``tolerance_m``.

    Queen: boundaries within ``tolerance_m``; rook: additionally sharing more than
    ``4 * tolerance_m`` of boundary length (measured within ``tolerance_m`` of the other
    boundary; a corner touch measures at most ``2 * tolerance_m``).
    """
    if kind not in ("queen", "rook"):
        msg = f"unknown weights kind {kind!r}; use 'queen' or 'rook'"
        raise GridError(msg)
    ids = tuple(grids["grid_id"].astype(str))
    geoms = _metric(grids).to_numpy()
    n = len(geoms)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    keep = left < right
    left, right = left[keep], right[keep]
    if kind == "rook" and left.size:
        edge = shapely.intersection(
            shapely.buffer(shapely.boundary(geoms[left]), tolerance_m),
            shapely.boundary(geoms[right]),
        )
        shared = shapely.length(edge) > 4 * tolerance_m  # a corner touch gives <= 2x
        left, right = left[shared], right[shared]
    return GridWeights(ids, _symmetric(left, right, n), f"contiguity-{kind}")


def grid_weights(
    grids: gpd.GeoDataFrame, *, kind: str = "queen", tolerance_m: float = 0.5
) -> GridWeights:
    """Lattice weights for a regular square grid, tolerant contiguity weights otherwise."""
    indices = lattice_indices(grids)
    if indices is not None:
        return lattice_weights(*indices, list(grids["grid_id"].astype(str)), kind=kind)
    return contiguity_weights(grids, kind=kind, tolerance_m=tolerance_m)
