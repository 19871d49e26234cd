"""``patrolgrid replan``: a plan folder and an events file in, the next version out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.shift import shift_state
from benchmarks._shift import city_shift
from planner.plan_json import plan_to_json
from planner.shift_file import load_shift, save_shift


def plan_folder(folder: Path) -> Path:
    """A folder as `patrolgrid plan` writes it (plan.json + shift.npz), from a generated shift."""
    state, plan = city_shift(0, n_units=4, n_stops=40)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.json").write_text(json.dumps(plan_to_json(state.problem, plan)))
    save_shift(state, folder / "shift.npz")
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One plan folder for the module."""
    return plan_folder(tmp_path_factory.mktemp("plan") / "plan")


def test_replan_writes_next_version(folder: Path, tmp_path: Path) -> None:
    """car-2 out at 20:00 + an incident: new plan.json with changed flags, shift.npz v1, GPX."""
    events = tmp_path / "events.json"
    events.write_text(
        json.dumps(
            {
                "events": [
                    {"type": "unit_unavailable", "unit_id": "car-2", "at": "20:00"},
                    {
                        "type": "incident",
                        "lon": -75.14,
                        "lat": 39.985,
                        "at": "20:05",
                        "category": "robbery",
                    },
                ]
            }
        )
    )
    out = tmp_path / "v1"
    args = ["replan", "--plan", str(folder), "--events", str(events), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "plan.json").read_text())
    old = json.loads((folder / "plan.json").read_text())
    assert doc["summary"]["valid"] is True
    assert doc["summary"]["solve_s"] <= 5
    assert doc["summary"]["out_of_service"] == ["car-2"]
    by_unit = {r["unit_id"]: r for r in old["routes"]}
    for route in doc["routes"]:
        assert isinstance(route["changed"], bool)
        if not route["changed"]:
            assert {k: v for k, v in route.items() if k != "changed"} == by_unit[route["unit_id"]]
        for step in by_unit[route["unit_id"]]["steps"]:
            if step["type"] == "visit" and step["departure"] < "2025-01-22T20:00":
                assert step["stop_id"] in {s["stop_id"] for s in route["steps"]}
    car2 = next(r for r in doc["routes"] if r["unit_id"] == "car-2")
    assert all(s["arrival"] < "2025-01-22T20:00" for s in car2["steps"] if s["type"] == "visit")
    assert load_shift(out).version == 1
    assert (out / "routes" / "car-1.gpx").is_file()
    assert (out / "map.html").is_file()


