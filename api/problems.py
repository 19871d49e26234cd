"""RFC 9457 problem details: every error of the service, mapped once, here.

Handlers answer ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``
and, where one field is at fault, ``field`` (a JSON pointer-like dotted path such as
``body.incidents.3.lon``). The libraries' own errors (:class:`geo.errors.GeoError`,
:class:`planner.errors.PlannerError`, :class:`maps.errors.MapsError`) become 422.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo.errors import GeoError
from maps.errors import MapsError
from planner.errors import PlannerError

__all__ = [
    "PROBLEM_JSON",
    "Problem",
    "ProblemError",
    "ValidationProblem",
    "install_handlers",
    "problem_response",
    "responses",
    "scrub",
]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("patrolgrid.api")


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    field: str | None = None


class ValidationProblem(Problem):
    """A 422 problem listing every invalid field."""

    errors: list[dict[str, str]] = []


class ProblemError(Exception):
    """Raise anywhere in a request to answer a problem.

    Parameters
    ----------
    status
        HTTP status code.
    detail
        What went wrong and how to fix it.
    field
        The request field at fault, if one is.
    extra
        More members of the problem object.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.headers = headers
        self.extra = extra


def _server_prefixes() -> list[str]:
    """Folders of this server whose paths must never appear in an answer (longest first)."""
    root = str(Path(__file__).resolve().parents[1])
    found = {tempfile.gettempdir(), os.path.realpath(tempfile.gettempdir()), root, sys.prefix}
    found |= {sys.base_prefix, str(Path.home()), os.getcwd()}
    return sorted((p for p in found if len(p) > 1), key=len, reverse=True)


_PATHS = re.compile(
    "(" + "|".join(re.escape(p) for p in _server_prefixes()) + r")(?:/[^\s'\"(),;:]*)?"
)


def scrub(text: str) -> str:
    """``text`` with every path under a server folder cut to its file name.

    >>> import tempfile
    >>> scrub(f"cannot read {tempfile.gettempdir()}/patrolgrid-grids-x/upload.geojson: bad")
    'cannot read upload.geojson: bad'
    """
    return _PATHS.sub(lambda m: Path(m.group(0)).name or "<server path>", text)


def problem_response(
    status: int,
    detail: str | None,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": None if detail is None else scrub(detail),
    }
    if field is not None:
        body["field"] = field
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _library_field(exc: Exception) -> str | None:
    return getattr(exc, "field", None)


def install_handlers(app: FastAPI) -> None:
    """Register the one mapping from exceptions to problem responses."""

    @app.exception_handler(ProblemError)
    async def _problem(_request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            exc.status, exc.detail, field=exc.field, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _loc(err.get("loc", ())), "reason": scrub(str(err.get("msg", "invalid")))}
            for err in exc.errors()
        ]
        first = errors[0] if errors else {"field": None, "reason": "invalid request"}
        # OGC API - Features answers an invalid parameter with 400 (Requirement 7.15/7.16)
        route = request.scope.get("route")
        status = 400 if "ogc" in (getattr(route, "tags", None) or ()) else 422
        return problem_response(
            status,
            f"{first['field']}: {first['reason']}",
            field=first["field"],
            errors=errors,
        )

    for library_error in (GeoError, PlannerError, MapsError):

        @app.exception_handler(library_error)
        async def _library(_request: Request, exc: Exception) -> JSONResponse:
            return problem_response(422, str(exc), field=_library_field(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "internal error; the incident was logged on the server")


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or invalid bearer token",
    403: "The token's role may not do this",
    404: "Not found (or outside the token's scope)",
    409: "Conflict with the current state",
    412: "If-Match does not match the current version (read again and retry)",
    413: "Request body too large",
    422: "Invalid input; `field` names the first bad field",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem answers with the given status codes."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        model = ValidationProblem if code == 422 else Problem
        out[code] = {
            "description": _DESCRIPTIONS.get(code, HTTPStatus(code).phrase),
            "content": {PROBLEM_JSON: {"schema": model.model_json_schema()}},
        }
    return out
