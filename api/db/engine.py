"""Engines, sessions and migrations.

SQLite files run in WAL mode with a busy timeout (several readers, one writer at a time, no
lost acknowledged write when the process is killed); PostgreSQL uses a connection pool. The
schema is created and upgraded by Alembic on start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session, sessionmaker

from geo._optional import require

__all__ = ["Database", "make_engine", "migrate"]

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def make_engine(url: str, *, echo: bool = False, schema: str | None = None) -> sa.Engine:
    """Create an engine for ``url`` with the settings each database needs.

    Parameters
    ----------
    url
        SQLAlchemy URL, ``sqlite:///file.db`` or ``postgresql+psycopg://...``.
    echo
        Log statements (parameters are never logged).
    schema
        PostgreSQL only: put this schema first on the search path (used to isolate test runs).
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            parsed,
            echo=echo,
            hide_parameters=True,
            connect_args={"timeout": 60, "check_same_thread": False},
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if parsed.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        return engine
    require("geoalchemy2")  # PostGIS geometry columns, and the driver: the [postgres] extra
    if parsed.get_driver_name() == "psycopg":
        require("psycopg")
    connect_args: dict[str, Any] = {}
    if schema is not None:
        connect_args["options"] = f"-csearch_path={schema},public"
    return sa.create_engine(
        parsed,
        echo=echo,
        hide_parameters=True,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: sa.Engine, revision: str = "heads") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` (idempotent)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


class Database:
    """An engine plus its session factory; one per application.

    Parameters
    ----------
    url
        SQLAlchemy URL.
    echo
        Log SQL statements.
    schema
        PostgreSQL search-path schema (tests).
    """

    def __init__(self, url: str, *, echo: bool = False, schema: str | None = None) -> None:
        self.engine = make_engine(url, echo=echo, schema=schema)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Apply the migrations."""
        migrate(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
