"""Alembic migrations of the service's database (applied by :func:`api.db.engine.migrate`)."""
