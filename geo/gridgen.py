"""Generate grid cells where a city has none: squares, hexagons or H3 cells inside each area.

Cells come from a global lattice in the area's UTM CRS (squares aligned on multiples of the cell
size from the CRS origin; hexagons on a fixed axial lattice), so a cell's id depends only on
where it is, never on row order or on what else is generated: ``{parent}:sq250:{col}:{row}``,
``{parent}:hx250:{q}:{r}``, ``{parent}:h3:{index}``. Cells are built in UTM, moved to EPSG:4326
and then clipped to the area there, so neighbouring cells share their edges exactly and the
clipped cells tile the area.

>>> from shapely.geometry import box
>>> area = gpd.GeoDataFrame({"grid_id": ["c1"]}, geometry=[box(-75.16, 39.97, -75.15, 39.98)], crs=4326)
>>> cells = make_grid(area, cell_m=500)
>>> sorted(cells["parent_id"].unique()), sorted(cells["level"].unique())
(['c1'], ['grid'])
"""

from __future__ import annotations

import math
from typing import Literal

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from .crs import WGS84
from .errors import GridError
from .grid_contract import as_id_strings, metric_crs, polygonal

__all__ = ["cell_size_for_households", "make_grid", "make_h3_grid"]

Shape = Literal["square", "hex"]
_SQRT3 = math.sqrt(3.0)


def _areas(area: gpd.GeoDataFrame, id_col: str) -> tuple[gpd.GeoDataFrame, list[str | None]]:
    if not isinstance(area, gpd.GeoDataFrame) or area.crs is None:
        msg = "make_grid: area must be a GeoDataFrame with a CRS (load it with load_grids)"
        raise GridError(msg)
    frame = area.to_crs(WGS84).reset_index(drop=True)
    if len(frame) == 0:
        msg = "make_grid: the area frame is empty"
        raise GridError(msg)
    if id_col in frame:
        ids = as_id_strings(frame[id_col]).tolist()
        if any(i is None for i in ids) or len(set(ids)) != len(ids):
            msg = f"make_grid: area column {id_col!r} must hold unique, non-empty ids"
            raise GridError(msg)
    elif len(frame) == 1:
        ids = [None]
    else:
        msg = f"make_grid: area has {len(frame)} rows but no {id_col!r} column to name them; pass id_col="
        raise GridError(msg)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    bad = ~np.isin(shapely.get_type_id(geoms), [3, 6])
    if bad.any():
        msg = f"make_grid: area row {int(np.flatnonzero(bad)[0])} is not a polygon"
        raise GridError(msg)
    return frame, ids


def _square_lattice(
    bounds: NDArray[np.float64], size: float
) -> tuple[NDArray[np.float64], list[str]]:
    """Square cells (as coordinate rings) covering ``bounds`` in the metric CRS, and their keys."""
    minx, miny, maxx, maxy = bounds
    cols = np.arange(math.floor(minx / size), math.floor(maxx / size) + 1)
    rows = np.arange(math.floor(miny / size), math.floor(maxy / size) + 1)
    mesh_c, mesh_r = np.meshgrid(cols, rows, indexing="ij")
    cc, rr = mesh_c.ravel(), mesh_r.ravel()
    x0, y0 = cc * size, rr * size
    x1, y1 = x0 + size, y0 + size
    rings = np.stack(
        [
            np.column_stack([x0, y0]),
            np.column_stack([x1, y0]),
            np.column_stack([x1, y1]),
            np.column_stack([x0, y1]),
            np.column_stack([x0, y0]),
        ],
        axis=1,
    )
    keys = [f"{c}:{r}" for c, r in zip(cc.tolist(), rr.tolist(), strict=True)]
    return rings, keys


def _hex_lattice(bounds: NDArray[np.float64], size: float) -> tuple[NDArray[np.float64], list[str]]:
    """Pointy-top hexagons of area ``size**2`` covering ``bounds``, keyed by axial ``q:r``."""
    radius = size * math.sqrt(2.0 / (3.0 * _SQRT3))
    width = _SQRT3 * radius
    step = 1.5 * radius
    minx, miny, maxx, maxy = bounds
    r_lo, r_hi = math.floor(miny / step) - 1, math.ceil(maxy / step) + 1
    qs, rs = [], []
    for r in range(r_lo, r_hi + 1):
        q_lo = math.floor(minx / width - r / 2.0) - 1
        q_hi = math.ceil(maxx / width - r / 2.0) + 1
        q = np.arange(q_lo, q_hi + 1)
        qs.append(q)
        rs.append(np.full(q.shape, r))
    q_all, r_all = np.concatenate(qs), np.concatenate(rs)
    # Vertices on the integer lattice (width/2 * i, radius/2 * j): neighbours share them exactly.
    ci, cj = 2 * q_all + r_all, 3 * r_all
    di = np.array([1, 0, -1, -1, 0, 1, 1])
    dj = np.array([1, 2, 1, -1, -2, -1, 1])
    xs = (ci[:, None] + di[None, :]) * (width / 2.0)
    ys = (cj[:, None] + dj[None, :]) * (radius / 2.0)
    rings = np.stack([xs, ys], axis=2)
    keys = [f"{q}:{r}" for q, r in zip(q_all.tolist(), r_all.tolist(), strict=True)]
    return rings, keys


