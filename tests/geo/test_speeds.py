"""Speed table and access rules per travel mode."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo import NetworkError
from geo.speeds import MODES, edge_speeds_kph, load_speeds, parse_maxspeed_kph


def _edges(**columns: list[str]) -> pd.DataFrame:
    n = len(columns["highway"])
    frame = pd.DataFrame({"length_m": np.full(n, 100.0)})
    for name, values in columns.items():
        frame[name] = values
    return frame


def test_default_table_covers_common_streets() -> None:
    """Every mode can use residential streets; cars cannot use footways; walkers not motorways."""
    table = load_speeds()
    assert set(table.columns) == {f"{m}_kph" for m in MODES}
    assert table.loc["residential"].notna().all()
    assert math.isnan(table.loc["footway", "drive_kph"])
    assert math.isnan(table.loc["motorway", "walk_kph"])


@given(st.floats(1, 200), st.sampled_from(["", " ", "km/h", " mph"]))
def test_maxspeed_parsing_units(value: float, unit: str) -> None:
    """Numbers parse in km/h, mph values convert with 1.609344."""
    text = f"{value:.1f}{unit}"
    expected = round(value, 1) * (1.609344 if "mph" in unit else 1.0)
    assert parse_maxspeed_kph(text) == pytest.approx(expected)


def test_maxspeed_parsing_odd_values() -> None:
    """Lists take the smallest, zones and junk are unknown (NaN)."""
    assert parse_maxspeed_kph("30;50") == 30.0
    assert math.isnan(parse_maxspeed_kph("cn:urban"))
    assert math.isnan(parse_maxspeed_kph("fast"))
    assert math.isnan(parse_maxspeed_kph(None))


def test_maxspeed_sets_drive_speed_only() -> None:
    """A posted limit replaces the table's drive speed (times the share); walking is unchanged."""
    edges = _edges(highway=["residential", "residential"], maxspeed=["25 mph", ""])
    drive = edge_speeds_kph(edges, "drive", maxspeed_share=0.5)
    walk = edge_speeds_kph(edges, "walk")
    assert drive[0] == pytest.approx(25 * 1.609344 * 0.5)
    assert drive[1] == load_speeds().loc["residential", "drive_kph"]
    assert walk[0] == walk[1] == load_speeds().loc["residential", "walk_kph"]


def test_access_tags_close_streets_per_mode() -> None:
    """access=private closes a street to cars; foot=yes reopens a no-access path to walkers."""
    edges = _edges(
        highway=["residential", "path", "service", "cycleway"],
        access=["private", "no", "", ""],
        foot=["", "yes", "", ""],
        service=["", "", "parking_aisle", ""],
        bicycle=["", "", "", "no"],
    )
    drive = edge_speeds_kph(edges, "drive")
    walk = edge_speeds_kph(edges, "walk")
    bike = edge_speeds_kph(edges, "bike")
    assert np.isnan(drive).tolist() == [True, True, True, True]
    assert np.isnan(walk).tolist() == [True, False, False, False]
    assert np.isnan(bike[3])


def test_unknown_mode_is_refused() -> None:
    """Only drive, bike and walk exist."""
    with pytest.raises(NetworkError, match="unknown"):
        edge_speeds_kph(_edges(highway=["residential"]), "fly")


def test_edited_table_is_used_and_checked(tmp_path: Path) -> None:
    """A user table changes speeds; a negative speed is refused naming the row and column."""
    good = tmp_path / "speeds.csv"
    good.write_text("highway,drive_kph,bike_kph,walk_kph\nresidential,12,10,4\n")
    table = load_speeds(good)
    assert edge_speeds_kph(_edges(highway=["residential"]), "walk", speeds=table)[0] == 4.0
    bad = tmp_path / "bad.csv"
    bad.write_text("highway,drive_kph,bike_kph,walk_kph\nresidential,-3,10,4\n")
    with pytest.raises(NetworkError, match="'residential' column drive_kph"):
        load_speeds(bad)
    good.write_text("highway,drive\nresidential,12\n")
    with pytest.raises(NetworkError, match="missing column"):
        load_speeds(good)
