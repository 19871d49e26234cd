"""Grid files: load any file a city really has, and nest levels into one hierarchy.

:func:`load_grids` reads GeoJSON, GeoPackage (any layer), Shapefile (honouring its ``.cpg``
encoding, GBK included) and GeoParquet through pyogrio / geopandas, maps the file's columns onto
the grids contract (DESIGN.md), repairs invalid polygons with :func:`shapely.make_valid` and
returns EPSG:4326. :func:`nest_levels` builds the district > street > community > grid hierarchy
from one frame per level by largest overlap, reporting (and optionally splitting) children that
straddle two parents.

>>> from shapely.geometry import box
>>> top = gpd.GeoDataFrame({"grid_id": ["D1"]}, geometry=[box(0, 0, 0.02, 0.01)], crs=4326)
>>> low = gpd.GeoDataFrame({"grid_id": ["a", "b"]},
...                        geometry=[box(0, 0, 0.01, 0.01), box(0.01, 0, 0.02, 0.01)], crs=4326)
>>> nest_levels([top, low], levels=["district", "community"])[["grid_id", "parent_id"]].values.tolist()
[['D1', None], ['a', 'D1'], ['b', 'D1']]
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from numpy.typing import NDArray

from .crs import WGS84, _degrees_like, check_degrees, frame_to_wgs84
from .errors import CRSError, GridError
from .hierarchy import LEVELS, ancestor_table

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

_PARQUET = {".parquet", ".geoparquet", ".pq"}
#: A child straddles when more than this share of its area lies outside its chosen parent.
STRADDLE_SHARE = 0.01
_REPORT_COLUMNS = [
    "grid_id",
    "level",
    "parent_id",
    "share_in_parent",
    "other_parents",
    "outside_m2",
]
#: When splitting along parents' borders, pieces smaller than this (m2) are slivers and dropped.
MIN_PIECE_M2 = 100.0


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


def metric_crs(frame: gpd.GeoDataFrame) -> object:
    """The UTM CRS for metric work on ``frame`` (DESIGN.md: ``estimate_utm_crs()``)."""
    if len(frame) == 0:
        msg = "cannot choose a metric CRS for an empty frame"
        raise GridError(msg)
    return frame.to_crs(WGS84).estimate_utm_crs()


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


def _as_id_strings(values: pd.Series) -> pd.Series:
    """Ids as strings: ``3.0`` becomes ``"3"``, missing stays None."""
    if pd.api.types.is_float_dtype(values) and values.dropna().apply(float.is_integer).all():
        values = values.astype("Int64")
    out = values.astype(object).where(values.notna(), None)
    return out.map(lambda v: None if v is None else str(v).strip())


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
    ids = _as_id_strings(source["grid_id"])
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna())[0])
        msg = f"grids file {where}: row {row} has no id; every grid needs one"
        raise GridError(msg)
    out = gpd.GeoDataFrame(
        {"grid_id": ids.to_numpy(dtype=object)}, geometry=frame.geometry.values, crs=frame.crs
    )
    parents = (
        _as_id_strings(source["parent_id"]).map(lambda p: None if p in ("", None) else p)
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
            out[id_column] = _as_id_strings(out[id_column]).to_numpy(dtype=object)
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
        geoms[invalid] = [_polygonal(g) for g in fixed]
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


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry (a repaired collection may hold lines too)."""
    if geom.geom_type in {"Polygon", "MultiPolygon"}:
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in {"Polygon", "MultiPolygon"}]
    return shapely.union_all(parts) if parts else shapely.Polygon()


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


def grid_ids(frame: pd.DataFrame, where: str = "frame") -> pd.Series:
    """The ``grid_id`` column as strings, checked to be present, non-null and unique."""
    if "grid_id" not in frame:
        msg = f"grids {where}: no 'grid_id' column; load it with load_grids or rename the id column"
        raise GridError(msg)
    ids = _as_id_strings(frame["grid_id"].reset_index(drop=True))
    if ids.isna().any() or not ids.is_unique:
        msg = f"grids {where}: grid_id values must be present and unique"
        raise GridError(msg)
    return ids


def _metric_area(geoms: object, crs: object) -> NDArray[np.float64]:
    """Areas in m2 of EPSG:4326 geometries, measured in the metric ``crs``."""
    return np.asarray(gpd.GeoSeries(geoms, crs=WGS84).to_crs(crs).area, dtype=np.float64)


def _overlaps(children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, crs: object) -> pd.DataFrame:
    """Every (child, parent) pair that shares area (EPSG:4326 frames), shared area in m2."""
    left, right = parents.sindex.query(children.geometry, predicate="intersects")
    if len(left) == 0:
        return pd.DataFrame({"child": [], "parent": [], "area_m2": []})
    shared = shapely.intersection(
        np.asarray(children.geometry.array, dtype=object)[left],
        np.asarray(parents.geometry.array, dtype=object)[right],
    )
    return pd.DataFrame({"child": left, "parent": right, "area_m2": _metric_area(shared, crs)})


