"""Grids files to the database: the one path shared by ``patrolgrid grids import`` and ``POST /grids``."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.db.engine import Database
from geo.errors import GeoError, GridError
from geo.grids import load_grids
from geo.levels import SLIVER_M2, build_hierarchy, extract_area, read_level

from .grids import store_grids

__all__ = [
    "FORMATS",
    "LevelUpload",
    "build_grids_upload",
    "import_grids_bytes",
    "import_grids_file",
]

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


@dataclass(frozen=True)
class LevelUpload:
    """One level of ``POST /grids/build``: its name, id (and name) column and GeoJSON."""

    name: str
    id_column: str
    features: Mapping[str, Any]
    name_column: str | None = None


def build_grids_upload(
    database: Database,
    levels: Sequence[LevelUpload],
    *,
    cell_m: float | None = None,
    shape: str = "square",
    h3_resolution: int = 9,
    crs: str | None = None,
    network: Path | None = None,
    sliver_m2: float = SLIVER_M2,
) -> tuple[int, list[str]]:
    """Nest uploaded level files as ``patrolgrid grids build`` does and store the result.

    Returns the rows stored and the build's notes. Errors name the level (``levels[1] (beat)``),
    never the temporary files.
    """
    with tempfile.TemporaryDirectory(prefix="patrolgrid-build-") as folder:
        read = []
        for i, level in enumerate(levels):
            path = Path(folder) / f"level{i}.geojson"
            path.write_text(json.dumps(level.features), encoding="utf-8")
            try:
                read.append(
                    read_level(
                        level.name,
                        path,
                        id_column=level.id_column,
                        name_column=level.name_column,
                        crs=crs,
                    )
                )
            except GeoError as exc:
                text = (
                    str(exc)
                    .replace(f"({path})", f"(levels[{i}])")
                    .replace(str(path), f"levels[{i}]")
                )
                raise type(exc)(text) from None
        area = extract_area(network) if network is not None else None
        grids = build_hierarchy(
            read,
            area=area,
            cell_m=cell_m,
            shape=shape,
            h3_resolution=h3_resolution,
            sliver_m2=sliver_m2,
        )
        notes = [n.replace(folder, "levels") for n in grids.attrs.get("notes", [])]
    with database.session() as session:
        return store_grids(session, grids), notes
