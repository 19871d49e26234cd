"""Privacy: civilian exports never carry incident ids, descriptions or personal details."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from maps.errors import ExportError
from maps.export import FORMATS, export_plan
from maps.privacy import export_route
from tests.maps.conftest import SECRET

FORBIDDEN = ("INC-SECRET", SECRET, "Jane Roe", "John Doe", "victim", "suspect", "burglary")


def _all_bytes(files: tuple[Path, ...]) -> bytes:
    return b"".join(p.read_bytes() for p in files)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("audience", ["volunteer", "grid_worker", "property_security"])
def test_civilian_audiences_get_places_and_times_only(
    plan: dict[str, Any], tmp_path: Path, fmt: str, audience: str
) -> None:
    """For civilian audiences no file of any format carries an incident id, text or name."""
    for unit in export_plan(plan, fmt=fmt, out_dir=tmp_path, audience=audience):
        data = _all_bytes(unit.files)
        for needle in FORBIDDEN:
            assert needle.encode() not in data, (fmt, unit.unit_id, needle)


@pytest.mark.parametrize("fmt", FORMATS)
def test_volunteer_route_is_clean_even_for_police_audience(
    plan: dict[str, Any], tmp_path: Path, fmt: str
) -> None:
    """A volunteer route stays clean whoever asks; a police car's files may carry incident ids."""
    units = {u.unit_id: u for u in export_plan(plan, fmt=fmt, out_dir=tmp_path, audience="police")}
    volunteer = _all_bytes(units["volunteer-2"].files)
    for needle in FORBIDDEN:
        assert needle.encode() not in volunteer
    police = _all_bytes(units["police_car-1"].files)
    assert b"INC-SECRET-00" in police
    for needle in (SECRET, "Jane Roe", "John Doe"):
        assert needle.encode() not in police


def test_whitelist_drops_unknown_fields() -> None:
    """Fields outside the whitelist (route notes, step extras) never survive."""
    route = {
        "unit_id": "u",
        "kind": "police_car",
        "notes": "x",
        "steps": [{"type": "visit", "lon": 0, "lat": 0, "caller_phone": "123"}],
    }
    clean = export_route(route, audience="police")
    assert "notes" not in clean
    assert clean["steps"] == [{"type": "visit", "lon": 0, "lat": 0}]


def test_unknown_kind_is_treated_as_civilian() -> None:
    """A route of an unknown kind never carries incidents (fail safe)."""
    route = {
        "unit_id": "u",
        "kind": "drone",
        "steps": [{"type": "visit", "lon": 0, "lat": 0, "incidents": [{"incident_id": "X"}]}],
    }
    assert "incidents" not in export_route(route, audience="police")["steps"][0]


def test_bad_audience_and_format(plan: dict[str, Any], tmp_path: Path) -> None:
    """An unknown audience or format is an ExportError naming the option."""
    with pytest.raises(ExportError, match="audience"):
        export_plan(plan, fmt="gpx", out_dir=tmp_path, audience="press")
    with pytest.raises(ExportError, match="--format"):
        export_plan(plan, fmt="docx", out_dir=tmp_path)


def test_sizes_are_reported(plan: dict[str, Any], tmp_path: Path) -> None:
    """Each unit reports the total bytes of its files; simplification never grows them."""
    full = export_plan(plan, fmt="geojson", out_dir=tmp_path / "a")
    small = export_plan(plan, fmt="geojson", out_dir=tmp_path / "b", simplify_m=200)
    for f, s in zip(full, small, strict=True):
        assert f.size_bytes == sum(p.stat().st_size for p in f.files) > 0
        assert s.size_bytes <= f.size_bytes
