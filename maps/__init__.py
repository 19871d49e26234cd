"""patrolgrid maps: offline folium maps and handheld exports (GPX, KML, GeoJSON, CSV, Shapefile)."""

from __future__ import annotations

from .errors import ExportError as ExportError
from .errors import MapsError as MapsError
from .export import FORMATS as FORMATS
from .export import ExportedUnit as ExportedUnit
from .export import export_plan as export_plan
from .folium_map import make_map as make_map
from .folium_map import map_html as map_html
from .folium_map import save_map as save_map
from .gpx import plan_to_gpx as plan_to_gpx
from .privacy import export_route as export_route
from .report import render_report as render_report
from .report import save_report as save_report
