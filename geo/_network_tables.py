"""The node and edge tables of a street network: read from an OpenStreetMap file, clipped to a
polygon plus a buffer, and cached on disk as Parquet (for :func:`geo.network.load_network`)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from ._osm_read import read_osm
from .errors import NetworkError

__all__ = ["as_polygon", "network_tables"]

_CACHE_VERSION = "network-tables-1"


def network_tables(
    path: Path, clip: BaseGeometry | None, buffer_m: float, cache_dir: str | Path | None
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[Path, Path] | None]:
    """Nodes and edges of ``path`` (clipped to ``clip`` plus ``buffer_m`` when given), read
    from the cache in ``cache_dir`` when there, and the cache files (None without a cache)."""
    cache_files: tuple[Path, Path] | None = None
    if cache_dir is not None:
        options = {
            "version": _CACHE_VERSION,
            "polygon": None if clip is None else shapely.to_wkb(clip, hex=True),
            "buffer_m": float(buffer_m),
        }
        key = hashlib.sha256(
            (_file_hash(path) + json.dumps(options, sort_keys=True)).encode()
        ).hexdigest()[:32]
        folder = Path(cache_dir)
        cache_files = (folder / f"{key}.nodes.parquet", folder / f"{key}.edges.parquet")
    if cache_files is not None and all(f.is_file() for f in cache_files):
        nodes, edges = pd.read_parquet(cache_files[0]), pd.read_parquet(cache_files[1])
    else:
        nodes, edges = read_osm(path)
        if clip is not None:
            nodes, edges = _clip(nodes, edges, clip, buffer_m, str(path))
        if cache_files is not None:
            cache_files[0].parent.mkdir(parents=True, exist_ok=True)
            for frame, target in zip((nodes, edges), cache_files, strict=True):
                tmp = target.with_suffix(f".{os.getpid()}.tmp")
                frame.to_parquet(tmp, index=False)
                tmp.replace(target)
    return nodes, edges, cache_files


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def as_polygon(polygon: object) -> BaseGeometry:
    if isinstance(polygon, gpd.GeoDataFrame | gpd.GeoSeries):
        if polygon.crs is None:
            msg = "polygon frame has no CRS; set it (e.g. .set_crs('EPSG:4326'))"
            raise NetworkError(msg)
        return polygon.to_crs("EPSG:4326").union_all()
    if isinstance(polygon, BaseGeometry):
        return polygon
    msg = f"polygon must be a shapely geometry or GeoDataFrame, not {type(polygon).__name__}"
    raise NetworkError(msg)


def _clip(
    nodes: pd.DataFrame, edges: pd.DataFrame, polygon: BaseGeometry, buffer_m: float, source: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    lon, lat = nodes["lon"].to_numpy(), nodes["lat"].to_numpy()
    crs = gpd.GeoSeries([polygon.representative_point()], crs="EPSG:4326").estimate_utm_crs()
    fwd = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    area = shapely.transform(polygon, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))
    area = area.buffer(buffer_m)
    x, y = fwd.transform(lon, lat)
    inside = shapely.contains_xy(area, x, y)
    kept = nodes.loc[inside, "osmid"].to_numpy()
    e_in = edges["u"].isin(kept) & edges["v"].isin(kept)
    if not e_in.any():
        west, south, east, north = lon.min(), lat.min(), lon.max(), lat.max()
        msg = (
            f"{source}: the polygon (+{buffer_m:.0f} m) holds no street of the network, which "
            f"spans lon {west:.4f}..{east:.4f}, lat {south:.4f}..{north:.4f}; pass a polygon in "
            "EPSG:4326 that overlaps it"
        )
        raise NetworkError(msg)
    edges = edges[e_in].reset_index(drop=True)
    used = np.unique(np.concatenate([edges["u"].to_numpy(), edges["v"].to_numpy()]))
    nodes = nodes[nodes["osmid"].isin(used)].reset_index(drop=True)
    return nodes, edges
