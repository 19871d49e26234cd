"""Grid files: load any file a city really has, and nest levels into one hierarchy.

:func:`load_grids` reads GeoJSON, GeoPackage (any layer), Shapefile (honouring its ``.cpg``
encoding, GBK included) and GeoParquet through pyogrio / geopandas, maps the file's columns onto
the grids contract (DESIGN.md), repairs invalid polygons with :func:`shapely.make_valid` and
returns EPSG:4326. :func:`clip_grids` keeps the part of a hierarchy inside an area.

:func:`nest_levels` and :func:`straddlers` (building one hierarchy from one frame per level) live
in :mod:`geo.nesting`, and the contract's columns, ids and metric CRS in :mod:`geo.grid_contract`;
both are re-exported here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from .crs import WGS84, _degrees_like, check_degrees, frame_to_wgs84
from .errors import CRSError, GridError
from .grid_contract import (
    CONTRACT_COLUMNS,
    OPTIONAL_COLUMNS,
    as_id_strings,
    grid_ids,
    metric_crs,
    polygonal,
)
from .hierarchy import LEVELS, ancestor_table
from .nesting import nest_levels, straddlers

__all__ = [
    "CONTRACT_COLUMNS",
    "OPTIONAL_COLUMNS",
    "GridRead",
    "clip_grids",
    "grid_ids",
    "grids_from_raw",
    "load_grids",
    "metric_crs",
    "nest_levels",
    "read_grids",
    "straddlers",
]

_PARQUET = {".parquet", ".geoparquet", ".pq"}


@dataclass(frozen=True)
class GridRead:
    """A grids file read into the contract, with what was repaired on the way.

    Attributes
    ----------
    grids
        The grids frame (EPSG:4326, contract columns), possibly with duplicate ids.
    repaired
        One row per polygon that was invalid in the file: ``grid_id``, ``reason`` (GEOS's).
    empty
        ``grid_id`` of rows whose geometry is empty or missing (dropped from ``grids``).
    source_crs
        The CRS the coordinates were read in (declared or from the file), as text; None if none.
    """

    grids: gpd.GeoDataFrame
    repaired: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["grid_id", "reason"])
    )
    empty: tuple[str, ...] = ()
    source_crs: str | None = None


def _read_encoding(path: Path) -> str | None:
    """The encoding a Shapefile's ``.cpg`` declares (``GBK``, ``UTF-8``, ``936``...)."""
    for suffix in (".cpg", ".CPG"):
        cpg = path.with_suffix(suffix)
        if cpg.is_file():
            text = cpg.read_text(encoding="ascii", errors="ignore").strip()
            if not text:
                return None
            if text.isdigit():
                return {"936": "gbk", "950": "big5", "65001": "utf-8"}.get(text, f"cp{text}")
            return text
    return None


def _read_raw(path: Path, layer: str | int | None) -> gpd.GeoDataFrame:
    if not path.exists():
        msg = f"grids file {path}: not found"
        raise GridError(msg)
    if path.suffix.lower() in _PARQUET:
        try:
            return gpd.read_parquet(path)
        except (ValueError, OSError) as exc:
            msg = f"grids file {path}: not a GeoParquet file with a geometry column ({exc})"
            raise GridError(msg) from None
    try:
        layers = pyogrio.list_layers(path)
    except pyogrio.errors.DataSourceError as exc:
        msg = f"grids file {path}: cannot be read as a vector file ({exc})"
        raise GridError(msg) from None
    names = [str(row[0]) for row in layers]
    if layer is None and len(names) > 1:
        polygonal = [str(row[0]) for row in layers if row[1] and "POLYGON" in str(row[1]).upper()]
        if len(polygonal) != 1:
            msg = f"grids file {path} has {len(names)} layers ({', '.join(names)}); pick one with layer="
            raise GridError(msg)
        layer = polygonal[0]
    if isinstance(layer, str) and layer not in names:
        msg = f"grids file {path}: no layer {layer!r}; it has {', '.join(names)}"
        raise GridError(msg)
    kwargs: dict[str, object] = {}
    if path.suffix.lower() == ".shp":
        encoding = _read_encoding(path)
        if encoding is not None:
            kwargs["encoding"] = encoding
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio", **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, LookupError) as exc:
        msg = f"grids file {path}: cannot be read ({exc})"
        raise GridError(msg) from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        msg = f"grids file {path}: has no geometry column"
        raise GridError(msg)
    return frame


def _pick_id_column(frame: pd.DataFrame, where: str) -> str:
    if "grid_id" in frame:
        return "grid_id"
    for column in frame.columns:
        if column == frame.geometry.name:
            continue
        values = frame[column]
        with contextlib.suppress(TypeError):
            if values.notna().all() and values.is_unique:
                return str(column)
    msg = (
        f"grids file {where}: no id column (no 'grid_id', and no column with unique values); "
        "map one with columns={'YOUR_ID': 'grid_id'}"
    )
    raise GridError(msg)


def _depth_levels(ids: pd.Series, parents: pd.Series, where: str) -> pd.Series:
    """Levels from depth in the parent tree, the deepest rows being ``grid``."""
    parent = dict(zip(ids, parents, strict=True))
    depth: dict[str, int] = {}
    for start in ids:
        chain = []
        node = start
        while node is not None and node not in depth:
            if node in chain or node not in parent:
                break
            chain.append(node)
            node = parent[node]
        base = depth.get(node, -1) if node is not None else -1
        for offset, item in enumerate(reversed(chain), start=1):
            depth[item] = base + offset
    n_levels = max(depth.values(), default=0) + 1
    if n_levels > len(LEVELS):
        msg = f"grids file {where}: parent links are {n_levels} levels deep; at most {len(LEVELS)}"
        raise GridError(msg)
    first = len(LEVELS) - n_levels
    return ids.map(lambda i: LEVELS[first + depth.get(i, 0)])


def _contract(
    frame: gpd.GeoDataFrame, columns: Mapping[str, str] | None, where: str
) -> gpd.GeoDataFrame:
    targets = sorted((set(CONTRACT_COLUMNS) | set(OPTIONAL_COLUMNS)) - {"geometry"})
    frame = frame.reset_index(drop=True)
    source: dict[str, pd.Series] = {}
    mapping = dict(columns or {})
    # {file column: target} is the documented direction; {target: file column} is accepted too
    # when every key is a target and every value a file column while the other reading fails.
    if (
        not set(mapping.values()) <= set(targets)
        and set(mapping) <= set(targets)
        and all(v in frame for v in mapping.values())
    ):
        mapping = {v: k for k, v in mapping.items()}
    for column, target in mapping.items():
        if column not in frame:
            have = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
            msg = f"grids file {where}: column {column!r} (mapped to {target!r}) not found; it has {have}"
            raise GridError(msg)
        if target not in targets:
            msg = f"grids file {where}: cannot map {column!r} to {target!r}; targets are {', '.join(targets)}"
            raise GridError(msg)
        source[target] = frame[column]
    for target in targets:
        if target not in source and target in frame:
            source[target] = frame[target]
    if "name" not in source and "NAME" in frame:
        source["name"] = frame["NAME"]
    if "grid_id" not in source:
        source["grid_id"] = frame[_pick_id_column(frame, where)]
    ids = as_id_strings(source["grid_id"])
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna())[0])
        msg = f"grids file {where}: row {row} has no id; every grid needs one"
        raise GridError(msg)
    out = gpd.GeoDataFrame(
        {"grid_id": ids.to_numpy(dtype=object)}, geometry=frame.geometry.values, crs=frame.crs
    )
    parents = (
        as_id_strings(source["parent_id"]).map(lambda p: None if p in ("", None) else p)
        if "parent_id" in source
        else pd.Series([None] * len(out), dtype=object)
    )
    if "level" in source:
        levels = source["level"].astype(str).str.strip().str.lower()
        bad = sorted(set(levels) - set(LEVELS))
        if bad:
            msg = f"grids file {where}: unknown level values {bad}; expected {', '.join(LEVELS)}"
            raise GridError(msg)
    elif parents.notna().any():
        levels = _depth_levels(ids, parents, where)
    else:
        levels = pd.Series(["grid"] * len(out))
    out["level"] = levels.to_numpy(dtype=object)
    out["parent_id"] = parents.to_numpy(dtype=object)
    names = source.get("name", ids)
    out["name"] = names.astype(object).where(names.notna(), ids).map(str).to_numpy(dtype=object)
    for optional in OPTIONAL_COLUMNS:
        if optional in source:
            out[optional] = source[optional].to_numpy()
    for id_column in ("station_id", "source_id"):
        if id_column in out:
            out[id_column] = as_id_strings(out[id_column]).to_numpy(dtype=object)
    order = [c for c in CONTRACT_COLUMNS if c != "geometry"] + [
        c for c in OPTIONAL_COLUMNS if c in out
    ]
    return out[[*order, "geometry"]]


