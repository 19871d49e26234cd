"""Open311 GeoReport v2 on the incident loop: services, residents' reports, their status.

A resident's report becomes an incident of the loop (``service_request_id`` is its
``incident_id``) through :func:`api.services.ingest.ingest`, state ``reported``, with its
service's incident category; the resident's contact fields, address and attributes are stored
beside it in ``resident_reports`` in the same transaction, never on the incident row. The
public views of a request (:func:`request_view`) carry neither contact fields nor the free-text
description.

Formats: JSON documents are lists of objects; XML documents follow the spec's element names
(``services/service``, ``service_requests/request``, ``errors/error``, ``discovery``).
"""

from __future__ import annotations

import math
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from api.auth import Principal
from api.db.engine import Database
from api.db.loop_models import IncidentDepartment, ResidentReport
from api.db.models import Grid, Incident, Transition
from api.workflow import CLOSED_STATES

from .grids import GridCache
from .ingest import ingest
from .loop_config import Departments, Open311Config, Service

__all__ = [
    "SPECIFICATION",
    "Open311Error",
    "RequestFilters",
    "discovery_document",
    "get_request",
    "list_requests",
    "service_definition",
    "service_view",
    "submit",
    "to_xml",
]

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MAX_DESCRIPTION = 4000
MAX_RANGE = timedelta(days=90)
_LEVEL_DEPTH = {"grid": 4, "community": 3, "street": 2, "district": 1}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
_CONTACT_LIMITS = {
    "email": 320,
    "first_name": 200,
    "last_name": 200,
    "phone": 64,
    "device_id": 200,
    "account_id": 200,
}
STATUS_NOTES = {
    "reported": "Received; waiting to be checked.",
    "verified": "Checked; waiting to be assigned.",
    "accepted": "Accepted; waiting to be assigned.",
    "dispatched": "Assigned and being handled.",
    "returned": "Being assigned again.",
    "handled": "Handled; waiting for a final check.",
    "rechecked": "Checked after handling.",
    "closed": "Closed.",
    "rated": "Closed.",
    "reopened": "Reopened for more work.",
}
#: XML element name of one item of each list-valued field.
_ITEM_TAG = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}


