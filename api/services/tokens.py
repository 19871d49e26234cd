"""The token deny list: revoke one bearer token by its id, check it on every request."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from api.db.engine import Database
from api.db.models import RevokedToken

__all__ = ["is_revoked", "revoke"]


def revoke(
    database: Database,
    token_id: str,
    *,
    reason: str | None = None,
    expires_at: datetime | None = None,
) -> bool:
    """Put ``token_id`` on the deny list; False when it already was (idempotent)."""
    with database.session() as session:
        if session.get(RevokedToken, token_id) is not None:
            return False
        session.add(
            RevokedToken(
                token_id=token_id,
                revoked_at=datetime.now(UTC),
                expires_at=expires_at,
                reason=reason,
            )
        )
    return True


def is_revoked(database: Database, token_id: str | None) -> bool:
    """True when the token id is on the deny list."""
    if token_id is None:
        return False
    with database.sessions() as session:
        found = session.scalar(
            sa.select(RevokedToken.token_id).where(RevokedToken.token_id == token_id)
        )
    return found is not None
