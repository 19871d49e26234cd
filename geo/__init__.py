"""patrolgrid geo: grids, incidents, spatial joins, hotspots and street networks."""

from __future__ import annotations

from .errors import CRSError as CRSError
from .errors import GeoError as GeoError
from .errors import GridError as GridError
from .errors import IncidentError as IncidentError
from .errors import NetworkError as NetworkError
from .hierarchy import LEVELS as LEVELS
from .hierarchy import ancestor_table as ancestor_table
from .hierarchy import leaf_grids as leaf_grids
from .hotspots import risk_table as risk_table
from .network import Network as Network
from .network import Snap as Snap
from .network import StreetStop as StreetStop
from .network import load_network as load_network
