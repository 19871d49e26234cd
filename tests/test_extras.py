"""Optional extras: a missing package's error names the extra to install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app


def test_cli_names_the_extra_when_dask_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without dask, `patrolgrid join --scheduler` exits 2 with one line naming [scale]."""
    monkeypatch.setitem(sys.modules, "dask", None)  # as if not installed: import fails
    monkeypatch.delitem(sys.modules, "geo.join_dask", raising=False)
    parts = tmp_path / "parts"
    parts.mkdir()
    result = CliRunner().invoke(
        app,
        ["join", "--grids", str(tmp_path / "g.geojson"), "--incidents", str(parts),
         "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "pip install 'patrolgrid[scale]'" in result.output
    assert "Traceback" not in result.output


def test_library_import_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing the scale-out module without dask raises ModuleNotFoundError naming [scale]."""
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.delitem(sys.modules, "geo.join_dask", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"patrolgrid\[scale\]"):
        import geo.join_dask  # noqa: F401
