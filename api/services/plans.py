"""Plan jobs in the database: queued -> running -> done | failed.

A job row is written before ``POST /plans`` answers 202, so its id is valid at once; the work
runs after the answer (a background task) and stores the VROOM-like plan JSON or the error.
A job left ``queued``/``running`` by a process that died is marked failed on the next start.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from api.db.engine import Database
from api.db.models import Plan

__all__ = ["create_job", "fail_interrupted", "finish_job", "get_job", "start_job"]


def create_job(
    database: Database, request: dict[str, Any], *, actor: str, district_id: str | None
) -> str:
    """Store a queued job and return its id."""
    plan_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    with database.session() as session:
        session.add(
            Plan(
                plan_id=plan_id,
                status="queued",
                created_at=now,
                updated_at=now,
                created_by=actor,
                district_id=district_id,
                request=request,
            )
        )
    return plan_id


def start_job(database: Database, plan_id: str) -> None:
    """Mark a job running."""
    with database.session() as session:
        session.execute(
            sa.update(Plan)
            .where(Plan.plan_id == plan_id)
            .values(status="running", updated_at=datetime.now(UTC))
        )


def finish_job(
    database: Database, plan_id: str, *, result: dict[str, Any] | None, error: str | None
) -> None:
    """Store a job's plan (done) or its error (failed)."""
    with database.session() as session:
        session.execute(
            sa.update(Plan)
            .where(Plan.plan_id == plan_id)
            .values(
                status="failed" if error is not None else "done",
                result=result,
                error=error,
                updated_at=datetime.now(UTC),
            )
        )


def get_job(database: Database, plan_id: str) -> Plan | None:
    """The job row, or None."""
    with database.sessions() as session:
        return session.get(Plan, plan_id)


def fail_interrupted(database: Database) -> int:
    """Mark jobs left unfinished by a previous process as failed; returns how many."""
    with database.session() as session:
        result = session.execute(
            sa.update(Plan)
            .where(Plan.status.in_(("queued", "running")))
            .values(
                status="failed",
                error="interrupted: the server stopped before the plan finished; submit it again",
                updated_at=datetime.now(UTC),
            )
        )
        return int(result.rowcount or 0)
