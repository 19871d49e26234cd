"""What each audience may receive from a plan: places and times, and incidents for police only.

Every export goes through :func:`export_route`, a whitelist copy of a route: fields not named
here never leave, whatever the plan carries. Incident summaries (id, category, time) stay only
on police routes (``police_car``, ``foot_patrol``) exported for the ``police`` audience;
volunteers, grid workers and property security get places and times only. Descriptions and
personal fields (victims, suspects, callers) are never exported, even to police: handhelds
get lost. Incidents of police-only categories (the category table's ``police_only`` flag) are
covered by the same rule: no civilian audience, and no view a volunteer token reaches, ever
lists them (tests/api/test_police_only_views.py).
"""

from __future__ import annotations

from typing import Any

from .errors import ExportError

__all__ = [
    "AUDIENCES",
    "CIVILIAN_KINDS",
    "POLICE_KINDS",
    "audience_for",
    "export_plan_routes",
    "export_route",
    "may_see_incidents",
]

POLICE_KINDS: frozenset[str] = frozenset({"police_car", "foot_patrol"})
CIVILIAN_KINDS: frozenset[str] = frozenset({"volunteer", "grid_worker", "property_security"})
AUDIENCES: tuple[str, ...] = ("police", "volunteer", "grid_worker", "property_security")

_ROUTE_FIELDS = ("unit_id", "kind", "mode", "distance_m", "duration_s", "geometry")
_STEP_FIELDS = (
    "type",
    "name",
    "stop_id",
    "grid_id",
    "lon",
    "lat",
    "arrival",
    "departure",
    "service_s",
    "waiting_s",
    "why",
)
_INCIDENT_FIELDS = ("incident_id", "category", "occurred_at")


def audience_for(kind: str) -> str:
    """The audience a route of this unit kind is exported for by default."""
    return "police" if kind in POLICE_KINDS else (kind if kind in AUDIENCES else "volunteer")


def may_see_incidents(kind: str, audience: str) -> bool:
    """Whether an export of a ``kind`` route for ``audience`` may carry incident summaries."""
    return kind in POLICE_KINDS and audience == "police"


def export_route(route: dict[str, Any], *, audience: str | None = None) -> dict[str, Any]:
    """A whitelist copy of one route, fit for ``audience``.

    Parameters
    ----------
    route
        One entry of ``plan["routes"]``.
    audience
        One of :data:`AUDIENCES`; ``None`` uses the route's kind (:func:`audience_for`).

    Returns
    -------
    dict
        Route fields, steps with places and times, and ``incidents`` (id, category, time)
        on visit steps only where :func:`may_see_incidents` allows it.

    Examples
    --------
    >>> r = {"unit_id": "v1", "kind": "volunteer", "steps": [{"type": "visit", "lon": 1,
    ...      "lat": 2, "incidents": [{"incident_id": "x", "description": "secret"}]}]}
    >>> export_route(r)["steps"]
    [{'type': 'visit', 'lon': 1, 'lat': 2}]
    """
    kind = str(route.get("kind", ""))
    if audience is None:
        audience = audience_for(kind)
    if audience not in AUDIENCES:
        msg = f"unknown export audience {audience!r}; use one of {', '.join(AUDIENCES)}"
        raise ExportError(msg)
    incidents_ok = may_see_incidents(kind, audience)
    out = {k: route[k] for k in _ROUTE_FIELDS if k in route}
    steps = []
    for step in route.get("steps", []):
        clean = {k: step[k] for k in _STEP_FIELDS if k in step}
        if incidents_ok and step.get("incidents"):
            clean["incidents"] = [
                {k: str(inc[k]) for k in _INCIDENT_FIELDS if inc.get(k) is not None}
                for inc in step["incidents"]
            ]
        steps.append(clean)
    out["steps"] = steps
    return out


def export_plan_routes(
    plan: dict[str, Any], *, audience: str | None = None, units: list[str] | None = None
) -> list[dict[str, Any]]:
    """Every route of a plan (or of the listed units), cleaned by :func:`export_route`."""
    routes = plan.get("routes")
    if not isinstance(routes, list):
        msg = "plan has no 'routes' list; see the plan JSON contract in DESIGN.md"
        raise ExportError(msg)
    chosen = [r for r in routes if units is None or str(r.get("unit_id")) in units]
    if units is not None:
        missing = sorted(set(units) - {str(r.get("unit_id")) for r in chosen})
        if missing:
            msg = f"plan has no route for unit(s) {', '.join(missing)}"
            raise ExportError(msg)
    return [export_route(r, audience=audience) for r in chosen]
