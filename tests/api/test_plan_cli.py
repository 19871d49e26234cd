"""``patrolgrid plan``: plan.json, map.html and per-unit GPX from real files; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import gpxpy
import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.conftest import PHL, north_philly_grids

UNITS = """\
timezone: America/New_York
shift: {start: "2025-01-22T18:00", end: "2025-01-23T02:00"}
max_stops: 30
units:
  - {unit_id: car-1, kind: police_car, depot: [-75.1627, 39.9796], breaks: [{earliest: "21:00", latest: "22:00", minutes: 30}]}
  - {unit_id: vol-1, kind: volunteer, mode: walk, depot: [-75.155, 39.982], grids: [NORTH_CENTRAL]}
  - {unit_id: vol-2, kind: volunteer, mode: walk, depot: [-75.155, 39.982]}
"""


def _grids(tmp_path: Path) -> Path:
    path = tmp_path / "grids.geojson"
    north_philly_grids().to_file(path, driver="GeoJSON")
    return path


@pytest.mark.slow
def test_plan_writes_plan_map_and_gpx(tmp_path: Path) -> None:
    """On North Philadelphia data the command writes a valid plan, a map and one GPX per route;
    every visit carries a why in the plan's language (zh here), also in the GPX and report."""
    units = tmp_path / "units.yaml"
    units.write_text(UNITS)
    out = tmp_path / "out"
    args = [
        "plan",
        "--grids",
        str(_grids(tmp_path)),
        "--incidents",
        str(PHL / "phl_incidents_2025-01.csv"),
        "--network",
        str(PHL / "temple_north_philly.osm"),
        "--units",
        str(units),
        "--out",
        str(out),
        "--time-limit",
        "2",
        "--lang",
        "zh",
        "--crs",
        "gcj02",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "plan.json").read_text())
    s = doc["summary"]
    assert s["valid"] is True
    # GPX for GCJ-02 map apps is recorded; Philadelphia is outside China, so nothing moves
    assert doc["routes_crs"] == "gcj02"
    first = doc["routes"][0]
    track = gpxpy.parse((out / "routes" / f"{first['unit_id']}.gpx").read_text())
    depot = track.routes[0].points[0]
    assert (depot.longitude, depot.latitude) == pytest.approx(
        (first["steps"][0]["lon"], first["steps"][0]["lat"])
    )
    assert s["visits"] > 0
    assert s["shift_start"] == "2025-01-22T18:00:00-05:00"
    assert 0 < s["risk_covered_pct"] <= 100
    assert (out / "map.html").stat().st_size > 10_000
    for route in doc["routes"]:
        assert (out / "routes" / f"{route['unit_id']}.gpx").is_file()
        assert route["geometry"]["type"] == "LineString"
        if route["kind"] == "volunteer":
            assert all("incidents" not in step for step in route["steps"])
            assert all(
                step["grid_id"].startswith("NORTH_CENTRAL")
                for step in route["steps"]
                if step["type"] == "visit"
            )
    visits = [step for route in doc["routes"] for step in route["steps"] if step["type"] == "visit"]
    assert all("本班次" in step["why"] for step in visits)
    car = (out / "routes" / "car-1.gpx").read_text(encoding="utf-8")
    assert "本班次" in car
    assert "本班次" in (out / "report.html").read_text(encoding="utf-8")
    assert "forecast_method" in s
    reasons = {u.get("unit_id"): u["reason"] for u in doc["unassigned"]}
    assert reasons["vol-2"] == "volunteer has no grid it may enter"


def test_bad_units_file_is_one_line_exit_2(tmp_path: Path) -> None:
    """A malformed units file ends with exit code 2 and one line naming the file and field."""
    units = tmp_path / "units.yaml"
    units.write_text(
        "timezone: UTC\nshift: {start: 2025-01-01T18:00, end: 2025-01-02T02:00}\nunits:\n  - {unit_id: x, kind: tank, depot: [0, 0]}\n"
    )
    grids = tmp_path / "g.geojson"
    grids.write_text('{"type": "FeatureCollection", "features": []}')
    result = CliRunner().invoke(
        app,
        [
            "plan",
            "--grids",
            str(grids),
            "--incidents",
            str(grids),
            "--network",
            str(grids),
            "--units",
            str(units),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert "units[0].kind" in result.output
    assert "Traceback" not in result.output


def test_unknown_backend_is_one_line_exit_2(tmp_path: Path) -> None:
    """--backend names a registered backend; anything else is exit 2 with one line."""
    units = tmp_path / "units.yaml"
    units.write_text(UNITS)
    result = CliRunner().invoke(
        app,
        [
            "plan",
            *("--grids", str(units), "--incidents", str(units), "--network", str(units)),
            *("--units", str(units), "--out", str(tmp_path / "o"), "--backend", "magic"),
        ],
    )
    assert result.exit_code == 2
    assert "--backend: 'magic' is not one of ortools, portfolio" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_unknown_crs_is_one_line_exit_2(tmp_path: Path) -> None:
    """--crs is wgs84, gcj02 or bd09; anything else is exit 2 with one line, before any solve."""
    units = tmp_path / "units.yaml"
    units.write_text(UNITS)
    result = CliRunner().invoke(
        app,
        [
            "plan",
            *("--grids", str(units), "--incidents", str(units), "--network", str(units)),
            *("--units", str(units), "--out", str(tmp_path / "o"), "--crs", "utm"),
        ],
    )
    assert result.exit_code == 2
    assert "--crs 'utm': use one of wgs84, gcj02, bd09" in " ".join(result.output.split())
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_unmet_checkpoint_warns_and_strict_exits_2(tmp_path: Path) -> None:
    """A checkpoint no unit kind may serve is named with its reason; exit 0 with a warning,
    2 with --strict. A met checkpoint is a 'checkpoint' step with its name in plan.json."""
    units = tmp_path / "units.yaml"
    units.write_text(
        UNITS
        + "checkpoints:\n"
        + '  - {name: bank, lon: -75.158, lat: 39.981, windows: ["20:00-20:30"], '
        + "kinds: [property_security]}\n"
        + '  - {name: school, lon: -75.156, lat: 39.983, windows: ["19:00-19:40"], '
        + "kinds: [police_car]}\n"
    )
    grids = _grids(tmp_path)
    args = [
        "plan",
        "--grids",
        str(grids),
        "--incidents",
        str(PHL / "phl_incidents_2025-01.csv"),
        "--network",
        str(PHL / "temple_north_philly.osm"),
        "--units",
        str(units),
        "--time-limit",
        "2",
        "--backend",
        "ortools",
    ]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "warning: checkpoint bank not met" in " ".join(result.output.split())
    doc = json.loads((tmp_path / "a" / "plan.json").read_text())
    met = {c["name"]: c["met"] for c in doc["summary"]["checkpoints"]}
    assert met == {"bank": False, "school": True}
    steps = [
        (r["unit_id"], s["name"])
        for r in doc["routes"]
        for s in r["steps"]
        if s["type"] == "checkpoint"
    ]
    assert steps == [("car-1", "school")]
    strict = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b"), "--strict"])
    assert strict.exit_code == 2, strict.output
