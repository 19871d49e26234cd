"""Test helper: simulated GPS tracks of a plan's routes, the route as planned sampled every few
seconds with receiver jitter (used by the dosage, positions and replan tests; no product code
calls it)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["simulate_track"]

_M_LAT = 111_000.0


def simulate_track(
    route: dict[str, Any],
    *,
    every_s: float = 10.0,
    jitter_m: float = 8.0,
    until: pd.Timestamp | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Fixes ``unit_id, at, lon, lat`` of a unit that followed ``route`` (plan JSON) exactly.

    Between steps the unit moves at constant speed in a straight line from one step's place to
    the next; from arrival to departure it stays. Gaussian jitter of ``jitter_m`` metres; the
    track stops at ``until`` when given.
    """
    rng = np.random.default_rng(seed)
    steps = [s for s in route["steps"] if "lon" in s]
    knots_t, knots_x, knots_y = [], [], []
    for s in steps:
        for key in ("arrival", "departure"):
            knots_t.append(pd.Timestamp(s[key]).timestamp())
            knots_x.append(float(s["lon"]))
            knots_y.append(float(s["lat"]))
    t0, t1 = knots_t[0], knots_t[-1]
    if until is not None:
        t1 = min(t1, until.timestamp())
    times = np.arange(t0, t1, every_s)
    lon = np.interp(times, knots_t, knots_x)
    lat = np.interp(times, knots_t, knots_y)
    lat_j = lat + rng.normal(0, jitter_m, len(times)) / _M_LAT
    lon_j = lon + rng.normal(0, jitter_m, len(times)) / (_M_LAT * np.cos(np.radians(lat)))
    return pd.DataFrame(
        {
            "unit_id": str(route["unit_id"]),
            "at": pd.to_datetime(times, unit="s", utc=True),
            "lon": lon_j,
            "lat": lat_j,
        }
    )
