"""GeoJSON export: RFC 7946 schema-valid, valid shapely geometries, 6 decimals, no crs member."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from maps.geojson_export import route_feature_collection
from maps.privacy import export_plan_routes, export_route
from tests.conftest import SCHEMAS


@pytest.fixture(scope="module")
def fc_schema(schemas_dir: Path) -> dict[str, Any]:
    return json.loads((schemas_dir / "geojson" / "rfc7946" / "FeatureCollection.json").read_text())


def test_geojson_validates(plan: dict[str, Any], fc_schema: dict[str, Any]) -> None:
    """Each unit's FeatureCollection passes the RFC 7946 schema and shapely's validity check."""
    for route in export_plan_routes(plan):
        fc = route_feature_collection(route)
        jsonschema.validate(fc, fc_schema)
        assert "crs" not in fc
        for feature in fc["features"]:
            geom = shapely.geometry.shape(feature["geometry"])
            assert geom.is_valid
        roles = [f["properties"]["role"] for f in fc["features"]]
        assert roles[0] == "route"
        assert roles.count("stop") == 6


coord = st.tuples(
    st.floats(min_value=-180, max_value=180, allow_nan=False),
    st.floats(min_value=-85, max_value=85, allow_nan=False),
)


@settings(max_examples=50, deadline=None)
@given(st.lists(coord, min_size=2, max_size=30, unique=True), st.sampled_from([0.0, 5.0, 50.0]))
def test_any_line_exports_valid(points: list[tuple[float, float]], simplify_m: float) -> None:
    """Any route geometry exports as a schema-valid line, rounded to 6 decimals, ends kept."""
    schema = json.loads((SCHEMAS / "geojson" / "rfc7946" / "FeatureCollection.json").read_text())
    route = {
        "unit_id": "u",
        "kind": "volunteer",
        "steps": [],
        "geometry": {"type": "LineString", "coordinates": [list(p) for p in points]},
    }
    fc = route_feature_collection(export_route(route), simplify_m=simplify_m)
    jsonschema.validate(fc, schema)
    line = fc["features"][0]["geometry"]["coordinates"]
    assert line[0] == [round(points[0][0], 6), round(points[0][1], 6)]
    assert line[-1] == [round(points[-1][0], 6), round(points[-1][1], 6)]
    assert all(round(v, 6) == v for xy in line for v in xy)
