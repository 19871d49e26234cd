"""Incidents: ingestion from the dispatch system, one incident, its audit trail, overdue."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from api.auth import Principal, require_roles
from api.concurrency import ETAG_HEADER, etag, expected_version
from api.deps import DatabaseDep, GridCacheDep, SettingsDep
from api.problems import ProblemError, responses
from api.services import incidents as service
from api.services.ingest import IncidentIn, ingest, remap_rows, rows_of
from geo.errors import GeoError
from geo.incidents import column_mapping

router = APIRouter(tags=["incidents"])

Reader = Annotated[Principal, require_roles("admin", "dispatcher", "supervisor", "department")]
Writer = Annotated[Principal, require_roles("admin", "dispatcher")]
IncidentId = Annotated[str, Path(max_length=128, description="The dispatch system's id")]


class RejectedRow(BaseModel):
    """A row that was not stored."""

    index: int
    incident_id: str | None
    reason: str


class ConflictRow(BaseModel):
    """A row whose id is stored with other content, not applied (resend to correct it)."""

    index: int
    incident_id: str
    fields: list[str]
    reason: str


class IngestAnswer(BaseModel):
    """What happened to a batch: stored, already there, corrected, conflicting, refused."""

    accepted: int
    duplicates: int
    outside: int
    rejected: list[RejectedRow]
    updated: int = 0
    conflicts: list[ConflictRow] = []


class IncidentOut(BaseModel):
    """An incident with its workflow state (timestamps ISO 8601, UTC)."""

    incident_id: str
    occurred_at: str
    received_at: str
    category: str
    severity: int
    description: str | None
    lon: float
    lat: float
    grid_id: str | None
    community_id: str | None
    street_id: str | None
    district_id: str | None
    state: str
    state_since: str
    due_at: str | None
    unit_id: str | None
    department: str | None
    dispatched_at: str | None
    handled_at: str | None
    closed_at: str | None
    satisfaction: int | None
    version: int


class OverdueOut(IncidentOut):
    """An overdue incident and by how much."""

    overdue_s: float


_ROW = IncidentIn.model_json_schema()
_FEATURE = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string"},
        "geometry": {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {
                "type": {"type": "string", "enum": ["Point"]},
                "coordinates": {
                    "type": "array",
                    "items": {"type": "number"},
                    "minItems": 2,
                    "maxItems": 3,
                },
            },
        },
        "properties": {"type": "object"},
    },
}
_BODY_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "title": "Batch",
            "required": ["incidents"],
            "properties": {"incidents": {"type": "array", "maxItems": 10_000, "items": _ROW}},
        },
        {
            "type": "object",
            "title": "FeatureCollection",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "maxItems": 10_000, "items": _FEATURE},
            },
        },
        _ROW,
    ]
}


@router.post(
    "/incidents",
    response_model=IngestAnswer,
    summary="Ingest one incident or a batch",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _BODY_SCHEMA},
                "application/geo+json": {"schema": _BODY_SCHEMA},
            },
        }
    },
    responses=responses(400, 401, 403, 413, 422),
)
async def post_incidents(
    request: Request,
    principal: Writer,
    database: DatabaseDep,
    settings: SettingsDep,
    grid_cache: GridCacheDep,
    atomic: Annotated[
        bool,
        Query(description="Store nothing if any row is rejected (default: store the good rows)"),
    ] = False,
    on_conflict: Annotated[
        Literal["report", "update"],
        Query(
            description="A stored id resent with other content: report it in `conflicts` "
            "(default) or apply it as a correction (audited)"
        ),
    ] = "report",
    columns: Annotated[
        str | None,
        Query(
            max_length=1000,
            description="The sender's own keys: FIELD=KEY pairs, e.g. "
            "'incident_id=case_no,occurred_at=报警时间,category=警情类别'",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        Query(max_length=64, description="IANA zone of times sent without an offset"),
    ] = None,
    if_match: Annotated[
        str | None,
        Header(
            max_length=64,
            description="With one incident: correct it only at this version (its ETag)",
        ),
    ] = None,
) -> Any:
    """Store incidents idempotently by ``incident_id``; bad rows are reported, good ones stored.

    A retried batch stores nothing twice: already stored ids with the same content are counted
    as ``duplicates``; with other content they are ``conflicts``, or corrections (``updated``,
    each with an audit entry) with ``on_conflict=update``, a row ``version`` or, for one
    incident, ``If-Match`` with its ETag (a stale one is reported in ``conflicts``).
    With ``atomic=true`` a batch with any rejected row stores nothing and answers 422.
    """
    try:
        body = json.loads(await request.body())
        rows = rows_of(body)
    except (ValueError, RecursionError) as exc:
        text = (
            str(exc)
            if not isinstance(exc, json.JSONDecodeError)
            else f"body: invalid JSON ({exc.msg})"
        )
        raise ProblemError(400, text, field="body") from None
    if timezone is not None:
        try:
            pd.Timestamp("2000-01-01").tz_localize(timezone)
        except Exception:
            msg = f"timezone: {timezone!r} is not an IANA time zone (e.g. America/Chicago)"
            raise ProblemError(422, msg, field="timezone") from None
    try:
        mapping = column_mapping(columns, allow_file=False)
    except GeoError as exc:
        raise ProblemError(422, str(exc), field="columns") from None
    rows = remap_rows(rows, columns=mapping, timezone=timezone)
    expected = expected_version(if_match)
    if expected is not None:
        if len(rows) != 1 or not isinstance(rows[0], dict):
            msg = "If-Match: only with a single incident (a batch row carries its own 'version')"
            raise ProblemError(400, msg, field="header.if-match")
        rows = [{**rows[0], "version": expected}]
    if len(rows) > settings.max_batch:
        msg = f"incidents: {len(rows)} rows; at most {settings.max_batch} per request (PATROLGRID_MAX_BATCH)"
        raise ProblemError(413, msg, field="incidents")
    result = await run_in_threadpool(
        ingest,
        database,
        grid_cache,
        rows,
        actor=principal.label,
        limits_s=request.app.state.stage_limits,
        atomic=atomic,
        on_conflict=on_conflict,
    )
    answer = IngestAnswer(
        accepted=result.accepted,
        duplicates=result.duplicates,
        outside=result.outside,
        rejected=[
            RejectedRow(index=r.index, incident_id=r.incident_id, reason=r.reason)
            for r in result.rejected
        ],
        updated=result.updated,
        conflicts=[
            ConflictRow(
                index=c.index, incident_id=c.incident_id, fields=list(c.fields), reason=c.reason
            )
            for c in result.conflicts
        ],
    )
    if atomic and result.rejected:
        first = result.rejected[0]
        return JSONResponse(
            {
                "type": "about:blank",
                "title": "Unprocessable Content",
                "status": 422,
                "detail": f"incidents.{first.index}: {first.reason}; nothing was stored (atomic=true)",
                "field": f"incidents.{first.index}",
                "errors": [
                    {"field": f"incidents.{r.index}", "reason": r.reason} for r in result.rejected
                ],
                "rejected": [r.model_dump() for r in answer.rejected],
                "conflicts": [c.model_dump() for c in answer.conflicts],
            },
            status_code=422,
            media_type="application/problem+json",
        )
    return answer


@router.get(
    "/incidents/overdue",
    response_model=list[OverdueOut],
    summary="Overdue incidents",
    responses=responses(401, 403, 422),
)
def get_overdue(
    principal: Reader,
    database: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """Open incidents past their stage's time limit (``PATROLGRID_STAGE_LIMITS_S``)."""
    return service.overdue(database, principal, limit=limit)


@router.get(
    "/incidents/{incident_id}",
    response_model=IncidentOut,
    summary="One incident",
    responses={
        200: {"description": "The incident", "headers": ETAG_HEADER},
        **responses(401, 403, 404),
    },
)
def get_incident(
    incident_id: IncidentId, principal: Reader, database: DatabaseDep, response: Response
) -> dict[str, Any]:
    """An incident with its workflow state (supervisors: in their district only).

    The ``ETag`` header is the incident's version: send it back as ``If-Match`` with a
    transition so that it fails with 412 if someone else changed the incident meanwhile.
    """
    body = service.get_incident(database, incident_id, principal)
    response.headers["ETag"] = etag(body["version"])
    return body
