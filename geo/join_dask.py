"""The spatial join at city scale: partitioned GeoParquet with dask-geopandas.

The leaf grids are indexed once (:class:`geo.join.GridIndex`); the index and the ancestor
table travel to the workers as one shared task, and every partition is joined with
:func:`geo.join.join_incidents`, so the answer is the in-memory one, row for row. A local
cluster is started by default; pass a running :class:`distributed.Client` or a scheduler
address to use an existing cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ._optional import MissingExtraError, missing_extra_message, require
from .join import JOIN_COLUMNS, GridIndex, JoinSummary, _ancestors, join_incidents

try:
    import dask
    import dask_geopandas
except ModuleNotFoundError as error:  # the [scale] extra
    raise MissingExtraError(missing_extra_message(error.name or "dask"), name=error.name) from None

__all__ = ["join_geoparquet", "join_partitions"]


def join_partitions(
    incidents: dask_geopandas.GeoDataFrame, grids: gpd.GeoDataFrame
) -> dask_geopandas.GeoDataFrame:
    """Lazily join every partition of a dask-geopandas frame to the leaf grids.

    Parameters
    ----------
    incidents
        Point incidents (EPSG:4326), any number of partitions.
    grids
        The grids frame (all levels), in memory.

    Returns
    -------
    dask_geopandas.GeoDataFrame
        The partitions with :data:`geo.join.JOIN_COLUMNS` added (string dtype, missing where
        outside every grid or where the hierarchy has no such level), same order and divisions.
    """
    index = dask.delayed(GridIndex.build(grids), pure=True)
    ancestors = dask.delayed(_ancestors(grids), pure=True)
    return _map_join(incidents, index, ancestors)


def _map_join(
    incidents: dask_geopandas.GeoDataFrame, index: object, ancestors: object
) -> dask_geopandas.GeoDataFrame:
    """Every partition joined with ``index`` and ``ancestors`` (values, delayed or futures)."""
    meta = incidents._meta.copy()
    for column in JOIN_COLUMNS:
        meta[column] = pd.Series(dtype="str")
    return incidents.map_partitions(_join_partition, index, ancestors, meta=meta)


def join_geoparquet(
    source: str | Path,
    grids: gpd.GeoDataFrame,
    *,
    out: str | Path,
    client: object | None = None,
    scheduler: str | None = None,
    n_workers: int = 2,
) -> JoinSummary:
    """Join partitioned GeoParquet incidents to grids and write partitioned GeoParquet.

    Parameters
    ----------
    source
        A GeoParquet file or folder of parts (as written by dask-geopandas).
    grids
        The grids frame (all levels).
    out
        Folder for the joined parts (the input columns plus grid and ancestor ids).
    client
        A running ``distributed.Client`` to use.
    scheduler
        Address of an existing Dask scheduler (``"tcp://host:8786"``), used when no client
        is given.
    n_workers
        Workers of the local cluster started when neither ``client`` nor ``scheduler`` is
        given (one thread each).

    Returns
    -------
    JoinSummary
        Counts of incidents, inside a grid, and outside every grid.
    """
    distributed = require("distributed")

    if client is not None:
        return _run(source, grids, out, client)
    if scheduler is not None:
        with distributed.Client(scheduler) as connected:
            return _run(source, grids, out, connected)
    with (
        distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as local,
    ):
        return _run(source, grids, out, local)


def _run(source: str | Path, grids: gpd.GeoDataFrame, out: str | Path, client: Any) -> JoinSummary:
    incidents = dask_geopandas.read_parquet(source)
    # The index goes to every worker once, beside the graph (not pickled into it).
    index, ancestors = client.scatter([GridIndex.build(grids), _ancestors(grids)], broadcast=True)
    joined = _map_join(incidents, index, ancestors)
    joined.to_parquet(out)
    written = pd.read_parquet(out, columns=["grid_id"])
    inside = int(written["grid_id"].notna().sum())
    return JoinSummary(incidents=len(written), inside=inside, outside=len(written) - inside)


def _join_partition(
    part: gpd.GeoDataFrame, index: GridIndex, ancestors: pd.DataFrame
) -> gpd.GeoDataFrame:
    joined = join_incidents(part, index, ancestors=ancestors)
    joined.attrs.clear()
    # Parquet needs a typed column: ids as strings, missing (outside, no level) as null.
    return joined.astype(dict.fromkeys(JOIN_COLUMNS, "str"))
