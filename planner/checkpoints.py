"""Key sites (重点部位) as checkpoints: hard visits inside given windows, by allowed unit kinds.

In a units file (or the ``units`` document of ``POST /plans``), top level::

    checkpoints:
      - name: Lincoln Elementary (dismissal)
        lon: -75.1601
        lat: 39.9822
        windows: ["15:15-15:45"]        # local clock, on each day the shift covers
        dwell_min: 10                   # default: the file's dwell_min
        kinds: [police_car, volunteer]  # default: every kind
        days: [mon, tue, wed, thu, fri] # optional: only on these weekdays (of the window start)

A window ``"23:30-00:30"`` runs past midnight. Each window that meets the shift becomes one
allowed start window of the checkpoint's visit (cut to the shift, less the dwell), so a
checkpoint is served once per plan, in any of its windows. The planner makes it a stop with
``Stop.checkpoint`` set to its name: a visit the solvers weigh above every risk visit, never
counted in the shift's risk; when no unit can make it, the plan says which and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .errors import ProblemError
from .model import UNIT_KINDS, Stop

__all__ = [
    "CheckpointSpec",
    "checkpoint_stop",
    "checkpoint_windows",
    "parse_checkpoints",
    "start_windows",
]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class CheckpointSpec:
    """One key site as written in the units file (windows as local clock times, minutes)."""

    name: str
    lon: float
    lat: float
    windows: tuple[tuple[int, int], ...]  # minutes after local midnight (end may pass 1440)
    dwell_s: int | None = None
    kinds: frozenset[str] | None = None
    days: frozenset[int] | None = None  # 0 = Monday


def _clock(text: str, where: str) -> int:
    try:
        hh, mm = (int(x) for x in text.strip().split(":"))
    except ValueError:
        msg = f"{where}: {text!r} is not a time HH:MM"
        raise ProblemError(msg) from None
    if not (0 <= hh <= 24 and 0 <= mm < 60):
        msg = f"{where}: {text!r} is not a time HH:MM"
        raise ProblemError(msg)
    return hh * 60 + mm


def _window(value: Any, where: str) -> tuple[int, int]:
    text = str(value)
    if text.count("-") != 1:
        msg = f"{where}: {value!r} is not a window like '15:15-15:45'"
        raise ProblemError(msg)
    a, b = (_clock(x, where) for x in text.split("-"))
    if b <= a:
        b += 24 * 60  # past midnight
    return a, b


def parse_checkpoints(raw: Any, *, source: str = "units file") -> tuple[CheckpointSpec, ...]:
    """Check and convert the ``checkpoints`` list of a units document (None: no checkpoints)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        msg = f"{source}: checkpoints: expected a list of {{name, lon, lat, windows, ...}}"
        raise ProblemError(msg)
    out: list[CheckpointSpec] = []
    for i, item in enumerate(raw):
        where = f"{source}: checkpoints[{i}]"
        if not isinstance(item, Mapping):
            msg = f"{where}: expected a mapping with name, lon, lat, windows"
            raise ProblemError(msg)
        for key in ("name", "lon", "lat", "windows"):
            if key not in item:
                msg = f"{where}: field {key!r} is missing"
                raise ProblemError(msg)
        try:
            lon, lat = float(item["lon"]), float(item["lat"])
        except (TypeError, ValueError):
            msg = f"{where}: lon/lat must be numbers"
            raise ProblemError(msg) from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            msg = f"{where}: [{lon}, {lat}] is not a lon/lat pair (EPSG:4326)"
            raise ProblemError(msg)
        windows = item["windows"]
        if isinstance(windows, str):
            windows = [windows]
        if not isinstance(windows, list) or not windows:
            msg = f"{where}.windows: expected a non-empty list like ['15:15-15:45']"
            raise ProblemError(msg)
        spans = tuple(_window(w, f"{where}.windows[{j}]") for j, w in enumerate(windows))
        kinds = item.get("kinds")
        if kinds is not None:
            if not isinstance(kinds, list) or not kinds:
                msg = f"{where}.kinds: expected a non-empty list of unit kinds"
                raise ProblemError(msg)
            bad = [k for k in kinds if k not in UNIT_KINDS]
            if bad:
                msg = f"{where}.kinds: {bad[0]!r} is not one of {', '.join(UNIT_KINDS)}"
                raise ProblemError(msg)
        days = item.get("days")
        day_set: frozenset[int] | None = None
        if days is not None:
            if not isinstance(days, list) or not days:
                msg = f"{where}.days: expected a list like [mon, tue]"
                raise ProblemError(msg)
            try:
                day_set = frozenset(_DAYS.index(str(d).strip().lower()[:3]) for d in days)
            except ValueError:
                msg = f"{where}.days: use {', '.join(_DAYS)}"
                raise ProblemError(msg) from None
        dwell = item.get("dwell_min")
        try:
            dwell_s = None if dwell is None else round(float(dwell) * 60)
        except (TypeError, ValueError):
            msg = f"{where}.dwell_min: expected minutes, got {dwell!r}"
            raise ProblemError(msg) from None
        if dwell_s is not None and dwell_s < 0:
            msg = f"{where}.dwell_min: must be >= 0"
            raise ProblemError(msg)
        out.append(
            CheckpointSpec(
                name=str(item["name"]),
                lon=lon,
                lat=lat,
                windows=spans,
                dwell_s=dwell_s,
                kinds=None if kinds is None else frozenset(str(k) for k in kinds),
                days=day_set,
            )
        )
    names = [c.name for c in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        msg = f"{source}: checkpoints: name {dup!r} appears more than once"
        raise ProblemError(msg)
    return tuple(out)


def checkpoint_windows(
    spec: CheckpointSpec,
    *,
    origin: pd.Timestamp,
    shift_end: pd.Timestamp,
    timezone: str,
    dwell_s: int,
) -> tuple[tuple[int, int], ...]:
    """Start windows (seconds from ``origin``) of the checkpoint's visit inside the shift.

    Every window of every local day the shift touches, kept on ``days`` only, cut to
    ``[origin, shift_end - dwell]``; overlapping ones merged. Empty when none meets the shift.
    """
    local0 = origin.tz_convert(timezone)
    local1 = shift_end.tz_convert(timezone)
    day = local0.normalize() - pd.Timedelta(days=1)
    spans: list[tuple[float, float]] = []
    while day <= local1.normalize():
        if spec.days is None or day.weekday() in spec.days:
            for a, b in spec.windows:
                start = day + pd.Timedelta(minutes=a)
                end = day + pd.Timedelta(minutes=b)
                spans.append(((start - origin).total_seconds(), (end - origin).total_seconds()))
        day = (day + pd.Timedelta(days=1)).normalize()
    return start_windows(
        spans, dwell_s=dwell_s, first_s=0, last_s=(shift_end - origin).total_seconds()
    )


def start_windows(
    spans: Sequence[tuple[float, float]], *, dwell_s: int, first_s: float, last_s: float
) -> tuple[tuple[int, int], ...]:
    """Start windows of a checkpoint's visit from its clock windows (seconds, absolute).

    The whole visit inside the window, or at least starting in it when the window is shorter
    than the dwell; cut to ``[first_s, last_s - dwell]``; overlapping ones merged. Empty when
    none meets that span.
    """
    last = last_s - dwell_s
    cut: list[tuple[int, int]] = []
    for a, b in spans:
        lo = max(first_s, a)
        hi = min(last, max(a, b - dwell_s))
        if lo <= hi:
            cut.append((round(lo), round(hi)))
    cut.sort()
    merged: list[tuple[int, int]] = []
    for a, b in cut:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return tuple(merged)


def checkpoint_stop(
    name: str,
    *,
    location: int,
    grid_id: str | None,
    windows: tuple[tuple[int, int], ...],
    dwell_s: int,
    kinds: frozenset[str] | None,
) -> Stop:
    """The stop the planner makes of a key site: ``checkpoint:<name>``, a hard visit.

    ``windows`` are start windows (:func:`checkpoint_windows`, :func:`start_windows`); none
    gives a window that cannot be met (reported, never routed). ``grid_id`` None (outside
    every grid): ``checkpoint:<name>``, which only units without an area may serve.
    """
    sid = f"checkpoint:{name}"
    return Stop(
        stop_id=sid,
        grid_id=grid_id or sid,
        location=location,
        dwell_s=dwell_s,
        windows=windows or ((-1, -1),),
        prize=0.0,
        kinds=kinds,
        checkpoint=name,
    )
