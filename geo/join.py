"""The spatial join: each incident to exactly one leaf grid, plus its ancestors.

Rule for points on a shared edge or vertex (DESIGN.md asks for one): among the leaf grids whose
polygon *covers* the point (interior or boundary), the one with the smallest ``grid_id`` (string
order) wins. The rule depends only on the point and the grids, never on row order, and it also
settles points in overlapping grids. Points no leaf covers get no grid (NA) and are counted.
For every point in a grid's interior the answer is the one ``geopandas.sjoin(points, grids,
predicate="within")`` gives; the rule only decides the points sjoin leaves without a grid
(on a boundary) or with several (overlaps).

The answer is a :class:`pandas.Categorical` whose categories are the leaf ids in string order
and whose codes are positions in them (-1: outside every grid): one small integer per point,
no Python object per point. :func:`assign_grids` works on plain coordinate arrays through a
raster index (:class:`GridIndex`, :mod:`geo._raster_index`): bins wholly inside one grid are
answered by lookup, and only points in bins crossed by an edge are tested exactly. The tests
check it against an STRtree query with shapely Points (``tests/geo/join_oracle.py``) and
against ``geopandas.sjoin``.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._raster_index import RasterIndex
from .errors import GridError, IncidentError
from .hierarchy import ANCESTOR_COLUMNS, ancestor_table, as_text, leaf_mask

__all__ = [
    "JOIN_COLUMNS",
    "GridIndex",
    "JoinSummary",
    "assign_grids",
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
    dtype
        The categorical dtype of every answer: the leaf ids (text) in string order.
    raster
        The point-in-polygon index over the leaf polygons, in the same order.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> grids = gpd.GeoDataFrame(
    ...     {"grid_id": ["b", "a"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326
    ... )
    >>> index = GridIndex.build(grids)
    >>> index.assign(np.array([0.5, 1.5]), np.array([0.5, 0.5])).codes.tolist()
    [1, 0]
    """

    dtype: pd.CategoricalDtype
    raster: RasterIndex

    @classmethod
    def build(cls, grids: gpd.GeoDataFrame, *, points: int | None = None) -> GridIndex:
        """Index the leaf grids of a grids frame (EPSG:4326; other CRSs are converted).

        ``points``, the number of points expected, sizes the index (more points: finer bins).

        Raises
        ------
        GridError
            When ``grid_id`` or ``geometry`` is missing, or ids repeat among the leaves.
        """
        ids, geoms = _leaves(grids)
        return cls(pd.CategoricalDtype(ids), RasterIndex.build(geoms, points=points))

    @property
    def grid_ids(self) -> pd.Index:
        """The leaf ids in string order (the categories of every answer)."""
        return self.dtype.categories

    def assign(self, lon: np.ndarray, lat: np.ndarray) -> pd.Categorical:
        """Leaf ``grid_id`` per point (codes into :attr:`grid_ids`); NA outside or for NaN."""
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        codes = self.raster.lookup(lon, lat)
        return pd.Categorical.from_codes(codes, dtype=self.dtype, validate=False)


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
) -> pd.Categorical:
    """The leaf ``grid_id`` covering each point (WGS84 lon/lat arrays), NA outside.

    Parameters
    ----------
    lon, lat
        Coordinates in EPSG:4326; NaN gives NA.
    grids
        A grids frame (see DESIGN.md; a frame without ``parent_id`` is one flat level), or a
        :class:`GridIndex` built from one, to reuse across calls.

    Returns
    -------
    pandas.Categorical
        One grid id per point: categories the leaf ids in string order, codes their positions
        (-1 outside every grid). On a shared edge or vertex the smallest ``grid_id`` wins.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> grids = gpd.GeoDataFrame(
    ...     {"grid_id": ["b", "a"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326
    ... )
    >>> assign_grids(np.array([0.5, 1.0, 1.5, 3.0]), np.array([0.5, 0.5, 0.5, 0.5]), grids)
    ['b', 'a', 'a', NaN]
    Categories (2, str): ['a', 'b']
    """
    if not isinstance(grids, GridIndex):
        grids = GridIndex.build(grids, points=len(lon))
    return grids.assign(lon, lat)


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
        A new frame: the input columns plus :data:`JOIN_COLUMNS`, in input order. ``grid_id``
        is categorical (the leaf ids), NA for incidents outside every grid; the ancestor
        columns hold text or None. :func:`join_summary` counts the incidents outside (also in
        ``.attrs["join"]``).

    Raises
    ------
    IncidentError
        When a geometry is not a Point.

    Examples
    --------
    >>> from shapely.geometry import Point, box
    >>> grids = gpd.GeoDataFrame(
    ...     {"grid_id": ["D", "g1", "g2"], "level": ["district", "grid", "grid"],
    ...      "parent_id": [None, "D", "D"]},
    ...     geometry=[box(0, 0, 2, 1), box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326,
    ... )
    >>> incidents = gpd.GeoDataFrame(
    ...     {"incident_id": ["i1", "i2"]}, geometry=[Point(1.5, 0.5), Point(5, 5)], crs=4326
    ... )
    >>> joined = join_incidents(incidents, grids)
    >>> joined[["grid_id", "district_id"]].to_dict("list")
    {'grid_id': ['g2', nan], 'district_id': ['D', None]}
    >>> joined.attrs["join"]
    {'incidents': 2, 'inside': 1, 'outside': 1}
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
    joined = incidents.drop(columns=[c for c in JOIN_COLUMNS if c in incidents.columns])
    joined = joined.copy()
    joined["grid_id"] = pd.Series(grid_id, index=joined.index)
    # One row per leaf (and a last one of None for code -1), gathered by the codes.
    per_leaf = ancestors.reindex(index.grid_ids)
    for column in JOIN_COLUMNS[1:]:
        table = np.full(len(per_leaf) + 1, None, dtype=object)
        if column in per_leaf:
            values = per_leaf[column].to_numpy(dtype=object)
            table[:-1] = np.where(pd.notna(values), values, None)
        joined[column] = pd.Series(table[grid_id.codes], index=joined.index, dtype=object)
    inside = int((grid_id.codes >= 0).sum())
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


def _leaves(grids: gpd.GeoDataFrame) -> tuple[pd.Index, np.ndarray]:
    """Leaf ids (text) in string order and the leaves' geometries (EPSG:4326) in that order.

    Raises
    ------
    GridError
        When a leaf has no id or two leaves share one (the tie-break needs unique ids).
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
    if "parent_id" in grids.columns:
        leaf = leaf_mask(grids)
        named, geoms = named[leaf], geoms[leaf]
    missing = np.flatnonzero(named.isna().to_numpy())
    if len(missing):
        msg = f"grids: leaf grid row {int(missing[0])} has no grid_id"
        raise GridError(msg)
    repeated = named[named.duplicated()]
    if len(repeated):
        msg = f"grids: grid_id {repeated.iloc[0]!r} is used by more than one leaf grid"
        raise GridError(msg)
    order = named.argsort(kind="stable").to_numpy()  # code point order, as Python's
    return pd.Index(named.iloc[order], dtype="str", name="grid_id"), geoms[order]


def _ancestors(grids: gpd.GeoDataFrame) -> pd.DataFrame:
    if {"level", "parent_id"} <= set(grids.columns):
        frame = grids.assign(grid_id=grids["grid_id"].astype(str))
        return ancestor_table(frame)
    index = pd.Index(grids["grid_id"].astype(str), name="grid_id")
    return pd.DataFrame(None, index=index, columns=list(ANCESTOR_COLUMNS.values()), dtype=object)
