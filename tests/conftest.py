"""Shared fixtures: where the real data lives, and the rules for optional test groups.

The real public data sets live in ``../shared/data`` next to the checkout (read in place, never
copied); ``PATROLGRID_SHARED`` points elsewhere. Tests marked ``slow`` run with ``--slow`` (the
README's test command and CI pass it). Tests marked ``postgis`` or ``browser`` need a PostGIS
server or Debian's Chromium: they skip with the reason on a developer machine that lacks them,
and fail under ``CI=true``, where ``.ci/run`` installs both.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import geopandas as gpd

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PATROLGRID_SHARED", ROOT.parent / "shared")).resolve()
PHL = SHARED / "data" / "philadelphia"
GUANGZHOU = SHARED / "data" / "guangzhou"
SCHEMAS = SHARED / "schemas"
BENCHMARKS = SHARED / "benchmarks"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


def require(available: bool, what: str) -> None:
    """Skip (developer machine) or fail (CI) when a real dependency is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true (.ci/run installs it)")
    pytest.skip(f"{what} is not available on this machine")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder; the whole suite needs it."""
    if not SHARED.is_dir():
        pytest.fail(f"shared data not found at {SHARED}; set PATROLGRID_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def phl_dir(shared_dir: Path) -> Path:
    """North Philadelphia sample: OSM extract, incidents, districts, neighbourhoods."""
    return PHL


@pytest.fixture(scope="session")
def schemas_dir(shared_dir: Path) -> Path:
    """Offline GPX 1.1, KML 2.2 and GeoJSON schemas."""
    return SCHEMAS


def north_philly_grids(top_level: str = "community") -> gpd.GeoDataFrame:
    """Three North Philadelphia neighbourhoods (level ``top_level``) with 400 m cells below them:
    ``grid_id``, ``level``, ``parent_id``, ``name``, geometry in EPSG:4326 (the plan tests' city)."""
    import geopandas as gpd
    import pandas as pd

    from geo.gridgen import make_grid
    from geo.grids import load_grids

    hoods = load_grids(
        PHL / "phl_neighborhoods_azavea.geojson", columns={"name": "grid_id", "listname": "name"}
    )
    hoods = hoods.loc[hoods["grid_id"].isin(["NORTH_CENTRAL", "YORKTOWN", "HARTRANFT"])].copy()
    hoods["level"] = top_level
    hoods["parent_id"] = None
    cells = make_grid(hoods, cell_m=400.0)
    frame = gpd.GeoDataFrame(pd.concat([hoods, cells], ignore_index=True), crs="EPSG:4326")
    return frame[["grid_id", "level", "parent_id", "name", "geometry"]]
