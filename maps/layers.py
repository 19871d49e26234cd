"""Folium elements for the patrol map, drawn by this package's own small JavaScript.

Every layer carries its data as compact JSON and is drawn by a function of
``maps/static/patrolgrid.js``: one style function for all grids (colours computed in
Python), popups built on demand, so the page stays small and fast with 20,000 grids.
"""

from __future__ import annotations

import json
from typing import Any

import folium
import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from folium.map import ElementAddToElement
from folium.template import Template

from .assets import our_script

__all__ = [
    "DataLayer",
    "Legend",
    "PatrolgridScript",
    "RawScript",
    "feature_collection",
    "to_json",
]


def to_json(value: Any) -> str:
    """JSON safe to place inside a ``<script>`` element (no ``</`` sequence)."""
    # "<" as \u003c: no "</script>" or "<!--" can end or confuse the script element.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def feature_collection(
    geometries: np.ndarray, properties: list[dict[str, Any]], *, simplify_deg: float = 0.0
) -> str:
    """A GeoJSON FeatureCollection text with coordinates rounded to 6 decimals.

    Parameters
    ----------
    geometries
        Shapely geometries in EPSG:4326.
    properties
        One dict per geometry.
    simplify_deg
        Douglas-Peucker tolerance in degrees for display (0 keeps every vertex).

    Returns
    -------
    str
        The FeatureCollection, ready to embed with :func:`to_json` escaping applied.
    """
    geoms = np.asarray(geometries, dtype=object)
    if simplify_deg > 0:
        geoms = shapely.simplify(geoms, simplify_deg, preserve_topology=True)
    geoms = shapely.transform(geoms, lambda c: np.round(c, 6))
    texts = shapely.to_geojson(geoms)
    features = [
        f'{{"type":"Feature","properties":{to_json(props)},"geometry":{text}}}'
        for text, props in zip(texts, properties, strict=True)
        if text is not None
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


class RawScript(Element):
    """Literal text in the page, never parsed as a template.

    branca wraps every rendered macro in ``Element(text)``, which compiles ``text`` as a
    Jinja template: slow for megabytes of data, and wrong when a name contains ``{{``.
    """

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "RawScript"
        self.text = text


class PatrolgridScript(MacroElement):
    """Adds ``patrolgrid.js`` and the page's labels once, in the page header."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <script>{{ this.script }}</script>
        <script>PG.setLabels({{ this.labels }});</script>
        <style>
          .pg-popup table { border-collapse: collapse; font: 12px sans-serif; }
          .pg-popup th { text-align: left; padding-right: 8px; color: #444; }
          .leaflet-container { background: #f7f5f0; }
          .leaflet-container, .pg-popup table, .pg-slider, .pg-legend {
            font-family: "Helvetica Neue", Arial, "Microsoft YaHei", "PingFang SC",
              "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif !important;
          }
        </style>
        {% endmacro %}
        """
    )

    def __init__(self, labels: dict[str, str]) -> None:
        super().__init__()
        self._name = "PatrolgridScript"
        self.script = our_script("patrolgrid.js").replace("</script>", "<\\/script>")
        self.labels = to_json(labels)

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Put the script into the figure header (before any layer uses ``PG``)."""
        figure = self.get_root()
        assert isinstance(figure, Figure)
        figure.header.add_child(
            RawScript(self._template.module.header(self, kwargs)), name="patrolgrid_js"
        )


class DataLayer(folium.map.Layer):
    """A map layer whose data a ``PG`` JavaScript function turns into Leaflet layers.

    Parameters
    ----------
    name
        Name in the layer control.
    js
        JavaScript expression evaluating to a Leaflet layer; ``DATA`` stands for the data
        and ``MAP`` for the map variable.
    data_json
        The data as JSON text.
    show
        Whether the layer is on when the page opens.
    plugins
        ``(name, file)`` pairs of plugin scripts/styles the layer needs; the file names are
        keys of :data:`maps.assets.ASSETS`, inlined when the map is saved.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (DATA, MAP) { return {{ this.js }}; })(
            {{ this.data_json }}, {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        name: str,
        js: str,
        data_json: str,
        *,
        show: bool = True,
        plugins: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "DataLayer"
        self.layer_js = js
        self.data_json = data_json
        self.plugins = plugins

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Register the plugin files this layer needs, then render it."""
        figure = self.get_root()
        assert isinstance(figure, Figure)
        for name, file in self.plugins:
            link = (
                folium.elements.CssLink(f"local/{file}")
                if file.endswith(".css")
                else folium.elements.JavascriptLink(f"local/{file}")
            )
            figure.header.add_child(link, name=name)
        parent = self._parent
        assert parent is not None, "add the layer to a map first"
        if self.show:
            self.add_child(
                ElementAddToElement(
                    element_name=self.get_name(), element_parent_name=parent.get_name()
                ),
                name=self.get_name() + "_add",
            )
        data = self.data_json
        if self.show:
            self.js = self.layer_js
        else:
            # Hidden layers: data kept as inert JSON, parsed and drawn on first display, so
            # they cost nothing at page load.
            data_id = f"{self.get_name()}_data"
            figure.html.add_child(
                RawScript(f'<script type="application/json" id="{data_id}">{data}</script>'),
                name=data_id,
            )
            self.js = f'PG.lazy(function () {{ DATA = PG.jsonData("{data_id}"); return {self.layer_js}; }})'
            self.data_json = "null"
        script = self._template.module.__dict__["script"](self, kwargs)
        self.data_json = data
        figure.script.add_child(RawScript(script), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class Legend(MacroElement):
    """The risk legend: ``(colour, label)`` items in a control at the bottom right."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        PG.legend({{ this._parent.get_name() }}, {{ this.title }}, {{ this.items }});
        {% endmacro %}
        """
    )

    def __init__(self, title: str, items: list[tuple[str, str]]) -> None:
        super().__init__()
        self._name = "Legend"
        self.title = to_json(title)
        self.items = to_json([list(it) for it in items])
