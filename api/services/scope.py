"""What each role may see, as SQL filters (applied in the database, never after the fact)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from api.auth import Principal
from api.db.loop_models import IncidentDepartment
from api.db.models import Grid, Incident

__all__ = ["grid_scope", "incident_scope", "sees_incidents"]


def sees_incidents(principal: Principal) -> bool:
    """Volunteers and Open311 clients never see incident details; the other roles do (in scope)."""
    return principal.role not in ("volunteer", "open311")


def incident_scope(principal: Principal) -> ColumnElement[bool]:
    """Incidents the caller may read: all, its district's (supervisor), those dispatched to it
    and not handed back (department), none (volunteer, open311)."""
    if principal.role == "supervisor":
        return Incident.district_id == principal.district
    if principal.role == "department":
        assigned = sa.select(IncidentDepartment.incident_id).where(
            IncidentDepartment.department == principal.department,
            IncidentDepartment.status != "returned",
        )
        return Incident.incident_id.in_(assigned)
    if principal.role in ("volunteer", "open311"):
        return sa.false()
    return sa.true()


def grid_scope(principal: Principal) -> ColumnElement[bool]:
    """Grids the caller may read: a supervisor its district, a volunteer its community."""
    if principal.role == "supervisor":
        return Grid.district_id == principal.district
    if principal.role == "volunteer":
        return Grid.community_id == principal.community
    if principal.role in ("department", "open311"):
        return sa.false()
    return sa.true()
