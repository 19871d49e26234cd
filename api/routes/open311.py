"""Open311 GeoReport v2 (``/open311/v2/``) and its service discovery (``/open311/discovery``).

Every answer comes as ``.json`` or ``.xml`` (the path's suffix); errors on these paths are the
spec's ``[{"code": 400, "description": "..."}]`` (``<errors><error>...`` in XML), never
problem+json. ``POST requests`` is form-encoded and needs ``api_key``, a token of role
``open311``; posts are rate-limited per key and per client address, reads per client address
(in-process counters, see docs/residents.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import TokenError, verify_presented_token
from api.problems import ProblemError
from api.services import open311 as service
from api.services.open311 import Open311Error

log = logging.getLogger("patrolgrid.api")
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _format_of(path: str) -> str:
    return "xml" if path.rstrip("/").endswith(".xml") else "json"


def answer(
    document: Any, fmt: str, root: str, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A document in the requested format (``root``: the XML root element)."""
    if fmt == "xml":
        body = service.to_xml(root, document)
    else:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type=FORMATS[fmt], headers=headers)


def error_answer(
    code: int, description: str, fmt: str, headers: dict[str, str] | None = None
) -> Response:
    """The spec's error document."""
    return answer(
        [{"code": code, "description": description}], fmt, "errors", status=code, headers=headers
    )


def spec_error_for_path(path: str, code: int, description: str) -> Response:
    """The spec's error document in the format a path asks for (used by the body limit)."""
    return error_answer(code, description, _format_of(path))


class Open311Route(APIRoute):
    """A route answering every error of its handler in the spec's error format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def wrapped(request: Request) -> Response:
            fmt = _format_of(request.url.path)
            try:
                return await handler(request)
            except Open311Error as exc:
                return error_answer(exc.code, exc.description, fmt, exc.headers)
            except ProblemError as exc:
                return error_answer(exc.status, exc.detail, fmt, exc.headers)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                field = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
                return error_answer(400, f"{field}: {first.get('msg', 'invalid')}", fmt)
            except StarletteHTTPException as exc:
                return error_answer(exc.status_code, str(exc.detail), fmt)
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                return error_answer(500, "internal error; it was logged on the server", fmt)

        return wrapped


router = APIRouter(tags=["open311"], route_class=Open311Route)

_ERRORS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}
_ERROR_CONTENT = {"application/json": {"schema": _ERRORS_SCHEMA}, "text/xml": {}}
_ERROR_TEXT = {
    400: "A missing or bad parameter (the description names it)",
    403: "api_key missing, invalid or not an Open311 key (reads: when public reads are off)",
    404: "Unknown service, request, jurisdiction or format",
    413: "Request body too large",
    429: "Too many requests from this key or address (see Retry-After)",
}


def spec_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI answers of an Open311 route: 200 in JSON or XML, errors in the spec's format."""
    out: dict[int | str, dict[str, Any]] = {
        200: {"description": "The document", "content": {"application/json": {}, "text/xml": {}}}
    }
    for code in codes:
        out[code] = {"description": _ERROR_TEXT[code], "content": _ERROR_CONTENT}
    return out


_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["api_key", "service_code"],
                    "properties": {
                        name: {"type": "string"}
                        for name in (
                            "api_key",
                            "jurisdiction_id",
                            "service_code",
                            "lat",
                            "long",
                            "address_string",
                            "email",
                            "device_id",
                            "account_id",
                            "first_name",
                            "last_name",
                            "phone",
                            "description",
                            "media_url",
                        )
                    },
                }
            }
        },
    }
}

Fmt = Annotated[str, Path(description="`json` or `xml`", max_length=8)]
ServiceCode = Annotated[str, Path(max_length=64)]
RequestId = Annotated[str, Path(max_length=128)]


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, f"format: {fmt[:8]!r} is not json or xml")
    return fmt


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limit(request: Request, key: str, limit: int) -> None:
    settings = request.app.state.settings
    limiter = request.app.state.rate_limiter
    wait_s = limiter.hit(key, limit=limit, window_s=settings.open311_rate_window_s)
    if wait_s > 0:
        retry = limiter.retry_after(wait_s)
        msg = f"too many requests; retry after {retry} s"
        raise Open311Error(429, msg, headers={"Retry-After": retry})


def _read_limit(request: Request) -> None:
    _limit(request, f"read:{_client(request)}", request.app.state.settings.open311_read_rate)


def _open311_principal(request: Request, key: str | None) -> Any:
    """The Open311 client behind an ``api_key`` (403 in the spec's format otherwise)."""
    if key is None or not key.strip():
        raise Open311Error(403, "api_key: required (a key from the city's key service)")
    try:
        principal = verify_presented_token(request, key.strip())
    except TokenError:
        raise Open311Error(403, "api_key: invalid or expired") from None
    if principal.role != "open311":
        raise Open311Error(403, "api_key: not an Open311 key")
    return principal


def _reader(request: Request) -> None:
    """Reads of requests: rate-limited per address; with PATROLGRID_OPEN311_PUBLIC_READS off,
    only for holders of an Open311 key."""
    _read_limit(request)
    if not request.app.state.settings.open311_public_reads:
        _open311_principal(request, request.query_params.get("api_key"))


