"""Offline assets: every CDN link becomes an inlined local file, anything else is refused."""

from __future__ import annotations

import folium
import pytest

from maps.assets import ASSETS, asset_text, inline_html
from maps.errors import MapsError


def test_every_asset_is_installed() -> None:
    """Each local asset exists in its pinned package; Leaflet is 1.9.4; CSS images are inlined."""
    for name in ASSETS:
        assert asset_text(name)
    assert 'version="1.9.4"' in asset_text("leaflet.js")
    css = asset_text("leaflet.css")
    assert "url(images/" not in css
    assert "data:image/png;base64," in css


def test_unknown_remote_script_is_refused() -> None:
    """A script from a CDN without a local copy is an error naming the URL."""
    page = '<script src="https://cdn.example.org/leaflet.fancy.js"></script>'
    with pytest.raises(MapsError, match=r"leaflet\.fancy\.js"):
        inline_html(page)


def test_awesome_markers_are_refused() -> None:
    """folium.Icon needs awesome-markers, which is not shipped offline: refused, not blank."""
    fmap = folium.Map(tiles=None)
    folium.Marker([0, 0], icon=folium.Icon(color="red")).add_to(fmap)
    with pytest.raises(MapsError, match="DivIcon"):
        inline_html(fmap.get_root().render())


def test_plain_folium_page_becomes_offline() -> None:
    """folium's default page keeps no remote script or stylesheet after inlining."""
    html = inline_html(folium.Map(tiles=None).get_root().render())
    assert "<script src=" not in html
    assert 'rel="stylesheet"' not in html
