"""The spatial join: each incident to exactly one leaf grid, plus its ancestors.

Rule for points on a shared edge or vertex (DESIGN.md asks for one): among the leaf grids whose
polygon *covers* the point (interior or boundary), the one with the smallest ``grid_id`` (string
order) wins. The rule depends only on the point and the grids, never on row order, and it also
settles points in overlapping grids. Points no leaf covers get ``None`` and are counted.

Two implementations give identical answers:

- :func:`assign_grids` (the fast path the CLI, the API and the benchmark use) works on plain
  coordinate arrays through a raster index (:class:`GridIndex`): bins wholly inside one grid are
  answered by lookup, and only points in bins crossed by an edge are tested exactly;
- :func:`assign_grids_reference` builds shapely Points and queries an STRtree, as a spatial
  join does; the tests and the benchmark check the fast path against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._id_order import id_order
from ._lattice_index import LatticeIndex
from ._object_gather import gather
from ._raster_index import RasterIndex, polygon_rings
from ._tiling_index import TilingIndex
from .errors import GridError, IncidentError
from .hierarchy import ANCESTOR_COLUMNS, ancestor_table, as_text, leaf_mask

__all__ = [
    "JOIN_COLUMNS",
    "GridIndex",
    "JoinSummary",
    "assign_grids",
    "assign_grids_reference",
    "join_incidents",
    "join_summary",
]

#: Columns a join adds, in order.
JOIN_COLUMNS: tuple[str, ...] = ("grid_id", *reversed(tuple(ANCESTOR_COLUMNS.values())))


@dataclass(frozen=True, eq=False)
class GridIndex:
    """Leaf grids prepared for repeated joins (build once, assign many batches).

    Attributes
    ----------
    grid_ids
        Leaf ids in string order; ``assign`` answers with these.
    raster
        The point-in-polygon index over the leaf polygons, in the same order: arithmetic
        binning (:class:`~geo._lattice_index.LatticeIndex`) when the leaves are a regular
        lattice of axis-aligned rectangles, a fitted square or hexagonal tiling
        (:class:`~geo._tiling_index.TilingIndex`: grids made in a metric CRS, H3 cells), else
        the raster index.
    """

    grid_ids: np.ndarray
    raster: RasterIndex | LatticeIndex | TilingIndex

    @classmethod
    def build(cls, grids: gpd.GeoDataFrame, *, points: int | None = None) -> GridIndex:
        """Index the leaf grids of a grids frame (EPSG:4326; other CRSs are converted).

        ``points``, the number of points expected, sizes the index (more points: finer bins).

        Raises
        ------
        GridError
            When ``grid_id`` or ``geometry`` is missing, or ids repeat among the leaves.
        """
        ids, geoms, order = _leaves(grids)
        rings = polygon_rings(geoms, order)  # read once, for every kind of index
        if order is not None:
            geoms = geoms[order]
        lattice = LatticeIndex.detect(geoms, rings)
        if lattice is not None:
            return cls(grid_ids=ids, raster=lattice)
        tiling = TilingIndex.detect(geoms, rings, points=points)
        if tiling is not None:
            return cls(grid_ids=ids, raster=tiling)
        return cls(grid_ids=ids, raster=RasterIndex.build(geoms, points=points, rings=rings))

    def assign(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Leaf ``grid_id`` (object array) per point; None outside every grid or for NaN."""
        return gather(self.grid_ids, self.raster.lookup(lon, lat))


@dataclass(frozen=True)
class JoinSummary:
    """Counts of a join, for reports: ``outside`` incidents got no grid."""

    incidents: int
    inside: int
    outside: int

    def __str__(self) -> str:
        return f"{self.incidents} incidents: {self.inside} in a grid, {self.outside} outside every grid"


def assign_grids(
    lon: np.ndarray, lat: np.ndarray, grids: gpd.GeoDataFrame | GridIndex
) -> np.ndarray:
    """The leaf ``grid_id`` covering each point (WGS84 lon/lat arrays), None outside.

    Parameters
    ----------
    lon, lat
        Coordinates in EPSG:4326; NaN gives None.
    grids
        A grids frame (see DESIGN.md; a frame without ``parent_id`` is one flat level), or a
        :class:`GridIndex` built from one, to reuse across calls.

    Returns
    -------
    numpy.ndarray
        Object array of grid ids (str) or None, one per point. On a shared edge or vertex the
        smallest ``grid_id`` wins.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> grids = gpd.GeoDataFrame(
    ...     {"grid_id": ["b", "a"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326
    ... )
    >>> assign_grids(np.array([0.5, 1.0, 1.5, 3.0]), np.array([0.5, 0.5, 0.5, 0.5]), grids)
    array(['b', 'a', 'a', None], dtype=object)
    """
    if isinstance(grids, GridIndex):
        return grids.assign(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    index = GridIndex.build(grids, points=len(lon))
    return index.assign(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))


