"""A one-page plan report (``report.html``), offline: inline SVG charts, no script, no CDN.

Sections: summary figures; a timeline per unit (travel, dwell, waiting, breaks) over the
shift; the risk covered over the shift; response readiness per 15-minute slice; the stops
left unassigned with the reason.

Optional plan fields read here (all others are the plan contract of DESIGN.md):

- ``steps[i]["risk"]``: risk credited to a visit. Without it the chart spreads
  ``summary["risk_covered"]`` evenly over the visits and says so.
- ``summary["readiness"]`` (written by the planner's evaluator): list of ``{"start": ISO
  time, "within_3min": share, "within_5min": share}``, one per 15-minute slice: the share
  (0..1) of grids a unit can reach within 3 and 5 minutes during the slice; also accepted as
  ``metrics["readiness"]`` with ``within_3_pct``/``within_5_pct`` in percent. Without it the
  section says the plan carries no readiness figures.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from .colors import UNIT_COLORS
from .errors import MapsError
from .i18n import labels as get_labels
from .planfile import plan_time

__all__ = ["REPORT_CSS", "SEGMENT_COLORS", "render_report", "save_report", "timeline_segments"]

SEGMENT_COLORS: dict[str, str] = {
    "travel": "#7f8c8d",
    "dwell": "#c0392b",
    "idle": "#f1c40f",
    "break": "#2980b9",
}
#: The offline reports' style sheet (plan report, department work report).
REPORT_CSS = """
body { font: 13px "Helvetica Neue", Arial, "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC",
  "WenQuanYi Micro Hei", sans-serif; margin: 16px; max-width: 800px; }
