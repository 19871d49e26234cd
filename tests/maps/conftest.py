"""Small named frames and plans for the maps tests, built in code (no files).

``fairhill``: one community split into a 4x4 lattice of 300 m cells in North Philadelphia,
with a risk table, 500 incidents and a two-unit plan (a police car whose visits carry
sensitive incident details, and a volunteer whose plan wrongly carries them too).
"""

from __future__ import annotations

import itertools
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

SECRET = "victim Jane Roe, 12 Oak St, suspect John Doe"


def lattice_grids(
    n: int = 4, *, x0: float = -75.16, y0: float = 39.98, step: float = 0.003
) -> gpd.GeoDataFrame:
    """A community row and its ``n`` x ``n`` leaf cells (grids contract)."""
    cells = [
        shapely.box(x0 + i * step, y0 + j * step, x0 + (i + 1) * step, y0 + (j + 1) * step)
        for i in range(n)
        for j in range(n)
    ]
    leaf = gpd.GeoDataFrame(
        {
            "grid_id": [f"c1-{k:03d}" for k in range(len(cells))],
            "level": "grid",
            "parent_id": "c1",
            "name": [f"Cell {k}" for k in range(len(cells))],
        },
        geometry=cells,
        crs=4326,
    )
    top = gpd.GeoDataFrame(
        {"grid_id": ["c1"], "level": ["community"], "parent_id": [None], "name": ["Fairhill"]},
        geometry=[shapely.union_all(cells)],
        crs=4326,
    )
    return pd.concat([top, leaf], ignore_index=True)


def risk_for(grids: gpd.GeoDataFrame, *, seed: int = 0) -> pd.DataFrame:
    """A risk table for the leaf cells: counts, risk, a 168-hour profile summing to 1."""
    leaf = grids[grids["level"] == "grid"]
    rng = np.random.default_rng(seed)
    n = len(leaf)
    prof = rng.random((n, 168))
    prof /= prof.sum(axis=1, keepdims=True)
    risk = pd.DataFrame(
        {
            "grid_id": leaf["grid_id"].to_numpy(),
            "count": rng.integers(1, 30, n),
            "risk": rng.random(n) * 10,
        }
    )
    risk = pd.concat(
        [risk, pd.DataFrame(prof, columns=[f"how_{i:03d}" for i in range(168)])], axis=1
    )
    risk["why"] = "burglaries after dark"
    risk["top_categories"] = "burglary, theft"
    risk["warning"] = risk["risk"] > 8
    return risk