def _repair(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.DataFrame, tuple[str, ...]]:
    """Drop empty rows; make invalid polygons valid, keeping only their polygonal part."""
    geoms = np.asarray(frame.geometry.array, dtype=object)
    missing = np.array([g is None for g in geoms]) | shapely.is_empty(geoms)
    empty = tuple(frame.loc[missing, "grid_id"])
    frame = frame.loc[~missing].reset_index(drop=True)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    invalid = ~shapely.is_valid(geoms)
    reasons = [shapely.is_valid_reason(g) for g in geoms[invalid]]
    repaired = pd.DataFrame({"grid_id": frame.loc[invalid, "grid_id"].tolist(), "reason": reasons})
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        geoms = geoms.copy()
        geoms[invalid] = [polygonal(g) for g in fixed]
        frame = frame.set_geometry(gpd.GeoSeries(geoms, crs=frame.crs, index=frame.index))
    kinds = frame.geom_type.isin(["Polygon", "MultiPolygon"])
    if not kinds.all():
        row = int(np.flatnonzero(~kinds.to_numpy())[0])
        msg = (
            f"grid {frame['grid_id'].iloc[row]!r} is a {frame.geom_type.iloc[row]}, "
            "not a polygon; grids must be areas"
        )
        raise GridError(msg)
    return frame, repaired, empty


