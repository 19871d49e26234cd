"""Tests of geo.weights: neighbour counts on square and irregular grids."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import GridError
from geo.weights import (
    contiguity_weights,
    grid_weights,
    lattice_indices,
    lattice_weights,
)


def _square_grid(n: int, cell_m: float = 200.0, jitter_m: float = 0.0) -> gpd.GeoDataFrame:
    """An n x n grid of squares laid in UTM 18N (Philadelphia), stored in EPSG:4326.

    Each cell's corners are computed on their own in floating point; with ``jitter_m`` they move
    by up to that many metres, so neighbouring edges are not bit-identical (the libpysal queen
    pitfall).
    """
    rng = np.random.default_rng(1)
    cells, ids = [], []
    for i in range(n):
        for j in range(n):
            x0 = 485_000.3 + i * cell_m + rng.uniform(-jitter_m, jitter_m)
            y0 = 4_425_000.7 + j * cell_m + rng.uniform(-jitter_m, jitter_m)
            cells.append(shapely.box(x0, y0, x0 + cell_m, y0 + cell_m))
            ids.append(f"g{i}_{j}")
    frame = gpd.GeoDataFrame({"grid_id": ids}, geometry=cells, crs="EPSG:32618")
    return frame.to_crs("EPSG:4326")


def test_lattice_interior_cell_has_eight_queen_neighbours() -> None:
    """On a 5x5 lattice: interior 8, edge 5, corner 3 queen neighbours; rook 4/3/2."""
    ix, iy = np.meshgrid(np.arange(5), np.arange(5), indexing="ij")
    queen = lattice_weights(ix.ravel(), iy.ravel()).neighbour_counts().reshape(5, 5)
    rook = lattice_weights(ix.ravel(), iy.ravel(), kind="rook").neighbour_counts().reshape(5, 5)
    assert queen[2, 2] == 8
    assert queen[0, 2] == 5
    assert queen[0, 0] == 3
    assert rook[2, 2] == 4
    assert rook[0, 2] == 3
    assert rook[0, 0] == 2
    assert int(queen.sum()) == 2 * (2 * 5 * 4 + 2 * 4 * 4)  # rook links + diagonal links, twice


@settings(max_examples=30, deadline=None)
@given(st.sets(st.tuples(st.integers(-20, 20), st.integers(-20, 20)), min_size=1, max_size=80))
def test_lattice_weights_are_symmetric_and_local(cells: set[tuple[int, int]]) -> None:
    """Lattice weights are symmetric, have no self links, and link only cells 1 step apart."""
    ix = np.array([c[0] for c in cells])
    iy = np.array([c[1] for c in cells])
    w = lattice_weights(ix, iy)
    m = w.matrix.toarray()
    assert (m == m.T).all()
    assert (np.diag(m) == 0).all()
    i, j = np.nonzero(m)
    assert (np.maximum(np.abs(ix[i] - ix[j]), np.abs(iy[i] - iy[j])) == 1).all()
    expected = sum(
        1 for a in cells for b in cells if a != b and max(abs(a[0] - b[0]), abs(a[1] - b[1])) == 1
    )
    assert int(m.sum()) == expected


def test_square_grid_geometry_recovers_lattice() -> None:
    """Square cells with float-noisy corners still give 8 queen neighbours inside."""
    grids = _square_grid(6, jitter_m=1e-4)
    indices = lattice_indices(grids)
    assert indices is not None
    w = grid_weights(grids)
    assert w.method == "lattice-queen"
    counts = w.neighbour_counts().reshape(6, 6)
    assert counts[1:-1, 1:-1].min() == 8
    assert counts[0, 0] == 3


def test_contiguity_weights_tolerate_float_gaps() -> None:
    """Tolerant contiguity finds all 8 queen and 4 rook neighbours despite unequal edges."""
    grids = _square_grid(5, jitter_m=1e-4)
    queen = contiguity_weights(grids).neighbour_counts().reshape(5, 5)
    rook = contiguity_weights(grids, kind="rook").neighbour_counts().reshape(5, 5)
    assert queen[2, 2] == 8
    assert queen[0, 0] == 3
    assert rook[2, 2] == 4
    assert rook[0, 0] == 2


def test_irregular_grids_use_contiguity() -> None:
    """Clipped or irregular cells are not a lattice; weights come from touching boundaries."""
    grids = _square_grid(3)
    clipped = shapely.box(485_050.0, 4_425_080.0, 485_200.3, 4_425_200.7)
    grids.loc[0, "geometry"] = gpd.GeoSeries([clipped], crs=32618).to_crs(4326).iloc[0]
    assert lattice_indices(grids) is None
    w = grid_weights(grids)
    assert w.method == "contiguity-queen"
    assert w.neighbour_counts().reshape(3, 3)[1, 1] == 8


def test_duplicate_lattice_index_is_an_error() -> None:
    """Two cells at one lattice index are rejected with a message."""
    with pytest.raises(GridError, match="lattice"):
        lattice_weights(np.array([0, 0]), np.array([1, 1]))


def test_to_libpysal_keeps_links() -> None:
    """The libpysal W has the same neighbour counts."""
    ix, iy = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    w = lattice_weights(ix.ravel(), iy.ravel())
    lw = w.to_libpysal()
    assert [lw.cardinalities[i] for i in range(16)] == w.neighbour_counts().tolist()