def _jurisdiction(request: Request) -> None:
    expected = request.app.state.open311.jurisdiction_id
    given = request.query_params.get("jurisdiction_id")
    if expected is not None and given not in (None, "", expected):
        raise Open311Error(404, f"jurisdiction_id: {given[:64]!r} not found")


@router.get(
    "/open311/discovery.{fmt}",
    summary="Open311 service discovery",
    response_class=Response,
    responses=spec_responses(404, 429),
)
def discovery(request: Request, fmt: Fmt) -> Response:
    """The discovery document: changeset, contact, key service, the GeoReport v2 endpoint."""
    fmt = _check_format(fmt)
    _read_limit(request)
    url = str(request.base_url).rstrip("/") + "/open311/v2"
    return answer(service.discovery_document(request.app.state.open311, url), fmt, "discovery")


@router.get(
    "/open311/v2/services.{fmt}",
    summary="Open311 service list",
    response_class=Response,
    responses=spec_responses(404, 429),
)
def services(request: Request, fmt: Fmt) -> Response:
    """Every service (report type) residents may post, mapped to incident categories."""
    fmt = _check_format(fmt)
    _read_limit(request)
    _jurisdiction(request)
    items = [service.service_view(s) for s in request.app.state.open311.services.values()]
    return answer(items, fmt, "services")


@router.get(
    "/open311/v2/services/{service_code}.{fmt}",
    summary="Open311 service definition",
    response_class=Response,
    responses=spec_responses(400, 404, 429),
)
def service_definition(request: Request, service_code: ServiceCode, fmt: Fmt) -> Response:
    """The attributes (extra form fields) of one service."""
    fmt = _check_format(fmt)
    _read_limit(request)
    _jurisdiction(request)
    found = request.app.state.open311.services.get(service_code)
    if found is None:
        raise Open311Error(404, f"service_code: {service_code!r} not found")
    return answer(service.service_definition(found), fmt, "service_definition")


async def _form(request: Request) -> dict[str, list[str]]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fields: dict[str, list[str]] = {}
    for key, values in request.query_params.multi_items():
        fields.setdefault(key, []).append(values)
    body = await request.body()
    if body:
        if kind != "application/x-www-form-urlencoded":
            msg = "body: send application/x-www-form-urlencoded fields (the Open311 format)"
            raise Open311Error(400, msg)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Open311Error(400, "body: not UTF-8") from None
        try:
            parsed = parse_qs(
                text, keep_blank_values=True, strict_parsing=False, max_num_fields=200
            )
        except ValueError as exc:
            raise Open311Error(400, f"body: {exc}") from None
        for key, values in parsed.items():
            fields[key] = fields.get(key, []) + values if key.startswith("attribute[") else values
    return fields


@router.post(
    "/open311/v2/requests.{fmt}",
    summary="Post a resident's report",
    response_class=Response,
    responses=spec_responses(400, 403, 404, 413, 429),
    openapi_extra=_FORM,
)
async def post_request(request: Request, fmt: Fmt) -> Response:
    """Store a resident's report as an incident in state ``reported``; answer its id."""
    fmt = _check_format(fmt)
    settings = request.app.state.settings
    _limit(request, f"post:{_client(request)}", settings.open311_address_rate)
    fields = await _form(request)
    keys = fields.get("api_key") or []
    principal = _open311_principal(request, keys[0] if len(keys) == 1 else None)
    key_id = hashlib.sha256(keys[0].strip().encode()).hexdigest()[:24]
    _limit(request, f"key:{key_id}", settings.open311_key_rate)
    entry = await run_in_threadpool(
        service.submit,
        request.app.state.database,
        request.app.state.grid_cache,
        request.app.state.open311,
        request.app.state.stage_limits,
        fields,
        principal,
    )
    return answer([entry], fmt, "service_requests")


def _query(request: Request) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key, value in request.query_params.multi_items():
        out[key] = value if key not in out else f"{out[key]},{value}"
    return out


@router.get(
    "/open311/v2/requests.{fmt}",
    summary="Residents' requests and their status",
    response_class=Response,
    responses=spec_responses(400, 403, 404, 429),
)
def get_requests(request: Request, fmt: Fmt) -> Response:
    """Requests filtered by id list, service code, dates, status; paged (``page``, ``page_size``)."""
    fmt = _check_format(fmt)
    _reader(request)
    _jurisdiction(request)
    filters = service.parse_filters(_query(request))
    state = request.app.state
    items = service.list_requests(state.database, state.open311, state.departments, filters)
    return answer(items, fmt, "service_requests")


@router.get(
    "/open311/v2/requests/{request_id}.{fmt}",
    summary="One resident's request",
    response_class=Response,
    responses=spec_responses(400, 403, 404, 429),
)
def get_request(request: Request, request_id: RequestId, fmt: Fmt) -> Response:
    """One request (a one-element list, as the spec says)."""
    fmt = _check_format(fmt)
    _reader(request)
    _jurisdiction(request)
    state = request.app.state
    items = service.get_request(state.database, state.open311, state.departments, request_id)
    return answer(items, fmt, "service_requests")


@router.api_route(
    "/open311/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
def unknown(rest: str) -> Response:
    """Any other path under /open311 answers 404 in the spec's error format."""
    raise Open311Error(404, f"/open311/{rest[:100]}: no such Open311 resource")
