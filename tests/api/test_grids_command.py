"""``patrolgrid grids check``: a table or JSON, exit 1 on findings, 2 on unreadable input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from tests.conftest import GUANGZHOU

DATA = Path(__file__).resolve().parents[1] / "data"
GZ_FILE = GUANGZHOU / "guangzhou_districts_datav_gcj02.geojson"


def test_clean_file_exits_zero() -> None:
    """A file without errors prints its summary and exits 0 (its China reminder is a warning)."""
    result = CliRunner().invoke(
        app, ["grids", "check", str(DATA / "two_grids_shared_edge.geojson")]
    )
    assert result.exit_code == 0, result.output
    assert "2 grids (2 grid); 0 errors, 1 warnings" in result.output
    assert "crs_offset" in result.output


def test_guangzhou_flagged_then_clean_with_crs() -> None:
    """The GCJ-02 file exits 1 with a crs_offset row; declared --crs gcj02 it exits 0."""
    result = CliRunner().invoke(app, ["grids", "check", str(GZ_FILE), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert [i["check"] for i in report["issues"]] == ["crs_offset"]
    assert report["grids"] == 11
    fixed = CliRunner().invoke(app, ["grids", "check", str(GZ_FILE), "--crs", "gcj02"])
    assert fixed.exit_code == 0, fixed.output


def test_landmarks_and_columns(tmp_path: Path) -> None:
    """--landmarks settles the CRS; --column maps ids; the table names the check."""
    landmarks = tmp_path / "landmarks.csv"
    landmarks.write_text("lon,lat,grid_id\n113.31307,23.12236,440106\n113.31466,23.12107,440106\n")
    result = CliRunner().invoke(
        app,
        [
            "grids",
            "check",
            str(GZ_FILE),
            "--landmarks",
            str(landmarks),
            "--column",
            "adcode=grid_id",
        ],
    )
    assert result.exit_code == 1
    assert "crs_offset" in result.output
    assert "2/2" in result.output


def test_bad_input_exits_two(tmp_path: Path) -> None:
    """A missing file or a malformed --column is one line on stderr and exit code 2."""
    missing = CliRunner().invoke(app, ["grids", "check", str(tmp_path / "none.geojson")])
    assert missing.exit_code == 2
    assert "not found" in missing.output
    bad = CliRunner().invoke(
        app, ["grids", "check", str(DATA / "two_grids_shared_edge.geojson"), "--column", "oops"]
    )
    assert bad.exit_code == 2
    assert "FILE_COLUMN=CONTRACT_COLUMN" in bad.output


def test_make_writes_a_checked_hierarchy(tmp_path: Path) -> None:
    """'grids make' writes areas + cells that load as one hierarchy and pass 'grids check'."""
    out = tmp_path / "cells.gpkg"
    made = CliRunner().invoke(
        app,
        [
            "grids",
            "make",
            str(DATA / "two_grids_shared_edge.geojson"),
            "-o",
            str(out),
            "--shape",
            "hex",
            "--cell-m",
            "300",
        ],
    )
    assert made.exit_code == 0, made.output
    from geo.grids import load_grids

    grids = load_grids(out)
    assert set(grids["level"]) == {"community", "grid"}
    assert set(grids.loc[grids["level"] == "grid", "parent_id"]) == {"A", "B"}
    checked = CliRunner().invoke(app, ["grids", "check", str(out), "--min-area", "0.01", "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["errors"] == 0
    bad = CliRunner().invoke(
        app,
        [
            "grids",
            "make",
            str(DATA / "two_grids_shared_edge.geojson"),
            "-o",
            str(out),
            "--shape",
            "tri",
        ],
    )
    assert bad.exit_code == 2
    assert "--shape" in bad.output
