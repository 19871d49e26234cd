"""Alembic environment: runs on the connection handed over by :func:`api.db.engine.migrate`.

Run from a shell with ``alembic -c api/alembic.ini upgrade head`` (the URL then comes from
``PATROLGRID_DATABASE_URL``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from api.db.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Serialise concurrent starts of several server processes on one database.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(7201583)"))
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate on the given connection, or on one opened from the settings' URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from api.db.engine import make_engine
    from api.settings import Settings

    engine = make_engine(Settings().database_url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    msg = "offline (--sql) migrations are not supported; run against a database"
    raise SystemExit(msg)
run_migrations_online()