def straddlers(
    children: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame,
    *,
    min_share: float = STRADDLE_SHARE,
) -> pd.DataFrame:
    """Children whose area is split between parents, and children outside every parent.

    Parameters
    ----------
    children, parents
        Frames with ``grid_id`` and polygons (any CRS; areas are measured in UTM).
    min_share
        A child straddles when at least this share of its area lies outside the parent holding
        most of it.

    Returns
    -------
    pandas.DataFrame
        One row per straddling or orphan child: ``grid_id``, ``parent_id`` (the parent with the
        largest overlap, None for an orphan), ``share_in_parent`` (0..1), ``other_parents``
        (comma-separated ids of the other overlapping parents), ``outside_m2`` (area outside
        every parent).
    """
    child_ids = grid_ids(children, "children")
    parent_ids = grid_ids(parents, "parents")
    crs = metric_crs(children)
    kids = children.to_crs(WGS84).reset_index(drop=True)
    tops = parents.to_crs(WGS84).reset_index(drop=True)
    pairs = _overlaps(kids, tops, crs)
    area = _metric_area(kids.geometry.array, crs)
    rows = []
    by_child = {int(k): g for k, g in pairs[pairs["area_m2"] > 0].groupby("child")}
    for i in range(len(kids)):
        group = by_child.get(i)
        if group is None:
            rows.append((child_ids[i], None, 0.0, "", float(area[i])))
            continue
        group = group.sort_values(["area_m2", "parent"], ascending=[False, True])
        best = float(group["area_m2"].iloc[0])
        share = best / area[i] if area[i] > 0 else 1.0
        outside = max(float(area[i] - group["area_m2"].sum()), 0.0)
        if share < 1.0 - min_share:
            others = ",".join(parent_ids[int(p)] for p in group["parent"].iloc[1:])
            rows.append(
                (child_ids[i], parent_ids[int(group["parent"].iloc[0])], share, others, outside)
            )
    return pd.DataFrame(rows, columns=[c for c in _REPORT_COLUMNS if c != "level"])


def nest_levels(
    frames: Sequence[gpd.GeoDataFrame],
    *,
    levels: Sequence[str],
    split_straddlers: bool = False,
    min_share: float = STRADDLE_SHARE,
    min_piece_m2: float = MIN_PIECE_M2,
) -> gpd.GeoDataFrame:
    """Build one hierarchy from one frame per level, top level first, by containment.

    Each row of a lower level gets as parent the row of the level above that holds most of its
    area (measured in UTM; ties go to the smaller parent id). Rows outside every parent are
    dropped. With ``split_straddlers=True`` every row is cut along the parents' borders, so the
    hierarchy nests exactly: a row lying in several parents becomes pieces with ids
    ``{grid_id}@{parent_id}``, a row in one parent keeps its id and is clipped to it. Pieces
    smaller than ``min_piece_m2`` (digitising slivers) are dropped, leaving small gaps that
    :func:`geo.validate.check_grids` lists. The next level is nested into the pieces.

    Parameters
    ----------
    frames
        One frame per level, each with ``grid_id`` (and optionally ``name`` and the optional
        contract columns); any CRS.
    levels
        The level of each frame, in the order of ``LEVELS`` (e.g. ``["district", "community"]``).
    split_straddlers
        Cut rows along the parents' borders instead of keeping them whole.
    min_share
        Share of a row's area outside its main parent above which the report calls it a
        straddler.
    min_piece_m2
        With ``split_straddlers``, the smallest piece kept.

    Returns
    -------
    geopandas.GeoDataFrame
        The grids contract, EPSG:4326, top level first. ``attrs["straddlers"]`` holds the
        :func:`straddlers` report of every level (with a ``level`` column, computed before any
        split) and ``attrs["dropped"]`` the ids of rows outside every parent (or, when
        splitting, left with no piece of ``min_piece_m2``).

    Raises
    ------
    GridError
        Levels out of order or unknown, frames and levels of different lengths, ids repeated
        across levels.
    """
    if len(frames) != len(levels) or not frames:
        msg = (
            f"nest_levels: {len(frames)} frames but {len(levels)} levels; give one level per frame"
        )
        raise GridError(msg)
    ranks = [LEVELS.index(lv) if lv in LEVELS else -1 for lv in levels]
    if -1 in ranks or ranks != sorted(set(ranks)):
        msg = f"nest_levels: levels {list(levels)} must be distinct, top first, from {', '.join(LEVELS)}"
        raise GridError(msg)
    prepared = [
        _prepare_level(f, lv, i) for i, (f, lv) in enumerate(zip(frames, levels, strict=True))
    ]
    crs = metric_crs(
        pd.concat([p[["geometry"]] for p in prepared]).pipe(gpd.GeoDataFrame, crs=WGS84)
    )
    result = [prepared[0]]
    reports = []
    dropped: list[str] = []
    for kids in prepared[1:]:
        parents = result[-1]
        report = straddlers(kids, parents, min_share=min_share)
        report.insert(1, "level", kids["level"].iloc[0] if len(kids) else None)
        reports.append(report)
        nested, lost = _attach(
            kids, parents, crs, split=split_straddlers, min_piece_m2=min_piece_m2
        )
        dropped.extend(lost)
        result.append(nested)
    out = gpd.GeoDataFrame(pd.concat(result, ignore_index=True), geometry="geometry", crs=WGS84)
    repeated = out["grid_id"][out["grid_id"].duplicated()].unique().tolist()
    if repeated:
        msg = (
            f"nest_levels: ids {repeated[:5]} appear at more than one level; "
            "prefix them per level (e.g. 'D' + district number) before nesting"
        )
        raise GridError(msg)
    out.attrs["straddlers"] = (
        pd.concat(reports, ignore_index=True) if reports else pd.DataFrame(columns=_REPORT_COLUMNS)
    )
    out.attrs["dropped"] = dropped
    return out


