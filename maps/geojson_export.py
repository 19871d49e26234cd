"""GeoJSON (RFC 7946) per unit: the route line and one point per stop, WGS84, 6 decimals."""

from __future__ import annotations

import json
from typing import Any

from .stops import route_line, stop_rows

__all__ = ["route_feature_collection", "routes_to_geojson"]


def route_feature_collection(
    route: dict[str, Any], *, simplify_m: float = 0.0, with_incidents: bool = False
) -> dict[str, Any]:
    """One cleaned route as an RFC 7946 FeatureCollection.

    Parameters
    ----------
    route
        A route cleaned by :func:`maps.privacy.export_route`.
    simplify_m
        Line simplification tolerance in metres.
    with_incidents
        Add incident summaries to the stop properties (police audience only).

    Returns
    -------
    dict
        A ``LineString`` feature (``role="route"``) followed by ``Point`` features
        (``role="stop"``) with the :data:`maps.stops.STOP_FIELDS` as properties. No ``crs``
        member: RFC 7946 coordinates are always WGS84 longitude, latitude.
    """
    unit = str(route.get("unit_id", ""))
    features: list[dict[str, Any]] = []
    line = route_line(route, simplify_m=simplify_m)
    if len(line) >= 2:
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "role": "route",
                    "unit": unit,
                    "kind": route.get("kind"),
                    "mode": route.get("mode"),
                    "distance_m": route.get("distance_m"),
                    "duration_s": route.get("duration_s"),
                },
                "geometry": {"type": "LineString", "coordinates": line.tolist()},
            }
        )
    features.extend(
        {
            "type": "Feature",
            "properties": {"role": "stop", **row},
            "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
        }
        for row in stop_rows(route, with_incidents=with_incidents)
    )
    return {"type": "FeatureCollection", "features": features}


def routes_to_geojson(route: dict[str, Any], **kwargs: Any) -> str:
    """:func:`route_feature_collection` as compact JSON text (UTF-8, no ASCII escapes)."""
    return json.dumps(
        route_feature_collection(route, **kwargs), ensure_ascii=False, separators=(",", ":")
    )
