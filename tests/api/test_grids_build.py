"""``patrolgrid grids build``: a city's own files to a checked hierarchy, bad specs in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app
from tests.api.own_city import write_city
from tests.conftest import PHL

OSM = PHL / "temple_north_philly.osm"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_city(tmp_path_factory.mktemp("city"))


def _levels(city: dict[str, Path]) -> list[str]:
    return [
        "--level",
        f"area={city['areas.gpkg']}:AREA_NO:AREA_NAME",
        "--level",
        f"beat={city['beats.gpkg']}:beat_num:beat_name",
    ]


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_build_then_check_passes(city: dict[str, Path], tmp_path: Path, shape: str) -> None:
    """grids build writes area > beat > cells clipped to the extract, noting the merged beat,
    and the file passes grids check with no error."""
    out = tmp_path / "grids.geojson"
    built = CliRunner().invoke(
        app,
        [
            "grids",
            "build",
            *_levels(city),
            "--cells",
            "250",
            "--shape",
            shape,
            "--network",
            str(OSM),
            "--out",
            str(out),
        ],
    )
    assert built.exit_code == 0, built.output
    assert "share id 'B12'" in " ".join(built.output.split())
    assert "2 area" in built.output
    checked = CliRunner().invoke(app, ["grids", "check", str(out), "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["errors"] == 0


def test_bad_specs_are_one_line(city: dict[str, Path], tmp_path: Path) -> None:
    """A malformed --level, or an id column the file lacks, is one line and exit code 2."""
    out = tmp_path / "g.geojson"
    bad = CliRunner().invoke(
        app, ["grids", "build", "--level", f"beat={city['beats.gpkg']}", "--out", str(out)]
    )
    assert bad.exit_code == 2
    assert "NAME=FILE:ID_COLUMN" in bad.output
    missing = CliRunner().invoke(
        app,
        ["grids", "build", "--level", f"beat={city['beats.gpkg']}:BEAT", "--out", str(out)],
    )
    assert missing.exit_code == 2
    said = " ".join(missing.output.split())
    assert "no id column 'BEAT'; the file has beat_num, beat_name" in said
    assert "Traceback" not in missing.output


def test_api_builds_from_a_manifest(city: dict[str, Path], client: TestClient) -> None:
    """POST /grids/build nests inline GeoJSON levels like the command, stores them and returns
    the notes; a bad id column is a 422 problem naming the level, not a server path."""
    import geopandas as gpd

    from tests.api.conftest import token_headers

    def features(path: Path) -> dict:
        return json.loads(gpd.read_file(path).to_json())

    manifest = {
        "levels": [
            {"name": "area", "id_column": "AREA_NO", "features": features(city["areas.gpkg"])},
            {
                "name": "beat",
                "id_column": "beat_num",
                "name_column": "beat_name",
                "features": features(city["beats.gpkg"]),
            },
        ],
        "cells_m": 400,
    }
    admin = token_headers("admin")
    response = client.post("/grids/build", json=manifest, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stored"] > 10
    assert any("share id 'B12'" in note for note in body["notes"])
    manifest["levels"][1]["id_column"] = "BEAT"
    bad = client.post("/grids/build", json=manifest, headers=admin)
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    assert "level beat (levels[1]): no id column 'BEAT'" in detail
    assert "patrolgrid-build" not in detail


def test_join_names_the_city_levels(city: dict[str, Path], tmp_path: Path) -> None:
    """After grids build, join also writes area_id and beat_id, the beat's own id even where an
    area border cut it into pieces."""
    grids = tmp_path / "grids.geojson"
    built = CliRunner().invoke(
        app, ["grids", "build", *_levels(city), "--network", str(OSM), "--out", str(grids)]
    )
    assert built.exit_code == 0, built.output
    out = tmp_path / "joined.csv"
    joined = CliRunner().invoke(
        app,
        [
            "join",
            "--grids",
            str(grids),
            "--incidents",
            str(city["crimes.csv"]),
            "--out",
            str(out),
            "--columns",
            "incident_id=case_number,occurred_at=date,category=primary_type,"
            "lon=x_coord,lat=y_coord",
            "--incidents-crs",
            "EPSG:32618",
        ],
    )
    assert joined.exit_code == 0, joined.output
    table = pd.read_csv(out, dtype=str)
    assert {"area_id", "beat_id"} <= set(table.columns)
    inside = table.dropna(subset=["grid_id"])
    assert set(inside["beat_id"]) <= {"B11", "B12", "B13", "B21", "B22", "B23"}
    assert set(inside["area_id"]) <= {"7", "9"}
    assert (inside["grid_id"].str.contains("@") & ~inside["beat_id"].str.contains("@")).any()
