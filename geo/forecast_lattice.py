"""The square lattice forecasts score, and incidents reduced to cell and time.

A :class:`Lattice` is a square grid of ``cell_m`` metres in a local metric CRS (the UTM zone of the
incidents), limited to the cells that touch the study area. Cell ids come from the global lattice
index (``c<ix>_<iy>`` with ``ix = floor(x / cell_m)``), so they are stable across runs.
:class:`CellEvents` holds the incidents located on it (cell position, UTC time), sorted by time;
:mod:`geo.forecast` scores the cells from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import ndimage

from .errors import GeoError, IncidentError

__all__ = ["CellEvents", "Lattice", "cell_events", "make_lattice"]


@dataclass(frozen=True)
class Lattice:
    """Square cells of ``cell_m`` metres in ``crs``, limited to a study area.

    Attributes
    ----------
    crs
        The metric CRS of the lattice.
    cell_m
        Cell side in metres.
    ix0, iy0
        Global lattice index of the lower-left cell of the bounding block.
    nx, ny
        Size of the bounding block in cells.
    active
        Flat indices (``row * nx + col``) of the block's cells inside the study area, ascending.
    """

    crs: CRS
    cell_m: float
    ix0: int
    iy0: int
    nx: int
    ny: int
    active: np.ndarray = field(repr=False)

    @property
    def n_cells(self) -> int:
        """Number of cells in the study area."""
        return int(self.active.size)

    @property
    def cell_area_m2(self) -> float:
        """Area of one cell in square metres."""
        return float(self.cell_m**2)

    @property
    def areas_m2(self) -> np.ndarray:
        """Area of each cell in square metres."""
        return np.full(self.n_cells, self.cell_area_m2)

    def smooth(self, values: np.ndarray, bandwidth_cells: float) -> np.ndarray:
        """Per-cell values smoothed by a Gaussian kernel of ``bandwidth_cells`` cells."""
        if bandwidth_cells <= 0:
            return np.asarray(values, dtype=float)
        block = ndimage.gaussian_filter(
            self.to_block(values), sigma=bandwidth_cells, mode="constant", truncate=3.0
        )
        return self.from_block(block)

    def locate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Position (0..n_cells-1) in :attr:`active` of metric points; -1 outside the area."""
        ix = np.floor(np.asarray(x, dtype=float) / self.cell_m).astype(np.int64) - self.ix0
        iy = np.floor(np.asarray(y, dtype=float) / self.cell_m).astype(np.int64) - self.iy0
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        flat = np.where(inside, iy * self.nx + ix, -1)
        if self.n_cells == 0:
            return np.full(flat.shape, -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(self.active, flat), 0, self.n_cells - 1)
        found = inside & (self.active[pos] == flat)
        return np.where(found, pos, -1)

    def to_block(self, values: np.ndarray) -> np.ndarray:
        """Spread per-cell values onto the ``(ny, nx)`` bounding block (zeros outside)."""
        block = np.zeros(self.nx * self.ny)
        block[self.active] = values
        return block.reshape(self.ny, self.nx)

    def from_block(self, block: np.ndarray) -> np.ndarray:
        """Per-cell values of a ``(ny, nx)`` block."""
        return block.reshape(-1)[self.active]

    @classmethod
    def from_cells(cls, cells: gpd.GeoDataFrame) -> Lattice:
        """The lattice of a forecast's cells (``ix``, ``iy``, ``area_m2``, ``lattice_crs``).

        Raises
        ------
        GeoError
            When columns are missing or the cells are not in lattice order.
        """
        needed = {"ix", "iy", "area_m2"}
        if not needed <= set(cells.columns) or len(cells) == 0:
            msg = f"forecast cells need columns {sorted(needed)}; write them with forecast()"
            raise GeoError(msg)
        if "lattice_crs" in cells.columns:
            crs = CRS(str(cells["lattice_crs"].iloc[0]))
        else:
            crs = CRS(cells.geometry.estimate_utm_crs())
        side = float(np.sqrt(float(cells["area_m2"].iloc[0])))
        ix = cells["ix"].to_numpy(dtype=np.int64)
        iy = cells["iy"].to_numpy(dtype=np.int64)
        ix0, iy0 = int(ix.min()), int(iy.min())
        nx, ny = int(ix.max()) - ix0 + 1, int(iy.max()) - iy0 + 1
        flat = (iy - iy0) * nx + (ix - ix0)
        if not np.all(np.diff(flat) > 0):
            msg = "forecast cells are not in lattice order; write them with forecast()"
            raise GeoError(msg)
        return cls(crs, side, ix0, iy0, nx, ny, flat)

    def cells(self) -> gpd.GeoDataFrame:
        """The cells as squares in EPSG:4326: ``cell_id``, ``ix``, ``iy``, ``area_m2``,
        ``lattice_crs`` (the metric CRS they are square in)."""
        col = self.active % self.nx + self.ix0
        row = self.active // self.nx + self.iy0
        x0 = col * self.cell_m
        y0 = row * self.cell_m
        boxes = shapely.box(x0, y0, x0 + self.cell_m, y0 + self.cell_m)
        frame = gpd.GeoDataFrame(
            {
                "cell_id": [f"c{a}_{b}" for a, b in zip(col, row, strict=True)],
                "ix": col,
                "iy": row,
                "area_m2": np.full(self.n_cells, self.cell_area_m2),
                "lattice_crs": self.crs.to_string(),
            },
            geometry=boxes,
            crs=self.crs,
        )
        return frame.to_crs("EPSG:4326")