def assign_grids_reference(lon: np.ndarray, lat: np.ndarray, grids: gpd.GeoDataFrame) -> np.ndarray:
    """Same answer as :func:`assign_grids`, by an STRtree query with shapely Points.

    The straightforward method, kept as the yardstick for the fast path (tests, benchmark).
    """
    ids, geoms, order = _leaves(grids)
    if order is not None:
        geoms = geoms[order]
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    finite = np.isfinite(lon) & np.isfinite(lat)
    tree = shapely.STRtree(geoms)
    point, poly = tree.query(shapely.points(lon[finite], lat[finite]), predicate="intersects")
    best = np.full(len(lon), -1, dtype=np.int64)
    if len(point):
        winner = pd.Series(poly).groupby(point).min()
        best[np.flatnonzero(finite)[winner.index.to_numpy()]] = winner.to_numpy()
    return gather(ids, best)


def join_incidents(
    incidents: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame | GridIndex,
    *,
    ancestors: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Incidents with their leaf ``grid_id`` and ``community_id``, ``street_id``, ``district_id``.

    Parameters
    ----------
    incidents
        Incidents frame with Point geometry (EPSG:4326; other CRSs are converted).
    grids
        The grids frame (all levels); leaves are joined, ancestors come from
        :func:`geo.hierarchy.ancestor_table`. A :class:`GridIndex` needs ``ancestors``.
    ancestors
        The ancestor table to use with a prebuilt index (None: computed from ``grids``).

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame: the input columns plus :data:`JOIN_COLUMNS`, in input order. Incidents
        outside every grid keep ``grid_id`` None; :func:`join_summary` counts them (also in
        ``.attrs["join"]``).

    Raises
    ------
    IncidentError
        When a geometry is not a Point.
    """
    if incidents.crs is not None and incidents.crs.to_epsg() != 4326:
        incidents = incidents.to_crs(4326)
    geometry = incidents.geometry.array
    kind = shapely.get_type_id(geometry)
    bad = ~(np.isin(kind, [0, -1]) | shapely.is_empty(geometry))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        msg = f"incidents row {row}: geometry is not a Point; join needs one point per incident"
        raise IncidentError(msg)
    lon = np.full(len(incidents), np.nan)
    lat = np.full(len(incidents), np.nan)
    present = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    lon[present] = shapely.get_x(geometry[present])
    lat[present] = shapely.get_y(geometry[present])
    if isinstance(grids, GridIndex):
        index = grids
        if ancestors is None:
            msg = "join_incidents: pass ancestors=ancestor_table(grids) with a prebuilt GridIndex"
            raise GridError(msg)
    else:
        index = GridIndex.build(grids, points=len(lon))
        ancestors = _ancestors(grids)
    grid_id = index.assign(lon, lat)
    joined = incidents.drop(columns=[c for c in JOIN_COLUMNS if c in incidents.columns]).copy()
    joined["grid_id"] = pd.Series(grid_id, index=joined.index, dtype=object)
    lookup = ancestors.reindex(pd.Index(grid_id, dtype=object))
    for column in JOIN_COLUMNS[1:]:
        values = lookup[column].to_numpy(dtype=object) if column in lookup else None
        series = pd.Series(values, index=joined.index, dtype=object)
        joined[column] = series.where(series.notna(), None)
    inside = int(pd.notna(grid_id).sum())
    joined.attrs["join"] = {
        "incidents": len(joined),
        "inside": inside,
        "outside": len(joined) - inside,
    }
    return joined


def join_summary(joined: pd.DataFrame) -> JoinSummary:
    """Counts of a joined frame: incidents, inside a grid, outside every grid."""
    inside = int(joined["grid_id"].notna().sum())
    return JoinSummary(incidents=len(joined), inside=inside, outside=len(joined) - inside)


# -- helpers -----------------------------------------------------------------------------------


def _leaves(grids: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Leaf ids in string order, the leaves' geometries in EPSG:4326 in the frame's order, and
    the order that sorts the geometries like the ids (None when they already are).

    The geometries are not reordered here: :func:`~geo._raster_index.polygon_rings` reads them
    in the frame's order (the order they lie in memory) and reorders what it read.
    """
    if "grid_id" not in grids.columns:
        msg = "grids: no grid_id column; load the file with geo.grids.load_grids to name one"
        raise GridError(msg)
    if not isinstance(grids, gpd.GeoDataFrame):
        msg = "grids: expected a GeoDataFrame with polygon geometry"
        raise GridError(msg)
    if grids.crs is not None and grids.crs.to_epsg() != 4326:
        grids = grids.to_crs(4326)
    named = as_text(grids["grid_id"])
    geoms = grids.geometry.to_numpy()
    if "parent_id" in grids.columns:  # the leaves, on arrays: no frame copy
        leaf = leaf_mask(grids)
        if not leaf.all():
            named, geoms = named[leaf], geoms[leaf]
    order = id_order(named)
    ids = named.to_numpy(dtype=object)
    return (ids, geoms, None) if order is None else (ids[order], geoms, order)


def _ancestors(grids: gpd.GeoDataFrame) -> pd.DataFrame:
    if {"level", "parent_id"} <= set(grids.columns):
        frame = grids.assign(grid_id=grids["grid_id"].astype(str))
        return ancestor_table(frame)
    index = pd.Index(grids["grid_id"].astype(str), name="grid_id")
    return pd.DataFrame(None, index=index, columns=list(ANCESTOR_COLUMNS.values()), dtype=object)
