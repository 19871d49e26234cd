"""Dosage: a unit that followed its plan delivers what was planned; a track cut halfway shows it."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks._shift import city_shift
from geo.tracks import clean_tracks
from planner.dosage import dosage, stays
from planner.plan_json import plan_to_json
from tests._tracks import simulate_track


@pytest.fixture(scope="module")
def planned():  # type: ignore[no-untyped-def]
    """A planned shift and its document."""
    state, plan = city_shift(0, n_units=4, n_stops=40)
    return state, plan_to_json(state.problem, plan)


def _routes(doc):  # type: ignore[no-untyped-def]
    return {r["unit_id"]: r for r in doc["routes"]}


def test_followed_plan_delivers_planned(planned) -> None:  # type: ignore[no-untyped-def]
    """A jittery track along the plan: delivered/planned within 15% of 1, nothing missed."""
    state, doc = planned
    tracks = pd.concat(
        [simulate_track(r, seed=k, jitter_m=10) for k, r in enumerate(doc["routes"])]
    )
    clean, reports = clean_tracks(tracks)
    result = dosage(doc, clean, state.grids(), reports=reports)
    for unit in result.units:
        assert unit["planned_s"] > 0
        assert 0.85 <= unit["delivered_s"] / unit["planned_s"] <= 1.15, unit
        assert unit["missed"] == []
        assert unit["visits_delivered"] == unit["visits_planned"]
    grid = result.by_grid()
    assert set(grid.columns) == {"grid_id", "planned_s", "delivered_s"}
    assert result.table["hour"].between(0, 8).all()


def test_track_stopping_halfway(planned) -> None:  # type: ignore[no-untyped-def]
    """A track that stops halfway delivers the visits before and misses those after."""
    state, doc = planned
    route = max(doc["routes"], key=lambda r: len(r["steps"]))
    visits = [s for s in route["steps"] if s["type"] == "visit"]
    half = len(visits) // 2
    cut = pd.Timestamp(visits[half - 1]["departure"]) + pd.Timedelta(minutes=1)
    clean, _ = clean_tracks(simulate_track(route, until=cut, seed=3))
    (unit,) = [
        u for u in dosage(doc, clean, state.grids()).units if u["unit_id"] == route["unit_id"]
    ]
    planned_before = sum(
        (pd.Timestamp(s["departure"]) - pd.Timestamp(s["arrival"])).total_seconds()
        for s in visits[:half]
    )
    share = unit["delivered_s"] / unit["planned_s"]
    assert share == pytest.approx(planned_before / unit["planned_s"], abs=0.1)
    assert unit["visits_delivered"] == half
    assert unit["missed"] == [s["stop_id"] for s in visits[half:]]


def test_passing_through_is_not_presence(planned) -> None:  # type: ignore[no-untyped-def]
    """A car driving straight across grids at 8 m/s never stays 2 minutes in a 250 m cell."""
    state, _ = planned
    t0 = pd.Timestamp("2025-01-22T23:00:00Z")
    rows = [
        {
            "unit_id": "car-1",
            "at": t0 + pd.Timedelta(seconds=5 * k),
            "lon": -75.159 + 40 * 5 * k / 85000,
            "lat": 39.971,
        }
        for k in range(60)
    ]
    clean, _ = clean_tracks(pd.DataFrame(rows))
    assert stays(clean, state.grids()).empty


def test_checkpoint_check_in(planned) -> None:  # type: ignore[no-untyped-def]
    """A checkpoint step is checked in by a track that stays within 50 m for its dwell, or explicitly."""
    state, doc = planned
    route = dict(_routes(doc)["car-1"])
    steps = [dict(s) for s in route["steps"]]
    visit = next(s for s in steps if s["type"] == "visit")
    visit["stop_id"] = "checkpoint:bank"
    route["steps"] = steps
    doc2 = {**doc, "routes": [route]}
    clean, _ = clean_tracks(simulate_track(route, seed=5))
    (cp,) = dosage(doc2, clean, state.grids()).checkpoints
    assert cp["checked_in"]
    assert cp["by"] == "track"
    empty = clean.iloc[:0]
    (cp,) = dosage(doc2, empty, state.grids()).checkpoints
    assert not cp["checked_in"]
    unit = dosage(doc2, empty, state.grids()).units[0]
    assert "checkpoint:bank" in unit["missed"]
    (cp,) = dosage(
        doc2,
        empty,
        state.grids(),
        checkins=[{"checkpoint": "bank", "unit_id": "car-1", "at": visit["arrival"]}],
    ).checkpoints
    assert cp["checked_in"]
    assert cp["by"] == "explicit"