def read_grids(
    path: str | os.PathLike[str],
    *,
    layer: str | int | None = None,
    crs: object = None,
    columns: Mapping[str, str] | None = None,
    check_units: bool = True,
) -> GridRead:
    """Read a grids file into the contract and say what was repaired (see :func:`load_grids`).

    Unlike :func:`load_grids` this accepts duplicate ids, so that ``grids check`` can list them.
    With ``check_units`` (the default) coordinates in metres read in a geographic CRS are refused
    (:func:`geo.crs.check_degrees`); ``grids check`` turns that off to report it as a finding.
    """
    path = Path(path)
    return grids_from_raw(
        _read_raw(path, layer), path, crs=crs, columns=columns, check_units=check_units
    )


def grids_from_raw(
    raw: gpd.GeoDataFrame,
    path: Path,
    *,
    crs: object = None,
    columns: Mapping[str, str] | None = None,
    check_units: bool = True,
) -> GridRead:
    """:func:`read_grids` on a frame already read from ``path`` (named in messages)."""
    if crs is None and raw.crs is None:
        coords = shapely.get_coordinates(np.asarray(raw.geometry.array, dtype=object))
        looks = (
            "degrees, probably EPSG:4326"
            if _degrees_like(coords)
            else "metres: a projected CRS such as the city's UTM zone (EPSG:326xx) or state plane"
        )
        msg = (
            f"grids file {path}: has no CRS and its coordinates look like {looks}; "
            "declare it, e.g. --crs EPSG:32618 (or --crs EPSG:4326, gcj02, bd09)"
        )
        raise CRSError(msg)
    source = str(crs) if crs is not None else raw.crs.to_string()
    if check_units:
        coords = shapely.get_coordinates(np.asarray(raw.geometry.array, dtype=object))
        check_degrees(
            coords[:, 0], coords[:, 1], crs if crs is not None else raw.crs, f"grids file {path}"
        )
    frame = _contract(raw, columns, str(path))
    frame, repaired, empty = _repair(frame)
    try:
        frame = frame_to_wgs84(frame, crs)
    except CRSError as exc:
        msg = f"grids file {path}: {exc}"
        raise CRSError(msg) from None
    if len(frame) == 0:
        msg = f"grids file {path}: no rows with a geometry"
        raise GridError(msg)
    return GridRead(grids=frame, repaired=repaired, empty=empty, source_crs=source)


