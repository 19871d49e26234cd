"""GPX 1.1 for handheld GPS units: the stops as a route, the street path as a track.

Per unit: one ``<rte>`` whose ``<rtept>`` are the stops in visit order (name, planned arrival
in ``<time>``, dwell minutes in ``<cmt>`` and ``<desc>``) and one ``<trk>`` with the street
path of the route's ``geometry``. Always WGS84, coordinates to 6 decimals. Written with gpxpy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import gpxpy.gpx
import numpy as np

from .coords import routes_in_crs
from .errors import ExportError, MapsError
from .planfile import plan_time
from .privacy import export_plan_routes
from .simplify import simplify_line
from .stops import incident_summary

__all__ = ["plan_to_gpx", "route_to_gpx", "stop_label"]


def _time(value: Any) -> datetime | None:
    """A plan time in UTC (GPX times are UTC)."""
    try:
        parsed = plan_time(value)
    except MapsError as exc:
        raise ExportError(str(exc)) from None
    return None if parsed is None else parsed.astimezone(UTC)


def stop_label(step: dict[str, Any], order: int) -> str:
    """A stop's name on a handheld: ``"3 grid g-042"``, ``"start"``, ``"end"``, ``"break"``."""
    kind = str(step.get("type", "visit"))
    if kind == "visit":
        return f"{order} {step.get('grid_id') or step.get('stop_id') or ''}".strip()
    if kind == "checkpoint":
        return f"{order} checkpoint {step.get('name') or ''}".strip()
    return kind


def _dwell_text(step: dict[str, Any]) -> str:
    dwell_min = round(float(step.get("service_s", 0) or 0) / 60.0)
    parts = [f"dwell {dwell_min} min"]
    if step.get("arrival"):
        parts.append(f"arrive {step['arrival']}")
    if step.get("departure"):
        parts.append(f"leave {step['departure']}")
    summary = incident_summary(step)
    if summary:
        parts.append(f"incidents {summary}")
    if step.get("why"):
        parts.insert(0, str(step["why"]))
    return "; ".join(parts)


def route_to_gpx(route: dict[str, Any], *, simplify_m: float = 0.0) -> gpxpy.gpx.GPX:
    """One cleaned route (see :func:`maps.privacy.export_route`) as a gpxpy document."""
    unit = str(route.get("unit_id", "unit"))
    doc = gpxpy.gpx.GPX()
    doc.creator = "patrolgrid"
    doc.name = unit
    rte = gpxpy.gpx.GPXRoute(
        name=unit, description=f"{route.get('kind', '')} {route.get('mode', '')}".strip()
    )
    order = 0
    for step in route.get("steps", []):
        if "lon" not in step or "lat" not in step:
            continue
        if step.get("type") in ("visit", "checkpoint"):
            order += 1
        point = gpxpy.gpx.GPXRoutePoint(
            latitude=round(float(step["lat"]), 6),
            longitude=round(float(step["lon"]), 6),
            time=_time(step.get("arrival")),
            name=stop_label(step, order),
        )
        point.comment = f"dwell {round(float(step.get('service_s', 0) or 0) / 60.0)} min"
        point.description = _dwell_text(step)
        point.type = str(step.get("type", ""))
        rte.points.append(point)
    doc.routes.append(rte)
    coords = (route.get("geometry") or {}).get("coordinates") or []
    if coords:
        line = simplify_line(np.asarray(coords, dtype=float)[:, :2], simplify_m)
        trk = gpxpy.gpx.GPXTrack(name=unit)
        seg = gpxpy.gpx.GPXTrackSegment()
        seg.points.extend(
            gpxpy.gpx.GPXTrackPoint(latitude=round(float(y), 6), longitude=round(float(x), 6))
            for x, y in line
        )
        trk.segments.append(seg)
        doc.tracks.append(trk)
    return doc


def plan_to_gpx(
    plan: dict[str, Any],
    unit_id: str,
    *,
    audience: str | None = None,
    simplify_m: float = 0.0,
    crs: str = "wgs84",
) -> str:
    """One unit's route as a GPX 1.1 document.

    Parameters
    ----------
    plan
        Plan JSON dict.
    unit_id
        The route's ``unit_id``.
    audience
        Who receives the file (:data:`maps.privacy.AUDIENCES`); by default the route's kind.
    simplify_m
        Track simplification tolerance in metres (0 keeps every vertex).
    crs
        Coordinates of the file: ``wgs84`` (default), ``gcj02`` or ``bd09`` for Chinese
        handheld map apps (:func:`maps.coords.routes_in_crs`; mainland China only).

    Returns
    -------
    str
        GPX 1.1 XML, valid against the GPX 1.1 schema.
    """
    (route,) = routes_in_crs(export_plan_routes(plan, audience=audience, units=[unit_id]), crs)
    return route_to_gpx(route, simplify_m=simplify_m).to_xml(version="1.1")
