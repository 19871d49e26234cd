"""Incidents from any source: --columns, --timezone and --categories, the same on every command."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from api.cli import app
from geo.categories import SHIPPED_TABLES, default_categories, load_categories
from geo.errors import IncidentError
from geo.incidents import load_incidents


def _grids(path: Path) -> Path:
    gpd.GeoDataFrame(
        {"grid_id": ["w", "e"]},
        geometry=[box(-87.70, 41.90, -87.69, 41.91), box(-87.69, 41.90, -87.68, 41.91)],
        crs=4326,
    ).to_file(path)
    return path


def _chicago_export(path: Path) -> Path:
    """A raw Chicago-style export: its own column names, local times without an offset, one in
    the 2025-03-09 spring-forward gap and one in the 2025-11-02 repeated hour."""
    pd.DataFrame(
        {
            "Case Number": ["JH1", "JH2", "JH3", "JH4"],
            "Date": ["03/09/2025 02:30:00 AM", "11/02/2025 01:30:00 AM", "2025-06-01 22:15", ""],
            "Primary Type": ["ROBBERY", "THEFT", "MYSTERY CODE", "THEFT"],
            "Longitude": [-87.695, -87.685, -87.685, -87.685],
            "Latitude": [41.905, 41.905, 41.905, 41.905],
        }
    ).to_csv(path, index=False)
    return path


COLUMNS = (
    "incident_id=Case Number,occurred_at=Date,category=Primary Type,lon=Longitude,lat=Latitude"
)


def test_join_reads_a_raw_export_with_columns_timezone_and_categories(tmp_path: Path) -> None:
    """join maps the export's own columns, reads local times in --timezone (reporting DST gap and
    repeat), rejects the row without a time, and lists the unknown category with its count."""
    out = tmp_path / "joined.csv"
    result = CliRunner().invoke(
        app,
        [
            "join",
            "--grids",
            str(_grids(tmp_path / "g.geojson")),
            "--incidents",
            str(_chicago_export(tmp_path / "raw.csv")),
            "--out",
            str(out),
            "--columns",
            COLUMNS,
            "--timezone",
            "America/Chicago",
            "--categories",
            "chicago_iucr",
        ],
    )
    assert result.exit_code == 0, result.output
    joined = pd.read_csv(out, dtype=str)
    assert joined["incident_id"].tolist() == ["JH1", "JH2", "JH3", "JH4"]
    assert joined["grid_id"].tolist()[:3] == ["w", "e", "e"]
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "3 incidents loaded, 1 rejected" in said
    assert "1 local times in a daylight-saving gap" in said
    assert "1 in a repeated hour" in said
    assert "MYSTERY CODE 1" in said


def test_same_options_on_hotspots(tmp_path: Path) -> None:
    """hotspots takes the same --columns and --categories and counts the mapped incidents."""
    result = CliRunner().invoke(
        app,
        [
            "hotspots",
            "--grids",
            str(_grids(tmp_path / "g.geojson")),
            "--incidents",
            str(_chicago_export(tmp_path / "raw.csv")),
            "--out",
            str(tmp_path / "hs"),
            "--columns",
            COLUMNS,
            "--timezone",
            "America/Chicago",
            "--categories",
            "chicago_iucr",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "hs" / "hotspots.csv", dtype={"grid_id": str})
    assert table.set_index("grid_id")["count"].to_dict() == {"w": 1, "e": 2}


def test_columns_from_yaml_and_wrong_way_round(tmp_path: Path) -> None:
    """--columns takes a YAML file too; a pair written the wrong way round is one line, exit 2."""
    mapping = tmp_path / "columns.yaml"
    mapping.write_text(
        "incident_id: Case Number\noccurred_at: Date\ncategory: Primary Type\n"
        "lon: Longitude\nlat: Latitude\n"
    )
    base = [
        "join",
        "--grids",
        str(_grids(tmp_path / "g.geojson")),
        "--incidents",
        str(_chicago_export(tmp_path / "raw.csv")),
        "--out",
        str(tmp_path / "j.csv"),
    ]
    ok = CliRunner().invoke(app, [*base, "--columns", str(mapping)])
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(app, [*base, "--columns", "Longitude=lon"])
    assert bad.exit_code == 2
    assert "wrong way round" in " ".join(bad.output.split())
    typo = CliRunner().invoke(app, [*base, "--columns", "ocurred_at=Date"])
    assert typo.exit_code == 2
    assert "did you mean 'occurred_at'" in " ".join(typo.output.split())


@pytest.mark.parametrize("name", sorted(SHIPPED_TABLES))
def test_shipped_tables_load(name: str) -> None:
    """Every shipped category table loads by name with severities 1..5."""
    table = load_categories(name)
    assert len(table) >= 25
    assert table.table["severity"].astype(int).between(1, 5).all()


def test_yaml_table_police_only_and_chinese_classes(tmp_path: Path) -> None:
    """A YAML table sets severity, group and police_only; the default table knows the Chinese
    police call classes (刑事 police only, 求助 not) and Chicago's primary types."""
    path = tmp_path / "cats.yaml"
    path.write_text(
        "default_severity: 1\ncategories:\n  Shots fired: {severity: 5, group: violent, "
        "police_only: true}\n  Noise: 1\n"
    )
    table = load_categories(path)
    got = table.classify(["shots fired", "Noise", "Other"])
    assert got.severity.tolist() == [5, 1, 1]
    assert got.police_only.tolist() == [True, False, False]
    default = default_categories().classify(["刑事", "求助", "火灾", "HOMICIDE"])
    assert default.severity.tolist() == [4, 1, 4, 5]
    assert default.police_only.tolist() == [True, False, False, True]
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories:\n  Theft: {severity: 2, grup: property}\n")
    with pytest.raises(IncidentError, match=r"unknown key.*grup"):
        load_categories(bad)


def test_timezone_reads_wall_time(tmp_path: Path) -> None:
    """An offset-less local time in Asia/Shanghai is 8 hours ahead of UTC."""
    path = tmp_path / "cn.csv"
    path.write_text("编号,报警时间,警情类别,经度,纬度\nA1,2025-01-01 08:00:00,纠纷,113.3,23.1\n")
    load = load_incidents(path, timezone="Asia/Shanghai")
    assert load.incidents["occurred_at"].iloc[0] == pd.Timestamp("2025-01-01T00:00Z")
    assert load.incidents["category_group"].iloc[0] != "unknown"


def test_no_usable_row_is_one_line(tmp_path: Path) -> None:
    """A file whose every row is rejected (wrong options) stops with the reasons counted,
    instead of an empty result or a traceback further on."""
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "incident_id,occurred_at,category,lon,lat\n1,yesterday,THEFT,-87.69,41.90\n"
        "2,,THEFT,-87.69,41.90\n"
    )
    result = CliRunner().invoke(
        app,
        [
            "hotspots",
            "--grids",
            str(_grids(tmp_path / "g.geojson")),
            "--incidents",
            str(bad),
            "--out",
            str(tmp_path / "hs"),
        ],
    )
    said = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "no usable row (2 rejected: unreadable timestamp (1 rows); missing timestamp" in said
