"""CSV per unit: one row per stop (unit, order, type, grid, lon, lat, arrival, departure, dwell)."""

from __future__ import annotations

import csv
import io
from typing import Any

from .stops import STOP_FIELDS, stop_rows

__all__ = ["route_to_csv"]


def route_to_csv(route: dict[str, Any], *, with_incidents: bool = False) -> str:
    """One cleaned route's stops as CSV text with a header row.

    Parameters
    ----------
    route
        A route cleaned by :func:`maps.privacy.export_route`.
    with_incidents
        Add an ``incidents`` column (police audience only).

    Returns
    -------
    str
        Columns :data:`maps.stops.STOP_FIELDS` (plus ``incidents``); ``dwell_min`` in minutes.
    """
    fields = [*STOP_FIELDS, "incidents"] if with_incidents else list(STOP_FIELDS)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(stop_rows(route, with_incidents=with_incidents))
    return buf.getvalue()
