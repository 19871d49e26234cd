"""AVL positions of units: batched pings in, idempotent on (unit, time), stored as sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.auth import Principal, require_roles
from api.deps import DatabaseDep, SettingsDep
from api.problems import ProblemError, responses
from api.services import shift as service

router = APIRouter(tags=["plans"])


class Ping(BaseModel):
    """One GPS fix (EPSG:4326) with its time (ISO 8601 with an offset)."""

    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    at: datetime


class PositionsIn(BaseModel):
    """A batch of pings of one unit."""

    positions: list[Ping] = Field(min_length=1)


class PositionsStored(BaseModel):
    """How many pings were new and how many were already stored."""

    unit_id: str
    accepted: int
    duplicates: int


@router.post(
    "/units/{unit_id}/positions",
    response_model=PositionsStored,
    summary="Store a unit's AVL pings",
    responses=responses(401, 403, 413, 422),
)
async def post_positions(
    unit_id: Annotated[str, PathParam(min_length=1, max_length=128)],
    body: PositionsIn,
    principal: Annotated[Principal, require_roles("admin", "dispatcher")],
    database: DatabaseDep,
    settings: SettingsDep,
) -> PositionsStored:
    """All or nothing: a bad ping is a 422 naming it and nothing is stored; a resent ping is a
    duplicate, never a second row. Pings are stored as sent; jumps and jitter are cleaned when
    dosage is measured."""
    del principal
    if len(body.positions) > settings.max_batch:
        msg = f"positions: {len(body.positions)} pings; at most {settings.max_batch} per request"
        raise ProblemError(413, msg, field="body.positions")
    rows = []
    seen = set()
    for i, p in enumerate(body.positions):
        if p.at.tzinfo is None:
            msg = f"positions.{i}.at: {p.at.isoformat()} needs a UTC offset"
            raise ProblemError(422, msg, field=f"body.positions.{i}.at")
        at = p.at.astimezone(UTC)  # stored in UTC on every database
        if at in seen:
            continue
        seen.add(at)
        rows.append({"at": at, "lon": p.lon, "lat": p.lat})
    new = await run_in_threadpool(service.store_positions, database, unit_id, rows)
    return PositionsStored(unit_id=unit_id, accepted=new, duplicates=len(body.positions) - new)
