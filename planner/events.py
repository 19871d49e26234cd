"""Events of a shift in motion, checked: ``{"events": [...]}`` as dispatch sends them.

Each event is a mapping with ``type`` and ``at`` (ISO 8601; without an offset, or as ``"HH:MM"``
on the shift's clock, in the plan's time zone):

- ``unit_unavailable`` ``{unit_id, at}``: out of service (breakdown, called to an incident);
- ``unit_available`` ``{unit_id, at}``: back in service (from its last reported place, or its
  depot);
- ``unit_position`` ``{unit_id, lon, lat, at}``: where the unit really is;
- ``incident`` ``{lon, lat, at, category, severity?}``: a new hot spot; its grid is raised now;
- ``checkpoint`` ``{name, lon, lat, windows: [[from, to], ...], dwell_min, kinds?, at?}``: a key
  site to visit tonight (``at`` defaults to the earliest other event or the window start); a
  window may also be written ``"21:00-22:00"`` as in the units file. It becomes the planner's
  hard checkpoint (:func:`planner.checkpoints.checkpoint_stop`): the visit lies inside a window
  (or starts in it when the window is shorter than the dwell).

Bad events raise :class:`EventError` naming the event index and field (``events[3].lon``),
which the CLI prints in one line and the API answers as 422 with ``field`` ``body.events.3.lon``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from .errors import PlannerError
from .model import UNIT_KINDS, Problem

__all__ = ["EVENT_TYPES", "Event", "EventError", "parse_events"]

#: Types of event.
EVENT_TYPES = ("unit_unavailable", "unit_available", "unit_position", "incident", "checkpoint")
#: A reported point must lie within this distance of some place of the plan.
MAX_AWAY_M = 5000.0

_REQUIRED = {
    "unit_unavailable": ("unit_id", "at"),
    "unit_available": ("unit_id", "at"),
    "unit_position": ("unit_id", "lon", "lat", "at"),
    "incident": ("lon", "lat", "at", "category"),
    "checkpoint": ("name", "lon", "lat", "windows"),
}


class EventError(PlannerError):
    """A bad event; ``field`` is the dotted path of the field at fault (``events.3.lon``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Event:
    """One checked event; times in seconds from the problem's start."""

    index: int
    type: str
    at_s: int
    unit_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    category: str | None = None
    severity: int = 3
    name: str | None = None
    windows: tuple[tuple[int, int], ...] = ()
    dwell_s: int = 0
    kinds: frozenset[str] | None = None


def _haversine_m(lon0: float, lat0: float, lon1: np.ndarray, lat1: np.ndarray) -> np.ndarray:
    p0, p1 = math.radians(lat0), np.radians(lat1)
    dp, dl = p1 - p0, np.radians(lon1 - lon0)
    h = np.sin(dp / 2) ** 2 + math.cos(p0) * np.cos(p1) * np.sin(dl / 2) ** 2
    return np.asarray(2 * 6_371_008.8 * np.arcsin(np.sqrt(h)))


class _Reader:
    def __init__(self, problem: Problem, source: str, earliest_s: int | None) -> None:
        self.problem = problem
        self.source = source
        self.zone = ZoneInfo(problem.timezone)
        self.origin = problem.start or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        self.shift_start = min((u.shift_start_s for u in problem.units), default=0)
        self.horizon = problem.horizon_s
        self.earliest = earliest_s
        self.units = {u.unit_id for u in problem.units}
        self.lon = np.array([p[0] for p in problem.locations])
        self.lat = np.array([p[1] for p in problem.locations])

    def fail(self, i: int, name: str, what: str) -> EventError:
        where = f"events[{i}]" if name == "" else f"events[{i}].{name}"
        path = f"events.{i}" if name == "" else f"events.{i}.{name}"
        return EventError(f"{self.source}: {where}: {what}", path)

    def clock(self, s: int) -> str:
        return (self.origin + dt.timedelta(seconds=s)).astimezone(self.zone).isoformat()

    def time(self, i: int, name: str, value: Any, *, check: bool = True) -> int:
        text = str(value).strip()
        try:
            if len(text) <= 5 and ":" in text:
                hh, mm = (int(x) for x in text.split(":"))
                local0 = (self.origin + dt.timedelta(seconds=self.shift_start)).astimezone(
                    self.zone
                )
                t = local0.replace(hour=hh, minute=mm, second=0, microsecond=0)
                if t < local0:
                    t += dt.timedelta(days=1)
            else:
                t = dt.datetime.fromisoformat(text)
                if t.tzinfo is None:
                    t = t.replace(tzinfo=self.zone)
        except (ValueError, TypeError):
            raise self.fail(i, name, f"{value!r} is not a time (ISO 8601 or HH:MM)") from None
        s = round((t - self.origin).total_seconds())
        if check and not self.shift_start <= s <= self.horizon:
            msg = (
                f"{text} is outside the shift ({self.clock(self.shift_start)} to "
                f"{self.clock(self.horizon)})"
            )
            raise self.fail(i, name, msg)
        if check and self.earliest is not None and s < self.earliest:
            msg = (
                f"{text} is before the last re-plan at {self.clock(self.earliest)}; history is kept"
            )
            raise self.fail(i, name, msg)
        return s

    def point(self, i: int, raw: Mapping[str, Any]) -> tuple[float, float]:
        out = []
        for name, limit in (("lon", 180.0), ("lat", 90.0)):
            value = raw[name]
            try:
                x = float(value)
            except (TypeError, ValueError):
                raise self.fail(i, name, f"{value!r} is not a number") from None
            if isinstance(value, bool) or not math.isfinite(x) or abs(x) > limit:
                msg = (
                    f"{value!r} is not a {'longitude' if name == 'lon' else 'latitude'} (EPSG:4326)"
                )
                raise self.fail(i, name, msg)
            out.append(x)
        lon, lat = out
        if len(self.lon):
            away = float(_haversine_m(lon, lat, self.lon, self.lat).min())
            if away > MAX_AWAY_M:
                msg = (
                    f"[{lon}, {lat}] is {away / 1000:.1f} km from every place of the plan "
                    "(lon first? EPSG:4326?)"
                )
                raise self.fail(i, "lon", msg)
        return lon, lat

    def unit(self, i: int, raw: Mapping[str, Any]) -> str:
        unit_id = str(raw["unit_id"])
        if unit_id not in self.units:
            msg = f"unknown unit {unit_id!r}; the plan's units are {', '.join(sorted(self.units))}"
            raise self.fail(i, "unit_id", msg)
        return unit_id

    def event(self, i: int, raw: Any) -> Event:
        if not isinstance(raw, Mapping):
            raise self.fail(i, "", f"expected an object with 'type', got {type(raw).__name__}")
        kind = raw.get("type")
        if kind not in EVENT_TYPES:
            raise self.fail(i, "type", f"{kind!r} is not one of {', '.join(EVENT_TYPES)}")
        for name in _REQUIRED[kind]:
            if raw.get(name) is None:
                raise self.fail(i, name, f"field {name!r} is missing (a {kind} needs it)")
        if kind in ("unit_unavailable", "unit_available"):
            return Event(i, kind, self.time(i, "at", raw["at"]), unit_id=self.unit(i, raw))
        if kind == "unit_position":
            unit_id = self.unit(i, raw)
            lon, lat = self.point(i, raw)
            return Event(i, kind, self.time(i, "at", raw["at"]), unit_id, lon, lat)
        if kind == "incident":
            lon, lat = self.point(i, raw)
            severity = raw.get("severity", 3)
            if (
                not isinstance(severity, int)
                or isinstance(severity, bool)
                or not 1 <= severity <= 5
            ):
                raise self.fail(i, "severity", f"{severity!r} is not an integer 1..5")
            at = self.time(i, "at", raw["at"])
            return Event(i, kind, at, None, lon, lat, str(raw["category"]), severity)
        return self.checkpoint(i, raw)

    def checkpoint(self, i: int, raw: Mapping[str, Any]) -> Event:
        lon, lat = self.point(i, raw)
        name = str(raw["name"]).strip()
        if not name:
            raise self.fail(i, "name", "a checkpoint needs a name")
        windows = raw["windows"]
        if not isinstance(windows, Sequence) or isinstance(windows, str) or not windows:
            raise self.fail(i, "windows", "expected a list of [from, to] times")
        parsed = []
        for j, w in enumerate(windows):
            if isinstance(w, str) and w.count("-") == 1 and len(w) <= 11:
                w = w.split("-")  # "21:00-22:00", as in the units file
            if not isinstance(w, Sequence) or isinstance(w, str) or len(w) != 2:
                raise self.fail(i, f"windows[{j}]", f"expected [from, to], got {w!r}")
            a = self.time(i, f"windows[{j}]", w[0], check=False)
            b = self.time(i, f"windows[{j}]", w[1], check=False)
            if b < a:
                raise self.fail(i, f"windows[{j}]", f"ends before it starts ({w[0]} > {w[1]})")
            a, b = max(a, self.shift_start), min(b, self.horizon)
            if b < a:
                raise self.fail(i, f"windows[{j}]", "lies outside the shift")
            parsed.append((a, b))
        parsed.sort()
        merged: list[tuple[int, int]] = []
        for a, b in parsed:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        try:
            dwell_s = round(float(raw.get("dwell_min", 10)) * 60)
        except (TypeError, ValueError):
            raise self.fail(i, "dwell_min", f"{raw.get('dwell_min')!r} is not a number") from None
        if dwell_s < 0:
            raise self.fail(i, "dwell_min", "must be >= 0")
        kinds = raw.get("kinds")
        if kinds is not None:
            if isinstance(kinds, str) or not isinstance(kinds, Sequence):
                raise self.fail(i, "kinds", "expected a list of unit kinds")
            bad = [k for k in kinds if k not in UNIT_KINDS]
            if bad:
                raise self.fail(i, "kinds", f"{bad[0]!r} is not one of {', '.join(UNIT_KINDS)}")
            kinds = frozenset(str(k) for k in kinds)
        at = self.time(i, "at", raw["at"]) if raw.get("at") is not None else None
        return Event(
            i,
            "checkpoint",
            at if at is not None else max(merged[0][0], self.earliest or self.shift_start),
            None,
            lon,
            lat,
            name=name,
            windows=tuple(merged),
            dwell_s=dwell_s,
            kinds=kinds,
        )


def parse_events(
    doc: Any,
    problem: Problem,
    *,
    source: str = "events",
    not_before_s: int | None = None,
) -> list[Event]:
    """Check a ``{"events": [...]}`` document (or a bare list) against the shift's problem.

    Parameters
    ----------
    doc
        The loaded JSON document.
    problem
        The shift's problem (units, places, time origin and zone).
    source
        Named in error messages (a file name, ``"request body"``).
    not_before_s
        The last re-plan's time: older events are refused (history is kept).

    Raises
    ------
    EventError
        On the first bad event, naming its index and field.
    """
    events = doc.get("events") if isinstance(doc, Mapping) else doc
    if isinstance(events, str) or not isinstance(events, Sequence):
        raise EventError(f'{source}: expected {{"events": [...]}}', "events")
    if not events:
        raise EventError(f"{source}: events: the list is empty", "events")
    reader = _Reader(problem, source, not_before_s)
    out = [reader.event(i, raw) for i, raw in enumerate(events)]
    # a checkpoint without 'at' is added with the batch's other events (else at its window)
    timed = [
        e.at_s
        for e, raw in zip(out, events, strict=True)
        if e.type != "checkpoint" or raw.get("at") is not None
    ]
    if timed:
        first = min(timed)
        out = [
            dataclasses.replace(e, at_s=min(e.at_s, first))
            if e.type == "checkpoint" and raw.get("at") is None
            else e
            for e, raw in zip(out, events, strict=True)
        ]
    return sorted(out, key=lambda e: (e.at_s, e.index))
