"""Export a plan for handhelds and desktop GIS, one file (set) per unit, by format.

Every route first passes :func:`maps.privacy.export_route` (a whitelist: volunteers, grid
workers and property security get places and times only), then the format writer runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .coords import routes_in_crs
from .csv_export import route_to_csv
from .errors import ExportError
from .geojson_export import routes_to_geojson
from .gpx import route_to_gpx
from .kml import routes_to_kml
from .privacy import audience_for, export_plan_routes, may_see_incidents
from .shp_export import route_to_shapefiles

__all__ = ["FORMATS", "ExportedUnit", "export_plan", "safe_name"]

FORMATS: tuple[str, ...] = ("gpx", "kml", "geojson", "csv", "shp")


@dataclass(frozen=True)
class ExportedUnit:
    """The files written for one unit.

    Parameters
    ----------
    unit_id
        The route's unit.
    audience
        Who the files are for (decides whether incident summaries are included).
    files
        Every file written for the unit.
    """

    unit_id: str
    audience: str
    files: tuple[Path, ...]

    @property
    def size_bytes(self) -> int:
        """Total size of the unit's files."""
        return sum(p.stat().st_size for p in self.files)


def safe_name(unit_id: str) -> str:
    """A file name stem for a unit id (letters, digits, ``._-``; others become ``_``).

    >>> safe_name("car 1/北")
    'car_1_北'
    """
    return re.sub(r"[^\w.-]+", "_", unit_id).strip("_") or "unit"


def export_plan(
    plan: dict[str, Any],
    *,
    fmt: str,
    out_dir: str | Path,
    audience: str | None = None,
    simplify_m: float = 0.0,
    units: list[str] | None = None,
    crs: str = "wgs84",
) -> list[ExportedUnit]:
    """Write one file (or file set) per unit of ``plan`` in format ``fmt``.

    Parameters
    ----------
    plan
        Plan JSON dict.
    fmt
        One of :data:`FORMATS`.
    out_dir
        Folder for the files (created).
    audience
        Who receives the files (:data:`maps.privacy.AUDIENCES`); ``None`` decides per route
        by its unit kind.
    simplify_m
        Track simplification tolerance in metres (0 keeps every vertex).
    units
        Only these units (default: all).
    crs
        Coordinates of the files: ``wgs84`` (default), ``gcj02`` (Amap, Tencent) or ``bd09``
        (Baidu) for Chinese handheld map apps (:func:`maps.coords.routes_in_crs`).

    Returns
    -------
    list of ExportedUnit
        Files and sizes per unit, in plan order.
    """
    if fmt not in FORMATS:
        msg = f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)} (--format)"
        raise ExportError(msg)
    if simplify_m < 0:
        msg = f"--simplify-m must be >= 0 metres, got {simplify_m}"
        raise ExportError(msg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    routes = routes_in_crs(export_plan_routes(plan, audience=audience, units=units), crs)
    kinds = {str(r.get("unit_id")): str(r.get("kind", "")) for r in plan["routes"]}
    results = []
    seen: set[str] = set()
    for route in routes:
        unit = str(route.get("unit_id", ""))
        stem_name = safe_name(unit)
        if stem_name in seen:
            msg = f"two units map to the same file name {stem_name!r}; make unit ids distinct"
            raise ExportError(msg)
        seen.add(stem_name)
        who = audience or audience_for(kinds.get(unit, ""))
        police = may_see_incidents(kinds.get(unit, ""), who)
        stem = out / stem_name
        files: list[Path]
        if fmt == "gpx":
            path = stem.with_suffix(".gpx")
            doc = route_to_gpx(route, simplify_m=simplify_m)
            path.write_text(doc.to_xml(version="1.1"), encoding="utf-8")
            files = [path]
        elif fmt == "kml":
            path = stem.with_suffix(".kml")
            path.write_text(
                routes_to_kml([route], name=unit, simplify_m=simplify_m, with_incidents=police),
                encoding="utf-8",
            )
            files = [path]
        elif fmt == "geojson":
            path = stem.with_suffix(".geojson")
            path.write_text(
                routes_to_geojson(route, simplify_m=simplify_m, with_incidents=police),
                encoding="utf-8",
            )
            files = [path]
        elif fmt == "csv":
            path = stem.with_suffix(".csv")
            path.write_text(route_to_csv(route, with_incidents=police), encoding="utf-8")
            files = [path]
        else:
            files = route_to_shapefiles(route, stem, simplify_m=simplify_m, with_incidents=police)
        results.append(ExportedUnit(unit, who, tuple(files)))
    return results
