"""The incident workflow: transitions and the audit trail."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.auth import Principal, require_roles
from api.concurrency import ETAG_HEADER, etag, expected_version
from api.deps import DatabaseDep, SettingsDep
from api.problems import ProblemError, responses
from api.routes.incidents import IncidentOut
from api.services import departments as departments_service
from api.services import incidents as service
from api.services.sla import apply_rating_rule
from api.validation import Count, FreeText, Label
from api.workflow import DEPARTMENTS, STATES, TransitionRequest, WorkflowError

router = APIRouter(tags=["workflow"])

IncidentId = Annotated[str, Path(max_length=128)]


class TransitionIn(BaseModel):
    """A requested move of an incident (strict types, see :mod:`api.validation`)."""

    to: Label = Field(description=f"Target state: one of {', '.join(STATES)}", max_length=32)
    note: FreeText | None = None
    unit_id: Label | None = Field(default=None, description="Dispatch to this unit")
    department: Label | None = Field(
        default=None, max_length=32, description=f"Dispatch to: {', '.join(DEPARTMENTS)}"
    )
    satisfaction: Count | None = Field(default=None, ge=1, le=5, description="With to=rated")
    departments: list[Label] | None = Field(
        default=None, max_length=20, description="Co-dispatch to several departments"
    )


class AuditEntry(BaseModel):
    """One transition of the audit trail."""

    at: str
    actor: str
    from_: str | None = Field(alias="from")
    to: str
    note: str | None
    details: dict[str, Any]


@router.post(
    "/incidents/{incident_id}/transitions",
    response_model=IncidentOut,
    summary="Move an incident to another state",
    responses={
        200: {"description": "The moved incident", "headers": ETAG_HEADER},
        **responses(400, 401, 403, 404, 409, 412, 422),
    },
)
async def post_transition(
    incident_id: IncidentId,
    body: TransitionIn,
    principal: Annotated[Principal, require_roles("admin", "dispatcher", "department")],
    database: DatabaseDep,
    settings: SettingsDep,
    http: Request,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(
            max_length=64,
            description="The incident's ETag as read: 412 if it changed since (recommended)",
        ),
    ] = None,
) -> dict[str, Any]:
    """Apply a legal transition (409 problem for an illegal one) and record who, when, why.

    With ``If-Match`` the move is applied only to the version that was read (412 otherwise);
    two racing moves never both succeed. The answer carries the new ``ETag``. A department
    token may only move its own incidents to ``handled`` or ``returned``.
    """
    values = body.model_dump()
    values["departments"] = tuple(values["departments"] or ())
    request = TransitionRequest(**values)
    limits, known = http.app.state.stage_limits, http.app.state.departments
    try:
        if principal.role == "department":
            answer = await run_in_threadpool(
                departments_service.department_transition,
                database,
                incident_id,
                request,
                principal,
                limits,
            )
        else:
            moved = await run_in_threadpool(
                partial(
                    service.apply_transition,
                    database,
                    incident_id,
                    request,
                    principal,
                    limits,
                    expected_version=expected_version(if_match),
                    known_departments=known,
                )
            )
            answer = await run_in_threadpool(
                apply_rating_rule, database, moved, settings, limits, known
            )
    except WorkflowError as exc:
        raise ProblemError(exc.status, str(exc), field=exc.field) from None
    response.headers["ETag"] = etag(answer["version"])
    return answer


@router.get(
    "/incidents/{incident_id}/transitions",
    response_model=list[AuditEntry],
    response_model_by_alias=True,
    summary="Audit trail of an incident",
    responses=responses(401, 403, 404),
)
def get_transitions(
    incident_id: IncidentId,
    principal: Annotated[
        Principal, require_roles("admin", "dispatcher", "supervisor", "department")
    ],
    database: DatabaseDep,
) -> list[dict[str, Any]]:
    """Every transition, oldest first: who, when, from, to, note."""
    return service.audit_trail(database, incident_id, principal)
