"""Storing grids over HTTP (admins)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.auth import Principal, require_roles
from api.deps import DatabaseDep, GridCacheDep, SettingsDep
from api.problems import ProblemError, responses
from api.services.grid_files import LevelUpload, build_grids_upload, import_grids_bytes

router = APIRouter(tags=["grids"])


class GridsStored(BaseModel):
    """How many grids were stored (inserted or replaced by ``grid_id``)."""

    stored: int


_JSON_CONTROL = re.compile(rb"\\u00[01][0-9a-fA-F]|[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TEXT_PROPERTIES = ("grid_id", "parent_id", "level", "name", "station_id")


def _check_geojson_properties(data: bytes) -> None:
    """Ids and labels of a GeoJSON grids file are all strings or all integers (never coerced)."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return  # not JSON: the reader reports it
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        return
    kinds: dict[str, tuple[str, int]] = {}
    for index, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            continue
        for key in _TEXT_PROPERTIES:
            value = props.get(key)
            if value is None:
                continue
            where = f"features.{index}.properties.{key}"
            if isinstance(value, str):
                kind = "string"
            elif isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
                kind = "integer"
            else:
                raise ProblemError(422, f"{where}: must be a string or an integer", field=where)
            first = kinds.setdefault(key, (kind, index))
            if first[0] != kind:
                msg = f"{where}: {kind}, but feature {first[1]} has a {first[0]}; use one type"
                raise ProblemError(422, msg, field=where)


_BINARY = {"type": "string", "format": "binary"}


@router.post(
    "/grids",
    response_model=GridsStored,
    summary="Store a grids file",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/geo+json": {"schema": {"type": "object"}},
                "application/json": {"schema": {"type": "object"}},
                "application/octet-stream": {"schema": _BINARY},
            },
        }
    },
    responses=responses(400, 401, 403, 413, 422),
)
async def post_grids(
    request: Request,
    principal: Annotated[Principal, require_roles("admin")],
    database: DatabaseDep,
    grid_cache: GridCacheDep,
    format: Annotated[
        Literal["geojson", "gpkg", "parquet", "shp.zip"], Query(description="Format of the body")
    ] = "geojson",
    crs: Annotated[
        str | None, Query(max_length=32, description="Declared CRS, e.g. EPSG:4490, gcj02, bd09")
    ] = None,
    layer: Annotated[str | None, Query(max_length=128)] = None,
) -> GridsStored:
    """Store grids from a file body in any format :func:`geo.grids.load_grids` reads."""
    data = await request.body()
    if not data:
        raise ProblemError(400, "body: send the grids file as the request body", field="body")
    if format == "geojson" and _JSON_CONTROL.search(data):
        # GDAL would cut a string at an escaped NUL: refuse rather than store another id
        msg = "body: a grids file must not contain control characters (\\u0000..\\u001f)"
        raise ProblemError(422, msg, field="body")
    if format == "geojson":
        _check_geojson_properties(data)
    stored = await run_in_threadpool(
        import_grids_bytes, database, data, format=format, layer=layer, crs=crs
    )
    grid_cache.invalidate()
    return GridsStored(stored=stored)


class LevelIn(BaseModel):
    """One of the city's levels: its own name, id (and name) column, and its polygons."""

    name: str = Field(min_length=1, max_length=64, description="The city's name: area, beat...")
    id_column: str = Field(min_length=1, max_length=128)
    name_column: str | None = Field(default=None, max_length=128)
    features: dict[str, Any] = Field(description="GeoJSON FeatureCollection of the level")


class GridsBuild(BaseModel):
    """A manifest: the city's levels, top first, and how to finish the hierarchy."""

    levels: list[LevelIn] = Field(min_length=1, max_length=4)
    cells_m: float | None = Field(
        default=None, gt=0, le=5000, description="Cells under the lowest level"
    )
    shape: Literal["square", "hex", "h3"] = "square"
    resolution: int = Field(default=9, ge=5, le=11, description="H3 resolution (shape h3)")
    crs: str | None = Field(default=None, max_length=32, description="Declared CRS of every level")
    clip_to_network: bool = Field(
        default=False,
        description="Keep only the area of the server's street extract (its <bounds>, else "
        "150 m around its streets)",
    )
    sliver_m2: float = Field(default=5000.0, ge=0, le=1e7)


class GridsBuilt(GridsStored):
    """Rows stored and what the build merged, trimmed or left out."""

    notes: list[str]


@router.post(
    "/grids/build",
    response_model=GridsBuilt,
    summary="Build a hierarchy from a city's own level files and store it",
    responses=responses(400, 401, 403, 413, 422),
)
async def post_grids_build(
    body: GridsBuild,
    principal: Annotated[Principal, require_roles("admin")],
    database: DatabaseDep,
    grid_cache: GridCacheDep,
    settings: SettingsDep,
) -> GridsBuilt:
    """The API side of ``patrolgrid grids build``: levels as inline GeoJSON, top first."""
    network = settings.network_path if body.clip_to_network else None
    if body.clip_to_network and network is None:
        raise ProblemError(
            422,
            "clip_to_network: the server has no street network configured",
            field="clip_to_network",
        )
    levels = [
        LevelUpload(
            name=level.name,
            id_column=level.id_column,
            name_column=level.name_column,
            features=level.features,
        )
        for level in body.levels
    ]
    stored, notes = await run_in_threadpool(
        build_grids_upload,
        database,
        levels,
        cell_m=body.cells_m,
        shape=body.shape,
        h3_resolution=body.resolution,
        crs=body.crs,
        network=network,
        sliver_m2=body.sliver_m2,
    )
    grid_cache.invalidate()
    return GridsBuilt(stored=stored, notes=notes)
