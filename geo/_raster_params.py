"""The parameter objects of the raster index's compiled build (:mod:`geo._raster_build`).

Small frozen tuples (``NamedTuple``: numba passes them to compiled code as structs), so that
no kernel takes more than a handful of arguments.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Lattice", "Marks", "Polygons", "Rows", "Swept", "Table"]


class Lattice(NamedTuple):
    """The bins: origin ``x0, y0``, size ``w`` by ``h``, ``nx`` by ``ny`` of them, and the
    supercover's margin in bin units across (``eu``) and up (``ev``)."""

    x0: float
    y0: float
    w: float
    h: float
    nx: int
    ny: int
    eu: float
    ev: float


class Polygons(NamedTuple):
    """Per polygon with coordinates, filled by :func:`_prepass`: where its coordinates start
    (``gstart``, one more entry), its number, its rows in the edge table (``tr_min..tr_max``,
    their place ``tbase`` and its edges' ``ebase``, one more entry each), the rows whose centre
    lines it crosses (``cr_min..cr_max``), the bins of its widened box and of its first vertex
    (``home``)."""

    gstart: np.ndarray
    gpoly: np.ndarray
    tr_min: np.ndarray
    tr_max: np.ndarray
    cr_min: np.ndarray
    cr_max: np.ndarray
    tbase: np.ndarray
    ebase: np.ndarray
    box_bins: np.ndarray
    home: np.ndarray


class Swept(NamedTuple):
    """What the sweep reads, polygon by polygon in processing order: the vertices in bin
    coordinates ``u, v``, whether an edge runs from each to the next, where each polygon's
    vertices start, and its number, crossed rows and box size."""

    u: np.ndarray
    v: np.ndarray
    edge: np.ndarray
    start: np.ndarray
    poly: np.ndarray
    cr_min: np.ndarray
    cr_max: np.ndarray
    box_bins: np.ndarray


class Marks(NamedTuple):
    """The sweep's output: per bin the polygon last marking it (``stamp``), whether it is
    special, and the difference arrays of the fill (``covers``: how many polygons cover
    the bin's centre, and ``owner``: the sum of their numbers); per polygon in
    processing order its marked bins (``mark``, from ``mark_start``) and its inside stretches
    (``intervals``: row, first, last; from ``iv_start``)."""

    stamp: np.ndarray
    special: np.ndarray
    covers: np.ndarray
    owner: np.ndarray
    mark: np.ndarray
    mark_start: np.ndarray
    intervals: np.ndarray
    iv_start: np.ndarray


class Rows(NamedTuple):
    """Per polygon in processing order: its number, edge-table rows and their place (``tnext``:
    the next polygon's ``tbase``)."""

    poly: np.ndarray
    tr_min: np.ndarray
    tr_max: np.ndarray
    tbase: np.ndarray
    tnext: np.ndarray


class Table(NamedTuple):
    """The candidate table (CSR), as :class:`geo._raster_index.RasterIndex` holds it."""

    cand_start: np.ndarray
    cand: np.ndarray
    cand_edges: np.ndarray
    cand_edge_count: np.ndarray
