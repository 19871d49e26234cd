"""Tables of the residents-and-departments loop (Open311 reports, department assignments,
ratings, escalation webhooks); created by migration ``0004_residents``.

Personal details of a resident (contact fields) live only in :class:`ResidentReport`, never on
the incident row, so no view built from incidents (OGC items, exports, plans, departments,
volunteers) can carry them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime

__all__ = ["IncidentDepartment", "Rating", "ResidentReport", "WebhookDelivery"]


def _incident_fk() -> sa.ForeignKey:
    return sa.ForeignKey("incidents.incident_id", ondelete="CASCADE")


class ResidentReport(Base):
    """What a resident sent through Open311 besides the incident itself (contact: sensitive)."""

    __tablename__ = "resident_reports"

    incident_id: Mapped[str] = mapped_column(sa.String(128), _incident_fk(), primary_key=True)
    service_code: Mapped[str] = mapped_column(sa.String(64), index=True)
    address_string: Mapped[str | None] = mapped_column(sa.String(1000))
    location_source: Mapped[str] = mapped_column(sa.String(16))
    media_url: Mapped[str | None] = mapped_column(sa.String(2000))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    email: Mapped[str | None] = mapped_column(sa.String(320))
    first_name: Mapped[str | None] = mapped_column(sa.String(200))
    last_name: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(64))
    device_id: Mapped[str | None] = mapped_column(sa.String(200))
    account_id: Mapped[str | None] = mapped_column(sa.String(200))
    api_key_subject: Mapped[str] = mapped_column(sa.String(256))


class IncidentDepartment(Base):
    """One department an incident is dispatched to (several for a co-dispatch)."""

    __tablename__ = "incident_departments"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(sa.String(128), _incident_fk(), index=True)
    department: Mapped[str] = mapped_column(sa.String(32), index=True)
    #: ``dispatched``, ``handled`` or ``returned``.
    status: Mapped[str] = mapped_column(sa.String(16))
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(sa.Text)


class Rating(Base):
    """Every satisfaction rating an incident received (the incident keeps only the last)."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(sa.String(128), _incident_fk(), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(256))
    satisfaction: Mapped[int] = mapped_column(sa.SmallInteger)
    note: Mapped[str | None] = mapped_column(sa.Text)


class WebhookDelivery(Base):
    """An outgoing webhook (outbox row): written with its event, sent and retried by the sweep."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(sa.String(128), _incident_fk(), index=True)
    event: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: ``pending``, ``delivered`` or ``failed`` (attempts exhausted).
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
