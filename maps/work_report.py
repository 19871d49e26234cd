"""A department's open work as a one-page offline report (``GET /departments/{code}/report``).

The same offline page as the plan report (:mod:`maps.report`: no script, no CDN): the figures
(open, overdue, escalated) and one row per open incident with its state, when it was dispatched
to the department and when its current stage is due, escalated first, then overdue, then by due
time. Times are shown in the city's zone with their offset. Incident descriptions and residents'
contact details are not columns of the input and never appear.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import MapsError
from .i18n import labels as get_labels
from .report import REPORT_CSS

__all__ = ["WORK_COLUMNS", "order_work", "render_work_report", "save_work_report"]

#: Columns of the open-work frame (times timezone-aware or None).
WORK_COLUMNS: tuple[str, ...] = (
    "incident_id",
    "category",
    "severity",
    "state",
    "grid_id",
    "occurred_at",
    "dispatched_at",
    "due_at",
    "escalated_at",
)


def order_work(work: pd.DataFrame, *, now: datetime) -> pd.DataFrame:
    """Open work with an ``overdue`` column, escalated first, then overdue, then by due time.

    >>> now = pd.Timestamp("2026-11-02T12:00Z")
    >>> frame = pd.DataFrame({"incident_id": ["a", "b", "c"],
    ...     "due_at": [now + pd.Timedelta("1h"), now - pd.Timedelta("1h"), None],
    ...     "escalated_at": [None, None, now]})
    >>> order_work(frame, now=now)["incident_id"].tolist()
    ['c', 'b', 'a']
    """
    missing = [c for c in ("incident_id", "due_at", "escalated_at") if c not in work.columns]
    if missing:
        msg = f"open work: missing column(s) {', '.join(missing)}"
        raise MapsError(msg)
    due = pd.to_datetime(work["due_at"], utc=True)
    escalated = pd.to_datetime(work["escalated_at"], utc=True)
    out = work.assign(
        overdue=(due.notna() & (due < pd.Timestamp(now))).to_numpy(),
        _esc=escalated.isna().to_numpy(),
        _due=due.to_numpy(),
    )
    out = out.assign(_late=~out["overdue"])
    out = out.sort_values(
        ["_esc", "_late", "_due", "incident_id"], na_position="last", kind="stable"
    )
    return out.drop(columns=["_esc", "_late", "_due"]).reset_index(drop=True)


def _time(value: Any, timezone: str | None) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    if timezone:
        stamp = stamp.tz_convert(timezone)
    return stamp.isoformat(timespec="minutes")


def render_work_report(
    work: pd.DataFrame,
    *,
    department: str,
    name: str = "",
    now: datetime,
    timezone: str | None = None,
    lang: str = "en",
) -> str:
    """A department's open work as one HTML page (no script, no external resource).

    Parameters
    ----------
    work
        One row per open incident (:data:`WORK_COLUMNS`; ``due_at`` and ``escalated_at``
        are required, the others are shown when present).
    department, name
        The department's code and name for the title.
    now
        The time the report is as of (decides what is overdue).
    timezone
        IANA zone the times are shown in (with their offset); None: UTC.
    lang
        ``"en"`` or ``"zh"``.
    """
    t = get_labels(lang)
    rows = order_work(work, now=now)
    title = f"{t['work_report']}: {name or department} ({department})"
    figures = [
        (t["work_as_of"], _time(pd.Timestamp(now), timezone)),
        (t["work_open"], len(rows)),
        (t["work_overdue"], int(rows["overdue"].sum())),
        (t["work_escalated"], int(rows["escalated_at"].notna().sum())),
    ]
    summary = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in figures
    )
    columns = [
        ("incident_id", t["work_incident"]),
        ("category", t["work_category"]),
        ("severity", t["work_severity"]),
        ("state", t["work_state"]),
        ("grid_id", t["grid"]),
        ("dispatched_at", t["work_dispatched"]),
        ("due_at", t["work_due"]),
    ]
    shown = [(c, label) for c, label in columns if c in rows.columns]
    head = "".join(f"<th>{escape(label)}</th>" for _, label in shown)
    head += f"<th>{escape(t['work_status'])}</th>"
    body = []
    for row in rows.to_dict("records"):
        cells = []
        for column, _ in shown:
            value = row.get(column)
            if column.endswith("_at"):
                text = _time(value, timezone)
            else:
                text = (
                    ""
                    if value is None or (isinstance(value, float) and pd.isna(value))
                    else str(value)
                )
            cells.append(f"<td>{escape(text)}</td>")
        if row.get("escalated_at") is not None and not pd.isna(row.get("escalated_at")):
            status, css = t["work_escalated"], "escalated"
        elif row["overdue"]:
            status, css = t["work_overdue"], "overdue"
        elif row.get("due_at") is None or pd.isna(row.get("due_at")):
            status, css = t["work_no_limit"], "no-limit"
        else:
            status, css = t["work_on_time"], "on-time"
        cells.append(f"<td>{escape(status)}</td>")
        body.append(f'<tr class="{css}">{"".join(cells)}</tr>')
    table = (
        f'<table class="work"><tr>{head}</tr>{"".join(body)}</table>'
        if body
        else f'<p class="muted">{escape(t["work_none"])}</p>'
    )
    html_lang = "zh-CN" if lang == "zh" else "en"
    return f"""<!DOCTYPE html>
<html lang="{html_lang}"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>{REPORT_CSS}
tr.escalated td {{ color: #c0392b; font-weight: bold; }} tr.overdue td {{ color: #c0392b; }}
</style></head><body>
<h1>{escape(title)}</h1>
<h2>{escape(t["summary"])}</h2><table class="summary">{summary}</table>
<h2>{escape(t["work_open"])}</h2>{table}
</body></html>
"""


def save_work_report(work: pd.DataFrame, path: str | Path, **options: Any) -> Path:
    """Write :func:`render_work_report` to ``path`` (parent folders created)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_work_report(work, **options), encoding="utf-8")
    return out
