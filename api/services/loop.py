"""Bookkeeping of the loop kept in the transaction of every transition: department
assignments (dispatch and co-dispatch) and the history of satisfaction ratings.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from api.auth import Principal
from api.db.loop_models import IncidentDepartment, Rating
from api.workflow import TransitionRequest

__all__ = ["after_transition", "current_departments"]


def current_departments(session: Session, incident_id: str) -> tuple[str, ...]:
    """The departments an incident is dispatched to now (not those that handed it back)."""
    rows = session.scalars(
        sa.select(IncidentDepartment.department)
        .where(
            IncidentDepartment.incident_id == incident_id,
            IncidentDepartment.status != "returned",
        )
        .order_by(IncidentDepartment.id)
    ).all()
    return tuple(rows)


def after_transition(
    session: Session,
    incident_id: str,
    request: TransitionRequest,
    principal: Principal,
    now: datetime,
) -> None:
    """Keep assignments and ratings in step with a transition just written in ``session``.

    A dispatch replaces the incident's department assignments by the departments it names (none
    for a unit-only dispatch); a dispatcher's ``handled`` marks every open assignment handled and
    its ``returned`` every open one returned; a rating is appended to the rating history.
    """
    if request.to == "dispatched":
        session.execute(
            sa.delete(IncidentDepartment).where(IncidentDepartment.incident_id == incident_id)
        )
        for code in request.all_departments:
            session.add(
                IncidentDepartment(
                    incident_id=incident_id,
                    department=code,
                    status="dispatched",
                    dispatched_at=now,
                    note=request.note,
                )
            )
    elif request.to == "handled":
        session.execute(
            sa.update(IncidentDepartment)
            .where(
                IncidentDepartment.incident_id == incident_id,
                IncidentDepartment.status == "dispatched",
            )
            .values(status="handled", handled_at=now)
        )
    elif request.to == "returned":  # a dispatcher pulling the incident back
        session.execute(
            sa.update(IncidentDepartment)
            .where(
                IncidentDepartment.incident_id == incident_id,
                IncidentDepartment.status == "dispatched",
            )
            .values(status="returned", note=request.note)
        )
    elif request.to == "rated" and request.satisfaction is not None:
        session.add(
            Rating(
                incident_id=incident_id,
                at=now,
                actor=principal.label,
                satisfaction=request.satisfaction,
                note=request.note,
            )
        )
