"""Flat stop rows and route lines of cleaned routes, shared by the export formats."""

from __future__ import annotations

from typing import Any

import numpy as np

from .simplify import simplify_line

__all__ = ["STOP_FIELDS", "incident_summary", "route_line", "stop_rows"]

#: Columns of a stop row, in order (CSV header, GeoJSON/Shapefile stop properties).
STOP_FIELDS: tuple[str, ...] = (
    "unit",
    "order",
    "type",
    "grid",
    "lon",
    "lat",
    "arrival",
    "departure",
    "dwell_min",
)


def incident_summary(step: dict[str, Any]) -> str:
    """``"2: INC-1 burglary 2026-01-04T22:10; ..."`` for a cleaned police step, else ``""``."""
    incidents = step.get("incidents") or []
    if not incidents:
        return ""
    parts = [
        " ".join(str(i.get(k, "")) for k in ("incident_id", "category", "occurred_at")).strip()
        for i in incidents
    ]
    return f"{len(incidents)}: " + "; ".join(parts)


def stop_rows(route: dict[str, Any], *, with_incidents: bool = False) -> list[dict[str, Any]]:
    """One row per step of a cleaned route that has a place (start, visits, breaks, end).

    Parameters
    ----------
    route
        A route cleaned by :func:`maps.privacy.export_route`.
    with_incidents
        Add an ``incidents`` column (police exports).

    Returns
    -------
    list of dict
        :data:`STOP_FIELDS` per row; ``order`` numbers the visits 1..n (0 for other steps);
        coordinates rounded to 6 decimals, dwell in minutes.
    """
    rows = []
    order = 0
    unit = str(route.get("unit_id", ""))
    for step in route.get("steps", []):
        if "lon" not in step or "lat" not in step:
            continue
        kind = str(step.get("type", "visit"))
        if kind in ("visit", "checkpoint"):
            order += 1
        row: dict[str, Any] = {
            "unit": unit,
            "order": order if kind in ("visit", "checkpoint") else 0,
            "type": kind,
            "grid": str(step.get("name") or "")
            if kind == "checkpoint"
            else str(step.get("grid_id") or ""),
            "lon": round(float(step["lon"]), 6),
            "lat": round(float(step["lat"]), 6),
            "arrival": str(step.get("arrival") or ""),
            "departure": str(step.get("departure") or ""),
            "dwell_min": round(float(step.get("service_s", 0) or 0) / 60.0, 1),
        }
        if with_incidents:
            row["incidents"] = incident_summary(step)
        rows.append(row)
    return rows


def route_line(route: dict[str, Any], *, simplify_m: float = 0.0) -> np.ndarray:
    """The route's street path as an ``(n, 2)`` lon/lat array, 6 decimals, optionally simplified.

    Falls back to the stops in order when the route has no geometry.
    """
    coords = (route.get("geometry") or {}).get("coordinates") or []
    if coords:
        line = np.asarray(coords, dtype=float)[:, :2]
    else:
        line = np.array(
            [[float(s["lon"]), float(s["lat"])] for s in route.get("steps", []) if "lon" in s],
            dtype=float,
        ).reshape(-1, 2)
    return np.round(simplify_line(line, simplify_m), 6)
