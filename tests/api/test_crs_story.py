"""One CRS story on every command: metres without a declared CRS are refused in one line,
a file declared in a projected CRS is read, and ``grids check`` renders any mix of findings."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box
from typer.testing import CliRunner

from api.cli import app

# Two 1 km squares in UTM 18N (Philadelphia's zone), side by side.
SQUARES = [box(486000, 4428000, 487000, 4429000), box(487000, 4428000, 488000, 4429000)]


def _metres_geojson_without_crs(path: Path) -> Path:
    """A GeoJSON whose coordinates are UTM metres but which declares nothing (so reads as WGS84)."""
    frame = gpd.GeoDataFrame({"grid_id": ["a", "b"]}, geometry=SQUARES, crs=32618)
    doc = json.loads(frame.to_json())
    doc.pop("crs", None)
    path.write_text(json.dumps(doc))
    return path


def _incidents(path: Path, *, metres: bool) -> Path:
    lonlat = gpd.GeoSeries([box(486400, 4428400, 486600, 4428600).centroid], crs=32618)
    point = lonlat.iloc[0] if metres else lonlat.to_crs(4326).iloc[0]
    pd.DataFrame(
        {
            "incident_id": ["1", "2"],
            "occurred_at": ["2025-01-01T10:00Z", "2025-01-01T11:00Z"],
            "category": ["Thefts", "Thefts"],
            "lon": [point.x, point.x],
            "lat": [point.y, point.y],
        }
    ).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["join", "hotspots", "plan"])
def test_grids_in_metres_without_crs_refused(tmp_path: Path, command: str) -> None:
    """join, hotspots and plan refuse a grids file in metres read as degrees: exit 2, one line
    naming the file and the --crs fix, no traceback and no silent empty output."""
    grids = _metres_geojson_without_crs(tmp_path / "beats.geojson")
    incidents = _incidents(tmp_path / "i.csv", metres=False)
    args = [command, "--grids", str(grids), "--incidents", str(incidents)]
    args += ["--out", str(tmp_path / ("j.csv" if command == "join" else "out"))]
    if command == "plan":
        args += ["--network", str(tmp_path / "none.osm"), "--units", str(tmp_path / "u.yaml")]
        (tmp_path / "u.yaml").write_text(
            "shift: {start: '2025-01-02T18:00Z', end: '2025-01-02T20:00Z'}\n"
            "units: [{unit_id: c, kind: police_car, depot: [-75.16, 39.98]}]\n"
        )
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "beats.geojson" in result.output
    assert "metres" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "j.csv").exists()


def test_incidents_in_metres_refused_then_declared(tmp_path: Path) -> None:
    """Incidents in metres are a file error (not every row rejected into an empty join); declared
    with --incidents-crs they join to their grid."""
    grids = tmp_path / "g.geojson"
    gpd.GeoDataFrame({"grid_id": ["a", "b"]}, geometry=SQUARES, crs=32618).to_crs(4326).to_file(
        grids
    )
    incidents = _incidents(tmp_path / "i.csv", metres=True)
    out = tmp_path / "j.csv"
    refused = CliRunner().invoke(
        app, ["join", "--grids", str(grids), "--incidents", str(incidents), "--out", str(out)]
    )
    assert refused.exit_code == 2
    assert "--incidents-crs" in refused.output
    assert not out.exists()
    declared = CliRunner().invoke(
        app,
        [
            "join",
            "--grids",
            str(grids),
            "--incidents",
            str(incidents),
            "--out",
            str(out),
            "--incidents-crs",
            "EPSG:32618",
        ],
    )
    assert declared.exit_code == 0, declared.output
    assert pd.read_csv(out)["grid_id"].tolist() == ["a", "a"]


def test_projected_crs_declared_in_the_file_passes_check(tmp_path: Path) -> None:
    """A GeoJSON that declares EPSG:3857 in its crs member passes 'grids check' and loads."""
    path = tmp_path / "m3857.geojson"
    gpd.GeoDataFrame({"grid_id": ["a", "b"]}, geometry=SQUARES, crs=32618).to_crs(3857).to_file(
        path
    )
    assert "3857" in json.loads(path.read_text())["crs"]["properties"]["name"]
    result = CliRunner().invoke(app, ["grids", "check", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["errors"] == 0


def test_check_renders_findings_with_and_without_grid_ids(tmp_path: Path) -> None:
    """Findings without a grid id (crs_offset in China) and with one (overlap, gap) render in the
    table without crashing, and the table lists the same checks as --json."""
    path = tmp_path / "gz.geojson"
    squares = [box(113.30, 23.10, 113.31, 23.11), box(113.305, 23.10, 113.315, 23.11)]
    frame = gpd.GeoDataFrame(
        {"grid_id": ["D", "a", "b"], "parent_id": [None, "D", "D"]},
        geometry=[box(113.30, 23.10, 113.32, 23.11), *squares],
        crs=4326,
    )
    frame.to_file(path)
    as_json = CliRunner().invoke(app, ["grids", "check", str(path), "--json"])
    report = json.loads(as_json.output)
    checks = {issue["check"] for issue in report["issues"]}
    assert {"crs_offset", "overlap", "gap"} <= checks
    table = CliRunner().invoke(app, ["grids", "check", str(path)], terminal_width=200)
    assert table.exit_code == as_json.exit_code == 1, table.output
    assert all(check in table.output for check in checks)
    assert f"{report['errors']} errors, {report['warnings']} warnings" in table.output


def test_table_renders_missing_values_of_any_kind() -> None:
    """The table view renders findings whose ids and numbers are None, NaN or pandas NA (the mix
    that concatenating findings produces) as empty cells instead of failing."""
    from rich.console import Console

    from api.commands.grids import _table
    from geo.validate import ISSUE_COLUMNS, GridReport

    issues = pd.DataFrame(
        [
            ["error", "overlap", "a", "b", 12.5, 113.3, 23.1, "leaf grids overlap"],
            ["warning", "crs_offset", float("nan"), pd.NA, float("nan"), None, None, "China"],
        ],
        columns=list(ISSUE_COLUMNS),
    )
    console = Console(width=200, record=True)
    console.print(_table(GridReport(issues=issues, n_grids=2, levels={"grid": 2})))
    text = console.export_text()
    assert "crs_offset" in text
    assert "overlap" in text
    assert "nan" not in text.lower()


def test_wgs84_in_china_is_warned_about(tmp_path: Path) -> None:
    """Grids and incidents in mainland China read as WGS84 get a warning naming the flag to
    declare GCJ-02; declared gcj02 they do not."""
    grids = tmp_path / "gz.geojson"
    gpd.GeoDataFrame(
        {"grid_id": ["a"]}, geometry=[box(113.30, 23.10, 113.31, 23.11)], crs=4326
    ).to_file(grids)
    incidents = tmp_path / "i.csv"
    incidents.write_text(
        "incident_id,occurred_at,category,lon,lat\n1,2025-01-01T08:00+08:00,纠纷,113.305,23.105\n",
        encoding="utf-8",
    )
    base = ["join", "--grids", str(grids), "--incidents", str(incidents)]
    warned = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "a.csv")])
    said = " ".join(warned.output.split())
    assert warned.exit_code == 0, said
    assert "declare --grids-crs gcj02" in said
    assert "declare --incidents-crs gcj02" in said
    declared = CliRunner().invoke(
        app,
        [
            *base,
            "--out",
            str(tmp_path / "b.csv"),
            "--grids-crs",
            "gcj02",
            "--incidents-crs",
            "gcj02",
        ],
    )
    assert declared.exit_code == 0
    assert "gcj02 (or bd09)" not in declared.output


_MISSING = [None, float("nan"), pd.NA]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["error", "warning"]),
            st.sampled_from(["overlap", "gap", "crs_offset", "empty", "invalid"]),
            st.one_of(st.sampled_from(_MISSING), st.text(min_size=1, max_size=5)),
            st.one_of(st.sampled_from(_MISSING), st.text(min_size=1, max_size=5)),
            st.one_of(st.sampled_from(_MISSING), st.floats(0, 1e9)),
        ),
        max_size=8,
    )
)
@settings(max_examples=50, deadline=None)
def test_any_finding_mix_renders_and_counts_agree(rows: list[tuple]) -> None:
    """Any mix of findings, ids and areas present or missing, renders as a table listing every
    check, and the JSON view holds the same findings with the same counts."""
    from rich.console import Console

    from api.commands.grids import _table
    from geo.validate import ISSUE_COLUMNS, GridReport

    issues = pd.DataFrame(
        [[s, c, g, o, a, None, None, "detail"] for s, c, g, o, a in rows],
        columns=list(ISSUE_COLUMNS),
    )
    report = GridReport(issues=issues, n_grids=3, levels={"grid": 3})
    console = Console(width=240, record=True)
    console.print(_table(report))
    text = console.export_text()
    assert all(check in text for check in issues["check"])
    as_json = json.loads(json.dumps(report.to_dict()))
    assert len(as_json["issues"]) == len(rows)
    assert [i["check"] for i in as_json["issues"]] == issues["check"].tolist()
    assert as_json["errors"] == report.errors
