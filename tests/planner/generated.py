"""Small generated patrol problems with hand-built matrices (no street network needed)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from planner.model import Break, Problem, Stop, Unit

SPEED_MPS = {"drive": 8.0, "walk": 1.4, "bike": 4.0}
START = dt.datetime(2024, 3, 1, 18, 0, tzinfo=dt.UTC)


def matrices(xy: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Travel seconds and metres between metric points (Manhattan distance, per-mode speeds)."""
    d = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
    return {m: d / v for m, v in SPEED_MPS.items()}, dict.fromkeys(SPEED_MPS, d)


def lonlat(xy: np.ndarray) -> tuple[tuple[float, float], ...]:
    """Metric offsets (m) around Philadelphia as lon/lat."""
    return tuple((-75.15 + x / 85_000, 39.98 + y / 111_000) for x, y in xy)


def random_problem(
    seed: int,
    *,
    n_stops: int = 20,
    n_units: int = 3,
    side_m: float = 3000.0,
    shift_s: int = 4 * 3600,
    with_breaks: bool = True,
    with_repeats: bool = True,
) -> Problem:
    """A random problem: mixed units (cars, foot, volunteers), windows, areas, repeats, breaks."""
    rng = np.random.default_rng(seed)
    n_depots = 2
    xy = rng.random((n_depots + n_stops, 2)) * side_m
    travel, dist = matrices(xy)
    kinds = ["police_car", "foot_patrol", "volunteer", "property_security", "grid_worker"]
    mode = {"police_car": "drive", "foot_patrol": "walk", "volunteer": "walk"}
    grids = [f"g{i:03d}" for i in range(n_stops)]
    units = []
    for k in range(n_units):
        kind = kinds[k % len(kinds)]
        start = int(rng.integers(n_depots))
        breaks = ()
        if with_breaks and rng.random() < 0.5:
            a = int(rng.integers(3600, shift_s // 2))
            place = start if rng.random() < 0.5 else None  # at the station, or on the way
            breaks = (Break("meal", a, a + 1800, 1200, location=place),)
        area = None
        if kind == "volunteer":
            area = frozenset(rng.choice(grids, size=max(1, n_stops // 2), replace=False).tolist())
        units.append(
            Unit(
                unit_id=f"{kind}-{k}",
                kind=kind,
                mode=mode.get(kind, "bike"),
                start_location=start,
                end_location=int(rng.integers(n_depots)),
                shift_start_s=int(rng.integers(0, 1800)),
                shift_end_s=shift_s - int(rng.integers(0, 1800)),
                breaks=breaks,
                skills=frozenset({"first_aid"}) if rng.random() < 0.5 else frozenset(),
                allowed_grids=area,
            )
        )
    stops = []
    for i in range(n_stops):
        windows: tuple[tuple[int, int], ...] = ()
        r = rng.random()
        if r < 0.4:
            a = int(rng.integers(0, shift_s - 3600))
            windows = ((a, a + int(rng.integers(1200, 3600))),)
        elif r < 0.5:
            windows = ((0, 3000), (shift_s - 5000, shift_s - 1000))
        stops.append(
            Stop(
                stop_id=f"s{i:03d}",
                grid_id=grids[i],
                location=n_depots + i,
                dwell_s=int(rng.integers(600, 901)),
                windows=windows,
                prize=float(rng.gamma(2.0, 1.0)),
                visits=2 if with_repeats and i % 7 == 0 else 1,
                skills=frozenset({"first_aid"}) if i % 11 == 5 else frozenset(),
                kinds=frozenset({"police_car", "foot_patrol"}) if i % 13 == 3 else None,
            )
        )
    return Problem(
        locations=lonlat(xy),
        travel_s=travel,
        distance_m=dist,
        units=tuple(units),
        stops=tuple(stops),
        start=START,
        timezone="America/New_York",
    )
