"""The README's "Your own city" walk-through, run verbatim on a city made in code.

The commands are parsed from README.md, so the README and this test cannot drift apart. The city
(tests/api/own_city.py) is not Philadelphia's: synthetic areas and beats in their own shapes over
the shared OSM extract's area, a beat drawn as two polygons, UTM coordinates, raw column names and
local times without an offset.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.api.own_city import write_city
from tests.conftest import PHL, ROOT


def readme_commands() -> list[list[str]]:
    """The ``patrolgrid`` command lines of the README's "Your own city" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Your own city", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.+?)\n```", section, re.DOTALL)
    assert block is not None, "the README's 'Your own city' section has no sh block"
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert all(line.startswith("patrolgrid ") for line in lines)
    return [shlex.split(line)[1:] for line in lines]


def test_readme_section_has_the_walkthrough() -> None:
    """The section holds five or six commands from grids build to a GPX export."""
    commands = readme_commands()
    assert 5 <= len(commands) <= 6
    assert commands[0][:2] == ["grids", "build"]
    assert any(c[0] == "plan" and "--columns" in c and "--timezone" in c for c in commands)


@pytest.mark.slow
def test_readme_walkthrough_on_a_new_city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every README command succeeds on the city's raw files, and the plan has every unit
    patrolling (at least one visit each), times in the units file's zone with its offset, and a
    GPX file per unit."""
    write_city(tmp_path)
    shutil.copyfile(PHL / "temple_north_philly.osm", tmp_path / "city.osm")
    monkeypatch.chdir(tmp_path)
    for args in readme_commands():
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, f"patrolgrid {' '.join(args)}\n{result.output}"
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text(encoding="utf-8"))
    visits = {
        r["unit_id"]: sum(step["type"] == "visit" for step in r["steps"]) for r in plan["routes"]
    }
    assert set(visits) == {"car-1", "car-2", "foot-1"}
    assert min(visits.values()) >= 1, visits
    steps = [s for r in plan["routes"] for s in r["steps"] if s["type"] == "visit"]
    assert all(s["arrival"].endswith("-04:00") for s in steps)  # New York in late March (EDT)
    told = [i["occurred_at"] for s in steps for i in s.get("incidents", [])]
    assert told
    assert all(t.endswith(("-04:00", "-05:00")) for t in told)
    for unit in visits:
        assert (tmp_path / "handhelds" / f"{unit}.gpx").is_file()
    assert (tmp_path / "plan" / "map.html").is_file()


@pytest.mark.slow
def test_chinese_city_from_gcj02_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Chinese city's files (Chinese level names and columns, GCJ-02 polygons and incidents,
    police call classes) reach a plan with every unit patrolling, and --crs gcj02 exports land
    where a GCJ-02 map app draws the plan's WGS84 stops."""
    from tests.api.own_city import write_chinese_city, write_shifted_osm

    files = write_chinese_city(tmp_path)
    write_shifted_osm(PHL / "temple_north_philly.osm", tmp_path / "city.osm")
    (tmp_path / "units.yaml").write_text(
        "timezone: Asia/Shanghai\n"
        "shift: {start: '2025-03-29T18:00', end: '2025-03-29T22:00'}\n"
        "units:\n"
        "  - {unit_id: 巡逻车-1, kind: police_car, depot: [113.3073, 23.1089]}\n"
        "  - {unit_id: 网格员-1, kind: grid_worker, mode: walk, depot: [113.3100, 23.1093],\n"
        "     grids: ['B12']}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    run = [
        f"grids build --level 街道={files['areas'].name}:街道编码:街道名称 --level "
        f"网格={files['beats'].name}:网格编号:网格名称 --cells 250 --crs gcj02 --network city.osm "
        "--out grids.geojson",
        "grids check grids.geojson",
        f"plan --grids grids.geojson --incidents {files['incidents'].name} --incidents-crs gcj02 "
        "--categories china_police --network city.osm --units units.yaml --time-limit 3 "
        "--crs gcj02 --out plan",
        "export --plan plan/plan.json --format gpx --crs gcj02 --out gcj",
    ]
    for line in run:
        result = CliRunner().invoke(app, shlex.split(line))
        assert result.exit_code == 0, f"patrolgrid {line}\n{result.output}"
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text(encoding="utf-8"))
    visits = {
        r["unit_id"]: sum(step["type"] == "visit" for step in r["steps"]) for r in plan["routes"]
    }
    assert set(visits) == {"巡逻车-1", "网格员-1"}
    assert min(visits.values()) >= 1, visits
    first = next(s for s in plan["routes"][0]["steps"] if s["type"] == "visit")
    assert first["arrival"].endswith("+08:00")
    import gpxpy

    from geo.crs import to_gcj02

    gpx = gpxpy.parse((tmp_path / "gcj" / "巡逻车-1.gpx").read_text(encoding="utf-8"))
    point = gpx.routes[0].points[1]
    lon, lat = to_gcj02([first["lon"]], [first["lat"]])
    assert abs(point.longitude - lon[0]) < 1e-6
    assert abs(point.latitude - lat[0]) < 1e-6
    # 刑事 and 治安 are police-only: the grid worker serves no risk stop of those grids (their
    # presence doses, "~p", stay open to it)
    police_only = set(plan["summary"]["police_only_grids"])
    assert police_only
    worker = next(r for r in plan["routes"] if r["unit_id"] == "网格员-1")
    risk_stops = [
        s["grid_id"]
        for s in worker["steps"]
        if s["type"] == "visit" and not str(s["stop_id"]).endswith("~p")
    ]
    assert not police_only & set(risk_stops), risk_stops
    # plan --crs gcj02: the handheld files under plan/routes are GCJ-02 too, plan.json WGS84
    assert plan["routes_crs"] == "gcj02"
    own = gpxpy.parse((tmp_path / "plan" / "routes" / "巡逻车-1.gpx").read_text(encoding="utf-8"))
    assert abs(own.routes[0].points[1].longitude - lon[0]) < 1e-6
    assert abs(own.routes[0].points[1].latitude - lat[0]) < 1e-6
