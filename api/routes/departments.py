"""Departments and queues: the department list, the caller's queue (escalated first), an
incident's department assignments and rating history, a resident's contact details (admins and
dispatchers only), metrics per department."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from api.auth import Principal, require_roles
from api.deps import DatabaseDep, SettingsDep
from api.problems import ProblemError, responses
from api.routes.incidents import IncidentOut
from api.services import departments as service
from api.services.plans import district_grids

router = APIRouter(tags=["departments"])

IncidentId = Annotated[str, Path(max_length=128)]


class DepartmentOut(BaseModel):
    """A department of the configured list."""

    code: str
    name_zh: str
    name_en: str
    categories: list[str]
    stage_limits_s: dict[str, int]


class AssignmentOut(BaseModel):
    """One department an incident is dispatched to, and what it did."""

    department: str
    status: str
    dispatched_at: str
    handled_at: str | None
    note: str | None


class QueueItem(IncidentOut):
    """An incident of a queue, with its escalation and its departments."""

    escalated_at: str | None
    departments: list[AssignmentOut]
    suggested_departments: list[str]


class RatingOut(BaseModel):
    """One satisfaction rating."""

    at: str
    actor: str
    satisfaction: int
    note: str | None


class ReporterOut(BaseModel):
    """What a resident sent besides the incident (contact fields are personal data)."""

    incident_id: str
    service_code: str
    address_string: str | None
    location_source: str
    media_url: str | None
    attributes: dict[str, Any]
    email: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    device_id: str | None
    account_id: str | None
    api_key_subject: str


class DepartmentMetrics(BaseModel):
    """Workflow numbers of one department."""

    department: str
    name_zh: str
    name_en: str
    level: str | None
    grid_id: str | None
    assigned: int
    open: int
    handled: int
    returned: int
    overdue: int
    escalated: int
    handling_s: float | None


@router.get(
    "/departments",
    response_model=list[DepartmentOut],
    summary="The department list",
    responses=responses(401, 403),
)
def get_departments(
    request: Request,
    principal: Annotated[
        Principal, require_roles("admin", "dispatcher", "supervisor", "department")
    ],
) -> list[dict[str, Any]]:
    """Codes, names (zh, en), categories handled and stage limits (PATROLGRID_DEPARTMENTS_PATH)."""
    return [
        {
            "code": d.code,
            "name_zh": d.name_zh,
            "name_en": d.name_en,
            "categories": list(d.categories),
            "stage_limits_s": d.stage_limits_s,
        }
        for d in request.app.state.departments.values()
    ]


@router.get(
    "/queue",
    response_model=list[QueueItem],
    summary="The caller's work queue",
    responses=responses(401, 403, 422),
)
async def get_queue(
    request: Request,
    principal: Annotated[Principal, require_roles("admin", "dispatcher", "department")],
    database: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    """Dispatcher: incidents waiting for it plus every escalated open one; department: its open
    incidents. Escalated first, then by due time; each with the departments whose categories
    include it (``suggested_departments``)."""
    return await run_in_threadpool(
        service.queue,
        database,
        principal,
        departments=request.app.state.departments,
        limit=limit,
    )


@router.get(
    "/incidents/{incident_id}/departments",
    response_model=list[AssignmentOut],
    summary="Departments an incident is dispatched to",
    responses=responses(401, 403, 404),
)
def get_assignments(
    incident_id: IncidentId,
    principal: Annotated[
        Principal, require_roles("admin", "dispatcher", "supervisor", "department")
    ],
    database: DatabaseDep,
) -> list[dict[str, Any]]:
    """Each department of the last dispatch: dispatched, handled or returned (with the note)."""
    return service.assignments(database, incident_id, principal)


@router.get(
    "/incidents/{incident_id}/ratings",
    response_model=list[RatingOut],
    summary="Satisfaction history of an incident",
    responses=responses(401, 403, 404),
)
def get_ratings(
    incident_id: IncidentId,
    principal: Annotated[Principal, require_roles("admin", "dispatcher", "supervisor")],
    database: DatabaseDep,
) -> list[dict[str, Any]]:
    """Every rating, oldest first (the incident itself keeps only the last)."""
    return service.ratings(database, incident_id, principal)


@router.get(
    "/incidents/{incident_id}/reporter",
    response_model=ReporterOut,
    summary="A resident's contact details",
    responses=responses(401, 403, 404),
)
def get_reporter(
    incident_id: IncidentId,
    principal: Annotated[Principal, require_roles("admin", "dispatcher")],
    database: DatabaseDep,
) -> dict[str, Any]:
    """The Open311 fields of a resident's report, contact fields included (admins and
    dispatchers only; nobody else ever sees them)."""
    return service.reporter(database, incident_id)


@router.get(
    "/metrics/departments",
    response_model=list[DepartmentMetrics],
    summary="Workflow metrics per department",
    responses=responses(401, 403),
)
async def get_department_metrics(
    request: Request,
    principal: Annotated[Principal, require_roles("admin", "dispatcher", "supervisor")],
    database: DatabaseDep,
    level: Annotated[
        Literal["district", "street", "community", "grid"] | None,
        Query(description="Also per grid of this level (default: one row per department)"),
    ] = None,
) -> list[dict[str, Any]]:
    """Assigned, open, handled, handed back, overdue, escalated, mean handling seconds; per
    department, or per department and grid of ``level``."""
    return await run_in_threadpool(
        partial(
            service.department_metrics,
            database,
            principal,
            request.app.state.departments,
            level=level,
        )
    )


@router.get(
    "/departments/{code}/map",
    response_class=HTMLResponse,
    summary="A department's open work on an offline map",
    responses={
        200: {"content": {"text/html": {}}, "description": "Self-contained HTML map"},
        **responses(401, 403, 404, 409),
    },
)
async def get_department_map(
    request: Request,
    code: Annotated[str, Path(max_length=32)],
    principal: Annotated[
        Principal, require_roles("admin", "dispatcher", "supervisor", "department")
    ],
    database: DatabaseDep,
) -> HTMLResponse:
    """The department's open incidents (clusters, heat, by hour) over the grids, each grid's
    popup counting those overdue; a department sees only its own map, a supervisor its district."""
    from maps.folium_map import make_map, map_html

    own = principal.role != "department" or principal.department == code
    if code not in request.app.state.departments or not own:
        raise ProblemError(404, f"department {code!r} not found", field="path.code")
    gridset = request.app.state.grid_cache.get()
    grids = district_grids(gridset, principal.district if principal.role == "supervisor" else None)
    if grids.empty:
        raise ProblemError(409, "no grids are stored yet (POST /grids)", field="path.code")

    def render() -> str:
        incidents, overdue = service.open_work(database, principal, code)
        metrics = overdue if len(overdue) else None
        return map_html(
            make_map(grids=grids, incidents=incidents if len(incidents) else None, metrics=metrics)
        )

    return HTMLResponse(await run_in_threadpool(render))


@router.get(
    "/departments/{code}/report",
    response_class=HTMLResponse,
    summary="A department's open work as an offline report",
    responses={
        200: {"content": {"text/html": {}}, "description": "Self-contained HTML report"},
        **responses(401, 403, 404, 422),
    },
)
async def get_department_report(
    request: Request,
    code: Annotated[str, Path(max_length=32)],
    principal: Annotated[
        Principal, require_roles("admin", "dispatcher", "supervisor", "department")
    ],
    database: DatabaseDep,
    settings: SettingsDep,
    lang: Annotated[Literal["en", "zh"], Query(description="Labels: en or zh")] = "en",
) -> HTMLResponse:
    """The department's open incidents (state, when dispatched, when the stage is due),
    escalated first, then overdue, then by due time; a department sees only its own report, a
    supervisor its district's incidents. Times in the city's zone (PATROLGRID_TIMEZONE)."""
    from maps.work_report import render_work_report

    own = principal.role != "department" or principal.department == code
    departments = request.app.state.departments
    if code not in departments or not own:
        raise ProblemError(404, f"department {code!r} not found", field="path.code")
    department = departments[code]
    name = department.name_zh if lang == "zh" else department.name_en

    def render() -> str:
        return render_work_report(
            service.open_work_table(database, principal, code),
            department=code,
            name=name,
            now=datetime.now(UTC),
            timezone=settings.timezone,
            lang=lang,
        )

    return HTMLResponse(await run_in_threadpool(render))
