"""``patrolgrid plan --by district``: one plan per district, solved on a Dask cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.conftest import PHL, north_philly_grids

UNITS = """\
timezone: America/New_York
shift: {start: "2025-01-22T18:00", end: "2025-01-23T02:00"}
max_stops: 20
units:
  - {unit_id: car-1, kind: police_car, depot: [-75.1627, 39.9796]}
  - {unit_id: vol-1, kind: volunteer, mode: walk, depot: [-75.155, 39.982], grids: [YORKTOWN]}
  - {unit_id: car-far, kind: police_car, depot: [-75.17268, 39.97184]}
"""


def _district_grids(tmp_path: Path) -> Path:
    """Three neighbourhoods as districts, 400 m cells below them."""
    path = tmp_path / "grids.geojson"
    north_philly_grids("district").to_file(path, driver="GeoJSON")
    return path


@pytest.mark.slow
def test_plan_by_district_on_a_local_cluster(tmp_path: Path) -> None:
    """Each district with units gets its own folder and plan whose visits stay in it, each
    visit with its why in the plan's language (--lang zh); the district without units and the
    unit outside every district are reported, not planned."""
    from distributed import LocalCluster

    units = tmp_path / "units.yaml"
    units.write_text(UNITS)
    out = tmp_path / "out"
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        args = [
            "plan", "--grids", str(_district_grids(tmp_path)),
            "--incidents", str(PHL / "phl_incidents_2025-01.csv"),
            "--network", str(PHL / "temple_north_philly.osm"),
            "--units", str(units), "--out", str(out), "--time-limit", "1",
            "--by", "district", "--scheduler", cluster.scheduler_address,
            "--lang", "zh", "--crs", "gcj02",
        ]  # fmt: skip
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    planned = sorted(p.name for p in out.iterdir())
    assert len(planned) == 2
    assert "YORKTOWN" in planned
    units_seen = set()
    for name in planned:
        doc = json.loads((out / name / "plan.json").read_text())
        assert doc["summary"]["valid"] is True
        assert (out / name / "map.html").is_file()
        for route in doc["routes"]:
            units_seen.add(route["unit_id"])
            visits = [s for s in route["steps"] if s["type"] == "visit"]
            assert all(s["grid_id"].startswith(name) for s in visits)
            assert all(s["why"] for s in visits)
            assert any("本班次" in s["why"] for s in visits)
    assert units_seen == {"car-1", "vol-1"}
    assert "car-far is in no district" in result.output
    assert "no units, not planned" in result.output
    assert "2 plans solved on 2 Dask workers" in result.output


def test_scheduler_without_by_is_one_line_exit_2(tmp_path: Path) -> None:
    """--scheduler without --by is refused with one line naming --by."""
    units = tmp_path / "units.yaml"
    units.write_text(UNITS)
    args = [
        "plan", "--grids", str(tmp_path / "g.geojson"), "--incidents", str(tmp_path / "i.csv"),
        "--network", str(tmp_path / "n.osm"), "--units", str(units), "--out", str(tmp_path / "o"),
        "--scheduler", "tcp://127.0.0.1:1",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "--by district" in result.output
    assert "Traceback" not in result.output
