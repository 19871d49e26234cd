"""The units file: who patrols, from where, when, and where they may go (YAML).

The full reference, with an example of every key, is ``docs/units-file.md``.

Minimal form::

    timezone: America/Chicago
    shift: {start: "2012-02-15T18:00", end: "2012-02-16T02:00"}
    units:
      - {unit_id: car-1, kind: police_car, mode: drive, depot: [-87.70, 41.93]}
      - {unit_id: vol-1, kind: volunteer, mode: walk, depot: [-87.71, 41.92], grids: ["1413"]}

Per unit, also: ``end_depot`` ([lon, lat], default the depot), ``shift`` (its own start/end),
``max_duration_min``, ``skills`` (list), ``breaks`` (list of ``{earliest, latest, minutes, at}``,
times as ``"HH:MM"`` local on the shift's clock or full ISO timestamps, ``at`` either
``anywhere`` (default: wherever the unit is) or ``depot`` (back at its start depot)) and ``count`` (that many
copies, ids suffixed ``-1``, ``-2``...). ``mode`` defaults to ``drive`` for police cars and
``walk`` otherwise. ``grids`` takes ids of any level (a community id means all its cells); a
volunteer without ``grids`` may go nowhere (and is reported), other kinds may go anywhere.
Top level, also: ``police_only`` (grid ids of any level only police may enter), ``dwell_min``
(presence per visit, default 12), ``max_stops``, ``checkpoints`` (key sites visited inside
their windows, :mod:`planner.checkpoints`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .checkpoints import CheckpointSpec, parse_checkpoints
from .errors import ProblemError
from .model import MODES, UNIT_KINDS

__all__ = [
    "BREAK_KEYS",
    "SHIFT_KEYS",
    "TOP_KEYS",
    "UNIT_KEYS",
    "BreakSpec",
    "UnitSpec",
    "UnitsFile",
    "load_units",
    "parse_units",
]

_DEFAULT_MODE = {"police_car": "drive"}


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _text(v: Any) -> bool:
    return isinstance(v, str | int) and not isinstance(v, bool) and str(v).strip() != ""


#: What each kind of value must be: the label used in messages -> its test.
_KINDS: Mapping[str, Callable[[Any], bool]] = {
    "text": _text,
    "a mapping": lambda v: isinstance(v, Mapping),
    "a non-empty list": lambda v: isinstance(v, list) and len(v) > 0,
    "a list of ids": lambda v: isinstance(v, list) and all(_text(x) for x in v),
    "a list of text": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "a list of mappings": lambda v: isinstance(v, list) and all(isinstance(x, Mapping) for x in v),
    "a number > 0": lambda v: _number(v) and v > 0,
    "a number >= 0": lambda v: _number(v) and v >= 0,
    "a whole number >= 1": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
    "[lon, lat]": lambda v: isinstance(v, list | tuple) and len(v) == 2 and all(map(_number, v)),
    "a time (ISO 8601 or 'HH:MM' in quotes)": lambda v: isinstance(v, str | dt.date | dt.datetime),
    "'anywhere' or 'depot'": lambda v: v in ("anywhere", "depot"),
}

#: Known keys of each section and what their values must be. One entry per key: a new key is
#: one line here (and its use in the parser).
TOP_KEYS: Mapping[str, str] = {
    "timezone": "text",
    "shift": "a mapping",
    "units": "a non-empty list",
    "police_only": "a list of ids",
    "dwell_min": "a number > 0",
    "max_stops": "a whole number >= 1",
    "checkpoints": "a list of mappings",
}
UNIT_KEYS: Mapping[str, str] = {
    "unit_id": "text",
    "kind": "text",
    "mode": "text",
    "depot": "[lon, lat]",
    "end_depot": "[lon, lat]",
    "shift": "a mapping",
    "max_duration_min": "a number > 0",
    "skills": "a list of text",
    "breaks": "a list of mappings",
    "grids": "a list of ids",
    "count": "a whole number >= 1",
}
SHIFT_KEYS: Mapping[str, str] = {
    "start": "a time (ISO 8601 or 'HH:MM' in quotes)",
    "end": "a time (ISO 8601 or 'HH:MM' in quotes)",
}
BREAK_KEYS: Mapping[str, str] = {
    "earliest": "a time (ISO 8601 or 'HH:MM' in quotes)",
    "latest": "a time (ISO 8601 or 'HH:MM' in quotes)",
    "minutes": "a number >= 0",
    "at": "'anywhere' or 'depot'",
}


def _check_keys(
    raw: Mapping[str, Any], known: Mapping[str, str], where: str, who: str = ""
) -> None:
    """Every key known (else the nearest known key is suggested) and of the right kind.

    ``who`` names the unit in messages (`` (unit 'car-1')``).
    """
    for key in raw:
        if key not in known:
            near = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else f"; known keys: {', '.join(known)}"
            raise _fail(f"{where}{who}", f"unknown key {key!r}{hint}")
        label = known[key]
        if not _KINDS[label](raw[key]):
            raise _fail(f"{where}.{key}{who}", f"expected {label}, got {raw[key]!r}")


@dataclass(frozen=True)
class BreakSpec:
    """A break: its start window and length, in wall-clock time."""

    earliest: pd.Timestamp
    latest: pd.Timestamp
    duration_s: int
    at_depot: bool = False


@dataclass(frozen=True)
class UnitSpec:
    """One unit as written in the units file (places in lon/lat, times as timestamps)."""

    unit_id: str
    kind: str
    mode: str
    depot: tuple[float, float]
    end_depot: tuple[float, float] | None
    shift_start: pd.Timestamp
    shift_end: pd.Timestamp
    max_duration_s: int | None = None
    breaks: tuple[BreakSpec, ...] = ()
    skills: frozenset[str] = frozenset()
    grids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class UnitsFile:
    """A parsed units file."""

    timezone: str
    shift_start: pd.Timestamp
    shift_end: pd.Timestamp
    units: tuple[UnitSpec, ...]
    police_only: tuple[str, ...] = ()
    dwell_s: int = 720
    max_stops: int | None = None
    checkpoints: tuple[CheckpointSpec, ...] = ()


def _fail(where: str, what: str) -> ProblemError:
    return ProblemError(f"{where}: {what}")


def _point(value: Any, where: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in value)
    except (TypeError, ValueError):
        raise _fail(where, f"expected [lon, lat], got {value!r}") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise _fail(where, f"[{lon}, {lat}] is not a lon/lat pair (EPSG:4326, lon first)")
    return lon, lat


def _time(
    value: Any, timezone: str, where: str, anchor: pd.Timestamp | None = None
) -> pd.Timestamp:
    text = str(value).strip()
    try:
        if anchor is not None and len(text) <= 5 and ":" in text:
            hh, mm = (int(x) for x in text.split(":"))
            local = anchor.tz_convert(timezone)
            t = local.normalize() + pd.Timedelta(hours=hh, minutes=mm)
            return t if t >= local else t + pd.Timedelta(days=1)
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise _fail(where, f"{value!r} is not a time (ISO 8601 or HH:MM)") from None
    return ts.tz_localize(timezone) if ts.tzinfo is None else ts.tz_convert(timezone)


def _shift(value: Any, timezone: str, where: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    if not isinstance(value, Mapping) or "start" not in value or "end" not in value:
        raise _fail(where, "expected {start: ..., end: ...}")
    _check_keys(value, SHIFT_KEYS, where)
    start = _time(value["start"], timezone, f"{where}.start")
    end = _time(value["end"], timezone, f"{where}.end")
    if end <= start:
        raise _fail(where, f"ends ({end}) at or before it starts ({start})")
    return start, end


def _unit(raw: Any, i: int, doc: Mapping[str, Any], tz: str, src: str) -> list[UnitSpec]:
    where = f"{src}: units[{i}]"
    if not isinstance(raw, Mapping):
        raise _fail(where, "expected a mapping with unit_id, kind, depot")
    who = f" (unit {raw['unit_id']!r})" if "unit_id" in raw else ""
    for key in ("unit_id", "kind", "depot"):
        if key not in raw:
            raise _fail(f"{where}{who}", f"field {key!r} is missing")
    _check_keys(raw, UNIT_KEYS, where, who)
    kind = str(raw["kind"])
    if kind not in UNIT_KINDS:
        raise _fail(f"{where}.kind", f"{kind!r} is not one of {', '.join(UNIT_KINDS)}")
    mode = str(raw.get("mode", _DEFAULT_MODE.get(kind, "walk")))
    if mode not in MODES:
        raise _fail(f"{where}.mode", f"{mode!r} is not one of {', '.join(MODES)}")
    start, end = (
        _shift(raw["shift"], tz, f"{where}.shift")
        if "shift" in raw
        else _shift(doc["shift"], tz, f"{src}: shift")
    )
    breaks = []
    for j, b in enumerate(raw.get("breaks") or []):
        bw = f"{where}.breaks[{j}]"
        if not isinstance(b, Mapping) or not {"earliest", "minutes"} <= set(b):
            raise _fail(bw, "expected {earliest, latest, minutes}")
        _check_keys(b, BREAK_KEYS, bw, who)
        earliest = _time(b["earliest"], tz, f"{bw}.earliest", anchor=start)
        latest = _time(b.get("latest", b["earliest"]), tz, f"{bw}.latest", anchor=start)
        minutes = float(b["minutes"])
        if latest < earliest or minutes < 0:
            raise _fail(bw, "latest must not be before earliest, minutes must be >= 0")
        at = str(b.get("at", "anywhere"))
        if at not in ("anywhere", "depot"):
            raise _fail(f"{bw}.at", f"{at!r} is not 'anywhere' or 'depot'")
        breaks.append(BreakSpec(earliest, latest, round(minutes * 60), at_depot=at == "depot"))
    grids = raw.get("grids")
    if grids is not None and not isinstance(grids, list):
        raise _fail(f"{where}.grids", "expected a list of grid ids")
    if grids is None and kind == "volunteer":
        grids = []
    max_min = raw.get("max_duration_min")
    spec = UnitSpec(
        unit_id=str(raw["unit_id"]),
        kind=kind,
        mode=mode,
        depot=_point(raw["depot"], f"{where}.depot"),
        end_depot=_point(raw["end_depot"], f"{where}.end_depot") if "end_depot" in raw else None,
        shift_start=start,
        shift_end=end,
        max_duration_s=None if max_min is None else round(float(max_min) * 60),
        breaks=tuple(breaks),
        skills=frozenset(str(s) for s in raw.get("skills") or []),
        grids=None if grids is None else tuple(str(g) for g in grids),
    )
    count = int(raw.get("count", 1))
    if count == 1:
        return [spec]
    return [
        UnitSpec(**{**spec.__dict__, "unit_id": f"{spec.unit_id}-{k + 1}"}) for k in range(count)
    ]


def parse_units(doc: Any, *, source: str = "units file") -> UnitsFile:
    """Check and convert a loaded units document (see the module docstring for the form)."""
    if not isinstance(doc, Mapping):
        raise _fail(source, "expected a mapping with timezone, shift and units")
    for key in ("shift", "units"):
        if key not in doc:
            raise _fail(source, f"field {key!r} is missing")
    _check_keys(doc, TOP_KEYS, source)
    tz = str(doc.get("timezone", "UTC"))
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception:
        raise _fail(f"{source}: timezone", f"{tz!r} is not an IANA time zone") from None
    start, end = _shift(doc["shift"], tz, f"{source}: shift")
    if not isinstance(doc["units"], list) or not doc["units"]:
        raise _fail(f"{source}: units", "expected a non-empty list")
    units = [u for i, raw in enumerate(doc["units"]) for u in _unit(raw, i, doc, tz, source)]
    ids = [u.unit_id for u in units]
    dup = next((x for x in ids if ids.count(x) > 1), None)
    if dup is not None:
        raise _fail(f"{source}: units", f"unit_id {dup!r} appears more than once")
    max_stops = doc.get("max_stops")
    return UnitsFile(
        timezone=tz,
        shift_start=min([start, *(u.shift_start for u in units)]),
        shift_end=max([end, *(u.shift_end for u in units)]),
        units=tuple(units),
        police_only=tuple(str(g) for g in doc.get("police_only") or []),
        dwell_s=round(float(doc.get("dwell_min", 12)) * 60),
        max_stops=None if max_stops is None else int(max_stops),
        checkpoints=parse_checkpoints(doc.get("checkpoints"), source=source),
    )


def load_units(path: str | Path) -> UnitsFile:
    """Read a units file (YAML).

    Raises
    ------
    ProblemError
        Naming the file and the field when anything is malformed.
    """
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        msg = f"{path}: not valid YAML ({exc})"
        raise ProblemError(msg) from None
    return parse_units(doc, source=str(path))