def _prepare_level(frame: gpd.GeoDataFrame, level: str, position: int) -> gpd.GeoDataFrame:
    if frame.crs is None:
        msg = f"nest_levels: frame {position} ({level}) has no CRS; load it with load_grids"
        raise CRSError(msg)
    ids = grid_ids(frame, f"frame {position} ({level})")
    out = gpd.GeoDataFrame(
        {"grid_id": ids.to_numpy(dtype=object)},
        geometry=frame.geometry.reset_index(drop=True).values,
        crs=frame.crs,
    ).to_crs(WGS84)
    out["level"] = level
    out["parent_id"] = None
    names = frame["name"].reset_index(drop=True) if "name" in frame else ids
    out["name"] = names.astype(object).where(names.notna(), ids).map(str).to_numpy()
    for optional in OPTIONAL_COLUMNS:
        if optional in frame:
            out[optional] = frame[optional].to_numpy()
    order = [c for c in CONTRACT_COLUMNS if c != "geometry"] + [
        c for c in OPTIONAL_COLUMNS if c in out
    ]
    return out[[*order, "geometry"]]


def _attach(
    kids: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame,
    crs: object,
    *,
    split: bool,
    min_piece_m2: float,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Set each child's parent (largest overlap); cut along parents' borders when ``split``."""
    kids = kids.reset_index(drop=True)
    parents = parents.reset_index(drop=True)
    pairs = _overlaps(kids, parents, crs)
    pairs = pairs[pairs["area_m2"] > 0]
    pairs = pairs.assign(pid=parents["grid_id"].to_numpy()[pairs["parent"].to_numpy()])
    pairs = pairs.sort_values(["child", "area_m2", "pid"], ascending=[True, False, True])
    best = pairs.drop_duplicates("child").set_index("child")
    area = _metric_area(kids.geometry.array, crs)
    lost = [str(kids["grid_id"].iloc[i]) for i in range(len(kids)) if i not in best.index]
    kept = kids.iloc[best.index.to_numpy()].copy()
    kept["parent_id"] = best["pid"].to_numpy()
    if not split:
        return kept, lost
    pgeoms = np.asarray(parents.geometry.array, dtype=object)
    big = pairs[pairs["area_m2"] >= min_piece_m2]
    records = []
    for i, group in big.groupby("child", sort=True):
        row = kids.iloc[int(i)]
        several = len(group) > 1
        for _, pair in group.iterrows():
            piece = _polygonal(shapely.intersection(row.geometry, pgeoms[int(pair["parent"])]))
            if piece.is_empty:
                continue
            record = row.copy()
            if several:
                record["grid_id"] = f"{row['grid_id']}@{pair['pid']}"
            record["parent_id"] = pair["pid"]
            record["geometry"] = piece
            for column in ("households", "population"):
                if several and column in record and pd.notna(record[column]) and area[i] > 0:
                    record[column] = record[column] * float(pair["area_m2"]) / area[int(i)]
            records.append(record)
    whole_lost = sorted(set(kept["grid_id"]) - {str(r["grid_id"]).split("@")[0] for r in records})
    cut = gpd.GeoDataFrame(records, geometry="geometry", crs=kids.crs, columns=kids.columns)
    return cut.reset_index(drop=True), lost + whole_lost


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
        clipped[todo] = [_polygonal(g) for g in shapely.intersection(clipped[todo], area)]
    frame = frame.set_geometry(gpd.GeoSeries(clipped, crs=WGS84, index=frame.index))
    if len(frame):
        metric = frame.to_crs(metric_crs(frame)).area.to_numpy()
        frame = frame.loc[metric >= min_area_m2].reset_index(drop=True)
    return frame
