"""Configuration of the residents-and-departments loop: the Open311 service list, the department
list and the SLA stage limits, read from YAML and checked on load.

A bad file is a :class:`LoopConfigError` naming the file, the entry and the field, e.g.
``departments.yaml: departments[2].code: missing``; the server refuses to start with it and
the CLI answers it in one line (exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from api.workflow import STATES

__all__ = [
    "DATA",
    "Department",
    "Departments",
    "LoopConfigError",
    "Open311Config",
    "Service",
    "StageLimits",
    "load_departments",
    "load_open311",
]

DATA = Path(__file__).resolve().parents[1] / "data"
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_TYPES = ("realtime", "batch", "blackbox")
_DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


class LoopConfigError(ValueError):
    """A service list or department file is unreadable or has a bad entry."""


def _read(path: Path, label: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"{path}: cannot read the {label} ({exc.strerror or exc})"
        raise LoopConfigError(msg) from None
    except yaml.YAMLError as exc:
        msg = f"{path}: not valid YAML ({str(exc).splitlines()[0]})"
        raise LoopConfigError(msg) from None
    if not isinstance(document, dict):
        msg = f"{path}: expected a mapping at the top of the {label}"
        raise LoopConfigError(msg)
    return document


def _entries(document: Mapping[str, Any], key: str, path: Path) -> list[tuple[str, dict[str, Any]]]:
    """The mappings of the non-empty list ``key``, each with where it stands in ``path``."""
    raw_list = document.get(key)
    if not isinstance(raw_list, list) or not raw_list:
        msg = f"{path}: {key}: expected a non-empty list"
        raise LoopConfigError(msg)
    out = []
    for i, raw in enumerate(raw_list):
        where = f"{path.name}: {key}[{i}]"
        if not isinstance(raw, dict):
            msg = f"{where}: expected a mapping"
            raise LoopConfigError(msg)
        out.append((where, raw))
    return out


def _text(entry: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            msg = f"{where}.{key}: missing"
            raise LoopConfigError(msg)
        return None
    if not isinstance(value, str | int | float):
        msg = f"{where}.{key}: expected text, got {type(value).__name__}"
        raise LoopConfigError(msg)
    return str(value).strip()


def _limits(value: Any, where: str) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        msg = f"{where}: expected a mapping stage -> seconds"
        raise LoopConfigError(msg)
    out = {}
    for stage, seconds in value.items():
        if stage not in STATES:
            msg = f"{where}.{stage}: unknown stage; expected one of {', '.join(STATES)}"
            raise LoopConfigError(msg)
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
            msg = f"{where}.{stage}: expected positive whole seconds, got {seconds!r}"
            raise LoopConfigError(msg)
        out[str(stage)] = int(seconds)
    return out


@dataclass(frozen=True)
class Service:
    """One Open311 service (a type of report) and the incident category it becomes."""

    service_code: str
    service_name: str
    description: str
    category: str
    type: str
    keywords: tuple[str, ...]
    group: str
    department: str | None
    attributes: tuple[dict[str, Any], ...]

    @property
    def metadata(self) -> bool:
        """True when the service has attributes (a service definition to fetch)."""
        return bool(self.attributes)


@dataclass(frozen=True)
class Open311Config:
    """The service list with the discovery details."""

    services: dict[str, Service]
    agency: str
    jurisdiction_id: str | None
    changeset: str
    contact: str
    key_service: str


def _attribute(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        msg = f"{where}: expected a mapping"
        raise LoopConfigError(msg)
    code = _text(raw, "code", where)
    datatype = _text(raw, "datatype", where)
    if datatype not in _DATATYPES:
        msg = f"{where}.datatype: {datatype!r} is not one of {', '.join(_DATATYPES)}"
        raise LoopConfigError(msg)
    values = []
    for j, value in enumerate(raw.get("values") or []):
        vwhere = f"{where}.values[{j}]"
        if not isinstance(value, dict):
            msg = f"{vwhere}: expected a mapping with key and name"
            raise LoopConfigError(msg)
        values.append({"key": _text(value, "key", vwhere), "name": _text(value, "name", vwhere)})
    if datatype.endswith("valuelist") and not values:
        msg = f"{where}.values: a {datatype} needs values"
        raise LoopConfigError(msg)
    return {
        "variable": bool(raw.get("variable", True)),
        "code": code,
        "datatype": datatype,
        "required": bool(raw.get("required", False)),
        "datatype_description": _text(raw, "datatype_description", where, required=False) or "",
        "order": int(raw.get("order", 1)),
        "description": _text(raw, "description", where, required=False) or "",
        "values": values,
    }


def load_open311(
    path: Path | None = None, *, departments: Departments | None = None
) -> Open311Config:
    """Read and check an Open311 service list (the shipped one by default).

    Raises
    ------
    LoopConfigError
        Naming the file, the entry and the field at fault.
    """
    path = path or DATA / "open311.yaml"
    document = _read(path, "Open311 service list")
    services: dict[str, Service] = {}
    for where, raw in _entries(document, "services", path):
        code = _text(raw, "service_code", where) or ""
        if not _CODE.match(code):
            msg = f"{where}.service_code: {code!r} must be 1-64 letters, digits, _ . or -"
            raise LoopConfigError(msg)
        if code in services:
            msg = f"{where}.service_code: {code!r} is listed twice"
            raise LoopConfigError(msg)
        kind = _text(raw, "type", where, required=False) or "realtime"
        if kind not in _TYPES:
            msg = f"{where}.type: {kind!r} is not one of {', '.join(_TYPES)}"
            raise LoopConfigError(msg)
        keywords = raw.get("keywords") or []
        if isinstance(keywords, str):
            keywords = [k.strip() for k in keywords.split(",") if k.strip()]
        department = _text(raw, "department", where, required=False)
        if department is not None and departments is not None and department not in departments:
            msg = f"{where}.department: {department!r} is not in the department list"
            raise LoopConfigError(msg)
        attributes = raw.get("attributes") or []
        if not isinstance(attributes, list):
            msg = f"{where}.attributes: expected a list"
            raise LoopConfigError(msg)
        services[code] = Service(
            service_code=code,
            service_name=_text(raw, "service_name", where) or "",
            description=_text(raw, "description", where, required=False) or "",
            category=_text(raw, "category", where) or "",
            type=kind,
            keywords=tuple(str(k) for k in keywords),
            group=_text(raw, "group", where, required=False) or "",
            department=department,
            attributes=tuple(
                _attribute(a, f"{where}.attributes[{j}]") for j, a in enumerate(attributes)
            ),
        )
    discovery = document.get("discovery") or {}
    if not isinstance(discovery, dict):
        msg = f"{path}: discovery: expected a mapping"
        raise LoopConfigError(msg)
    return Open311Config(
        services=services,
        agency=_text(document, "agency", path.name, required=False) or "patrolgrid",
        jurisdiction_id=_text(document, "jurisdiction_id", path.name, required=False),
        changeset=str(discovery.get("changeset") or "1970-01-01T00:00:00Z"),
        contact=str(discovery.get("contact") or ""),
        key_service=str(discovery.get("key_service") or ""),
    )


@dataclass(frozen=True)
class Department:
    """A city department that handles dispatched incidents."""

    code: str
    name_zh: str
    name_en: str
    categories: tuple[str, ...]
    stage_limits_s: dict[str, int]


@dataclass(frozen=True)
class Departments(Mapping[str, Department]):
    """The department list and the per-category stage limits, by code."""

    by_code: dict[str, Department]
    category_limits_s: dict[str, dict[str, int]] = field(default_factory=dict)

    def __getitem__(self, code: str) -> Department:
        return self.by_code[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_code)

    def __len__(self) -> int:
        return len(self.by_code)


def load_departments(path: Path | None = None) -> Departments:
    """Read and check a department file (the shipped one by default).

    Raises
    ------
    LoopConfigError
        Naming the file, the entry and the field at fault.
    """
    path = path or DATA / "departments.yaml"
    document = _read(path, "department list")
    by_code: dict[str, Department] = {}
    for where, raw in _entries(document, "departments", path):
        code = _text(raw, "code", where) or ""
        if not _CODE.match(code) or len(code) > 32:
            msg = f"{where}.code: {code!r} must be 1-32 letters, digits, _ . or -"
            raise LoopConfigError(msg)
        if code in by_code:
            msg = f"{where}.code: {code!r} is listed twice"
            raise LoopConfigError(msg)
        categories = raw.get("categories") or []
        if not isinstance(categories, list):
            msg = f"{where}.categories: expected a list"
            raise LoopConfigError(msg)
        by_code[code] = Department(
            code=code,
            name_zh=_text(raw, "name_zh", where) or "",
            name_en=_text(raw, "name_en", where) or "",
            categories=tuple(str(c) for c in categories),
            stage_limits_s=_limits(raw.get("stage_limits_s"), f"{where}.stage_limits_s"),
        )
    raw_categories = document.get("category_stage_limits_s") or {}
    if not isinstance(raw_categories, dict):
        msg = f"{path.name}: category_stage_limits_s: expected a mapping category -> limits"
        raise LoopConfigError(msg)
    category_limits = {
        str(category): _limits(limits, f"{path.name}: category_stage_limits_s.{category}")
        for category, limits in raw_categories.items()
    }
    return Departments(by_code, category_limits)


class StageLimits(Mapping[str, int]):
    """Stage limits: the defaults (``PATROLGRID_STAGE_LIMITS_S``) as a mapping, plus the
    per-category and per-department limits of the department file.

    :func:`api.workflow.due_at` asks :meth:`for_incident` when it is given one of these: a
    department's limit wins over its category's, which wins over the default; with several
    departments the shortest limit applies.

    Examples
    --------
    >>> deps = Departments({}, {"noise": {"reported": 60}})
    >>> StageLimits({"reported": 1800}, deps).for_incident("noise", ())["reported"]
    60
    """

    def __init__(self, defaults: Mapping[str, int], departments: Departments) -> None:
        self.defaults = dict(defaults)
        self.departments = departments

    def __getitem__(self, state: str) -> int:
        return self.defaults[state]

    def __iter__(self) -> Iterator[str]:
        return iter(self.defaults)

    def __len__(self) -> int:
        return len(self.defaults)

    def for_incident(self, category: str | None, departments: tuple[str, ...]) -> dict[str, int]:
        """The limits of one incident of ``category`` dispatched to ``departments``."""
        limits = dict(self.defaults)
        limits.update(self.departments.category_limits_s.get(category or "", {}))
        own: dict[str, int] = {}
        for code in departments:
            department = self.departments.by_code.get(code)
            for state, seconds in (department.stage_limits_s if department else {}).items():
                own[state] = min(seconds, own.get(state, seconds))
        limits.update(own)
        return limits

    def due(
        self, state: str, since: datetime, category: str | None, departments: tuple[str, ...]
    ) -> datetime | None:
        """When an incident entering ``state`` at ``since`` becomes overdue (None: no limit)."""
        limit = self.for_incident(category, departments).get(state)
        return None if limit is None else since + timedelta(seconds=limit)
