"""Tests of stops from the risk table, the units file and problem assembly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from planner.errors import ProblemError
from planner.evaluate import evaluate
from planner.problem import allowed_leaves, assemble_problem, problem_points
from planner.solve import solve
from planner.stops import HOW_COLUMNS, shift_hours, stop_table
from planner.units_file import parse_units
from tests.planner.generated import matrices

TZ = "America/New_York"
START = pd.Timestamp("2024-03-04T18:00", tz=TZ)  # a Monday
END = pd.Timestamp("2024-03-05T02:00", tz=TZ)


def _risk(profiles: dict[str, dict[int, float]], risk: dict[str, float]) -> pd.DataFrame:
    rows = []
    for gid, prof in profiles.items():
        row = {"grid_id": gid, "risk": risk[gid], **dict.fromkeys(HOW_COLUMNS, 0.0)}
        for h, share in prof.items():
            row[HOW_COLUMNS[h]] = share
        rows.append(row)
    return pd.DataFrame(rows)


def test_shift_hours_cut_at_local_hours() -> None:
    """An 18:30-20:15 shift is cut into 18:30, 19:00, 20:00 pieces with pro-rata weights."""
    how, start_s, weight = shift_hours(
        pd.Timestamp("2024-03-04T18:30", tz=TZ), pd.Timestamp("2024-03-04T20:15", tz=TZ), TZ
    )
    assert how.tolist() == [18, 19, 20]
    assert start_s.tolist() == [0, 1800, 5400]
    assert weight.tolist() == [0.5, 1.0, 0.25]


def test_windows_and_prize_follow_the_risky_hours() -> None:
    """A grid risky 20-22h gets one window then, its prize is the risk in it; flat grids get the shift."""
    peak = {20: 0.3, 21: 0.3, 18: 0.05, 23: 0.05}
    flat = dict.fromkeys(range(168), 1 / 168)
    table = stop_table(
        _risk({"peak": peak, "flat": flat, "cold": {}}, {"peak": 10.0, "flat": 1.0, "cold": 0.0}),
        shift_start=START,
        shift_end=END,
        timezone=TZ,
    )
    assert table["grid_id"].tolist() == ["peak", "flat"]  # hottest first, zero-risk grid left out
    peak_row = table.iloc[0]
    assert peak_row["windows"] == [(2 * 3600, 4 * 3600 - 720)]
    assert peak_row["prize"] == pytest.approx(6.0)
    assert peak_row["shift_risk"] == pytest.approx(7.0)
    flat_row = table.iloc[1]
    assert flat_row["windows"] == [(0, 8 * 3600 - 720)]
    assert flat_row["prize"] == pytest.approx(8 / 168)


def test_hottest_grids_want_repeat_visits() -> None:
    """Grids in the top decile with room for two visits 2 h apart want two or more."""
    flat = dict.fromkeys(range(168), 1 / 168)
    risk = {f"g{i}": float(i + 1) for i in range(20)}
    table = stop_table(
        _risk(dict.fromkeys(risk, flat), risk), shift_start=START, shift_end=END, timezone=TZ
    )
    visits = dict(zip(table["grid_id"], table["visits"], strict=True))
    assert visits["g19"] >= 2
    assert visits["g0"] == 1
    assert table["visits"].max() <= 3


def test_missing_profile_columns_is_an_error() -> None:
    """A table without the weekday-hour profile is refused with the fix in the message."""
    with pytest.raises(ProblemError, match="risk_table"):
        stop_table(
            pd.DataFrame({"grid_id": ["a"], "risk": [1.0]}),
            shift_start=START,
            shift_end=END,
            timezone=TZ,
        )


UNITS = {
    "timezone": TZ,
    "shift": {"start": "2024-03-04T18:00", "end": "2024-03-05T02:00"},
    "police_only": ["g2"],
    "units": [
        {
            "unit_id": "car-1",
            "kind": "police_car",
            "depot": [-75.16, 39.98],
            "breaks": [{"earliest": "21:00", "latest": "22:00", "minutes": 30}],
        },
        {
            "unit_id": "vol-1",
            "kind": "volunteer",
            "mode": "walk",
            "depot": [-75.17, 39.97],
            "grids": ["c1"],
        },
        {"unit_id": "vol-9", "kind": "volunteer", "depot": [-75.17, 39.97]},
    ],
}


def test_units_file_parses_defaults_and_breaks() -> None:
    """Modes default by kind, HH:MM breaks land on the shift's evening, volunteers default to no grid."""
    units = parse_units(UNITS)
    car, vol, lone = units.units
    assert car.mode == "drive"
    assert car.breaks[0].earliest == pd.Timestamp("2024-03-04T21:00", tz=TZ)
    assert car.breaks[0].duration_s == 1800
    assert vol.grids == ("c1",)
    assert lone.grids == ()
    assert units.police_only == ("g2",)


