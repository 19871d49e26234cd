"""Migrations down to 0001 and up again (through 0004_residents) keep the incidents and, on
SQLite, the R*Tree triggers of 0001."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from api.db.engine import Database, alembic_config
from api.services.grids import GridCache
from api.services.ingest import ingest
from tests.api.conftest import incident


def test_down_to_0001_and_up_again(backend: tuple[str, str | None]) -> None:
    """Downgrading to 0001 drops the later tables and column but keeps incidents (and SQLite's spatial
    triggers); upgrading again restores them."""
    url, schema = backend
    database = Database(url, schema=schema)
    database.migrate()
    ingest(database, GridCache(database), [incident("m1")], actor="t", limits_s={})
    config = alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    inspector = sa.inspect(database.engine)
    assert "resident_reports" not in inspector.get_table_names()
    assert "escalated_at" not in {c["name"] for c in inspector.get_columns("incidents")}
    if database.dialect == "sqlite":
        with database.engine.connect() as connection:
            triggers = connection.execute(
                sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars()
            assert {"incidents_rtree_ins", "incidents_rtree_del"} <= set(triggers)
    database.migrate()
    names = set(sa.inspect(database.engine).get_table_names())
    assert {"resident_reports", "incident_departments", "ratings", "webhook_deliveries"} <= names
    with database.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM incidents")).scalar() == 1
    database.dispose()