class Open311Error(Exception):
    """An error answered in the spec's format: ``[{"code": status, "description": ...}]``."""

    def __init__(self, code: int, description: str, *, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.headers = headers


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def service_view(service: Service) -> dict[str, Any]:
    """One entry of ``services``."""
    return {
        "service_code": service.service_code,
        "service_name": service.service_name,
        "description": service.description,
        "metadata": service.metadata,
        "type": service.type,
        "keywords": ",".join(service.keywords),
        "group": service.group,
    }


def service_definition(service: Service) -> dict[str, Any]:
    """The service definition (attributes) of one service."""
    return {"service_code": service.service_code, "attributes": list(service.attributes)}


def discovery_document(config: Open311Config, endpoint_url: str) -> dict[str, Any]:
    """The service discovery document naming the GeoReport v2 endpoint."""
    return {
        "changeset": config.changeset,
        "contact": config.contact,
        "key_service": config.key_service,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": endpoint_url,
                "changeset": config.changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


#: Characters XML 1.0 cannot carry even escaped (dropped from text on output).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_value(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    if value is None:
        return
    if isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            _xml_value(element, key, inner)
    elif isinstance(value, list | tuple):
        item_tag = _ITEM_TAG.get(tag, "item")
        for inner in value:
            _xml_value(element, item_tag, inner)
    else:
        element.text = _NOT_XML.sub("", str(value))


def to_xml(root: str, document: Any) -> bytes:
    """A document as UTF-8 XML with its declaration: a list becomes ``<root><item>...``, a
    mapping ``<root><key>...`` (item names per the spec: service, request, error, ...)."""
    element = ET.Element(root)
    if isinstance(document, Mapping):
        for key, value in document.items():
            _xml_value(element, key, value)
    else:
        item_tag = _ITEM_TAG.get(root, "item")
        for item in document:
            _xml_value(element, item_tag, item)
    body = ET.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode("utf-8")


# --- posting a report -------------------------------------------------------------------


def _one(fields: Mapping[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise Open311Error(400, f"{name}: given {len(values)} times; send it once")
    value = values[0].strip()
    return value or None


def _coordinate(fields: Mapping[str, list[str]], name: str, bound: float) -> float | None:
    text = _one(fields, name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise Open311Error(400, f"{name}: {text[:40]!r} is not a number") from None
    if not math.isfinite(value) or not -bound <= value <= bound:
        raise Open311Error(400, f"{name}: must be a WGS84 value between -{bound:g} and {bound:g}")
    return value


def _attributes(service: Service, fields: Mapping[str, list[str]]) -> dict[str, Any]:
    given: dict[str, list[str]] = {}
    for key, values in fields.items():
        match = re.fullmatch(r"attribute\[([^\]]{1,64})\](\[\])?", key)
        if match:
            given.setdefault(match.group(1), []).extend(v.strip() for v in values if v.strip())
    known = {a["code"]: a for a in service.attributes}
    unknown = sorted(set(given) - set(known))
    if unknown:
        msg = f"attribute[{unknown[0]}]: service {service.service_code!r} has no such attribute"
        raise Open311Error(400, msg)
    out: dict[str, Any] = {}
    for code, attribute in known.items():
        values = given.get(code, [])
        if not values:
            if attribute["required"]:
                msg = f"attribute[{code}]: required by service {service.service_code!r}"
                raise Open311Error(400, msg)
            continue
        if attribute["datatype"] != "multivaluelist" and len(values) > 1:
            raise Open311Error(400, f"attribute[{code}]: takes one value")
        if attribute["datatype"].endswith("valuelist"):
            keys = {v["key"] for v in attribute["values"]}
            bad = [v for v in values if v not in keys]
            if bad:
                msg = f"attribute[{code}]: {bad[0]!r} is not one of {', '.join(sorted(keys))}"
                raise Open311Error(400, msg)
        elif attribute["datatype"] == "number":
            try:
                float(values[0])
            except ValueError:
                raise Open311Error(400, f"attribute[{code}]: expected a number") from None
        if any(len(v) > 1000 for v in values):
            raise Open311Error(400, f"attribute[{code}]: at most 1000 characters")
        out[code] = values if attribute["datatype"] == "multivaluelist" else values[0]
    return out


def _contact(fields: Mapping[str, list[str]]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name, limit in _CONTACT_LIMITS.items():
        value = _one(fields, name)
        if value is not None and len(value) > limit:
            raise Open311Error(400, f"{name}: at most {limit} characters")
        out[name] = value
    if out["email"] is not None and not _EMAIL.match(out["email"]):
        raise Open311Error(400, "email: not an e-mail address")
    return out


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def locate_address(database: Database, address: str) -> tuple[float, float] | None:
    """A point for an address: inside the most specific stored grid whose name the address
    contains (longest name first), or None when no grid name occurs in it."""
    wanted = _normalise(address)
    with database.sessions() as session:
        rows = session.execute(
            sa.select(Grid.grid_id, Grid.level, Grid.name).where(Grid.name.is_not(None))
        ).all()
        matches = [
            (_LEVEL_DEPTH.get(level, 0), len(name), grid_id)
            for grid_id, level, name in rows
            if name and _normalise(name) and _normalise(name) in wanted
        ]
        if not matches:
            return None
        best = max(matches)[2]
        geometry: BaseGeometry = session.scalars(
            sa.select(Grid.geom).where(Grid.grid_id == best)
        ).one()
    point = geometry.representative_point()
    return float(point.x), float(point.y)


def submit(
    database: Database,
    grid_cache: GridCache,
    config: Open311Config,
    limits_s: Mapping[str, int],
    fields: Mapping[str, list[str]],
    principal: Principal,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store one resident's report as an incident; the answer entry of ``POST requests``.

    Raises
    ------
    Open311Error
        400 for a missing or bad field, 404 for an unknown service code or jurisdiction.
    """
    now = now or datetime.now(UTC)
    jurisdiction = _one(fields, "jurisdiction_id")
    if config.jurisdiction_id is not None and jurisdiction not in (None, config.jurisdiction_id):
        raise Open311Error(404, f"jurisdiction_id: {jurisdiction!r} not found")
    code = _one(fields, "service_code")
    if code is None:
        raise Open311Error(400, "service_code: required (see services.json)")
    service = config.services.get(code)
    if service is None:
        raise Open311Error(404, f"service_code: {code!r} not found (see services.json)")
    lat = _coordinate(fields, "lat", 90)
    lon = _coordinate(fields, "long", 180)
    address = _one(fields, "address_string")
    if address is not None and len(address) > 1000:
        raise Open311Error(400, "address_string: at most 1000 characters")
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat/long: send both, or address_string instead")
    source = "lat_long"
    if lat is None or lon is None:
        if address is None:
            if _one(fields, "address_id") is not None:
                raise Open311Error(400, "address_id: not supported here; send lat and long")
            raise Open311Error(400, "location: send lat and long, or address_string")
        located = locate_address(database, address)
        if located is None:
            msg = "address_string: no known place name found in it; send lat and long"
            raise Open311Error(400, msg)
        lon, lat = located
        source = "address"
    description = _one(fields, "description")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description: at most {MAX_DESCRIPTION} characters")
    media_url = _one(fields, "media_url")
    if media_url is not None and (
        len(media_url) > 2000 or not re.match(r"^https?://[^\s]+$", media_url)
    ):
        raise Open311Error(400, "media_url: expected an http(s) URL of at most 2000 characters")
    contact = _contact(fields)
    attributes = _attributes(service, fields)
    incident_id = f"311-{uuid.uuid4().hex[:16]}"

    def store_resident(session: Any, stored: list[str]) -> None:
        if incident_id in stored:
            session.execute(
                sa.update(Transition)
                .where(Transition.incident_id == incident_id, Transition.from_state.is_(None))
                .values(note=f"reported by a resident (Open311 {service.service_code})")
            )
            session.add(
                ResidentReport(
                    incident_id=incident_id,
                    service_code=service.service_code,
                    address_string=address,
                    location_source=source,
                    media_url=media_url,
                    attributes=attributes or None,
                    api_key_subject=principal.label,
                    **contact,
                )
            )

    row = {
        "incident_id": incident_id,
        "occurred_at": now.isoformat(),
        "category": service.category,
        "lon": lon,
        "lat": lat,
        "description": description,
    }
    result = ingest(
        database,
        grid_cache,
        [row],
        actor=principal.label,
        limits_s=limits_s,
        now=now,
        on_stored=store_resident,
    )
    if result.accepted != 1:
        reason = result.rejected[0].reason if result.rejected else "not stored"
        raise Open311Error(400, reason)
    limit = getattr(limits_s, "for_incident", lambda *_: limits_s)(service.category, ())
    within = limit.get("reported")
    notice = f"Thank you. {config.agency} will check report {incident_id}"
    notice += f" within {math.ceil(within / 60)} minutes." if within else "."
    return {
        "service_request_id": incident_id,
        "service_notice": notice,
        "account_id": contact["account_id"],
    }


# --- reading requests --------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFilters:
    """The ``GET requests`` query, checked."""

    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()
    page: int = 1
    page_size: int = 1000


def _date(name: str, text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name}: {text[:40]!r} is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name}: needs its time zone (Z or +HH:MM)")
    return value


def _int(name: str, text: str | None, default: int, low: int, high: int) -> int:
    if text is None or not text.strip():
        return default
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise Open311Error(400, f"{name}: expected a whole number from {low} to {high}")
    return int(text)


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.strip() for p in (text or "").split(",") if p.strip()))


def parse_filters(
    query: Mapping[str, str | None], *, now: datetime | None = None
) -> RequestFilters:
    """Check the ``GET requests`` parameters (spec defaults: the last 90 days; a
    ``service_request_id`` list overrides the other filters; the paging extension's ``page``
    and ``page_size``, at most 1000)."""
    now = now or datetime.now(UTC)
    ids = _csv(query.get("service_request_id"))
    if len(ids) > 1000 or any(len(i) > 128 for i in ids):
        raise Open311Error(400, "service_request_id: at most 1000 ids of at most 128 characters")
    statuses = _csv(query.get("status"))
    bad = [s for s in statuses if s not in ("open", "closed")]
    if bad:
        raise Open311Error(400, f"status: {bad[0]!r} is not open or closed")
    start = _date("start_date", query.get("start_date"))
    end = _date("end_date", query.get("end_date"))
    if start and end and start > end:
        raise Open311Error(400, "start_date: after end_date")
    if not ids:
        if start and end and end - start > MAX_RANGE:
            raise Open311Error(400, "start_date/end_date: may span at most 90 days")
        if start is None:
            start = (end or now) - MAX_RANGE
        elif end is None:
            end = start + MAX_RANGE
    return RequestFilters(
        ids=ids,
        service_codes=() if ids else _csv(query.get("service_code")),
        start=None if ids else start,
        end=None if ids else end,
        statuses=() if ids else statuses,
        page=_int("page", query.get("page"), 1, 1, 1_000_000),
        page_size=_int("page_size", query.get("page_size"), 1000, 1, 1000),
    )


def _agency(
    incident: Incident, assigned: list[str], config: Open311Config, departments: Departments
) -> str:
    names = [departments[c].name_en if c in departments else c for c in assigned]
    if names:
        return "; ".join(names)
    return config.agency


def request_view(
    incident: Incident,
    report: ResidentReport,
    assigned: list[str],
    config: Open311Config,
    departments: Departments,
) -> dict[str, Any]:
    """One service request as the public sees it (no contact fields, no description)."""
    service = config.services.get(report.service_code)
    closed = incident.state in CLOSED_STATES
    return {
        "service_request_id": incident.incident_id,
        "status": "closed" if closed else "open",
        "status_notes": STATUS_NOTES.get(incident.state, ""),
        "service_name": service.service_name if service else report.service_code,
        "service_code": report.service_code,
        "description": None,
        "agency_responsible": _agency(incident, assigned, config, departments),
        "service_notice": None,
        "requested_datetime": _iso(incident.received_at),
        "updated_datetime": _iso(incident.state_since),
        "expected_datetime": None,
        "address": report.address_string,
        "address_id": None,
        "zipcode": None,
        "lat": incident.lat,
        "long": incident.lon,
        "media_url": report.media_url,
    }


def _views(
    database: Database,
    where: list[Any],
    config: Open311Config,
    departments: Departments,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    with database.sessions() as session:
        statement = (
            sa.select(Incident, ResidentReport)
            .join(ResidentReport, ResidentReport.incident_id == Incident.incident_id)
            .where(*where)
            .order_by(Incident.received_at.desc(), Incident.incident_id)
            .offset(offset)
        )
        if limit is not None:
            statement = statement.limit(limit)
        rows = session.execute(statement).all()
        ids = [incident.incident_id for incident, _ in rows]
        assigned: dict[str, list[str]] = {}
        if ids:
            for incident_id, code in session.execute(
                sa.select(IncidentDepartment.incident_id, IncidentDepartment.department)
                .where(
                    IncidentDepartment.incident_id.in_(ids),
                    IncidentDepartment.status != "returned",
                )
                .order_by(IncidentDepartment.id)
            ):
                assigned.setdefault(incident_id, []).append(code)
        return [
            request_view(
                incident, report, assigned.get(incident.incident_id, []), config, departments
            )
            for incident, report in rows
        ]


def list_requests(
    database: Database, config: Open311Config, departments: Departments, filters: RequestFilters
) -> list[dict[str, Any]]:
    """Residents' requests matching ``filters``, newest first, one page."""
    where: list[Any] = []
    if filters.ids:
        where.append(Incident.incident_id.in_(filters.ids))
    if filters.service_codes:
        where.append(ResidentReport.service_code.in_(filters.service_codes))
    if filters.start is not None:
        where.append(Incident.received_at >= filters.start)
    if filters.end is not None:
        where.append(Incident.received_at <= filters.end)
    if set(filters.statuses) == {"open"}:
        where.append(Incident.state.not_in(sorted(CLOSED_STATES)))
    elif set(filters.statuses) == {"closed"}:
        where.append(Incident.state.in_(sorted(CLOSED_STATES)))
    offset = (filters.page - 1) * filters.page_size
    return _views(database, where, config, departments, offset=offset, limit=filters.page_size)


def get_request(
    database: Database, config: Open311Config, departments: Departments, request_id: str
) -> list[dict[str, Any]]:
    """One resident's request as a one-element list (404 when there is none)."""
    views = _views(database, [Incident.incident_id == request_id], config, departments)
    if not views:
        raise Open311Error(404, f"service_request_id: {request_id!r} not found")
    return views
