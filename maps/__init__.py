"""patrolgrid maps: offline folium maps and handheld exports (GPX, KML, GeoJSON, CSV, Shapefile)."""

from __future__ import annotations

from .errors import ExportError as ExportError
from .errors import MapsError as MapsError
