"""``patrolgrid grids import`` stores a grids file in the database named by the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app
from api.db.engine import Database
from api.db.models import Grid
from tests.api.conftest import small_grids


def test_import_then_reimport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing twice stores each grid once, with its ancestors; a bad file exits 2 in one line."""
    path = tmp_path / "grids.geojson"
    small_grids().to_file(path, driver="GeoJSON")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    monkeypatch.setenv("PATROLGRID_DATABASE_URL", url)
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(app, ["grids", "import", str(path)])
        assert result.exit_code == 0, result.output
        assert "stored 11 grids" in result.output
    database = Database(url)
    with database.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Grid)) == 11
        assert session.get(Grid, "g12").community_id == "C1"
    database.dispose()
    missing = runner.invoke(app, ["grids", "import", str(tmp_path / "nope.geojson")])
    assert missing.exit_code == 2
    assert "Traceback" not in missing.output
