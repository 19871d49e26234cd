"""CSV export: one row per stop with unit, order, grid, lon, lat, arrival, departure, dwell."""

from __future__ import annotations

import csv
import io
from typing import Any

from maps.csv_export import route_to_csv
from maps.privacy import export_plan_routes


def test_rows_follow_steps(plan: dict[str, Any]) -> None:
    """Rows are the steps with a place, visits numbered 1..n, dwell in minutes."""
    (route,) = export_plan_routes(plan, units=["police_car-1"])
    rows = list(csv.DictReader(io.StringIO(route_to_csv(route))))
    assert [r["type"] for r in rows] == ["start", "visit", "break", "visit", "visit", "end"]
    visits = [r for r in rows if r["type"] == "visit"]
    assert [r["order"] for r in visits] == ["1", "2", "3"]
    assert visits[0]["dwell_min"] == "15.0"
    assert visits[0]["arrival"] == "2026-01-05T08:10:00-05:00"
    assert list(rows[0]) == [
        "unit",
        "order",
        "type",
        "grid",
        "lon",
        "lat",
        "arrival",
        "departure",
        "dwell_min",
    ]


def test_police_rows_may_carry_summaries(plan: dict[str, Any]) -> None:
    """A police export adds an incidents column with id and category, never descriptions."""
    (route,) = export_plan_routes(plan, audience="police", units=["police_car-1"])
    text = route_to_csv(route, with_incidents=True)
    assert "INC-SECRET-00 burglary" in text
    assert "Jane Roe" not in text
