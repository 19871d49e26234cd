"""patrolgrid geo: grids, incidents, spatial joins, hotspots and street networks."""

from __future__ import annotations

from .alerts import near_repeats as near_repeats
from .alerts import trend_alerts as trend_alerts
from .categories import CategoryTable as CategoryTable
from .categories import load_categories as load_categories
from .crs import frame_to_wgs84 as frame_to_wgs84
from .crs import to_gcj02 as to_gcj02
from .crs import to_wgs84 as to_wgs84
from .errors import CRSError as CRSError
from .errors import GeoError as GeoError
from .errors import GridError as GridError
from .errors import IncidentError as IncidentError
from .errors import NetworkError as NetworkError
from .gridgen import make_grid as make_grid
from .gridgen import make_h3_grid as make_h3_grid
from .grids import clip_grids as clip_grids
from .grids import load_grids as load_grids
from .grids import nest_levels as nest_levels
from .hierarchy import LEVELS as LEVELS
from .hierarchy import ancestor_table as ancestor_table
from .hierarchy import leaf_grids as leaf_grids
from .hotspot_report import hotspot_table as hotspot_table
from .hotspot_report import roll_up_risk as roll_up_risk
from .hotspots import risk_table as risk_table
from .incidents import IncidentLoad as IncidentLoad
from .incidents import load_incidents as load_incidents
from .join import GridIndex as GridIndex
from .join import assign_grids as assign_grids
from .join import join_incidents as join_incidents
from .levels import CityLevel as CityLevel
from .levels import build_hierarchy as build_hierarchy
from .levels import osm_bounds as osm_bounds
from .levels import read_level as read_level
from .network import Network as Network
from .network import Snap as Snap
from .network import StreetStop as StreetStop
from .network import load_network as load_network
from .rollup import roll_up as roll_up
from .validate import GridReport as GridReport
from .validate import check_file as check_file
from .validate import check_grids as check_grids
