"""Which places each mode's matrix covers, and where stops are placed."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from planner.problem import UNUSED_S, _embed, mode_points
from planner.stops import incident_centres
from planner.units_file import parse_units


def _units() -> object:
    return parse_units(
        {
            "timezone": "UTC",
            "shift": {"start": "2025-01-01T18:00", "end": "2025-01-01T22:00"},
            "units": [
                {"unit_id": "car", "kind": "police_car", "mode": "drive", "depot": [0.0, 0.0]},
                {"unit_id": "v", "kind": "volunteer", "mode": "walk", "depot": [1.0, 1.0]},
            ],
        }
    )


def test_mode_points_leave_out_other_modes_depots() -> None:
    """A car's matrix skips a walking volunteer's meeting point; every stop is in both."""
    units = _units()
    assert mode_points(units, 5, "drive").tolist() == [0, 2, 3, 4]
    assert mode_points(units, 5, "walk").tolist() == [1, 2, 3, 4]


def test_embedded_matrix_is_finite_and_blocks_unused_places() -> None:
    """Unused places get a finite time far beyond any shift; used ones keep their times."""
    idx = np.array([0, 2])
    full = _embed(np.array([[0.0, 5.0], [7.0, 0.0]]), idx, 3)
    assert np.isfinite(full).all()
    assert full[0, 2] == 5.0
    assert full[2, 0] == 7.0
    assert full[0, 1] == UNUSED_S
    assert np.diag(full).tolist() == [0.0, 0.0, 0.0]


def test_incident_centres_weigh_by_severity() -> None:
    """The centre leans toward the more severe incident; unjoined incidents are ignored."""
    joined = gpd.GeoDataFrame(
        {"grid_id": ["a", "a", None], "severity": [1, 3, 5]},
        geometry=[Point(0, 0), Point(4, 0), Point(9, 9)],
        crs="EPSG:4326",
    )
    centres = incident_centres(joined)
    assert centres["grid_id"].tolist() == ["a"]
    assert centres["near_lon"].iloc[0] == 3.0
    assert centres["near_lat"].iloc[0] == 0.0
    assert isinstance(centres, pd.DataFrame)
