"""The dosage report page and map layer: colours by delivered/planned, missed visits, checkpoints."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import box

from maps.dosage import dosage_color, dosage_map, render_dosage_report
from maps.folium_map import map_html

PLAN = {
    "summary": {
        "shift_start": "2025-01-22T18:00:00-05:00",
        "shift_end": "2025-01-23T02:00:00-05:00",
    },
    "routes": [
        {
            "unit_id": "car-1",
            "kind": "police_car",
            "mode": "drive",
            "steps": [
                {
                    "type": "start",
                    "lon": 0.5,
                    "lat": 0.5,
                    "arrival": "2025-01-22T18:00:00-05:00",
                    "departure": "2025-01-22T18:00:00-05:00",
                },
                {
                    "type": "visit",
                    "stop_id": "s1",
                    "grid_id": "a",
                    "lon": 0.5,
                    "lat": 0.5,
                    "arrival": "2025-01-22T18:10:00-05:00",
                    "departure": "2025-01-22T18:22:00-05:00",
                    "service_s": 720,
                },
                {
                    "type": "visit",
                    "stop_id": "checkpoint:bank",
                    "grid_id": "b",
                    "lon": 1.5,
                    "lat": 0.5,
                    "arrival": "2025-01-22T19:10:00-05:00",
                    "departure": "2025-01-22T19:20:00-05:00",
                    "service_s": 600,
                },
            ],
            "geometry": {"type": "LineString", "coordinates": [[0.5, 0.5], [1.5, 0.5]]},
        }
    ],
}
DOSAGE = {
    "summary": {
        "shift_start": PLAN["summary"]["shift_start"],
        "shift_end": PLAN["summary"]["shift_end"],
    },
    "units": [
        {
            "unit_id": "car-1",
            "planned_s": 1320,
            "delivered_s": 700,
            "visits_planned": 2,
            "visits_delivered": 1,
            "missed": ["checkpoint:bank"],
        }
    ],
    "grids": [
        {"grid_id": "a", "planned_s": 720, "delivered_s": 700},
        {"grid_id": "b", "planned_s": 600, "delivered_s": 0},
    ],
    "checkpoints": [
        {
            "stop_id": "checkpoint:bank",
            "name": "bank",
            "unit_id": "car-1",
            "planned_at": "x",
            "checked_in": False,
            "at": None,
            "by": None,
        }
    ],
}


def test_colours_follow_the_share() -> None:
    """At least 85% delivered is green, under half red, never planned blue."""
    assert dosage_color(720, 700) == "#27ae60"
    assert dosage_color(600, 0) == "#c0392b"
    assert dosage_color(600, 400) == "#e67e22"
    assert dosage_color(0, 10) == "#2980b9"


def test_report_lists_units_missed_and_checkpoints() -> None:
    """The report names the unit, its share, the missed checkpoint and that it was not checked in."""
    html = render_dosage_report(DOSAGE)
    assert "car-1" in html
    assert "53%" in html
    assert "checkpoint:bank" in html
    assert "<b>no</b>" in html


def test_map_has_dosage_layers() -> None:
    """The map carries the delivered/planned, missed-visit and checkpoint layers."""
    grids = gpd.GeoDataFrame(
        {
            "grid_id": ["a", "b"],
            "level": ["grid", "grid"],
            "parent_id": [None, None],
            "name": ["a", "b"],
        },
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=4326,
    )
    html = map_html(dosage_map(grids, DOSAGE, PLAN))
    for name in ("delivered / planned", "missed visits", "checkpoints"):
        assert name in html
    assert "#c0392b" in html
