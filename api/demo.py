"""The demo: the whole job on the shared North Philadelphia data, one stage after another.

Grids (police district > neighbourhood > 250 m cells, clipped to the street network), incidents
joined to them, a risk table (it places the volunteers), a joint plan from the default shift risk
(the grid forecast raised by warnings, each visit with its ``why``) for two police cars from the
22nd District station and three volunteers on foot (each kept inside one neighbourhood), a
supervisor's map, a report and one GPX file per unit. Each stage calls the libraries (`geo`,
`planner`, `maps`); nothing here re-implements them. The command in :mod:`api.commands.demo`
drives it and prints the summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from api.planning import plan_shift, write_outputs
from geo.gridgen import make_grid
from geo.grids import clip_grids, load_grids, nest_levels
from geo.hierarchy import leaf_grids
from geo.hotspots import risk_table
from geo.incidents import load_incidents
from geo.join import join_incidents
from geo.network import Network, load_network
from planner.units_file import UnitsFile, parse_units

__all__ = ["DemoConfig", "DemoResult", "demo_units", "run_demo", "shift_after"]

TIMEZONE = "America/New_York"

#: 22nd District headquarters, 17th St & Montgomery Ave (the district file's LOCATION field).
STATION = (-75.16270, 39.97960)

#: The files the demo reads, relative to the shared data folder.
FILES = {
    "network": "philadelphia/temple_north_philly.osm",
    "incidents": "philadelphia/phl_incidents_2025-01.csv",
    "districts": "philadelphia/phl_police_districts.geojson",
    "neighbourhoods": "philadelphia/phl_neighborhoods_azavea.geojson",
}

INCIDENT_COLUMNS = [
    "incident_id",
    "occurred_at",
    "category",
    "severity",
    "lon",
    "lat",
    "grid_id",
    "community_id",
    "street_id",
    "district_id",
]


@dataclass(frozen=True)
class DemoConfig:
    """What the demo reads, writes and how hard it searches."""

    data_dir: Path
    out_dir: Path
    cell_m: float = 250.0
    cars: int = 2
    volunteers: int = 3
    dwell_min: float = 12.0
    max_stops: int = 80
    time_limit_s: float = 10.0
    seed: int = 0
    lang: str = "en"
    cache_dir: Path | None = None

    def path(self, key: str) -> Path:
        """Absolute path of one of the demo's input files."""
        return self.data_dir / FILES[key]


@dataclass
class DemoResult:
    """What the demo wrote, the plan document and how long each stage took."""

    files: dict[str, Path] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[str], None]


@contextmanager
def _stage(result: DemoResult, name: str, progress: Progress) -> Iterator[None]:
    progress(name)
    start = time.perf_counter()
    yield
    result.timings_s[name] = time.perf_counter() - start


