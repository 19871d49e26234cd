"""Hotspots: risk per grid from the stored incidents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict

from api.auth import Principal, require_roles
from api.deps import DatabaseDep, GridCacheDep, SettingsDep
from api.problems import ProblemError, responses
from api.services.hotspots import hotspot_records, risk_for
from api.validation import parse_time

router = APIRouter(tags=["hotspots"])


class HotspotRow(BaseModel):
    """One grid of the risk table (see ``geo.hotspots.risk_table`` for every column)."""

    model_config = ConfigDict(extra="allow")

    grid_id: str
    count: int
    risk: float


@router.get(
    "/hotspots",
    response_model=list[HotspotRow],
    summary="Riskiest grids",
    responses=responses(401, 403, 422),
)
async def get_hotspots(
    principal: Annotated[Principal, require_roles("admin", "dispatcher", "supervisor")],
    database: DatabaseDep,
    grid_cache: GridCacheDep,
    settings: SettingsDep,
    now: Annotated[
        str | None,
        Query(
            max_length=40,
            description="Moment of the table, RFC 3339 with offset, 1970..2200 (default: now)",
        ),
    ] = None,
    half_life_days: Annotated[float, Query(ge=0.01, le=3650)] = 30.0,
    top: Annotated[int, Query(ge=1, le=10_000)] = 100,
    profile: Annotated[bool, Query(description="Include the 168 how_000..how_167 columns")] = False,
    level: Annotated[
        Literal["district", "street", "community", "grid"],
        Query(description="Leaf grids, or counts and risk summed to an upper level"),
    ] = "grid",
) -> list[dict[str, Any]]:
    """The ``top`` leaf grids by severity-weighted, recency-decayed risk (supervisors: their district)."""
    try:
        moment = datetime.now(UTC) if now is None else parse_time(now, what="now")
    except ValueError as exc:
        raise ProblemError(422, str(exc), field="query.now") from None
    if not 1970 <= moment.year <= 2200:
        raise ProblemError(422, "now: give a time between 1970 and 2200", field="query.now")
    table = await run_in_threadpool(
        risk_for,
        database,
        grid_cache,
        principal,
        now=moment,
        timezone=settings.timezone,
        half_life_days=half_life_days,
        level=level,
    )
    return hotspot_records(table, top=top, profile=profile)
