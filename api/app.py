"""The FastAPI application: ``create_app(settings)``.

On start the settings are checked (an insecure secret refuses to start outside dev mode), the
database is migrated to the newest Alembic revision, and plan jobs left running by a previous
process are marked failed. Request bodies larger than ``max_body_bytes`` are refused with 413.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.db.engine import Database
from api.problems import install_handlers, problem_response
from api.services.grids import GridCache
from api.services.loop_setup import install_loop, sla_background
from api.services.plans import NetworkCache, fail_interrupted
from api.settings import Settings, get_settings

__all__ = ["BodyLimit", "create_app"]


class _TooLargeError(Exception):
    pass


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"request body is larger than {self.max_bytes} bytes (PATROLGRID_MAX_BODY_BYTES)"
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(scope, detail)(scope, receive, send)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLargeError:
            if not started:
                await _too_large(scope, detail)(scope, receive, send)


def _too_large(scope: Scope, detail: str) -> ASGIApp:
    """The 413 answer: the Open311 error format under /open311/, problem+json elsewhere."""
    path = str(scope.get("path", ""))
    if path.startswith("/open311/"):
        from api.routes.open311 import spec_error_for_path

        return spec_error_for_path(path, 413, detail)
    return problem_response(413, detail, field="body")


def create_app(settings: Settings | None = None, *, schema: str | None = None) -> FastAPI:
    """Build the application.

    Parameters
    ----------
    settings
        Defaults to the environment's (``PATROLGRID_*``).
    schema
        PostgreSQL schema to use (tests isolate runs with it).

    Raises
    ------
    RuntimeError
        When the secret is insecure outside dev mode.
    """
    settings = settings or get_settings()
    settings.check_startable()
    database = Database(
        settings.database_url, echo=settings.sql_echo, schema=schema or settings.db_schema
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database.migrate()
        fail_interrupted(database)
        app.state.plan_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan")
        try:
            async with sla_background(app):
                yield
        finally:
            app.state.plan_executor.shutdown(wait=False, cancel_futures=True)
            database.dispose()

    app = FastAPI(
        title="patrolgrid",
        version="0.1.0",
        summary="Grids, incidents, the incident workflow, hotspots and patrol plans.",
        lifespan=lifespan,
        openapi_tags=[
            {"name": "ogc", "description": "OGC API - Features (grids, incidents)"},
            {"name": "incidents", "description": "Ingestion from the dispatch system"},
            {"name": "workflow", "description": "The closed-loop incident workflow"},
            {"name": "grids", "description": "Storing grids"},
            {"name": "metrics", "description": "Workflow metrics per grid and level"},
            {"name": "hotspots", "description": "Risk per grid"},
            {"name": "plans", "description": "Patrol plans (background jobs), maps, exports"},
            {"name": "open311", "description": "Open311 GeoReport v2 for residents' reports"},
            {"name": "departments", "description": "Department queues, SLAs, residents' details"},
        ],
    )
    app.state.settings = settings
    app.state.database = database
    app.state.grid_cache = GridCache(database)
    app.state.networks = NetworkCache()
    install_loop(app, settings)
    install_handlers(app)
    _include_routers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


def _include_routers(app: FastAPI) -> None:
    from api.routes import ROUTERS

    for router in ROUTERS:
        app.include_router(router)


def app_factory() -> Any:
    """``uvicorn --factory api.app:app_factory`` entry point (settings from the environment)."""
    return create_app()
