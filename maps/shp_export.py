"""Shapefiles per unit for desktop GIS: ``<unit>_route.shp`` (line) and ``<unit>_stops.shp``.

Written with pyogrio through GeoPandas, in UTF-8 with a ``.cpg`` file so Chinese names read
correctly in QGIS and ArcGIS; field names fit the 10-character dBASE limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from .stops import route_line, stop_rows

__all__ = ["route_to_shapefiles"]


def route_to_shapefiles(
    route: dict[str, Any],
    stem: Path,
    *,
    simplify_m: float = 0.0,
    with_incidents: bool = False,
) -> list[Path]:
    """Write one cleaned route as two shapefiles next to ``stem``.

    Parameters
    ----------
    route
        A route cleaned by :func:`maps.privacy.export_route`.
    stem
        Path without extension; ``<stem>_route.shp`` and ``<stem>_stops.shp`` are written.
    simplify_m
        Line simplification tolerance in metres.
    with_incidents
        Add an ``incidents`` field to the stops (police audience only).

    Returns
    -------
    list of Path
        Every file written (``.shp``, ``.shx``, ``.dbf``, ``.prj``, ``.cpg`` of both layers).
    """
    unit = str(route.get("unit_id", ""))
    line = route_line(route, simplify_m=simplify_m)
    written: list[Path] = []
    if len(line) >= 2:
        lines = gpd.GeoDataFrame(
            {
                "unit": [unit],
                "kind": [str(route.get("kind", ""))],
                "mode": [str(route.get("mode", ""))],
                "dist_m": [float(route.get("distance_m") or 0.0)],
                "dur_s": [float(route.get("duration_s") or 0.0)],
            },
            geometry=[shapely.LineString(line)],
            crs=4326,
        )
        path = stem.with_name(f"{stem.name}_route.shp")
        lines.to_file(path, driver="ESRI Shapefile", encoding="UTF-8")
        written.append(path)
    rows = pd.DataFrame(stop_rows(route, with_incidents=with_incidents))
    if len(rows):
        stops = gpd.GeoDataFrame(
            rows,
            geometry=gpd.points_from_xy(rows["lon"], rows["lat"]),
            crs=4326,
        )
        path = stem.with_name(f"{stem.name}_stops.shp")
        stops.to_file(path, driver="ESRI Shapefile", encoding="UTF-8")
        written.append(path)
    return [
        p.with_suffix(ext)
        for p in written
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg")
        if p.with_suffix(ext).exists()
    ]