def _clip_cells(
    cells: NDArray[np.object_], area: shapely.Geometry, min_area_deg: float
) -> tuple[NDArray[np.intp], NDArray[np.object_]]:
    """Cells meeting ``area``, clipped to it; returns the kept positions and geometries."""
    shapely.prepare(area)
    hit = np.flatnonzero(shapely.intersects(area, cells) & ~shapely.touches(area, cells))
    geoms = cells[hit].copy()
    inside = shapely.contains_properly(area, geoms)
    todo = ~inside
    if todo.any():
        geoms[todo] = [polygonal(g) for g in shapely.intersection(geoms[todo], area)]
    keep = ~shapely.is_empty(geoms) & (shapely.area(geoms) > min_area_deg)
    return hit[keep], geoms[keep]


def cell_size_for_households(area_m2: float, households: float, per_cell: float) -> float:
    """Cell side (m) giving about ``per_cell`` households a cell at uniform density.

    Rounded to 10 m (at least 50 m) so ids stay readable and stable.

    >>> cell_size_for_households(1_000_000, 4000, 250)
    250.0
    """
    if households <= 0 or per_cell <= 0:
        msg = (
            f"cannot size cells for {households} households at {per_cell} a cell; both must be > 0"
        )
        raise GridError(msg)
    side = math.sqrt(area_m2 * per_cell / households)
    return float(max(50.0, round(side / 10.0) * 10.0))


def make_grid(
    area: gpd.GeoDataFrame,
    *,
    cell_m: float = 250.0,
    shape: Shape = "square",
    id_col: str = "grid_id",
    households_per_cell: float | None = None,
    households_col: str = "households",
    crs: object = None,
    min_area_m2: float = 0.0,
) -> gpd.GeoDataFrame:
    """Square or hexagonal cells inside each row of ``area``, clipped to it.

    Parameters
    ----------
    area
        Areas to fill (any CRS), one cell set per row; ``id_col`` names each row (a single row
        may go without one). A grids frame's leaves work as they are.
    cell_m
        Square side in metres; a hexagon has the same area (``cell_m**2``).
    shape
        ``"square"`` or ``"hex"`` (pointy-top).
    id_col
        Column of ``area`` holding the ids that become the cells' ``parent_id`` and id prefix.
    households_per_cell
        If given, each row's cell size is chosen so that a cell holds about this many households
        (``area[households_col]``, spread uniformly); ``cell_m`` is then ignored. Cells get a
        ``households`` column (the row's households in proportion to cell area).
    households_col
        Column of ``area`` with household counts.
    crs
        Metric CRS of the lattice; default the UTM zone of the whole ``area``. Fix it to keep ids
        stable when the area later grows across a zone border.
    min_area_m2
        Drop clipped cells smaller than this (slivers along the boundary). The default keeps all,
        so the cells tile the area exactly.

    Returns
    -------
    geopandas.GeoDataFrame
        The grids contract (EPSG:4326): ``grid_id`` = ``{parent}:sq{size}:{col}:{row}`` (or
        ``hx``), ``level="grid"``, ``parent_id``, ``name`` (= ``grid_id``), ``geometry``, plus
        ``households`` when sized by households. Sorted by ``grid_id``.

    Raises
    ------
    GridError
        Bad size or shape, area without CRS or ids, missing household counts.
    """
    if shape not in ("square", "hex"):
        msg = f"make_grid: shape must be 'square' or 'hex', not {shape!r}"
        raise GridError(msg)
    if not (cell_m > 0 and math.isfinite(cell_m)):
        msg = f"make_grid: cell_m must be a positive number of metres, not {cell_m!r}"
        raise GridError(msg)
    frame, ids = _areas(area, id_col)
    metric = pyproj.CRS.from_user_input(crs) if crs is not None else metric_crs(frame)
    to_wgs = pyproj.Transformer.from_crs(metric, WGS84, always_xy=True)
    metric_geoms = np.asarray(frame.to_crs(metric).geometry.array, dtype=object)
    sizes = [float(cell_m)] * len(frame)
    if households_per_cell is not None:
        if households_col not in frame or frame[households_col].isna().any():
            msg = (
                f"make_grid: households_per_cell needs a complete {households_col!r} column in area"
            )
            raise GridError(msg)
        sizes = [
            cell_size_for_households(float(shapely.area(g)), float(h), households_per_cell)
            for g, h in zip(metric_geoms, frame[households_col], strict=True)
        ]
    tag = "sq" if shape == "square" else "hx"
    parts = []
    for i, geom in enumerate(metric_geoms):
        size = sizes[i]
        lattice = _square_lattice if shape == "square" else _hex_lattice
        rings, keys = lattice(np.asarray(shapely.bounds(geom)), size)
        x, y = to_wgs.transform(rings[..., 0], rings[..., 1])
        cells = shapely.polygons(np.stack([x, y], axis=-1))
        wgs_area = frame.geometry.iloc[i]
        # Area threshold in square degrees, conservative (cos(lat) <= 1).
        deg2 = min_area_m2 / (111_320.0**2) if min_area_m2 > 0 else 0.0
        kept, geoms = _clip_cells(cells, wgs_area, deg2)
        prefix = "" if ids[i] is None else f"{ids[i]}:"
        label = f"{tag}{size:g}"
        part = gpd.GeoDataFrame(
            {
                "grid_id": [f"{prefix}{label}:{keys[k]}" for k in kept],
                "level": "grid",
                "parent_id": ids[i],
                "geometry": geoms,
            },
            geometry="geometry",
            crs=WGS84,
        )
        if min_area_m2 > 0 and len(part):
            part = part.loc[part.to_crs(metric).area.to_numpy() >= min_area_m2]
        if households_per_cell is not None and len(part):
            cell_area = part.to_crs(metric).area.to_numpy()
            share = cell_area / cell_area.sum()
            part["households"] = share * float(frame[households_col].iloc[i])
        parts.append(part)
    return _finish(parts)


