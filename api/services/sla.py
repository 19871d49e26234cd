"""SLAs that escalate by themselves, their signed webhooks, and the low-rating rule.

:func:`sweep` (run in the server every ``PATROLGRID_SLA_INTERVAL_S`` and by ``patrolgrid sla
run`` from cron) does two things:

1. **Escalate**: every open incident past its stage's limit (``due_at``, from the per-department,
   per-category and default stage limits) and not yet escalated in this stage gets
   ``escalated_at`` (the dispatcher's queue lists escalated incidents first), an audit entry by
   ``system:sla`` and, when ``PATROLGRID_SLA_WEBHOOK_URL`` is set, a webhook delivery row, all in
   one transaction (a compare-and-set on ``escalated_at IS NULL``: two sweeps at once escalate
   an incident once). Any transition clears the flag; the next stage is timed afresh.
2. **Deliver**: each pending webhook whose time has come is POSTed; a 2xx answer marks it
   delivered, anything else schedules the next attempt after ``backoff * 2**(attempts-1)``
   seconds, until ``PATROLGRID_SLA_WEBHOOK_ATTEMPTS`` are spent (then ``failed``, kept). When
   the receiver cannot be reached at all, the sweep stops delivering until its next run.

A webhook body is JSON; ``X-Patrolgrid-Signature: sha256=<hex>`` is HMAC-SHA256 under
``PATROLGRID_SLA_WEBHOOK_SECRET`` of ``<X-Patrolgrid-Timestamp>.<body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from api.auth import Principal
from api.db.engine import Database
from api.db.loop_models import IncidentDepartment, WebhookDelivery
from api.db.models import Incident, Transition
from api.settings import Settings
from api.workflow import CLOSED_STATES, TransitionRequest

__all__ = [
    "SLA_ACTOR",
    "SweepResult",
    "apply_rating_rule",
    "deliver_pending",
    "escalate_overdue",
    "sign",
    "sweep",
]

log = logging.getLogger("patrolgrid.sla")
SLA_ACTOR = Principal(role="system", subject="sla")
RULE_ACTOR = Principal(role="system", subject="reopen-rule")
EVENT = "incident.escalated"


@dataclass
class SweepResult:
    """What one sweep did."""

    escalated: list[str] = field(default_factory=list)
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary."""
        return {
            "escalated": self.escalated,
            "delivered": self.delivered,
            "retrying": self.retrying,
            "failed": self.failed,
        }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value of a webhook body.

    Examples
    --------
    >>> sign("k", "1", b"{}")[:7]
    'sha256='
    """
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def escalate_overdue(
    database: Database, *, webhook: bool, now: datetime | None = None, limit: int = 1000
) -> list[str]:
    """Escalate open incidents past their stage limit; the ids escalated, oldest due first."""
    now = now or datetime.now(UTC)
    with database.sessions() as session:
        candidates = session.execute(
            sa.select(Incident.incident_id, Incident.state, Incident.due_at)
            .where(
                Incident.due_at.is_not(None),
                Incident.due_at < now,
                Incident.escalated_at.is_(None),
                Incident.state.not_in(sorted(CLOSED_STATES)),
            )
            .order_by(Incident.due_at, Incident.incident_id)
            .limit(limit)
        ).all()
    escalated = []
    for incident_id, state, due in candidates:
        due = _utc(due)
        overdue_s = round((now - due).total_seconds(), 3)
        with database.session() as session:
            updated = session.execute(
                sa.update(Incident)
                .where(
                    Incident.incident_id == incident_id,
                    Incident.state == state,
                    Incident.escalated_at.is_(None),
                )
                .values(escalated_at=now)
            )
            if updated.rowcount != 1:
                continue  # moved or escalated by someone else meanwhile
            incident = session.scalars(
                sa.select(Incident).where(Incident.incident_id == incident_id)
            ).one()
            departments = session.scalars(
                sa.select(IncidentDepartment.department).where(
                    IncidentDepartment.incident_id == incident_id,
                    IncidentDepartment.status == "dispatched",
                )
            ).all()
            details = {
                "escalated": True,
                "due_at": due.isoformat(),
                "overdue_s": overdue_s,
                "departments": list(departments),
            }
            session.add(
                Transition(
                    incident_id=incident_id,
                    at=now,
                    actor=SLA_ACTOR.label,
                    from_state=state,
                    to_state=state,
                    note=f"escalated: {state} past its limit by {overdue_s:.0f} s",
                    details=details,
                )
            )
            if webhook:
                payload = {
                    "event": EVENT,
                    "incident_id": incident_id,
                    "state": state,
                    "state_since": _utc(incident.state_since).isoformat(),
                    "due_at": due.isoformat(),
                    "escalated_at": now.isoformat(),
                    "overdue_s": overdue_s,
                    "category": incident.category,
                    "severity": incident.severity,
                    "grid_id": incident.grid_id,
                    "district_id": incident.district_id,
                    "unit_id": incident.unit_id,
                    "departments": list(departments),
                }
                session.add(
                    WebhookDelivery(
                        incident_id=incident_id,
                        event=EVENT,
                        payload=payload,
                        created_at=now,
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                    )
                )
        escalated.append(incident_id)
    return escalated


def deliver_pending(
    database: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    client: httpx.Client | None = None,
    limit: int = 100,
) -> SweepResult:
    """POST every pending webhook whose next attempt is due; count the outcomes."""
    now = now or datetime.now(UTC)
    result = SweepResult()
    url = settings.sla_webhook_url
    if not url:
        return result
    secret = settings.sla_webhook_secret.get_secret_value()
    with database.sessions() as session:
        due = session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.id)
            .limit(limit)
        ).all()
    own = client is None
    http = client or httpx.Client(timeout=settings.sla_webhook_timeout_s, follow_redirects=False)
    try:
        for delivery in due:
            if not _claim(database, delivery, now, settings.sla_webhook_timeout_s):
                continue  # another sweep (another server process, or cron) is sending it
            body = json.dumps(
                {**delivery.payload, "delivery_id": delivery.id}, separators=(",", ":")
            ).encode()
            timestamp = str(int(now.timestamp()))
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "patrolgrid-sla",
                "X-Patrolgrid-Event": delivery.event,
                "X-Patrolgrid-Delivery": str(delivery.id),
                "X-Patrolgrid-Timestamp": timestamp,
                "X-Patrolgrid-Signature": sign(secret, timestamp, body),
            }
            error: str | None = None
            unreachable = False
            try:
                answer = http.post(url, content=body, headers=headers)
                if not 200 <= answer.status_code < 300:
                    error = f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
                unreachable = True
            attempts = delivery.attempts + 1
            values: dict[str, Any] = {"attempts": attempts, "last_error": error}
            if error is None:
                values.update(status="delivered", delivered_at=now)
                result.delivered += 1
            elif attempts >= settings.sla_webhook_attempts:
                values["status"] = "failed"
                result.failed += 1
                log.warning("webhook %s failed for good after %d attempts", delivery.id, attempts)
            else:
                wait_s = settings.sla_webhook_backoff_s * 2 ** (attempts - 1)
                values["next_attempt_at"] = now + timedelta(seconds=wait_s)
                result.retrying += 1
            with database.session() as session:
                session.execute(
                    sa.update(WebhookDelivery)
                    .where(WebhookDelivery.id == delivery.id)
                    .values(**values)
                )
            if unreachable:
                break  # the receiver is down: the rest wait for the next sweep, unattempted
    finally:
        if own:
            http.close()
    return result


def _claim(database: Database, delivery: WebhookDelivery, now: datetime, timeout_s: float) -> bool:
    """Take a pending delivery for this sweep (a compare-and-set on its next attempt time, so
    concurrent sweeps never send it twice); a crash mid-send frees it after twice the timeout."""
    with database.session() as session:
        taken = session.execute(
            sa.update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery.id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.attempts == delivery.attempts,
                WebhookDelivery.next_attempt_at == delivery.next_attempt_at,
            )
            .values(next_attempt_at=now + timedelta(seconds=2 * timeout_s + 1))
        )
        return taken.rowcount == 1


def sweep(database: Database, settings: Settings, *, now: datetime | None = None) -> SweepResult:
    """Escalate what is overdue, then deliver the webhooks that are due."""
    now = now or datetime.now(UTC)
    escalated = escalate_overdue(database, webhook=bool(settings.sla_webhook_url), now=now)
    result = deliver_pending(database, settings, now=now)
    result.escalated = escalated
    return result


def apply_rating_rule(
    database: Database,
    incident: Mapping[str, Any],
    settings: Settings,
    limits_s: Mapping[str, int],
    known_departments: Any,
) -> dict[str, Any]:
    """Re-open a just-rated incident when its rating is at or below
    ``PATROLGRID_REOPEN_AT_OR_BELOW``; answer the incident as it now is."""
    from .incidents import apply_transition

    rule = settings.reopen_at_or_below
    score = incident.get("satisfaction")
    if rule is None or incident.get("state") != "rated" or score is None or score > rule:
        return dict(incident)
    note = f"automatic: satisfaction {score} is at or below {rule} (PATROLGRID_REOPEN_AT_OR_BELOW)"
    return apply_transition(
        database,
        str(incident["incident_id"]),
        TransitionRequest("reopened", note=note),
        RULE_ACTOR,
        limits_s,
        known_departments=known_departments,
    )
