"""The join's oracle: the straightforward STRtree query with shapely Points, as a spatial join
does, kept as the yardstick for the raster fast path (:func:`geo.join.assign_grids`)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.join import _leaves


def assign_grids_reference(
    lon: np.ndarray, lat: np.ndarray, grids: gpd.GeoDataFrame
) -> pd.Categorical:
    """Same answer as :func:`geo.join.assign_grids`, by an STRtree query with shapely Points."""
    ids, geoms = _leaves(grids)
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    finite = np.isfinite(lon) & np.isfinite(lat)
    tree = shapely.STRtree(geoms)
    point, poly = tree.query(shapely.points(lon[finite], lat[finite]), predicate="intersects")
    best = np.full(len(lon), -1, dtype=np.int64)
    if len(point):
        winner = pd.Series(poly).groupby(point).min()
        best[np.flatnonzero(finite)[winner.index.to_numpy()]] = winner.to_numpy()
    return pd.Categorical.from_codes(best, dtype=pd.CategoricalDtype(ids))