def shift_after(
    newest: pd.Timestamp, timezone: str = TIMEZONE
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The evening shift (18:00 to 02:00 local) following the newest incident.

    >>> s, e = shift_after(pd.Timestamp("2025-01-22T04:49Z"))
    >>> s.isoformat(), e.isoformat()
    ('2025-01-22T18:00:00-05:00', '2025-01-23T02:00:00-05:00')
    """
    local = newest.tz_convert(timezone)
    start = local.normalize() + pd.Timedelta(hours=18)
    if start <= local:
        start += pd.Timedelta(days=1)
    return start, start + pd.Timedelta(hours=8)


def build_grids(config: DemoConfig, network: Network) -> gpd.GeoDataFrame:
    """Police districts > neighbourhoods > cells, clipped to the area the streets cover.

    The extract's ways run out past its bounds; only land within 150 m of a drivable street
    is gridded, so every cell has a street to place a stop on.
    """
    area = network.coverage("drive", reach_m=150.0)
    districts = load_grids(config.path("districts"), columns={"DIST_NUM": "grid_id"})
    districts["name"] = "Police district " + districts["grid_id"]
    hoods = load_grids(
        config.path("neighbourhoods"), columns={"name": "grid_id", "listname": "name"}
    )
    nested = nest_levels(
        [clip_grids(districts, area), clip_grids(hoods, area)],
        levels=["district", "community"],
        split_straddlers=True,
    )
    communities = nested.loc[nested["level"] == "community"]
    cells = make_grid(communities, cell_m=config.cell_m)
    grids = pd.concat([nested, cells], ignore_index=True)
    return gpd.GeoDataFrame(grids, geometry="geometry", crs="EPSG:4326")


def demo_units(
    config: DemoConfig,
    grids: gpd.GeoDataFrame,
    risk: pd.DataFrame,
    network: Network,
    shift: tuple[pd.Timestamp, pd.Timestamp],
) -> UnitsFile:
    """Police cars from the station for the whole shift; volunteers in the riskiest communities.

    Each volunteer walks the first three hours of the shift from a meeting point on a street of
    its own community and may only enter that community's cells.
    """
    start, end = shift
    communities = grids.loc[grids["level"] == "community"].set_index("grid_id")
    parent = grids.set_index("grid_id")["parent_id"]
    by_community = (
        risk.assign(community_id=risk["grid_id"].map(parent))
        .groupby("community_id")["risk"]
        .sum()
        .sort_values(ascending=False, kind="stable")
    )
    units: list[dict[str, Any]] = [
        {"unit_id": f"car-{i + 1}", "kind": "police_car", "mode": "drive", "depot": list(STATION)}
        for i in range(config.cars)
    ]
    for i, community_id in enumerate(by_community.index[: config.volunteers]):
        meet = network.stop_in_polygon(communities.loc[community_id, "geometry"], "walk")
        units.append(
            {
                "unit_id": f"vol-{i + 1}",
                "kind": "volunteer",
                "mode": "walk",
                "depot": [round(meet[0], 6), round(meet[1], 6)],
                "grids": [str(community_id)],
                "shift": {
                    "start": start.isoformat(),
                    "end": (start + pd.Timedelta(hours=3)).isoformat(),
                },
            }
        )
    doc = {
        "timezone": TIMEZONE,
        "shift": {"start": start.isoformat(), "end": end.isoformat()},
        "dwell_min": config.dwell_min,
        "max_stops": config.max_stops,
        "units": units,
    }
    return parse_units(doc, source="demo units")


def run_demo(config: DemoConfig, progress: Progress = lambda _: None) -> DemoResult:
    """Run every stage and write the demo's files under ``config.out_dir``."""
    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    result = DemoResult()

    with _stage(result, "street network", progress):
        network = load_network(config.path("network"), cache_dir=config.cache_dir)
    with _stage(result, "grids", progress):
        grids = build_grids(config, network)
        result.files["grids"] = out / "grids.geojson"
        grids.to_file(result.files["grids"], driver="GeoJSON")
    with _stage(result, "incidents and join", progress):
        load = load_incidents(config.path("incidents"), timezone=TIMEZONE)
        joined = join_incidents(load.incidents, grids)
        inside = joined.loc[joined["grid_id"].notna()].copy()
        inside["lon"] = inside.geometry.x.round(6)
        inside["lat"] = inside.geometry.y.round(6)
        result.files["incidents"] = out / "incidents.csv"
        inside[INCIDENT_COLUMNS].to_csv(result.files["incidents"], index=False)
        result.files["rejects"] = out / "rejects.csv"
        load.rejects.to_csv(result.files["rejects"], index=False)
        result.counts |= {
            "incidents_read": len(load.incidents) + len(load.rejects),
            "incidents_rejected": len(load.rejects),
            "incidents_in_area": len(inside),
            "incidents_outside": len(joined) - len(inside),
        }
    shift = shift_after(load.incidents["occurred_at"].max())
    with _stage(result, "risk", progress):
        risk = risk_table(joined, grids, now=shift[0], timezone=TIMEZONE)
        result.files["risk"] = out / "risk.csv"
        risk.to_csv(result.files["risk"], index=False)
    with _stage(result, "plan", progress):
        units = demo_units(config, grids, risk, network, shift)
        run = plan_shift(
            grids,
            joined,
            network,
            units,
            time_limit_s=config.time_limit_s,
            seed=config.seed,
            lang=config.lang,
        )
        result.plan = run.document
    with _stage(result, "map and GPX", progress):
        result.files |= write_outputs(run, grids, out, network=network, lang=config.lang)
    result.counts |= {
        "grids": len(grids),
        "leaf_grids": len(leaf_grids(grids)),
        "stops": int((~run.stops["presence"].astype(bool)).sum()),  # presence doses apart
    }
    return result
