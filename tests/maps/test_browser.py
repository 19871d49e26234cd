"""The saved map in a real browser (headless Debian Chromium) with the network blocked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest

from maps.folium_map import make_map, save_map
from tests.conftest import ROOT, require
from tests.maps.browser import chromium_available, open_offline

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"

OPEN_GRID_POPUP = """
() => {
  document.querySelectorAll('.leaflet-control-layers-overlays input').forEach(i => {
    if (!i.checked) i.click();
  });
  const select = document.querySelector('.pg-slider select');
  if (select && '__MODE__' === 'day') {
    select.value = 'day'; select.dispatchEvent(new Event('change'));
  }
  const slider = document.querySelector('.pg-slider input');
  if (slider) {
    slider.value = select && select.value === 'day' ? '2' : '22';
    slider.dispatchEvent(new Event('input'));
  }
  for (const key of Object.keys(window)) {
    if (!key.startsWith('data_layer_')) continue;
    const layer = window[key];
    if (!layer || !layer.getLayers) continue;
    const subs = layer.getLayers();
    const hit = subs.find(l => l.feature && l.feature.properties && l.feature.properties.how);
    if (hit) {
      // A real DOM click on the grids' canvas, where the grid's centre is drawn.
      const map = hit._map;
      const pt = map.latLngToContainerPoint(hit.getBounds().getCenter());
      const box = map.getContainer().getBoundingClientRect();
      const canvas = hit.options.renderer._container;
      canvas.dispatchEvent(new MouseEvent('click', {
        clientX: box.left + pt.x, clientY: box.top + pt.y, bubbles: true}));
      return true;
    }
  }
  return false;
}
"""

CHECKS = {
    "leaflet": "typeof window.L === 'object' && window.L.version",
    "canvases": "document.querySelectorAll('.leaflet-overlay-pane canvas').length",
    "route_paths": "document.querySelectorAll('.leaflet-overlay-pane svg path').length",
    "stop_markers": "document.querySelectorAll('.pg-stop').length",
    "depots": "document.querySelectorAll('.pg-depot').length",
    "layer_control": "document.querySelectorAll('.leaflet-control-layers-overlays label').length",
    "legend": "document.querySelectorAll('.pg-legend i').length",
    "popup_chart": "document.querySelectorAll('.leaflet-popup-content svg.pg-how rect').length",
    "popup_text": "(document.querySelector('.leaflet-popup-content') || {}).textContent || ''",
    "clusters": "document.querySelectorAll('.marker-cluster').length",
    "heat": "document.querySelectorAll('canvas.leaflet-heatmap-layer').length",
    "slider_hour": "(document.querySelector('.pg-slider .pg-hour') || {}).textContent",
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_map_renders_offline(
    lang: str,
    grids: gpd.GeoDataFrame,
    risk: pd.DataFrame,
    incidents: gpd.GeoDataFrame,
    plan: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Leaflet loads, grids draw on canvas, routes as SVG paths, popups chart, no request leaves."""
    require(chromium_available(), "Debian chromium")
    page = save_map(
        make_map(grids=grids, risk=risk, incidents=incidents, plan=plan, lang=lang),
        tmp_path / "map.html",
    )
    load = open_offline(
        page,
        checks=CHECKS,
        screenshot=ARTIFACTS / f"map_{lang}.png",
        user_data_dir=tmp_path / "profile",
        actions=OPEN_GRID_POPUP.replace("__MODE__", "hour" if lang == "en" else "day"),
    )
    assert load.external_requests == []
    assert load.console_errors == []
    r = load.results
    assert r["leaflet"] == "1.9.4"
    assert r["canvases"] >= 1
    assert r["route_paths"] >= 2
    assert r["stop_markers"] == 6
    assert r["depots"] == 2
    assert r["layer_control"] >= 6
    assert r["legend"] == 6 + 2  # six risk classes, then the key of the two units' colours
    assert r["popup_chart"] > 0
    assert r["clusters"] > 0
    assert r["heat"] == 1
    assert r["slider_hour"] == ("22:00" if lang == "en" else "周三")
    assert ("Risky hours" if lang == "en" else "高发时段") in r["popup_text"]
