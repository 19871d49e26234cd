"""The map of real North Philadelphia data (OSM streets, city incidents) in a real browser."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from maps.folium_map import make_map, save_map
from tests.conftest import ROOT, require
from tests.maps.browser import chromium_available, open_offline

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_north_philadelphia_map_offline(phl_dir: Path, tmp_path: Path) -> None:
    """250 m grids in the neighbourhoods around Temple University, January 2025 incidents, streets
    from the .osm file: the page opens offline with every layer drawn and no console error."""
    require(chromium_available(), "Debian chromium")
    from geo.gridgen import make_grid
    from geo.hotspots import risk_table
    from geo.incidents import load_incidents
    from geo.join import join_incidents
    from geo.network import load_network

    area = shapely.box(-75.170, 39.9707, -75.145, 39.9910)
    hoods = gpd.read_file(phl_dir / "phl_neighborhoods_azavea.geojson")
    hoods = hoods[hoods.intersects(area)].copy()
    hoods["geometry"] = hoods.intersection(area)
    community = gpd.GeoDataFrame(
        {
            "grid_id": hoods["name"].astype(str).to_numpy(),
            "level": "community",
            "parent_id": None,
            "name": hoods["listname"].astype(str).to_numpy(),
        },
        geometry=hoods.geometry.to_numpy(),
        crs=4326,
    )
    cells = make_grid(community, cell_m=250.0)
    grids = pd.concat([community, cells], ignore_index=True)
    incidents = load_incidents(phl_dir / "phl_incidents_2025-01.csv").incidents
    joined = join_incidents(incidents, grids)
    risk = risk_table(joined, grids, now="2025-01-22T05:00:00Z", timezone="America/New_York")
    streets = load_network(phl_dir / "temple_north_philly.osm", polygon=community).edges("drive")
    inside = joined[joined["grid_id"].notna()]

    fmap = make_map(
        grids=grids, risk=risk, incidents=inside, streets=streets, timezone="America/New_York"
    )
    page = save_map(fmap, tmp_path / "phl.html")
    load = open_offline(
        page,
        checks={
            "leaflet": "window.L && window.L.version",
            "canvases": "document.querySelectorAll('.leaflet-overlay-pane canvas').length",
            "borders": "document.querySelectorAll('.leaflet-overlay-pane svg path').length",
        },
        screenshot=ROOT / "test-artifacts" / "map_philadelphia.png",
        user_data_dir=tmp_path / "profile",
    )
    assert load.external_requests == []
    assert load.console_errors == []
    assert load.results["leaflet"] == "1.9.4"
    assert load.results["canvases"] >= 1
    assert load.results["borders"] == len(community)
