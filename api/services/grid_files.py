"""Grids files to the database: the one path shared by ``patrolgrid grids import`` and ``POST /grids``."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from api.db.engine import Database
from geo.errors import GeoError, GridError
from geo.grids import load_grids

from .grids import store_grids

__all__ = ["FORMATS", "import_grids_bytes", "import_grids_file"]

#: File suffix of each upload format ``POST /grids`` accepts.
FORMATS: Mapping[str, str] = {
    "geojson": ".geojson",
    "gpkg": ".gpkg",
    "parquet": ".parquet",
    "shp.zip": ".shp.zip",
}


def import_grids_file(
    database: Database,
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    crs: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> int:
    """Load a grids file with :func:`geo.grids.load_grids` and store it; returns rows stored.

    Raises
    ------
    GridError
        For any content the reader cannot take (also a value of a wrong type or size, which
        the readers below may report as ``TypeError``/``ValueError``/``OverflowError``).
    """
    try:
        grids = load_grids(path, layer=layer, crs=crs, columns=columns)
    except GeoError:
        raise
    except (TypeError, ValueError, OverflowError, ArithmeticError) as exc:
        msg = f"grids file {Path(path).name}: cannot be read ({exc})"
        raise GridError(msg) from None
    with database.session() as session:
        return store_grids(session, grids)


def import_grids_bytes(
    database: Database,
    data: bytes,
    *,
    format: str = "geojson",
    layer: str | None = None,
    crs: str | None = None,
) -> int:
    """Store an uploaded grids file (written to a private temporary file first)."""
    suffix = FORMATS[format]
    with tempfile.TemporaryDirectory(prefix="patrolgrid-grids-") as folder:
        path = Path(folder) / f"upload{suffix}"
        if suffix == ".shp.zip":
            path = Path(folder) / "upload.zip"
        path.write_bytes(data)
        return import_grids_file(database, path, layer=layer, crs=crs)
