"""Whether grid coordinates fit the CRS they are declared in (:func:`crs_findings`).

Metres declared as degrees (or the reverse), lat/lon swapped, and GCJ-02 / BD-09 coordinates
declared as WGS84 inside mainland China (settled by landmarks or the file's provenance). The
findings are rows of a :class:`~geo.grid_report.GridReport`; :mod:`geo.validate` runs them on
every grids file it checks.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .crs import WGS84, in_mainland_china, normalize_crs, to_wgs84
from .grid_report import finding

__all__ = ["crs_findings"]

# Properties of an Alibaba DataV.GeoAtlas export (boundaries from AutoNavi/Amap, GCJ-02).
_DATAV_KEYS = {"adcode", "center", "centroid", "childrenNum", "acroutes", "subFeatureIndex"}
_GCJ_WORDS = re.compile(r"gcj|amap|autonavi|gaode|datav|高德|tencent|qq\.com", re.IGNORECASE)
_BD_WORDS = re.compile(r"bd-?09|baidu|百度", re.IGNORECASE)
#: Latitudes beyond the polar circles are implausible for city grids.
_POLAR_LAT = 66.5


def crs_findings(
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    declared: object,
    hints: str = "",
    landmarks: pd.DataFrame | None = None,
    grids: gpd.GeoDataFrame | None = None,
) -> list[dict[str, object]]:
    """Judge whether coordinates fit the CRS they are declared in.

    Heuristic, in order (all coordinates are vertices of the grids, in the declared CRS):

    1. Declared geographic but values beyond +-180 / +-90: these are projected metres (error).
       Declared projected but every value within +-180 / +-90: degrees in a metric CRS (error).
    2. Declared geographic and |lat| beyond the polar circles while |lon| is not: lat/lon are
       swapped (error). Limits: a city between 60 and 66.5 degrees whose file is swapped is not
       caught, since both readings are plausible there.
    3. Declared WGS84 (or CGCS2000) inside mainland China: the GCJ-02 offset is smooth and a few
       hundred metres, so the coordinates alone cannot show it. The check therefore looks for
       evidence: (a) ``landmarks`` (WGS84 points with the grid each truly lies in, e.g. from
       OpenStreetMap): if reading the grids as GCJ-02 (or BD-09) puts more landmarks in their
       grid than reading them as WGS84, that is an error; (b) provenance in ``hints`` (file
       name and property names/values): DataV.GeoAtlas properties (``adcode``, ``centroid``,
       ``acroutes``...) or words such as amap / gaode / gcj mean GCJ-02, baidu / bd09 mean BD-09
       (error). Without either, a warning reminds that most Chinese map data is GCJ-02.

    Parameters
    ----------
    lon, lat
        Coordinates in the declared CRS.
    declared
        The declared (or file's) CRS; None when there is none.
    hints
        Text about the source: file name, column names, a sample of values.
    landmarks
        Optional frame with ``lon``, ``lat`` (WGS84) and ``grid_id`` (the grid each lies in).
    grids
        The grids as read (coordinates in the declared CRS), needed with ``landmarks``.

    Returns
    -------
    list of dict
        Findings (rows for :class:`~geo.grid_report.GridReport`): checks ``crs_missing``, ``crs_units``,
        ``crs_swapped`` and ``crs_offset``.
    """
    rows: list[dict[str, object]] = []
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    if x.size == 0:
        return rows
    degrees_like = bool(np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90))
    if declared is None:
        guess = (
            "EPSG:4326 (the values look like degrees)" if degrees_like else "a projected EPSG code"
        )
        rows.append(
            finding(
                "error", "crs_missing", detail=f"no CRS in the file; declare one, probably {guess}"
            )
        )
        if not degrees_like:
            return rows
        declared = WGS84
    parsed = normalize_crs(declared)
    geographic = isinstance(parsed, str) or parsed.is_geographic
    if geographic and not degrees_like:
        rows.append(
            finding(
                "error",
                "crs_units",
                detail=f"CRS {declared} is geographic but values reach x={np.abs(x).max():.0f}, "
                f"y={np.abs(y).max():.0f}: they look like metres; declare the projected CRS",
            )
        )
        return rows
    if not geographic:
        if degrees_like:
            rows.append(
                finding(
                    "error",
                    "crs_units",
                    detail=f"CRS {declared} is projected (metres) but every value is within "
                    "+-180/+-90: they look like degrees; declare --crs EPSG:4326",
                )
            )
        return rows
    mid_x, mid_y = float(np.median(x)), float(np.median(y))
    if abs(mid_y) > _POLAR_LAT and abs(mid_x) <= _POLAR_LAT:
        rows.append(
            finding(
                "error",
                "crs_swapped",
                detail=f"median point ({mid_x:.4f}, {mid_y:.4f}) lies beyond the polar circle; "
                "lon and lat look swapped (GeoJSON order is lon, lat)",
            )
        )
        return rows
    if isinstance(parsed, str):
        return rows  # declared gcj02 / bd09: nothing more to judge
    if parsed.to_epsg() != 4326:
        return rows
    share_cn = float(in_mainland_china(x, y).mean())
    if share_cn < 0.5:
        return rows
    decided, evidence = _landmark_evidence(landmarks, grids)
    if decided:
        rows.extend([evidence] if evidence is not None else [])
        return rows
    datav = sorted(k for k in _DATAV_KEYS if re.search(rf"\b{k}\b", hints))
    if len(datav) >= 2 or _GCJ_WORDS.search(hints):
        found = ", ".join(datav) if len(datav) >= 2 else _GCJ_WORDS.search(hints).group(0)  # type: ignore[union-attr]
        rows.append(
            finding(
                "error",
                "crs_offset",
                detail=f"declared WGS84 but the source looks like Amap/DataV ({found}), whose "
                "coordinates are GCJ-02 (~300-700 m off); load with --crs gcj02",
            )
        )
    elif _BD_WORDS.search(hints):
        rows.append(
            finding(
                "error",
                "crs_offset",
                detail=f"declared WGS84 but the source looks like Baidu ({_BD_WORDS.search(hints).group(0)}), "  # type: ignore[union-attr]
                "whose coordinates are BD-09; load with --crs bd09",
            )
        )
    else:
        rows.append(
            finding(
                "warning",
                "crs_offset",
                detail="coordinates are in mainland China, where most published map data is GCJ-02 "
                "(Amap, Tencent) or BD-09 (Baidu); confirm the file is really WGS84",
            )
        )
    return rows


def _landmark_evidence(
    landmarks: pd.DataFrame | None, grids: gpd.GeoDataFrame | None
) -> tuple[bool, dict[str, object] | None]:
    """Which reading (WGS84, GCJ-02, BD-09) puts the most landmarks in their own grid.

    Returns ``(decided, finding)``: decided is False when there are no landmarks or they do not
    tell the readings apart; the finding is an error when an offset reading wins.
    """
    if landmarks is None or grids is None or len(landmarks) == 0:
        return False, None
    lon = landmarks["lon"].to_numpy(dtype=np.float64)
    lat = landmarks["lat"].to_numpy(dtype=np.float64)
    truth = landmarks["grid_id"].astype(str).to_numpy()
    ids = grids["grid_id"].astype(str).to_numpy()
    points = shapely.points(lon, lat)
    scores = {}
    for reading in ("EPSG:4326", "gcj02", "bd09"):
        geoms = np.asarray(grids.geometry.array, dtype=object)
        if reading != "EPSG:4326":
            geoms = shapely.transform(
                geoms, lambda xy, r=reading: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], r))
            )
        pts, polys = shapely.STRtree(geoms).query(points, predicate="within")
        hit = np.zeros(len(lon), dtype=bool)
        hit[pts[ids[polys] == truth[pts]]] = True
        scores[reading] = int(hit.sum())
    n = len(lon)
    best = max(("gcj02", "bd09"), key=lambda r: scores[r])
    if scores[best] > scores["EPSG:4326"]:
        name = "GCJ-02" if best == "gcj02" else "BD-09"
        return True, finding(
            "error",
            "crs_offset",
            detail=f"declared WGS84 but the coordinates are {name}: {scores[best]}/{n} landmarks "
            f"fall in their grid read as {name}, {scores['EPSG:4326']}/{n} read as WGS84; "
            f"load with --crs {best}",
        )
    if scores["EPSG:4326"] > scores[best]:
        return True, None
    return False, None
