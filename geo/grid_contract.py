"""The grids contract shared by every grids module: columns, ids, polygons, metric CRS.

:data:`CONTRACT_COLUMNS` every grids frame has, :data:`OPTIONAL_COLUMNS` kept when present,
:func:`grid_ids` (the ids checked present and unique), :func:`as_id_strings` (ids read from any
column type as strings), :func:`polygonal` (the polygonal part of a repaired or clipped
geometry) and :func:`metric_crs` (the UTM zone for measuring in metres). Used by
:mod:`geo.grids` (loading), :mod:`geo.nesting`, :mod:`geo.gridgen` and :mod:`geo.levels`.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from .crs import WGS84
from .errors import GridError

__all__ = [
    "CONTRACT_COLUMNS",
    "OPTIONAL_COLUMNS",
    "as_id_strings",
    "grid_ids",
    "metric_crs",
    "polygonal",
]

#: Columns every grids frame has, in this order.
CONTRACT_COLUMNS: tuple[str, ...] = ("grid_id", "level", "parent_id", "name", "geometry")
#: Columns kept when the file has them (by that name or through ``columns``).
#: ``level_name`` is the city's own name of the level (``beat``), ``source_id`` the unit's id in
#: the city's file (the same on every piece of a unit cut by a parent border); see geo.levels.
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "households",
    "population",
    "station_id",
    "level_name",
    "source_id",
)


def metric_crs(frame: gpd.GeoDataFrame) -> object:
    """The UTM CRS for metric work on ``frame`` (DESIGN.md: ``estimate_utm_crs()``)."""
    if len(frame) == 0:
        msg = "cannot choose a metric CRS for an empty frame"
        raise GridError(msg)
    return frame.to_crs(WGS84).estimate_utm_crs()


def as_id_strings(values: pd.Series) -> pd.Series:
    """Ids as strings: ``3.0`` becomes ``"3"``, missing stays None."""
    if pd.api.types.is_float_dtype(values) and values.dropna().apply(float.is_integer).all():
        values = values.astype("Int64")
    out = values.astype(object).where(values.notna(), None)
    return out.map(lambda v: None if v is None else str(v).strip())


def grid_ids(frame: pd.DataFrame, where: str = "frame") -> pd.Series:
    """The ``grid_id`` column as strings, checked to be present, non-null and unique."""
    if "grid_id" not in frame:
        msg = f"grids {where}: no 'grid_id' column; load it with load_grids or rename the id column"
        raise GridError(msg)
    ids = as_id_strings(frame["grid_id"].reset_index(drop=True))
    if ids.isna().any() or not ids.is_unique:
        msg = f"grids {where}: grid_id values must be present and unique"
        raise GridError(msg)
    return ids


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry (a repaired collection may hold lines too)."""
    if geom.geom_type in {"Polygon", "MultiPolygon"}:
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in {"Polygon", "MultiPolygon"}]
    return shapely.union_all(parts) if parts else shapely.Polygon()
