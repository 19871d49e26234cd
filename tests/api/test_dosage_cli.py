"""``patrolgrid dosage``: tracks (GPX folder or CSV) against a plan folder; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import gpxpy.gpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from tests._tracks import simulate_track
from tests.api.test_replan_cli import plan_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One plan folder for the module."""
    return plan_folder(tmp_path_factory.mktemp("plan") / "plan")


def _gpx(track: pd.DataFrame) -> str:
    doc = gpxpy.gpx.GPX()
    trk = gpxpy.gpx.GPXTrack()
    seg = gpxpy.gpx.GPXTrackSegment()
    for r in track.itertuples(index=False):
        seg.points.append(gpxpy.gpx.GPXTrackPoint(r.lat, r.lon, time=r.at.to_pydatetime()))
    trk.segments.append(seg)
    doc.tracks.append(trk)
    return doc.to_xml(version="1.1")


def test_gpx_tracks_give_dosage(folder: Path, tmp_path: Path) -> None:
    """GPX tracks of units that followed the plan: every output written, shares near 1."""
    plan = json.loads((folder / "plan.json").read_text())
    tracks = tmp_path / "tracks"
    tracks.mkdir()
    for k, route in enumerate(plan["routes"]):
        (tracks / f"{route['unit_id']}.gpx").write_text(_gpx(simulate_track(route, seed=k)))
    out = tmp_path / "d"
    result = CliRunner().invoke(
        app, ["dosage", "--plan", str(folder), "--tracks", str(tracks), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for name in ("dosage.csv", "dosage.json", "dosage.html", "dosage_map.html"):
        assert (out / name).is_file()
    table = pd.read_csv(out / "dosage.csv")
    assert list(table.columns) == ["unit_id", "grid_id", "hour", "planned_s", "delivered_s"]
    doc = json.loads((out / "dosage.json").read_text())
    assert 0.85 <= doc["summary"]["delivered_share"] <= 1.15
    for unit in doc["units"]:
        assert {
            "unit_id",
            "planned_s",
            "delivered_s",
            "visits_planned",
            "visits_delivered",
            "missed",
        } <= set(unit)
    assert "Delivered against planned" in (out / "dosage.html").read_text()


def test_csv_tracks_and_bad_rows(folder: Path, tmp_path: Path) -> None:
    """A CSV works the same; a bad row exits 2 naming the line and column."""
    plan = json.loads((folder / "plan.json").read_text())
    track = simulate_track(plan["routes"][0], seed=1)
    path = tmp_path / "t.csv"
    track.assign(at=track["at"].map(lambda t: t.isoformat())).to_csv(path, index=False)
    out = tmp_path / "d"
    ok = CliRunner().invoke(
        app, ["dosage", "--plan", str(folder), "--tracks", str(path), "--out", str(out)]
    )
    assert ok.exit_code == 0, ok.output
    with path.open("a") as f:
        f.write("car-1,2025-01-22T21:00:00-05:00,far,39.97\n")
    bad = CliRunner().invoke(
        app, ["dosage", "--plan", str(folder), "--tracks", str(path), "--out", str(tmp_path / "e")]
    )
    assert bad.exit_code == 2
    assert f"line {len(track) + 2}: lon 'far' is not a number" in " ".join(bad.output.split())
    assert not (tmp_path / "e").exists()