def incidents_in(grids: gpd.GeoDataFrame, n: int = 500, *, seed: int = 1) -> gpd.GeoDataFrame:
    """``n`` incidents spread over the grids' bounds (incidents contract)."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = grids.total_bounds
    return gpd.GeoDataFrame(
        {
            "incident_id": [f"inc-{k}" for k in range(n)],
            "occurred_at": pd.date_range("2026-01-01", periods=n, freq="37min", tz="UTC"),
            "category": rng.choice(["theft", "burglary", "assault"], n),
            "severity": rng.integers(1, 6, n),
            "description": SECRET,
        },
        geometry=gpd.points_from_xy(
            minx + rng.random(n) * (maxx - minx), miny + rng.random(n) * (maxy - miny)
        ),
        crs=4326,
    )


def _steps(
    unit: int, points: list[tuple[float, float]], grid_ids: list[str], sensitive: bool
) -> list[dict[str, Any]]:
    depot = (-75.158, 39.981 + 0.001 * unit)
    steps: list[dict[str, Any]] = [
        {
            "type": "start",
            "lon": depot[0],
            "lat": depot[1],
            "arrival": "2026-01-05T08:00:00-05:00",
            "departure": "2026-01-05T08:00:00-05:00",
            "service_s": 0,
            "waiting_s": 0,
        }
    ]
    minute = 10
    for k, ((lon, lat), gid) in enumerate(zip(points, grid_ids, strict=True)):
        step: dict[str, Any] = {
            "type": "visit",
            "stop_id": f"s-{gid}",
            "grid_id": gid,
            "lon": lon,
            "lat": lat,
            "arrival": f"2026-01-05T{8 + minute // 60:02d}:{minute % 60:02d}:00-05:00",
            "departure": f"2026-01-05T{8 + (minute + 15) // 60:02d}:{(minute + 15) % 60:02d}:00-05:00",
            "service_s": 900,
            "waiting_s": 0,
            "victim_name": "Jane Roe",
        }
        if sensitive:
            step["incidents"] = [
                {
                    "incident_id": f"INC-SECRET-{unit}{k}",
                    "category": "burglary",
                    "occurred_at": "2026-01-04T22:10:00-05:00",
                    "description": SECRET,
                    "suspect": "John Doe",
                }
            ]
        steps.append(step)
        minute += 30
        if k == 0:
            steps.append(
                {
                    "type": "break",
                    "lon": lon,
                    "lat": lat,
                    "arrival": f"2026-01-05T{8 + minute // 60:02d}:{minute % 60:02d}:00-05:00",
                    "departure": f"2026-01-05T{8 + (minute + 10) // 60:02d}:{(minute + 10) % 60:02d}:00-05:00",
                    "service_s": 600,
                }
            )
            minute += 15
    steps.append(
        {
            "type": "end",
            "lon": depot[0],
            "lat": depot[1],
            "arrival": f"2026-01-05T{8 + minute // 60:02d}:{minute % 60:02d}:00-05:00",
            "service_s": 0,
        }
    )
    return steps


def plan_for(grids: gpd.GeoDataFrame) -> dict[str, Any]:
    """A plan with a police car and a volunteer; both carry sensitive incident fields."""
    leaf = grids[grids["level"] == "grid"].reset_index(drop=True)
    pts = leaf.geometry.representative_point()
    routes = []
    for unit, (kind, mode, rows) in enumerate(
        [("police_car", "drive", [0, 5, 10]), ("volunteer", "walk", [3, 6, 9])]
    ):
        points = [(round(pts[r].x, 6), round(pts[r].y, 6)) for r in rows]
        steps = _steps(unit, points, [leaf["grid_id"][r] for r in rows], sensitive=True)
        line = [[s["lon"], s["lat"]] for s in steps if s["type"] != "break"]
        # Street-like path: an L-shaped detour between consecutive stops.
        path = []
        for a, b in itertools.pairwise(line):
            path += [a, [b[0], a[1]]]
        path.append(line[-1])
        routes.append(
            {
                "unit_id": f"{kind}-{unit + 1}",
                "kind": kind,
                "mode": mode,
                "steps": steps,
                "distance_m": 4200.0,
                "duration_s": 7200,
                "geometry": {"type": "LineString", "coordinates": path},
                "notes": SECRET,
            }
        )
    return {
        "summary": {
            "shift_start": "2026-01-05T08:00:00-05:00",
            "shift_end": "2026-01-05T12:00:00-05:00",
            "timezone": "America/New_York",
            "units": 2,
            "visits": 6,
            "unassigned": 1,
            "distance_m": 8400.0,
            "duration_s": 14400,
            "risk_total": 100.0,
            "risk_covered": 61.5,
            "risk_covered_pct": 61.5,
        },
        "routes": routes,
        "unassigned": [
            {
                "stop_id": "s-c1-015",
                "grid_id": "c1-015",
                "reason": "no unit can reach it in its window",
            }
        ],
    }


@pytest.fixture
def grids() -> gpd.GeoDataFrame:
    """Fairhill: one community and 16 cells."""
    return lattice_grids()


@pytest.fixture
def risk(grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """Risk table for Fairhill's cells."""
    return risk_for(grids)


@pytest.fixture
def incidents(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """500 incidents over Fairhill, each with a sensitive description."""
    return incidents_in(grids)


@pytest.fixture
def plan(grids: gpd.GeoDataFrame) -> dict[str, Any]:
    """A police car and a volunteer route over Fairhill, carrying sensitive fields."""
    return plan_for(grids)