def test_replan_keeps_the_handheld_crs(folder: Path, tmp_path: Path) -> None:
    """A plan written with ``plan --crs gcj02`` re-plans into GPX of the same system: the new
    plan.json records ``routes_crs`` gcj02 (a plan without it stays wgs84)."""
    source = tmp_path / "gcj"
    source.mkdir()
    old = json.loads((folder / "plan.json").read_text())
    (source / "plan.json").write_text(json.dumps({**old, "routes_crs": "gcj02"}))
    (source / "shift.npz").write_bytes((folder / "shift.npz").read_bytes())
    events = tmp_path / "events.json"
    events.write_text(
        '{"events": [{"type": "unit_unavailable", "unit_id": "car-2", "at": "20:00"}]}'
    )
    for plan, crs in ((source, "gcj02"), (folder, "wgs84")):
        out = tmp_path / f"out-{crs}"
        args = ["replan", "--plan", str(plan), "--events", str(events), "--out", str(out)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert json.loads((out / "plan.json").read_text())["routes_crs"] == crs


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            '{"events": [{"type": "unit_unavailable", "unit_id": "car-9", "at": "20:00"}]}',
            "events[0].unit_id: unknown unit 'car-9'",
        ),
        (
            '{"events": [{"type": "incident", "lon": -75.14, "lat": 39.985, "category": "x"}]}',
            "events[0].at: field 'at' is missing",
        ),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_events_file_is_one_line(
    folder: Path, tmp_path: Path, content: str, words: str
) -> None:
    """A bad events file exits 2 with one line naming the event and field; nothing is written."""
    events = tmp_path / "events.json"
    events.write_text(content)
    out = tmp_path / "v1"
    args = ["replan", "--plan", str(folder), "--events", str(events), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert words in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not out.exists()


def test_folder_without_shift_file(tmp_path: Path) -> None:
    """A plan folder without shift.npz is refused with the fix in the message."""
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "plan.json").write_text("{}")
    (tmp_path / "e.json").write_text('{"events": []}')
    args = [
        "replan",
        "--plan",
        str(tmp_path / "p"),
        "--events",
        str(tmp_path / "e.json"),
        "--out",
        str(tmp_path / "o"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "patrolgrid plan" in result.output


def test_shift_state_keeps_leaf_grids() -> None:
    """The shift file of a fresh plan keeps the leaf grids only, as WKB."""
    from tests.api.conftest import small_grids

    state, plan = city_shift(1, n_units=1, n_stops=5)
    fresh = shift_state(state.problem, plan, small_grids())
    assert sorted(fresh.grid_ids) == ["g11", "g12", "g21", "g31"]
    assert fresh.grids().geometry.is_valid.all()


@pytest.mark.slow
def test_plan_replan_dosage_on_real_streets(tmp_path: Path) -> None:
    """North Philadelphia: plan writes shift.npz; replan (street geometry) and dosage read it."""
    from tests.api.test_plan_cli import UNITS, _grids
    from tests.conftest import PHL

    units = tmp_path / "units.yaml"
    units.write_text(UNITS)
    out, cache = tmp_path / "v0", tmp_path / "cache"
    osm = PHL / "temple_north_philly.osm"
    grids = _grids(tmp_path)
    planned = CliRunner().invoke(
        app,
        [
            "plan",
            "--grids",
            str(grids),
            "--incidents",
            str(PHL / "phl_incidents_2025-01.csv"),
            "--network",
            str(osm),
            "--units",
            str(units),
            "--out",
            str(out),
            "--time-limit",
            "2",
            "--cache-dir",
            str(cache),
        ],
    )
    assert planned.exit_code == 0, planned.output
    assert (out / "shift.npz").is_file()
    doc = json.loads((out / "plan.json").read_text())
    car = next(r for r in doc["routes"] if r["unit_id"] == "car-1")
    visit = next(s for s in car["steps"] if s["type"] == "visit")
    events = tmp_path / "events.json"
    events.write_text(
        json.dumps(
            {
                "events": [
                    {"type": "unit_unavailable", "unit_id": "vol-1", "at": "20:00"},
                    {
                        "type": "incident",
                        "lon": visit["lon"],
                        "lat": visit["lat"],
                        "at": "20:30",
                        "category": "robbery",
                    },
                ]
            }
        )
    )
    v1 = tmp_path / "v1"
    replanned = CliRunner().invoke(
        app,
        [
            "replan",
            "--plan",
            str(out),
            "--events",
            str(events),
            "--out",
            str(v1),
            "--network",
            str(osm),
            "--cache-dir",
            str(cache),
            "--time-limit",
            "1",
        ],
    )
    assert replanned.exit_code == 0, replanned.output
    new = json.loads((v1 / "plan.json").read_text())
    assert new["summary"]["valid"] is True
    assert new["summary"]["solve_s"] <= 5
    changed = [r for r in new["routes"] if r["changed"] and r["unit_id"] != "vol-1"]
    for route in changed:
        assert len(route["geometry"]["coordinates"]) > len(route["steps"])  # along the streets
    from tests._tracks import simulate_track

    track = simulate_track(next(r for r in new["routes"] if r["unit_id"] == "car-1"), seed=4)
    csv = tmp_path / "tracks.csv"
    track.assign(at=track["at"].map(lambda t: t.isoformat())).to_csv(csv, index=False)
    dosed = CliRunner().invoke(
        app, ["dosage", "--plan", str(v1), "--tracks", str(csv), "--out", str(tmp_path / "d")]
    )
    assert dosed.exit_code == 0, dosed.output
    result = json.loads((tmp_path / "d" / "dosage.json").read_text())
    (unit,) = [u for u in result["units"] if u["unit_id"] == "car-1"]
    assert unit["missed"] == []
    assert 0.85 <= unit["delivered_s"] / unit["planned_s"] <= 1.15


def test_checkpoint_not_met_warns_and_strict_exits_2(folder: Path, tmp_path: Path) -> None:
    """A new checkpoint that cannot be met is named with its reason (exit 0), or exit 2 with
    --strict, as `patrolgrid plan` does; one that can is a "checkpoint" step of the new plan."""
    bank = {
        "type": "checkpoint",
        "name": "bank",
        "lon": -75.15,
        "lat": 39.98,
        "windows": [["21:00", "21:30"]],
        "dwell_min": 10,
        "at": "20:30",
    }
    school = {**bank, "name": "school", "kinds": ["volunteer"]}
    events = tmp_path / "events.json"
    events.write_text(json.dumps({"events": [bank, school]}))
    out = tmp_path / "v1"
    args = ["replan", "--plan", str(folder), "--events", str(events), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "warning: checkpoint school not met: no unit of a kind allowed here (volunteer)" in text
    doc = json.loads((out / "plan.json").read_text())
    steps = [s for r in doc["routes"] for s in r["steps"] if s["type"] == "checkpoint"]
    assert [s["name"] for s in steps] == ["bank"]
    strict = CliRunner().invoke(app, [*args[:-1], str(tmp_path / "v1s"), "--strict"])
    assert strict.exit_code == 2
    assert "checkpoints not met: school" in strict.output
