"""KML 2.2 for Google Earth, phones and PDT terminals, written with fastkml (schema-valid).

One ``<Folder>`` per unit: a styled route line along the streets and one point placemark per
stop (name ``"3 grid-id"``, description with arrival, departure and dwell). Colours follow the
map's unit colours.
"""

from __future__ import annotations

from typing import Any

import pygeoif.geometry as pg
from fastkml import KML, Document, Folder, LineStyle, Placemark, Style, StyleUrl
from fastkml.styles import LabelStyle

from .colors import UNIT_COLORS
from .stops import route_line, stop_rows

__all__ = ["kml_color", "routes_to_kml"]


def kml_color(hex_rgb: str, *, alpha: str = "ff") -> str:
    """``"#1f77b4"`` -> KML's ``aabbggrr`` (``"ffb4771f"``).

    >>> kml_color("#1f77b4")
    'ffb4771f'
    """
    h = hex_rgb.lstrip("#")
    return f"{alpha}{h[4:6]}{h[2:4]}{h[0:2]}".lower()


def _stop_description(row: dict[str, Any]) -> str:
    parts = [
        f"arrival {row['arrival']}" if row["arrival"] else "",
        f"departure {row['departure']}" if row["departure"] else "",
        f"dwell {row['dwell_min']:g} min",
        f"incidents {row['incidents']}" if row.get("incidents") else "",
    ]
    return "; ".join(p for p in parts if p)


def routes_to_kml(
    routes: list[dict[str, Any]],
    *,
    name: str = "patrol plan",
    simplify_m: float = 0.0,
    with_incidents: bool = False,
) -> str:
    """Cleaned routes (see :mod:`maps.privacy`) as one KML 2.2 document.

    Parameters
    ----------
    routes
        Routes cleaned by :func:`maps.privacy.export_route`.
    name
        Document name.
    simplify_m
        Route line simplification tolerance in metres.
    with_incidents
        Put incident summaries into stop descriptions (police audience only).

    Returns
    -------
    str
        KML 2.2 XML, valid against OGC's ogckml22.xsd.
    """
    styles: list[Style] = []
    folders: list[Folder] = []
    for k, route in enumerate(routes):
        color = UNIT_COLORS[k % len(UNIT_COLORS)]
        sid = f"unit-{k}"
        styles.append(
            Style(
                id=sid,
                # KML's StyleType is a sequence: LabelStyle before LineStyle.
                styles=[
                    LabelStyle(color=kml_color(color), scale=0.8),
                    LineStyle(color=kml_color(color), width=4.0),
                ],
            )
        )
        unit = str(route.get("unit_id", f"unit {k}"))
        line = route_line(route, simplify_m=simplify_m)
        placemarks: list[Placemark] = []
        if len(line) >= 2:
            placemarks.append(
                Placemark(
                    name=f"{unit} route",
                    description=f"{route.get('kind', '')} {route.get('mode', '')}".strip(),
                    style_url=StyleUrl(url=f"#{sid}"),
                    geometry=pg.LineString([(float(x), float(y)) for x, y in line]),
                )
            )
        whys = [
            str(s.get("why") or "") for s in route.get("steps", []) if "lon" in s and "lat" in s
        ]
        for row, why in zip(stop_rows(route, with_incidents=with_incidents), whys, strict=True):
            if row["type"] == "visit":
                label = f"{row['order']} {row['grid']}".strip()
            elif row["type"] == "checkpoint":
                label = f"{row['order']} checkpoint {row['grid']}".strip()
            else:
                label = row["type"]
            placemarks.append(
                Placemark(
                    name=label,
                    description="; ".join(p for p in (why, _stop_description(row)) if p),
                    style_url=StyleUrl(url=f"#{sid}"),
                    geometry=pg.Point(row["lon"], row["lat"]),
                )
            )
        folders.append(Folder(name=unit, features=placemarks))
    doc = Document(name=name, styles=styles, features=folders)
    kml = KML(features=[doc])
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + kml.to_string(prettyprint=True)