def _finish(parts: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    out = pd.concat(parts, ignore_index=True) if parts else gpd.GeoDataFrame()
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=WGS84)
    if len(out) == 0:
        msg = "make_grid: no cell falls inside the area"
        raise GridError(msg)
    out["parent_id"] = out["parent_id"].astype(object).where(out["parent_id"].notna(), None)
    out["name"] = out["grid_id"]
    columns = ["grid_id", "level", "parent_id", "name"]
    columns += [c for c in ("households",) if c in out]
    out = out[[*columns, "geometry"]].sort_values("grid_id", kind="stable")
    return out.reset_index(drop=True)


def make_h3_grid(
    area: gpd.GeoDataFrame, *, resolution: int, id_col: str = "grid_id"
) -> gpd.GeoDataFrame:
    """H3 cells (h3 4.x) meeting each row of ``area``, clipped to it.

    Ids are ``{parent}:h3:{h3 index}``; the unclipped H3 index stays recoverable from the id, so
    points can be binned with :func:`h3.latlng_to_cell` and then checked against the clip.

    >>> from shapely.geometry import box
    >>> area = gpd.GeoDataFrame({"grid_id": ["c1"]}, geometry=[box(-75.16, 39.97, -75.15, 39.98)], crs=4326)
    >>> cells = make_h3_grid(area, resolution=8)
    >>> bool(cells["grid_id"].str.startswith("c1:h3:").all())
    True
    """
    if not 0 <= resolution <= 15:
        msg = f"make_h3_grid: resolution must be 0..15, not {resolution!r}"
        raise GridError(msg)
    frame, ids = _areas(area, id_col)
    parts = []
    for i, geom in enumerate(frame.geometry):
        indexes: set[str] = set()
        for poly in shapely.get_parts(geom):
            shape = h3.geo_to_h3shape(poly)
            indexes.update(h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap"))
        ordered = sorted(indexes)
        cells = np.array(
            [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in ordered],
            dtype=object,
        )
        if len(cells) == 0:
            continue
        kept, geoms = _clip_cells(cells, geom, 0.0)
        prefix = "" if ids[i] is None else f"{ids[i]}:"
        parts.append(
            gpd.GeoDataFrame(
                {
                    "grid_id": [f"{prefix}h3:{ordered[k]}" for k in kept],
                    "level": "grid",
                    "parent_id": ids[i],
                    "geometry": geoms,
                },
                geometry="geometry",
                crs=WGS84,
            )
        )
    return _finish(parts)
