"""Incident files read into a raw frame of text columns (private to :mod:`geo.incidents`).

CSV/TXT with the encoding (UTF-8, UTF-8 with BOM, GBK) and delimiter detected; GeoJSON,
GeoPackage, Shapefile, FlatGeobuf and GeoParquet point layers, whose coordinates become the
columns ``__geometry_x__`` / ``__geometry_y__`` (non-points: NaN, rejected later).
"""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import IncidentError

__all__ = ["read_source", "source_column"]

_ENCODINGS = ("utf-8-sig", "gbk")
_GEO_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".parquet", ".geoparquet"}


def read_source(source: Path) -> tuple[pd.DataFrame, object | None]:
    """The file's rows as a frame, and the CRS a geo file declares (None for text tables)."""
    suffix = source.suffix.lower()
    if suffix in _GEO_SUFFIXES:
        return _read_geo(source)
    return _read_csv(source), None


def _read_geo(source: Path) -> tuple[pd.DataFrame, object | None]:
    try:
        if source.suffix.lower() in {".parquet", ".geoparquet"}:
            gdf = gpd.read_parquet(source)
        else:
            gdf = gpd.read_file(source)
    except Exception as exc:
        msg = f"incidents file {source}: cannot read it as a geo file ({exc})"
        raise IncidentError(msg) from None
    geometry = gdf.geometry.array
    is_point = np.asarray(shapely.get_type_id(geometry) == 0) & ~np.asarray(
        shapely.is_empty(geometry) | shapely.is_missing(geometry)
    )
    x = np.full(len(gdf), np.nan)
    y = np.full(len(gdf), np.nan)
    x[is_point] = shapely.get_x(geometry[is_point])
    y[is_point] = shapely.get_y(geometry[is_point])
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    frame["__geometry_x__"] = x
    frame["__geometry_y__"] = y
    return frame, gdf.crs


def _sniff(source: Path) -> tuple[str, str]:
    """Encoding and delimiter of a text table."""
    with source.open("rb") as handle:
        raw = handle.read(1 << 16)
    for encoding in _ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            if exc.start > len(raw) - 4:  # a multi-byte character cut by the sample
                text = raw[: exc.start].decode(encoding)
                break
    else:
        msg = f"incidents file {source}: not UTF-8 or GBK text; save it as UTF-8"
        raise IncidentError(msg)
    lines = "\n".join(text.splitlines()[:50])
    try:
        delimiter = csv.Sniffer().sniff(lines, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    return encoding, delimiter


def _read_csv(source: Path) -> pd.DataFrame:
    encoding, delimiter = _sniff(source)
    try:
        frame = pd.read_csv(
            source, sep=delimiter, encoding=encoding, dtype=str, keep_default_na=False
        )
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        msg = f"incidents file {source}: cannot read it as {encoding} CSV ({exc})"
        raise IncidentError(msg) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.replace({"": None})


def source_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` of ``frame``, indexed 0..n-1 like the reasons arrays."""
    return frame[name].reset_index(drop=True)
