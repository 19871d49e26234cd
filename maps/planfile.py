"""Read a plan JSON file (the VROOM-like plan contract of DESIGN.md) with clear errors."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import MapsError

__all__ = ["plan_time", "read_plan"]


def read_plan(path: str | Path) -> dict[str, Any]:
    """Load ``plan.json`` and check the fields the maps and exports rely on.

    Parameters
    ----------
    path
        A plan written by ``patrolgrid plan``.

    Returns
    -------
    dict
        The plan (``summary``, ``routes``, ``unassigned``).

    Raises
    ------
    MapsError
        Not JSON, no ``routes`` list, or a route without ``unit_id``/``steps``; the message
        names the file and the route.
    """
    p = Path(path)
    try:
        plan = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        msg = f"plan file {p}: not valid JSON (line {exc.lineno}: {exc.msg})"
        raise MapsError(msg) from None
    if not isinstance(plan, dict) or not isinstance(plan.get("routes"), list):
        msg = f"plan file {p}: no 'routes' list; write plans with patrolgrid plan"
        raise MapsError(msg)
    for i, route in enumerate(plan["routes"]):
        if not isinstance(route, dict) or "unit_id" not in route:
            msg = f"plan file {p}: routes[{i}] has no unit_id"
            raise MapsError(msg)
        if not isinstance(route.get("steps"), list):
            msg = f"plan file {p}: route {route['unit_id']} has no steps list"
            raise MapsError(msg)
    plan.setdefault("summary", {})
    plan.setdefault("unassigned", [])
    return plan


def plan_time(value: Any) -> datetime | None:
    """A plan document's ISO 8601 time (with its UTC offset); None for an empty value.

    >>> plan_time("2025-01-22T18:00:00-05:00").isoformat()
    '2025-01-22T18:00:00-05:00'
    """
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        msg = f"plan time {value!r} is not ISO 8601; see the plan JSON contract"
        raise MapsError(msg) from None
    if parsed.tzinfo is None:
        msg = f"plan time {value!r} has no UTC offset; plan times are ISO 8601 with offset"
        raise MapsError(msg)
    return parsed
