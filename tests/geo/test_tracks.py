"""GPS tracks: GPX and CSV read with errors naming file and line; real-receiver faults cleaned."""

from __future__ import annotations

from pathlib import Path

import gpxpy.gpx
import pandas as pd
import pytest

from geo.tracks import TrackError, clean_tracks, read_gpx_folder, read_track_csv, track_frame


def _walk(n: int = 60, every_s: int = 10) -> pd.DataFrame:
    t0 = pd.Timestamp("2025-01-22T23:00:00Z")
    return track_frame(
        [
            {
                "unit_id": "car-1",
                "at": t0 + pd.Timedelta(seconds=every_s * k),
                "lon": -75.16 + k * 1e-4,
                "lat": 39.97,
            }
            for k in range(n)
        ]
    )


def test_clean_counts_each_fault() -> None:
    """Duplicates, out-of-order fixes, a 10 km spike, a bad coordinate and a gap are each counted."""
    track = _walk()
    track.loc[40:, "at"] += pd.Timedelta(minutes=10)
    spike = track.iloc[[20]].assign(lon=-75.05, at=track["at"].iloc[20] + pd.Timedelta(seconds=5))
    dup = track.iloc[[10]].assign(lon=-75.2)
    bad = track.iloc[[30]].assign(lat=95.0, at=track["at"].iloc[30] + pd.Timedelta(seconds=3))
    shuffled = pd.concat([track.iloc[::-1], spike, dup, bad], ignore_index=True)
    clean, reports = clean_tracks(shuffled)
    rep = reports["car-1"]
    assert rep.points == 63
    assert rep.invalid == 1
    assert rep.duplicates == 1
    assert rep.jumps == 1
    assert rep.out_of_order > 0
    assert rep.gaps == 1
    assert rep.kept == 60
    assert clean["at"].is_monotonic_increasing
    assert (clean["lon"] < -75.1).all()  # the spike is gone


def test_spike_at_the_start_is_dropped() -> None:
    """When the first fix is the spike, the agreeing fixes after it win."""
    track = _walk(20)
    track.loc[0, "lon"] = -74.9
    clean, reports = clean_tracks(track)
    assert reports["car-1"].jumps == 1
    assert len(clean) == 19
    assert (clean["lon"] < -75.1).all()


def test_read_gpx_folder(tmp_path: Path) -> None:
    """Each <unit_id>.gpx is that unit's track; a fix without a time is named."""
    doc = gpxpy.gpx.GPX()
    seg = gpxpy.gpx.GPXTrackSegment()
    for k in range(3):
        seg.points.append(
            gpxpy.gpx.GPXTrackPoint(
                39.97,
                -75.16 + k * 1e-4,
                time=pd.Timestamp(f"2025-01-22T23:00:{k:02d}Z").to_pydatetime(),
            )
        )
    trk = gpxpy.gpx.GPXTrack()
    trk.segments.append(seg)
    doc.tracks.append(trk)
    (tmp_path / "car-1.gpx").write_text(doc.to_xml(version="1.1"))
    frame = read_gpx_folder(tmp_path)
    assert list(frame["unit_id"].unique()) == ["car-1"]
    assert len(frame) == 3
    seg.points.append(gpxpy.gpx.GPXTrackPoint(39.97, -75.16))
    (tmp_path / "car-2.gpx").write_text(doc.to_xml(version="1.1"))
    with pytest.raises(TrackError, match=r"car-2.gpx: track point 4 has no <time>"):
        read_gpx_folder(tmp_path)
    (tmp_path / "car-2.gpx").write_text("<gpx><oops")
    with pytest.raises(TrackError, match=r"car-2.gpx: not a GPX file"):
        read_gpx_folder(tmp_path)


def test_read_csv_names_line_and_field(tmp_path: Path) -> None:
    """A CSV with a bad number or time is refused naming its line and column; local times work."""
    path = tmp_path / "t.csv"
    path.write_text("unit_id,at,lon,lat\ncar-1,2025-01-22T18:00:00,-75.16,39.97\n")
    frame = read_track_csv(path, timezone="America/New_York")
    assert frame["at"].iloc[0] == pd.Timestamp("2025-01-22T23:00:00Z")
    path.write_text(
        "unit_id,at,lon,lat\ncar-1,2025-01-22T18:00:00,-75.16,39.97\ncar-1,x,-75.16,39.97\n"
    )
    with pytest.raises(TrackError, match=r"line 3: at 'x' is not a time"):
        read_track_csv(path)
    path.write_text("unit_id,at,lon,lat\ncar-1,2025-01-22T18:00:00,east,39.97\n")
    with pytest.raises(TrackError, match=r"line 2: lon 'east' is not a number"):
        read_track_csv(path)
    path.write_text("unit,at,lon,lat\n")
    with pytest.raises(TrackError, match="unit_id missing"):
        read_track_csv(path)
