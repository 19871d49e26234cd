"""Nesting levels into one hierarchy: each row's parent is the row above holding most of it.

:func:`nest_levels` builds the district > street > community > grid hierarchy from one frame per
level by largest overlap (measured in UTM), reporting (and optionally splitting along the
parents' borders) children that straddle two parents; :func:`straddlers` is that report for one
pair of levels. Both are re-exported by :mod:`geo.grids`.

>>> from shapely.geometry import box
>>> top = gpd.GeoDataFrame({"grid_id": ["D1"]}, geometry=[box(0, 0, 0.02, 0.01)], crs=4326)
>>> low = gpd.GeoDataFrame({"grid_id": ["a", "b"]},
...                        geometry=[box(0, 0, 0.01, 0.01), box(0.01, 0, 0.02, 0.01)], crs=4326)
>>> nest_levels([top, low], levels=["district", "community"])[["grid_id", "parent_id"]].values.tolist()
[['D1', None], ['a', 'D1'], ['b', 'D1']]
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from .crs import WGS84
from .errors import CRSError, GridError
from .grid_contract import CONTRACT_COLUMNS, OPTIONAL_COLUMNS, grid_ids, metric_crs, polygonal
from .hierarchy import LEVELS

__all__ = ["MIN_PIECE_M2", "STRADDLE_SHARE", "attach", "nest_levels", "straddlers"]

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
        nested, lost = attach(kids, parents, crs, split=split_straddlers, min_piece_m2=min_piece_m2)
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


def attach(
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
            piece = polygonal(shapely.intersection(row.geometry, pgeoms[int(pair["parent"])]))
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