h1 { font-size: 20px; } h2 { font-size: 15px; margin-top: 22px; }
table { border-collapse: collapse; } th, td { padding: 2px 10px 2px 0; text-align: left; }
svg text { font: 10px sans-serif; } .muted { color: #888; }
"""
_WIDTH = 760
_LEFT = 120


_t = plan_time


def timeline_segments(route: dict[str, Any]) -> list[tuple[str, datetime, datetime]]:
    """A route's time split into ``(kind, start, end)`` with kind travel/idle/dwell/break.

    Between one step's departure and the next step's arrival the unit travels; from arrival
    it waits ``waiting_s`` (idle), then serves ``service_s`` (dwell at a visit, break time at
    a break). Zero-length pieces are left out.
    """
    segments: list[tuple[str, datetime, datetime]] = []
    previous_end: datetime | None = None
    for step in route.get("steps", []):
        arrival = _t(step.get("arrival"))
        if arrival is None:
            continue
        if previous_end is not None and arrival > previous_end:
            segments.append(("travel", previous_end, arrival))
        served_from = arrival + timedelta(seconds=float(step.get("waiting_s", 0) or 0))
        served_to = served_from + timedelta(seconds=float(step.get("service_s", 0) or 0))
        if served_from > arrival:
            segments.append(("idle", arrival, served_from))
        if served_to > served_from:
            kind = "break" if step.get("type") == "break" else "dwell"
            segments.append((kind, served_from, served_to))
        departure = _t(step.get("departure"))
        previous_end = max(served_to, departure) if departure is not None else served_to
    return segments


def _shift(plan: dict[str, Any]) -> tuple[datetime, datetime]:
    summary = plan.get("summary", {})
    start, end = _t(summary.get("shift_start")), _t(summary.get("shift_end"))
    times = [
        t
        for r in plan.get("routes", [])
        for s in r.get("steps", [])
        for t in (_t(s.get("arrival")), _t(s.get("departure")))
        if t is not None
    ]
    if start is None:
        start = min(times) if times else None
    if end is None:
        end = max(times) if times else None
    if start is None or end is None or end <= start:
        msg = "plan has no shift_start/shift_end in its summary and no step times"
        raise MapsError(msg)
    return start, end


def _x(t: datetime, start: datetime, end: datetime) -> float:
    span = (end - start).total_seconds()
    return _LEFT + (_WIDTH - _LEFT - 10) * max(0.0, min(1.0, (t - start).total_seconds() / span))


def _hour_ticks(start: datetime, end: datetime, y0: float, y1: float) -> str:
    out = []
    tick = start.replace(minute=0, second=0, microsecond=0)
    step = max(1, round((end - start).total_seconds() / 3600 / 12))
    while tick <= end:
        if tick >= start:
            x = _x(tick, start, end)
            out.append(
                f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y1}" stroke="#ddd"/>'
                f'<text x="{x:.1f}" y="{y1 + 12}" text-anchor="middle">{tick:%H:%M}</text>'
            )
        tick = tick + timedelta(seconds=3600 * step)
    return "".join(out)


def _timeline_svg(plan: dict[str, Any], t: dict[str, str]) -> str:
    start, end = _shift(plan)
    routes = plan.get("routes", [])
    row_h = 22
    height = 20 + row_h * len(routes) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH + 20}" height="{height}" class="timeline">'
    ]
    parts.append(_hour_ticks(start, end, 10, 10 + row_h * len(routes)))
    for k, route in enumerate(routes):
        y = 14 + k * row_h
        color = UNIT_COLORS[k % len(UNIT_COLORS)]
        parts.append(
            f'<text x="4" y="{y + 12}" fill="{color}" font-weight="bold">'
            f"{escape(str(route.get('unit_id', '')))}</text>"
        )
        for kind, a, b in timeline_segments(route):
            x0, x1 = _x(a, start, end), _x(b, start, end)
            parts.append(
                f'<rect class="seg-{kind}" x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 0.5):.1f}" '
                f'height="{row_h - 6}" fill="{SEGMENT_COLORS[kind]}"><title>{escape(t[kind])} '
                f"{a:%H:%M}–{b:%H:%M}</title></rect>"
            )
    legend_y = height - 12
    x = _LEFT
    for kind, color in SEGMENT_COLORS.items():
        parts.append(
            f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{legend_y}">{escape(t[kind])}</text>'
        )
        x += 110
    parts.append("</svg>")
    return "".join(parts)


def _risk_points(plan: dict[str, Any]) -> tuple[list[tuple[datetime, float]], bool]:
    visits = [
        s
        for r in plan.get("routes", [])
        for s in r.get("steps", [])
        if s.get("type") == "visit" and _t(s.get("departure") or s.get("arrival")) is not None
    ]
    exact = bool(visits) and all("risk" in s for s in visits)
    covered = float(plan.get("summary", {}).get("risk_covered", 0) or 0)
    share = covered / len(visits) if visits and not exact else 0.0
    events = sorted(
        (_t(s.get("departure") or s.get("arrival")), float(s["risk"]) if exact else share)
        for s in visits
    )
    total = 0.0
    points = []
    for when, value in events:
        total += value
        assert when is not None
        points.append((when, total))
    return points, exact


def _risk_svg(plan: dict[str, Any], t: dict[str, str]) -> str:
    start, end = _shift(plan)
    points, exact = _risk_points(plan)
    summary = plan.get("summary", {})
    top = float(summary.get("risk_total") or 0) or (points[-1][1] if points else 1.0) or 1.0
    h = 160
    y = lambda v: 10 + (h - 20) * (1 - v / top)  # noqa: E731
    path = [f"M{_x(start, start, end):.1f},{y(0):.1f}"]
    last = 0.0
    for when, value in points:
        x = _x(when, start, end)
        path.append(f"L{x:.1f},{y(last):.1f} L{x:.1f},{y(value):.1f}")
        last = value
    path.append(f"L{_x(end, start, end):.1f},{y(last):.1f}")
    note = "" if exact else f'<text x="120" y="24" fill="#888">{escape(t["equal_shares"])}</text>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH + 20}" height="{h + 20}" class="risk">'
        f"{_hour_ticks(start, end, 10, h - 10)}"
        f'<text x="4" y="{y(top) + 4:.1f}">{top:.1f}</text><text x="4" y="{y(0):.1f}">0</text>'
        f'<path d="{" ".join(path)}" fill="none" stroke="#c0392b" stroke-width="2"/>{note}</svg>'
    )


def _readiness_slices(plan: dict[str, Any]) -> list[tuple[datetime, dict[str, float]]]:
    """Readiness per 15-minute slice as ``(start, {"within_3_pct", "within_5_pct"})``.

    Read from ``summary["readiness"]`` (the planner's evaluator: ``within_3min`` and
    ``within_5min`` as shares 0..1) or ``metrics["readiness"]`` (``within_3_pct`` and
    ``within_5_pct`` in percent).
    """
    raw = (plan.get("summary") or {}).get("readiness") or (plan.get("metrics") or {}).get(
        "readiness"
    )
    out = []
    for item in raw or []:
        when = _t(item.get("start"))
        if when is None:
            continue
        values: dict[str, float] = {}
        for minutes in (3, 5):
            share = item.get(f"within_{minutes}min")
            pct = item.get(f"within_{minutes}_pct")
            if share is not None:
                values[f"within_{minutes}_pct"] = 100.0 * float(share)
            elif pct is not None:
                values[f"within_{minutes}_pct"] = float(pct)
        out.append((when, values))
    return out


def _readiness_svg(plan: dict[str, Any], t: dict[str, str]) -> str:
    slices = _readiness_slices(plan)
    if not slices:
        return f'<p class="muted">{escape(t["no_readiness"])}</p>'
    start, end = _shift(plan)
    h = 160
    y = lambda v: 10 + (h - 20) * (1 - max(0.0, min(100.0, float(v))) / 100)  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH + 20}" height="{h + 40}" class="readiness">',
        _hour_ticks(start, end, 10, h - 10),
        f'<text x="4" y="{y(100) + 4:.1f}">100%</text><text x="4" y="{y(0):.1f}">0%</text>',
    ]
    for key, color, dash in (("within_3_pct", "#27ae60", ""), ("within_5_pct", "#2980b9", "4 3")):
        pts = []
        for when, values in slices:
            if values.get(key) is None:
                continue
            a, b = _x(when, start, end), _x(when + timedelta(seconds=900), start, end)
            pts.append(f"{a:.1f},{y(values[key]):.1f} {b:.1f},{y(values[key]):.1f}")
        parts.append(
            f'<polyline class="{key}" points="{" ".join(pts)}" fill="none" stroke="{color}" '
            f'stroke-width="2" stroke-dasharray="{dash}"/>'
        )
    parts.append(
        f'<rect x="{_LEFT}" y="{h + 10}" width="10" height="10" fill="#27ae60"/>'
        f'<text x="{_LEFT + 14}" y="{h + 19}">{escape(t["within_3"])}</text>'
        f'<rect x="{_LEFT + 120}" y="{h + 10}" width="10" height="10" fill="#2980b9"/>'
        f'<text x="{_LEFT + 134}" y="{h + 19}">{escape(t["within_5"])}</text></svg>'
    )
    return "".join(parts)


def _num(value: Any) -> str:
    """A figure with one decimal, or the value as given when it is not a number."""
    try:
        return f"{float(value):.1f}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


def _summary_table(plan: dict[str, Any], t: dict[str, str]) -> str:
    s = plan.get("summary", {})
    start, end = _shift(plan)
    rows = [
        (t["shift"], f"{start:%Y-%m-%d %H:%M} – {end:%H:%M} ({s.get('timezone', '')})"),
        (t["units"], s.get("units", len(plan.get("routes", [])))),
        (t["visits"], s.get("visits", "")),
        (t["unassigned"], s.get("unassigned", len(plan.get("unassigned", [])))),
        (t["distance"], f"{float(s.get('distance_m', 0) or 0) / 1000:.1f} km"),
        (t["duration"], f"{float(s.get('duration_s', 0) or 0) / 3600:.1f} h"),
        (
            t["risk_covered"],
            f"{_num(s.get('risk_covered'))} / {_num(s.get('risk_total'))} "
            f"({_num(s.get('risk_covered_pct'))}%)",
        ),
    ]
    body = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f'<table class="summary">{body}</table>'


def _hhmm_text(value: Any) -> str:
    text = str(value or "")
    return text[11:16] if len(text) >= 16 else text


def _unassigned_table(plan: dict[str, Any], t: dict[str, str]) -> str:
    items = plan.get("unassigned") or []
    stops = [u for u in items if u.get("stop_id") is not None]
    units = [u for u in items if u.get("stop_id") is None and u.get("unit_id") is not None]
    html = ""
    if stops:
        body = "".join(
            f"<tr><td>{escape(str(u['stop_id']))}</td><td>{escape(str(u.get('grid_id') or ''))}"
            f"</td><td>{escape(str(u.get('reason', '')))}</td></tr>"
            for u in stops
        )
        html += (
            f"<h2>{escape(t['unassigned'])}</h2><table class='unassigned'><tr><th>"
            f"{escape(t['stop'])}</th><th>{escape(t['grid'])}</th><th>{escape(t['reason'])}</th>"
            f"</tr>{body}</table>"
        )
    if units:
        body = "".join(
            f"<tr><td>{escape(str(u['unit_id']))}</td><td>{escape(str(u.get('reason', '')))}</td></tr>"
            for u in units
        )
        html += (
            f"<h2>{escape(t['idle_units'])}</h2><table class='idle-units'><tr><th>"
            f"{escape(t['unit'])}</th><th>{escape(t['reason'])}</th></tr>{body}</table>"
        )
    checkpoints = (plan.get("summary") or {}).get("checkpoints") or []
    if checkpoints:
        body = "".join(
            f"<tr><td>{escape(str(c.get('name', '')))}</td><td>"
            + (
                escape(
                    f"{c.get('unit_id', '')} {_hhmm_text(c.get('start'))}-{_hhmm_text(c.get('end'))}"
                )
                if c.get("met")
                else escape(str(c.get("reason", "")))
            )
            + "</td></tr>"
            for c in checkpoints
        )
        html += (
            f"<h2>{escape(t['checkpoints'])}</h2><table class='checkpoints'><tr><th>"
            f"{escape(t['checkpoint'])}</th><th>{escape(t['unit'])} / {escape(t['reason'])}</th>"
            f"</tr>{body}</table>"
        )
    warnings = (plan.get("summary") or {}).get("warnings") or []
    if warnings:
        items_html = "".join(f"<li>{escape(str(w))}</li>" for w in warnings)
        html += f"<h2>{escape(t['plan_warnings'])}</h2><ul class='warnings'>{items_html}</ul>"
    return html


def _visits_table(plan: dict[str, Any], t: dict[str, str]) -> str:
    """Each unit's visits in order with the grid, arrival and why (when the plan gives one)."""
    rows = []
    for route in plan.get("routes") or []:
        order = 0
        for step in route.get("steps") or []:
            if step.get("type") != "visit":
                continue
            order += 1
            arrival = _t(step.get("arrival"))
            rows.append(
                f"<tr><td>{escape(str(route.get('unit_id', '')))}</td><td>{order}</td>"
                f"<td>{escape(str(step.get('grid_id', '')))}</td>"
                f"<td>{'' if arrival is None else arrival.strftime('%H:%M')}</td>"
                f"<td>{escape(str(step.get('why') or ''))}</td></tr>"
            )
    if not rows:
        return ""
    head = "".join(f"<th>{escape(t[k])}</th>" for k in ("unit", "stop", "grid", "arrival", "why"))
    return f"<h2>{escape(t['visits'])}</h2><table class='visits'><tr>{head}</tr>{''.join(rows)}</table>"


def render_report(plan: dict[str, Any], *, lang: str = "en") -> str:
    """The plan report as one HTML page (no script, no external resource).

    Parameters
    ----------
    plan
        Plan JSON dict (optional fields: see the module docstring).
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    str
        A self-contained HTML document.
    """
    t = get_labels(lang)
    html_lang = "zh-CN" if lang == "zh" else "en"
    return f"""<!DOCTYPE html>
<html lang="{html_lang}"><head><meta charset="utf-8"><title>{escape(t["report"])}</title>
<style>{REPORT_CSS}</style></head><body>
<h1>{escape(t["report"])}</h1>
<h2>{escape(t["summary"])}</h2>{_summary_table(plan, t)}
<h2>{escape(t["timeline"])}</h2>{_timeline_svg(plan, t)}
<h2>{escape(t["risk_covered"])}</h2>{_risk_svg(plan, t)}
<h2>{escape(t["readiness"])}</h2>{_readiness_svg(plan, t)}
{_visits_table(plan, t)}
{_unassigned_table(plan, t)}
</body></html>
"""


def save_report(plan: dict[str, Any], path: str | Path, *, lang: str = "en") -> Path:
    """Write :func:`render_report` to ``path`` (parent folders created)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(plan, lang=lang), encoding="utf-8")
    return out
