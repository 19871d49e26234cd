"""``patrolgrid units check``: validates without solving; depots far from streets are named."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from tests.conftest import PHL

OSM = PHL / "temple_north_philly.osm"
UNITS = """timezone: America/New_York
shift: {start: '2025-03-29T18:00', end: '2025-03-29T22:00'}
units:
  - {unit_id: car-1, kind: police_car, depot: DEPOT}
"""


def _check(tmp_path: Path, depot: str, *extra: str) -> tuple[int, str]:
    path = tmp_path / "units.yaml"
    path.write_text(UNITS.replace("DEPOT", depot))
    result = CliRunner().invoke(app, ["units", "check", str(path), *extra])
    return result.exit_code, " ".join(result.output.split())


def test_good_file_passes_with_network(tmp_path: Path) -> None:
    """A valid file exits 0 and says how far each depot is from a street."""
    code, said = _check(tmp_path, "[-75.1627, 39.9796]", "--network", str(OSM))
    assert code == 0, said
    assert "car-1: depot" in said
    assert "1 units" in said


def test_swapped_depot_is_named(tmp_path: Path) -> None:
    """A depot written [lat, lon] names the unit and says lon and lat look swapped (exit 2)."""
    code, said = _check(tmp_path, "[39.9796, -75.1627]", "--network", str(OSM))
    assert code == 2
    assert "unit 'car-1': depot [39.9796, -75.1627]" in said
    assert "look swapped: write [-75.1627, 39.9796]" in said


def test_far_depot_and_typo(tmp_path: Path) -> None:
    """A depot in another town is refused without a swap hint; a key typo is one line."""
    code, said = _check(tmp_path, "[-75.30, 40.10]", "--network", str(OSM))
    assert code == 2
    assert "from the nearest drive street" in said
    assert "swapped" not in said
    code, said = _check(tmp_path, "[-75.1627, 39.9796], dwel_min: 5")
    assert code == 2
    assert "(unit 'car-1'): unknown key 'dwel_min'" in said
