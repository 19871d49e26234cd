"""A generated shift for the re-planning benchmark and the re-planning and dosage tests (no
street network; no product code uses it, so it lives beside the benchmarks, not in ``planner``).

``n_units`` police cars ``car-1``.. from two stations, ``n_stops`` stops at random points of a
``side_m`` square split into square grid cells of ``cell_m`` (each stop's ``grid_id`` is the cell
it lies in), shift 18:00-02:00 America/New_York, Manhattan travel at 8 m/s (cars), 1.4 m/s (walk).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import shapely

from planner.model import Plan, Problem, Stop, Unit
from planner.shift_file import ShiftState
from planner.solve import solve

__all__ = ["LAT0", "LON0", "START", "city_shift", "shift_problem"]

LON0, LAT0 = -75.16, 39.97
START = dt.datetime(2025, 1, 22, 18, 0, tzinfo=ZoneInfo("America/New_York"))
_M_LON, _M_LAT = 85_000.0, 111_000.0


def _lonlat(xy: np.ndarray) -> list[tuple[float, float]]:
    return [(LON0 + x / _M_LON, LAT0 + y / _M_LAT) for x, y in xy]


def shift_problem(
    seed: int = 0,
    *,
    n_units: int = 4,
    n_stops: int = 40,
    side_m: float = 4000.0,
    cell_m: float = 250.0,
    shift_s: int = 8 * 3600,
) -> tuple[Problem, tuple[str, ...], tuple[bytes, ...]]:
    """The problem, and the leaf grid cells (ids and WKB) covering the square."""
    rng = np.random.default_rng(seed)
    depots = np.array([[side_m * 0.3, side_m * 0.3], [side_m * 0.7, side_m * 0.7]])
    xy = np.vstack([depots, rng.random((n_stops, 2)) * side_m])
    d = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
    travel = {"drive": d / 8.0, "walk": d / 1.4}
    dist = {"drive": d, "walk": d}
    n_cells = int(np.ceil(side_m / cell_m))
    ids, wkb = [], []
    for i in range(n_cells):
        for j in range(n_cells):
            x0, y0 = i * cell_m, j * cell_m
            (lo0, la0), (lo1, la1) = _lonlat(np.array([[x0, y0], [x0 + cell_m, y0 + cell_m]]))
            ids.append(f"c{i:02d}_{j:02d}")
            wkb.append(bytes(shapely.to_wkb(shapely.box(lo0, la0, lo1, la1))))
    units = tuple(
        Unit(f"car-{k + 1}", "police_car", "drive", start_location=k % 2, shift_end_s=shift_s)
        for k in range(n_units)
    )
    stops = []
    for k in range(n_stops):
        x, y = xy[2 + k]
        cell = f"c{int(x // cell_m):02d}_{int(y // cell_m):02d}"
        windows: tuple[tuple[int, int], ...] = ()
        if rng.random() < 0.4:
            a = int(rng.integers(0, shift_s - 3600))
            windows = ((a, a + int(rng.integers(1800, 3600))),)
        stops.append(
            Stop(
                f"s{k:03d}",
                cell,
                2 + k,
                dwell_s=720,
                windows=windows,
                prize=float(rng.gamma(2.0, 1.0)),
                visits=2 if k % 9 == 0 else 1,
            )
        )
    problem = Problem(
        locations=tuple(_lonlat(xy)),
        travel_s=travel,
        distance_m=dist,
        units=units,
        stops=tuple(stops),
        start=START,
        timezone="America/New_York",
    )
    return problem, tuple(ids), tuple(wkb)


def city_shift(
    seed: int = 0,
    *,
    n_units: int = 4,
    n_stops: int = 40,
    time_limit_s: float = 10.0,
    max_solutions: int | None = 200,
    **kw: float,
) -> tuple[ShiftState, Plan]:
    """A planned shift (version 0) of :func:`shift_problem`.

    With ``max_solutions`` (default) the plan is the same on any machine, however loaded.
    """
    problem, ids, wkb = shift_problem(seed, n_units=n_units, n_stops=n_stops, **kw)  # type: ignore[arg-type]
    plan = solve(problem, time_limit_s=time_limit_s, seed=seed, max_solutions=max_solutions)
    return ShiftState(problem, plan, grid_ids=ids, grid_wkb=wkb), plan
