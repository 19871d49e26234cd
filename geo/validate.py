"""Check a grids file or frame before anyone joins incidents to it.

:func:`check_grids` inspects a grids frame (EPSG:4326); :func:`check_file` also reads the file
itself, so it can list what loading repaired or dropped and judge the declared CRS. Both return a
:class:`GridReport`: one row per finding, each an ``error`` (the grids would give wrong joins or
no hierarchy) or a ``warning`` (repaired on load, or suspicious but possibly right).
The report type lives in :mod:`geo.grid_report` and the CRS heuristic in :mod:`geo.crs_checks`;
both are re-exported here.

Checks
------
``invalid``      polygons that were invalid (repaired with ``make_valid``; warning)
``empty``        rows with an empty or missing geometry (dropped on load; error)
``duplicate_id`` the same ``grid_id`` on several rows (error)
``orphan``       a ``parent_id`` that names no row (error)
``overlap``      two leaf grids sharing more than ``min_area_m2`` (error; area and pair)
``gap``          part of a parent covered by none of its children (error; area and location)
``outside``      part of a child outside its parent (warning; area and location)
``crs_missing``  no CRS in the file and none declared (error)
``crs_units``    metres declared as degrees or the reverse (error)
``crs_swapped``  lat/lon swapped (error)
``crs_offset``   GCJ-02 / BD-09 coordinates declared as WGS84 (error with evidence, else a
                 warning inside mainland China; see :func:`crs_findings` for the heuristic)

>>> from shapely.geometry import box
>>> g = gpd.GeoDataFrame({"grid_id": ["a", "b"], "level": "grid", "parent_id": None,
...     "name": ["a", "b"]}, geometry=[box(0, 0, 0.002, 0.001), box(0.001, 0, 0.003, 0.001)], crs=4326)
>>> report = check_grids(g)
>>> report.ok, report.issues["check"].tolist()
(False, ['overlap'])
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .crs import WGS84
from .crs_checks import crs_findings
from .grid_report import ISSUE_COLUMNS, GridReport, finding, findings_frame
from .grids import _read_raw, read_grids
from .hierarchy import leaf_grids

#: CRS findings after which the geometric checks are meaningless.
_BLOCKING = {"crs_units", "crs_swapped"}

__all__ = ["ISSUE_COLUMNS", "GridReport", "area_m2", "check_file", "check_grids", "crs_findings"]


def area_m2(geoms: object) -> np.ndarray:
    """Areas in m2 of EPSG:4326 polygons whose edges are straight in lon/lat.

    Grids are clipped and joined with straight edges in lon/lat, so their slivers are measured
    the same way: planar area in square degrees times the metres per degree of longitude and of
    latitude at each polygon's centroid (WGS84 series; within 0.1 % for city-sized polygons).
    Reprojecting to UTM instead would bend the edges by millimetres and turn a zero-width
    sliver between two exactly matching grids into a phantom square metre.

    >>> from shapely.geometry import box
    >>> round(float(area_m2([box(0, 0, 0.001, 0.001)])[0]), 1)
    12309.1
    """
    arr = np.asarray(geoms, dtype=object)
    if arr.size == 0:
        return np.zeros(0)
    lat = np.zeros(arr.shape)
    full = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    lat[full] = np.radians(shapely.get_y(shapely.centroid(arr[full])))
    m_lat = 111132.954 - 559.822 * np.cos(2 * lat) + 1.175 * np.cos(4 * lat)
    m_lon = 111412.84 * np.cos(lat) - 93.5 * np.cos(3 * lat) + 0.118 * np.cos(5 * lat)
    return np.nan_to_num(shapely.area(arr) * m_lat * m_lon)


def _point(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.point_on_surface(geom)


def _structure(grids: gpd.GeoDataFrame) -> list[dict[str, object]]:
    rows = []
    ids = grids["grid_id"].astype(str)
    for grid_id, count in ids[ids.duplicated(keep=False)].value_counts().sort_index().items():
        rows.append(finding("error", "duplicate_id", grid_id, f"{count} rows share this id"))
    known = set(ids)
    for grid_id, parent in zip(ids, grids["parent_id"], strict=True):
        if parent is not None and not pd.isna(parent) and str(parent) not in known:
            rows.append(
                finding(
                    "error",
                    "orphan",
                    grid_id,
                    f"parent_id {parent!r} names no grid",
                    other_id=parent,
                )
            )
    geoms = np.asarray(grids.geometry.array, dtype=object)
    empty = np.array([g is None for g in geoms]) | shapely.is_empty(geoms)
    rows.extend(finding("error", "empty", grid_id, "empty geometry") for grid_id in ids[empty])
    valid = np.ones(len(geoms), dtype=bool)
    valid[~empty] = shapely.is_valid(geoms[~empty])
    for grid_id, geom in zip(ids[~valid], geoms[~valid], strict=True):
        rows.append(
            finding(
                "warning", "invalid", grid_id, f"invalid polygon: {shapely.is_valid_reason(geom)}"
            )
        )
    return rows


def _usable(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows fit for the geometric checks: non-empty, made valid, first of duplicate ids."""
    frame = grids.loc[~grids["grid_id"].astype(str).duplicated()].copy()
    geoms = np.asarray(frame.geometry.array, dtype=object)
    keep = ~(np.array([g is None for g in geoms]) | shapely.is_empty(geoms))
    frame = frame.loc[keep]
    geoms = np.asarray(frame.geometry.array, dtype=object)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
        frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    return frame.reset_index(drop=True)