def test_units_file_break_at_depot_and_count() -> None:
    """`at: depot` puts the break at the unit's start depot; `count` makes numbered copies."""
    doc = {
        **UNITS,
        "units": [
            {
                "unit_id": "car",
                "kind": "police_car",
                "depot": [-75.16, 39.98],
                "count": 2,
                "breaks": [{"earliest": "21:00", "latest": "22:00", "minutes": 30, "at": "depot"}],
            }
        ],
    }
    units = parse_units(doc)
    assert [u.unit_id for u in units.units] == ["car-1", "car-2"]
    assert units.units[0].breaks[0].at_depot
    stops = pd.DataFrame(
        {
            "stop_id": ["a"],
            "grid_id": ["a"],
            "prize": [1.0],
            "windows": [[(0, 9000)]],
            "lon": [-75.161],
            "lat": [39.981],
        }
    )
    lon, lat = problem_points(units, stops)
    xy = np.column_stack([(lon + 75.16) * 85_000, (lat - 39.98) * 111_000])
    travel, _ = matrices(xy)
    p = assemble_problem(units, stops, travel_s=travel)
    assert p.units[0].breaks[0].location == p.units[0].start_location


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"units": [{"unit_id": "x", "kind": "tank", "depot": [0, 0]}]}, r"units\[0\].kind"),
        (
            {"units": [{"unit_id": "x", "kind": "volunteer", "depot": [91, 200]}]},
            r"units\[0\].depot",
        ),
        ({"shift": {"start": "2024-03-05T02:00", "end": "2024-03-04T18:00"}}, "shift"),
        ({"units": [{"unit_id": "x", "kind": "volunteer"}]}, "'depot' is missing"),
    ],
)
def test_units_file_errors_name_the_field(change: dict[str, object], fragment: str) -> None:
    """Bad units files raise ProblemError naming the field."""
    with pytest.raises(ProblemError, match=fragment):
        parse_units({**UNITS, **change}, source="units.yaml")


def _grids() -> pd.DataFrame:
    box = shapely.box
    return pd.DataFrame(
        {
            "grid_id": ["d", "c1", "c2", "g1", "g2", "g3"],
            "level": ["district", "community", "community", "grid", "grid", "grid"],
            "parent_id": [None, "d", "d", "c1", "c1", "c2"],
            "name": list("abcdef"),
            "geometry": [
                box(0, 0, 3, 1),
                box(0, 0, 2, 1),
                box(2, 0, 3, 1),
                box(0, 0, 1, 1),
                box(1, 0, 2, 1),
                box(2, 0, 3, 1),
            ],
        }
    )


def test_allowed_leaves_expand_any_level() -> None:
    """A community id stands for all its cells; a leaf id for itself; unknown ids fail."""
    g = _grids()
    assert allowed_leaves(g, ["c1"]) == {"g1", "g2"}
    assert allowed_leaves(g, ["d"]) == {"g1", "g2", "g3"}
    assert allowed_leaves(g, ["g3"]) == {"g3"}
    with pytest.raises(ProblemError, match="not in the grids"):
        allowed_leaves(g, ["zz"])


def test_assembled_problem_solves_jointly() -> None:
    """Police and volunteers plan jointly: volunteers stay in their grids and out of police-only ones."""
    units = parse_units(UNITS)
    stops = pd.DataFrame(
        {
            "stop_id": ["g1", "g2", "g3"],
            "grid_id": ["g1", "g2", "g3"],
            "prize": [3.0, 2.0, 1.0],
            "windows": [[(0, 20000)], [(0, 20000)], [(3600, 9000)]],
            "visits": [1, 1, 1],
            "lon": [-75.165, -75.166, -75.16],
            "lat": [39.975, 39.976, 39.981],
        }
    )
    lon, lat = problem_points(units, stops)
    assert len(lon) == 2 + 3  # two distinct depots
    xy = np.column_stack([(lon + 75.16) * 85_000, (lat - 39.98) * 111_000])
    travel, dist = matrices(xy)
    allowed = {"car-1": None, "vol-1": allowed_leaves(_grids(), ["c1"]), "vol-9": frozenset()}
    p = assemble_problem(
        units, stops, travel_s=travel, distance_m=dist, allowed=allowed, police_only={"g2"}
    )
    assert p.stop("g2").kinds == {"police_car", "foot_patrol"}
    assert p.unit("car-1").breaks[0].earliest_s == 3 * 3600
    plan = solve(p, time_limit_s=1, seed=0)
    assert evaluate(p, plan).ok
    for route in plan.routes:
        if route.unit_id.startswith("vol"):
            assert {v.stop_id for v in route.visits} <= {"g1"}
    assert {v.stop_id for r in plan.routes for v in r.visits} == {"g1", "g2", "g3"}
    reasons = {u.unit_id: u.reason for u in plan.unassigned if u.unit_id}
    assert "no grid" in reasons["vol-9"]
