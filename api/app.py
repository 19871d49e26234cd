"""The FastAPI application: ``create_app(settings)``.

On start the settings are checked (an insecure secret refuses to start outside dev mode), the
database is migrated to the newest Alembic revision, plan jobs left running by a previous
process are marked failed, and the plan executor starts (threads of this process; the solves on
the Dask cluster of ``PATROLGRID_PLAN_SCHEDULER`` when set, which must answer or the start
fails naming it: :mod:`api.services.plan_executor`). Request bodies larger than ``max_body_bytes`` are refused with 413.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote_plus

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.db.engine import Database
from api.docs_ui import install_docs
from api.problems import install_handlers, problem_response
from api.services.grids import GridCache
from api.services.loop_setup import install_loop, sla_background
from api.services.plan_executor import PlanExecutor
from api.services.plans import NetworkCache, fail_interrupted
from api.settings import Settings, get_settings
from api.validation import MAX_JSON_DEPTH, json_depth, text_problem

__all__ = ["BodyLimit", "create_app"]


class BodyLimit:
    """ASGI middleware guarding the shape of every request before any route sees it.

    * The path and the query string must not carry control characters (``%00``...): 400.
    * A body over ``max_bytes`` (declared or streamed) is refused with 413.
    * A JSON body nested deeper than :data:`api.validation.MAX_JSON_DEPTH` is refused with 400
      (the body is read once here, bounded by ``max_bytes``, and replayed to the route).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _refuse_target(scope)
        if refusal is not None:
            await _refusal(scope, 400, refusal[1], refusal[0])(scope, receive, send)
            return
        detail = f"request body is larger than {self.max_bytes} bytes (PATROLGRID_MAX_BODY_BYTES)"
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(scope, detail)(scope, receive, send)
                return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await _too_large(scope, detail)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body.lstrip()[:1] in (b"{", b"[") and json_depth(body) > MAX_JSON_DEPTH:
            msg = f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels"
            await _refusal(scope, 400, msg, "body")(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _refuse_target(scope: Scope) -> tuple[str, str] | None:
    """``(field, detail)`` when the path or query carries text no id or parameter may hold."""
    problem = text_problem(scope.get("path", ""))
    if problem:
        return "path", f"path: {problem}"
    query = unquote_plus(scope.get("query_string", b"").decode("latin-1"), errors="replace")
    problem = text_problem(query)
    if problem:
        return "query", f"query: {problem}"
    return None


def _refusal(scope: Scope, status: int, detail: str, field: str) -> ASGIApp:
    """A refusal before any route: the Open311 error format under /open311/, else problem+json."""
    path = str(scope.get("path", ""))
    if path.startswith("/open311/"):
        from api.routes.open311 import spec_error_for_path

        return spec_error_for_path(path, status, detail)
    return problem_response(status, detail, field=field)


def _too_large(scope: Scope, detail: str) -> ASGIApp:
    """The 413 answer, in the format of the path's API."""
    return _refusal(scope, 413, detail, "body")


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
        When the secret is insecure outside dev mode; on start (the lifespan), when the plan
        scheduler does not answer (:class:`~api.services.plan_executor.SchedulerUnreachableError`).
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
        try:
            app.state.plan_executor = await run_in_threadpool(
                PlanExecutor.start,
                scheduler=settings.plan_scheduler,
                workers=settings.plan_workers,
                timeout_s=settings.plan_scheduler_timeout_s,
            )
        except BaseException:
            database.dispose()
            raise
        try:
            async with sla_background(app):
                yield
        finally:
            await run_in_threadpool(app.state.plan_executor.close)
            database.dispose()

    app = FastAPI(
        title="patrolgrid",
        version="0.1.0",
        summary="Grids, incidents, the incident workflow, hotspots and patrol plans.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
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
    install_docs(app)
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