def _metric_points(lon: np.ndarray, lat: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(crs)
    return points.x.to_numpy(), points.y.to_numpy()


def make_lattice(
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    cell_m: float = 183.0,
    area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
) -> Lattice:
    """Lay square cells of ``cell_m`` metres over ``area`` (or the convex hull of the points).

    Parameters
    ----------
    lon, lat
        Incident coordinates (EPSG:4326); they choose the UTM zone and, without ``area``, the
        study area (their convex hull).
    cell_m
        Cell side in metres.
    area
        Polygons of the study area; every cell touching it is kept.

    Raises
    ------
    GeoError
        No points and no area, a non-positive cell size, or more than 5 million cells.
    """
    if not cell_m > 0:
        msg = f"cell size must be > 0 metres, got {cell_m}"
        raise GeoError(msg)
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if area is not None:
        if area.crs is None:
            msg = "area: no CRS; write the area file in EPSG:4326 (GeoJSON)"
            raise GeoError(msg)
        crs = gpd.GeoSeries(area.geometry).estimate_utm_crs()
        shape = shapely.union_all(gpd.GeoSeries(area.geometry).to_crs(crs).to_numpy())
    else:
        if not ok.any():
            msg = "incidents: no located incident to lay a forecast grid over; pass an area"
            raise GeoError(msg)
        crs = gpd.GeoSeries(
            gpd.points_from_xy(lon[ok], lat[ok]), crs="EPSG:4326"
        ).estimate_utm_crs()
        x, y = _metric_points(lon[ok], lat[ok], crs)
        shape = shapely.convex_hull(shapely.multipoints(np.column_stack([x, y])))
        shape = shape.buffer(cell_m / 2) if shape.area == 0 else shape
    minx, miny, maxx, maxy = shape.bounds
    ix0, iy0 = int(np.floor(minx / cell_m)), int(np.floor(miny / cell_m))
    nx = int(np.floor(maxx / cell_m)) - ix0 + 1
    ny = int(np.floor(maxy / cell_m)) - iy0 + 1
    if nx * ny > 5_000_000:
        msg = f"forecast grid of {nx} x {ny} cells is too large; use a larger --cell-m"
        raise GeoError(msg)
    flat = np.arange(nx * ny)
    cx = (flat % nx + ix0) * cell_m
    cy = (flat // nx + iy0) * cell_m
    boxes = shapely.box(cx, cy, cx + cell_m, cy + cell_m)
    shapely.prepare(shape)
    touching = shapely.intersects(shape, boxes)
    return Lattice(CRS(crs), float(cell_m), ix0, iy0, nx, ny, flat[touching])


@dataclass(frozen=True)
class CellEvents:
    """Incidents reduced to what forecasting needs: cell position and time (UTC ns), sorted."""

    cell: np.ndarray
    time_ns: np.ndarray

    def before(self, t_ns: int) -> CellEvents:
        """Events strictly before ``t_ns``."""
        k = int(np.searchsorted(self.time_ns, t_ns, side="left"))
        return CellEvents(self.cell[:k], self.time_ns[:k])

    def between(self, start_ns: int, end_ns: int) -> CellEvents:
        """Events in ``[start_ns, end_ns)``."""
        a = int(np.searchsorted(self.time_ns, start_ns, side="left"))
        b = int(np.searchsorted(self.time_ns, end_ns, side="left"))
        return CellEvents(self.cell[a:b], self.time_ns[a:b])

    def counts(self, n_cells: int) -> np.ndarray:
        """Events per cell."""
        return np.bincount(self.cell, minlength=n_cells).astype(float)


def cell_events(incidents: pd.DataFrame, lattice: Lattice) -> tuple[CellEvents, int]:
    """Locate incidents on the lattice; returns the events inside it and how many fell outside.

    ``incidents`` needs ``occurred_at`` (tz-aware) and a point ``geometry`` in EPSG:4326 (or
    ``lon``/``lat`` columns).
    """
    if "occurred_at" not in incidents.columns:
        msg = "incidents: column 'occurred_at' is missing"
        raise IncidentError(msg)
    times = pd.DatetimeIndex(incidents["occurred_at"])
    if times.tz is None:
        msg = "incidents: occurred_at must be timezone-aware (UTC)"
        raise IncidentError(msg)
    if isinstance(incidents, gpd.GeoDataFrame) and incidents.geometry.name in incidents:
        geom = incidents.geometry
        if incidents.crs is not None and not CRS(incidents.crs).equals(CRS("EPSG:4326")):
            geom = geom.to_crs("EPSG:4326")
        lon, lat = shapely.get_x(geom.to_numpy()), shapely.get_y(geom.to_numpy())
    elif {"lon", "lat"} <= set(incidents.columns):
        lon = incidents["lon"].to_numpy(dtype=float)
        lat = incidents["lat"].to_numpy(dtype=float)
    else:
        msg = "incidents: need a point geometry or lon/lat columns"
        raise IncidentError(msg)
    x, y = _metric_points(lon, lat, lattice.crs)
    pos = lattice.locate(x, y)
    t = times.as_unit("ns").asi8
    ok = (pos >= 0) & ~times.isna()
    order = np.argsort(t[ok], kind="stable")
    return CellEvents(pos[ok][order], t[ok][order]), int((~ok).sum())