def load_grids(
    path: str | os.PathLike[str],
    *,
    layer: str | int | None = None,
    crs: object = None,
    columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Load a grids file into the grids contract (EPSG:4326).

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile (its ``.cpg`` encoding is honoured, GBK included) or
        GeoParquet (``.parquet``).
    layer
        Layer name or index in a multi-layer file (a GeoPackage with one polygon layer needs none).
    crs
        Declared CRS of the coordinates, overriding the file's: an EPSG code (EPSG:4490 is taken
        as WGS84), ``"gcj02"`` or ``"bd09"``. Needed when the file has none.
    columns
        Maps the file's columns to ``grid_id``, ``name``, ``level``, ``parent_id`` (and
        ``households``, ``population``, ``station_id``), e.g. ``{"DIST_NUM": "grid_id"}``; the
        reverse ``{"grid_id": "DIST_NUM"}`` is accepted when the key is not a file column. Unmapped targets are taken from columns
        of that name; the id is ``grid_id`` or else the first column whose values are unique. A
        file without ``level`` and ``parent_id`` is one flat level, ``"grid"``; one with parents
        but no levels gets levels from depth, the deepest rows being ``"grid"``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``grid_id`` (str), ``level``, ``parent_id``, ``name``, optional columns, ``geometry``.
        Invalid polygons are repaired with ``make_valid`` (``read_grids`` lists them); rows with
        an empty geometry are dropped.

    Raises
    ------
    GridError
        Missing file, no geometry, a mapped column that is absent, duplicate ids, a parent id
        that names no row.
    CRSError
        No CRS in the file and none declared, or an unknown CRS.
    """
    read = read_grids(path, layer=layer, crs=crs, columns=columns)
    grids = read.grids
    duplicated = grids["grid_id"][grids["grid_id"].duplicated()].unique().tolist()
    if duplicated:
        msg = (
            f"grids file {path}: duplicate grid ids {duplicated[:5]}"
            f"{' ...' if len(duplicated) > 5 else ''}; map a unique id column with columns= "
            "or run 'patrolgrid grids check'"
        )
        raise GridError(msg)
    try:
        ancestor_table(grids)
    except GridError as exc:
        msg = f"grids file {path}: {exc}"
        raise GridError(msg) from None
    return grids


def clip_grids(
    grids: gpd.GeoDataFrame, area: shapely.Geometry, *, min_area_m2: float = 1.0
) -> gpd.GeoDataFrame:
    """Clip every row of a grids frame to ``area`` (EPSG:4326), dropping rows left empty.

    Use it to keep the part of a city's hierarchy that a street network covers. Rows whose clipped
    area is below ``min_area_m2`` are dropped; a parent whose children all vanish is kept if its
    own clipped area remains.

    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame({"grid_id": ["a", "b"], "level": "grid", "parent_id": None,
    ...     "name": ["a", "b"]}, geometry=[box(0, 0, 0.01, 0.01), box(0.02, 0, 0.03, 0.01)], crs=4326)
    >>> clip_grids(g, box(0, 0, 0.005, 0.01))["grid_id"].tolist()
    ['a']
    """
    frame = grids.to_crs(WGS84).reset_index(drop=True)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    hits = shapely.intersects(geoms, area)
    frame = frame.loc[hits].reset_index(drop=True)
    inside = shapely.within(np.asarray(frame.geometry.array, dtype=object), area)
    clipped = np.asarray(frame.geometry.array, dtype=object).copy()
    todo = ~inside
    if todo.any():
        clipped[todo] = [polygonal(g) for g in shapely.intersection(clipped[todo], area)]
    frame = frame.set_geometry(gpd.GeoSeries(clipped, crs=WGS84, index=frame.index))
    if len(frame):
        metric = frame.to_crs(metric_crs(frame)).area.to_numpy()
        frame = frame.loc[metric >= min_area_m2].reset_index(drop=True)
    return frame
