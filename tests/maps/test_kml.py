"""KML 2.2 export: valid against OGC's schema (xAL resolved from the local catalog), styled."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from maps.kml import kml_color, routes_to_kml
from maps.privacy import export_plan_routes

KML_NS = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture(scope="module")
def kml_schema(schemas_dir: Path) -> xmlschema.XMLSchema:
    """ogckml22.xsd with remote imports mapped to local copies by catalog.xml."""
    folder = schemas_dir / "kml" / "2.2.0"
    catalog = ET.parse(folder / "catalog.xml").getroot()
    ns = "{urn:oasis:names:tc:entity:xmlns:xml:catalog}"
    local = {e.get("systemId"): str(folder / e.get("uri", "")) for e in catalog.iter(f"{ns}system")}
    return xmlschema.XMLSchema(str(folder / "ogckml22.xsd"), uri_mapper=lambda u: local.get(u, u))


@pytest.mark.parametrize("audience", ["police", "volunteer"])
def test_kml_is_schema_valid(
    plan: dict[str, Any], kml_schema: xmlschema.XMLSchema, audience: str
) -> None:
    """The whole plan's KML validates against ogckml22.xsd for either audience."""
    routes = export_plan_routes(plan, audience=audience)
    kml_schema.validate(routes_to_kml(routes, with_incidents=audience == "police"))


def test_one_folder_per_unit_with_line_and_stops(plan: dict[str, Any]) -> None:
    """Each unit is a Folder holding its route line (unit colour) and its stops in order."""
    root = ET.fromstring(routes_to_kml(export_plan_routes(plan)))
    folders = root.findall(f".//{KML_NS}Folder")
    assert [f.findtext(f"{KML_NS}name") for f in folders] == ["police_car-1", "volunteer-2"]
    first = folders[0]
    names = [p.findtext(f"{KML_NS}name") for p in first.findall(f"{KML_NS}Placemark")]
    assert names == [
        "police_car-1 route",
        "start",
        "1 c1-000",
        "break",
        "2 c1-005",
        "3 c1-010",
        "end",
    ]
    styles = {s.get("id"): s for s in root.findall(f".//{KML_NS}Style")}
    assert styles["unit-0"].findtext(f".//{KML_NS}LineStyle/{KML_NS}color") == kml_color("#1f77b4")


def test_kml_coordinates_have_six_decimals(plan: dict[str, Any]) -> None:
    """No coordinate in the document carries more than 6 decimals."""
    plan["routes"][0]["geometry"]["coordinates"][1] = [-75.123456789, 39.987654321]
    text = routes_to_kml(export_plan_routes(plan))
    root = ET.fromstring(text)
    for coords in root.iter(f"{KML_NS}coordinates"):
        for number in coords.text.replace(",", " ").split():
            assert len(number.split(".")[-1]) <= 6
    assert "-75.123457,39.987654" in text
