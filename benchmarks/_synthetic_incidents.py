"""A generated city's incidents, for checking forecasts on a city that is not Philadelphia.

A 12 km x 10 km city (placed at Guangzhou, so another UTM zone) with two years of incidents of four
categories, each a mixture of

- *background*: a few broad neighbourhoods (Gaussian, 1.5-3 km) over a uniform floor, steady;
- *micro hot spots*: 40 fixed places (60 m), lognormal sizes, whose strength follows a monthly
  random walk (some fade, some grow);
- *drifting hot spots*: per category, ten spots (200-400 m) that appear, grow, fade and move
  1-3 km a year in a random direction, born at random times over the two years;
- *near repeats* (burglary): each incident triggers on average ``0.35`` more within about 80 m
  and a few days (a self-exciting process, as in the near-repeat literature).

Rates (per day): Theft 60, Burglary 12, Vehicle Theft 8, Assault 10, with a yearly season of
+-20 %. Deterministic for a seed. Its structure differs from Philadelphia's on purpose (drift and
flare-ups matter more), so a method tuned to one city would show it on the other.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["CATEGORIES", "START", "synthetic_city"]

_LAT0, _LON0 = 23.10, 113.25
_M_PER_DEG_LAT = 111_320.0
START = "2023-01-01"
DAYS = 731
WIDTH_M, HEIGHT_M = 12_000.0, 10_000.0

#: category -> (incidents per day, background, micro, drifting share, near-repeat branching)
CATEGORIES: dict[str, tuple[float, float, float, float, float]] = {
    "Theft": (60.0, 0.35, 0.55, 0.10, 0.0),
    "Burglary": (12.0, 0.60, 0.10, 0.30, 0.35),
    "Vehicle Theft": (8.0, 0.40, 0.0, 0.60, 0.0),
    "Assault": (10.0, 0.40, 0.50, 0.10, 0.0),
}


def _to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m_per_deg_lon = _M_PER_DEG_LAT * np.cos(np.radians(_LAT0))
    return _LON0 + x / m_per_deg_lon, _LAT0 + y / _M_PER_DEG_LAT


def _inside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x >= 0) & (x < WIDTH_M) & (y >= 0) & (y < HEIGHT_M)


def synthetic_city(seed: int = 7) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Incidents (``incident_id``, ``occurred_at``, ``category``, ``severity``, point geometry in
    EPSG:4326) and the city's outline (one polygon), deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    # background neighbourhoods
    n_hoods = 5
    hood_xy = rng.uniform([0, 0], [WIDTH_M, HEIGHT_M], size=(n_hoods, 2))
    hood_sd = rng.uniform(1500, 3000, n_hoods)
    hood_w = rng.dirichlet(np.ones(n_hoods))
    # micro hot spots with a monthly random walk of their strength
    n_micro = 40
    micro_xy = rng.uniform([500, 500], [WIDTH_M - 500, HEIGHT_M - 500], size=(n_micro, 2))
    months = DAYS // 30 + 2
    micro_log = np.log(rng.lognormal(0.0, 1.0, n_micro))[:, None] + np.cumsum(
        rng.normal(0.0, 0.15, size=(n_micro, months)), axis=1
    )
    frames = []
    for c, (name, (rate, w_bg, w_micro, w_drift, branching)) in enumerate(CATEGORIES.items()):
        crng = np.random.default_rng(seed * 100 + c)
        n_drift = 10
        birth = crng.uniform(-200, DAYS, n_drift)
        life = crng.uniform(150, 500, n_drift)
        d0 = crng.uniform([1000, 1000], [WIDTH_M - 1000, HEIGHT_M - 1000], size=(n_drift, 2))
        angle = crng.uniform(0, 2 * np.pi, n_drift)
        speed = crng.uniform(1000, 3000, n_drift) / 365.0  # metres per day
        velocity = np.column_stack([np.cos(angle), np.sin(angle)]) * speed[:, None]
        drift_sd = crng.uniform(200, 400, n_drift)
        drift_peak = crng.lognormal(0.0, 0.5, n_drift)
        micro_pick = crng.random(n_micro) < 0.6  # each category uses some of the places
        xs, ys, ts = [], [], []
        for day in range(DAYS):
            season = 1.0 + 0.2 * np.sin(2 * np.pi * (day - 80) / 365.0)
            n = crng.poisson(rate * season)
            comp = crng.choice(3, size=n, p=[w_bg, w_micro, w_drift])
            # background
            k = int((comp == 0).sum())
            floor = crng.random(k) < 0.3
            hood = crng.choice(n_hoods, size=k, p=hood_w)
            bx = np.where(
                floor, crng.uniform(0, WIDTH_M, k), crng.normal(hood_xy[hood, 0], hood_sd[hood])
            )
            by = np.where(
                floor, crng.uniform(0, HEIGHT_M, k), crng.normal(hood_xy[hood, 1], hood_sd[hood])
            )
            # micro
            k = int((comp == 1).sum())
            strength = np.exp(micro_log[:, day // 30]) * micro_pick
            if k and strength.sum() > 0:
                spot = crng.choice(n_micro, size=k, p=strength / strength.sum())
                mx = crng.normal(micro_xy[spot, 0], 60.0)
                my = crng.normal(micro_xy[spot, 1], 60.0)
            else:
                mx = my = np.zeros(0)
            # drifting
            k = int((comp == 2).sum())
            age = day - birth
            alive = (age > 0) & (age < life)
            amp = np.where(alive, np.sin(np.pi * np.clip(age / life, 0, 1)), 0.0) * drift_peak
            if k and amp.sum() > 0:
                spot = crng.choice(n_drift, size=k, p=amp / amp.sum())
                centre = d0[spot] + velocity[spot] * age[spot, None]
                dx = crng.normal(centre[:, 0], drift_sd[spot])
                dy = crng.normal(centre[:, 1], drift_sd[spot])
            else:
                dx = dy = np.zeros(0)
            x = np.concatenate([bx, mx, dx])
            y = np.concatenate([by, my, dy])
            t = day + crng.random(x.size)
            xs.append(x)
            ys.append(y)
            ts.append(t)
        x, y, t = np.concatenate(xs), np.concatenate(ys), np.concatenate(ts)
        if branching > 0:  # near repeats, generation by generation
            parents = (x, y, t)
            while parents[0].size:
                kids = crng.poisson(branching, parents[0].size)
                idx = np.repeat(np.arange(parents[0].size), kids)
                kx = crng.normal(parents[0][idx], 80.0)
                ky = crng.normal(parents[1][idx], 80.0)
                kt = parents[2][idx] + crng.exponential(3.0, idx.size)
                keep = kt < DAYS
                parents = (kx[keep], ky[keep], kt[keep])
                x, y, t = (
                    np.concatenate([x, parents[0]]),
                    np.concatenate([y, parents[1]]),
                    np.concatenate([t, parents[2]]),
                )
        keep = _inside(x, y)
        x, y, t = x[keep], y[keep], t[keep]
        lon, lat = _to_lonlat(x, y)
        frames.append(
            pd.DataFrame(
                {
                    "category": name,
                    "occurred_at": pd.Timestamp(START, tz="UTC")
                    + pd.to_timedelta(np.round(t * 86_400), unit="s"),
                    "lon": lon,
                    "lat": lat,
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True).sort_values("occurred_at", kind="stable")
    frame = frame.reset_index(drop=True)
    frame.insert(0, "incident_id", [f"syn-{k:07d}" for k in range(len(frame))])
    frame["severity"] = 1
    incidents = gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs="EPSG:4326",
    )
    lon, lat = _to_lonlat(np.array([0.0, WIDTH_M]), np.array([0.0, HEIGHT_M]))
    outline = gpd.GeoDataFrame(
        {"name": ["synthetic city"]},
        geometry=[shapely.box(lon[0], lat[0], lon[1], lat[1])],
        crs="EPSG:4326",
    )
    return incidents, outline