def _overlaps(leaves: gpd.GeoDataFrame, min_area_m2: float) -> list[dict[str, object]]:
    geoms = np.asarray(leaves.geometry.array, dtype=object)
    left, right = leaves.sindex.query(leaves.geometry, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    # Keep pairs whose interiors meet; neighbours that only share an edge are the common case.
    inner = shapely.relate_pattern(geoms[left], geoms[right], "T********")
    left, right = left[inner], right[inner]
    if len(left) == 0:
        return []
    shared = shapely.intersection(geoms[left], geoms[right])
    areas = area_m2(shared)
    ids = leaves["grid_id"].astype(str).to_numpy()
    rows = []
    for i, j, geom, area in zip(left, right, shared, areas, strict=True):
        if area > min_area_m2:
            a, b = sorted((ids[i], ids[j]))
            rows.append(
                finding(
                    "error",
                    "overlap",
                    a,
                    f"leaf grids {a} and {b} overlap",
                    other_id=b,
                    area_m2=round(float(area), 2),
                    point=_point(geom),
                )
            )
    return rows


def _nesting(grids: gpd.GeoDataFrame, min_area_m2: float) -> list[dict[str, object]]:
    """Gaps inside each parent (no child covers them) and parts of children outside it."""
    rows = []
    geom_of = dict(zip(grids["grid_id"].astype(str), grids.geometry, strict=True))
    has_parent = grids["parent_id"].notna()
    children = grids.loc[has_parent].assign(parent_id=lambda f: f["parent_id"].astype(str))
    for parent, group in children.groupby("parent_id", sort=True):
        if parent not in geom_of:
            continue
        outer = geom_of[parent]
        union = shapely.union_all(np.asarray(group.geometry.array, dtype=object))
        holes = shapely.get_parts(shapely.difference(outer, union))
        holes = holes[shapely.area(holes) > 0]
        for hole, area in zip(holes, area_m2(holes), strict=True):
            if area > min_area_m2:
                rows.append(
                    finding(
                        "error",
                        "gap",
                        parent,
                        f"part of {parent} is covered by none of its {len(group)} children",
                        area_m2=round(float(area), 2),
                        point=_point(hole),
                    )
                )
        # Only children not wholly covered by the parent need the (costly) difference.
        geoms = np.asarray(group.geometry.array, dtype=object)
        shapely.prepare(outer)
        spill = ~shapely.covers(outer, geoms)
        ids = group["grid_id"].astype(str).to_numpy()[spill]
        outside = shapely.difference(geoms[spill], outer)
        for child, part, area in zip(ids, outside, area_m2(outside), strict=True):
            if area > min_area_m2:
                rows.append(
                    finding(
                        "warning",
                        "outside",
                        child,
                        f"part of {child} lies outside its parent {parent}",
                        other_id=parent,
                        area_m2=round(float(area), 2),
                        point=_point(part),
                    )
                )
    return rows


def check_grids(
    grids: gpd.GeoDataFrame,
    *,
    min_area_m2: float = 1.0,
    source: str = "frame",
) -> GridReport:
    """Check a grids frame (EPSG:4326): ids, parents, geometry, overlaps, gaps, lat/lon order.

    Parameters
    ----------
    grids
        A grids frame (contract columns); invalid or empty geometries are reported, not fixed.
    min_area_m2
        Overlaps, gaps and overhangs at most this large are ignored (floating-point dust).
    source
        Name shown in the report.

    Returns
    -------
    GridReport
    """
    rows = _structure(grids)
    usable = _usable(grids.to_crs(WGS84) if grids.crs is not None else grids.set_crs(WGS84))
    if len(usable):
        bounds = usable.total_bounds
        x = np.array([bounds[0], bounds[2]])
        y = np.array([bounds[1], bounds[3]])
        blocking = [r for r in crs_findings(x, y, declared=WGS84) if r["check"] in _BLOCKING]
        rows.extend(blocking)
        if not blocking:
            rows.extend(_overlaps(leaf_grids(usable).reset_index(drop=True), min_area_m2))
            rows.extend(_nesting(usable, min_area_m2))
    levels = (
        grids["level"].astype(str).value_counts().sort_index().to_dict() if "level" in grids else {}
    )
    return GridReport(issues=findings_frame(rows), n_grids=len(grids), levels=levels, source=source)


def _hints(path: Path, raw: gpd.GeoDataFrame) -> str:
    """File name, column names and a few values: the provenance the CRS heuristic reads."""
    parts = [path.name, " ".join(str(c) for c in raw.columns)]
    sample = raw.drop(columns=raw.geometry.name).head(3)
    parts.extend(str(v) for v in sample.to_numpy().ravel())
    return " ".join(parts)


def check_file(
    path: str | os.PathLike[str],
    *,
    layer: str | int | None = None,
    crs: object = None,
    columns: Mapping[str, str] | None = None,
    landmarks: pd.DataFrame | None = None,
    min_area_m2: float = 1.0,
) -> GridReport:
    """Check a grids file: everything :func:`check_grids` does, plus repairs and the CRS.

    Parameters
    ----------
    path, layer, crs, columns
        As for :func:`geo.grids.load_grids`; ``crs`` is the declared CRS being judged (default
        the file's own).
    landmarks
        Optional WGS84 points with the grid they truly lie in (``lon``, ``lat``, ``grid_id``),
        which settle whether the coordinates are WGS84, GCJ-02 or BD-09.
    min_area_m2
        Size below which overlaps and gaps are ignored.

    Raises
    ------
    GridError
        The file cannot be read at all (missing, no geometry, bad column mapping).
    """
    path = Path(path)
    raw = _read_raw(path, layer)
    declared = crs if crs is not None else (raw.crs.to_string() if raw.crs is not None else None)
    if (
        raw.crs is not None
        and crs is None
        and path.suffix.lower() in {".geojson", ".json"}
        and raw.crs.is_geographic
    ):
        declared = (
            WGS84  # GeoJSON is WGS84 by definition (RFC 7946), unless it declares a projection
        )
    coords = shapely.get_coordinates(np.asarray(raw.geometry.array, dtype=object))
    raw_named = read_grids(
        path, layer=layer, crs=crs or declared or WGS84, columns=columns, check_units=False
    )
    rows = crs_findings(
        coords[:, 0],
        coords[:, 1],
        declared=declared,
        hints=_hints(path, raw),
        landmarks=landmarks,
        grids=_as_declared(raw, raw_named.grids),
    )
    for grid_id in raw_named.empty:
        rows.append(finding("error", "empty", grid_id, "empty geometry (dropped on load)"))
    for grid_id, reason in zip(
        raw_named.repaired["grid_id"], raw_named.repaired["reason"], strict=True
    ):
        rows.append(finding("warning", "invalid", grid_id, f"invalid polygon repaired: {reason}"))
    if any(r["check"] in _BLOCKING for r in rows):
        report_rows = rows  # geometry checks on misread coordinates would only add noise
    else:
        report = check_grids(raw_named.grids, min_area_m2=min_area_m2, source=str(path))
        report_rows = rows + report.issues.to_dict(orient="records")
    levels = raw_named.grids["level"].value_counts().sort_index().to_dict()
    return GridReport(
        issues=findings_frame(report_rows),
        n_grids=len(raw_named.grids),
        levels=levels,
        source=str(path),
    )


def _as_declared(raw: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """The grids with the file's own coordinates (before any conversion), for landmark tests."""
    geoms = np.asarray(raw.geometry.array, dtype=object)
    keep = ~(np.array([g is None for g in geoms]) | shapely.is_empty(geoms))
    if int(keep.sum()) != len(grids):
        return None
    return gpd.GeoDataFrame({"grid_id": grids["grid_id"].to_numpy()}, geometry=list(geoms[keep]))
