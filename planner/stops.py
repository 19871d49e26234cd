"""Candidate stops for one shift, from a grid risk table.

A grid's risk expected in each hour of the shift is ``risk * how_<hour of week>`` (its
recency-decayed, severity-weighted risk times the share of it falling in that weekday hour), hours
cut by the shift's ends counting pro rata. Its *risky hours* are those at or above the grid's
mean over the shift; consecutive risky hours merge into one time window, and the stop's prize is
the risk expected inside its windows. The hottest grids want more than one visit, at least
``min_gap_s`` apart, when their windows leave room for it.

The result is a plain frame; :func:`planner.problem.build_problem` places each stop on a street
inside its grid and turns the rows into :class:`planner.model.Stop` objects.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Collection

import numpy as np
import pandas as pd

from .errors import ProblemError
from .model import DEFAULT_DWELL_S, DEFAULT_VISIT_GAP_S

__all__ = [
    "HOW_COLUMNS",
    "category_skills",
    "grid_skills",
    "hourly_risk",
    "incident_centres",
    "police_only_grids",
    "shift_hours",
    "stop_table",
]

HOW_COLUMNS: tuple[str, ...] = tuple(f"how_{h:03d}" for h in range(168))


def shift_hours(
    shift_start: pd.Timestamp, shift_end: pd.Timestamp, timezone: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shift cut at local clock hours.

    Returns
    -------
    how, start_s, weight
        Hour of week (Monday 00:00 local = 0) of each piece, its start in seconds from the
        shift's start, and the share of that clock hour it covers (1 except at the ends).
    """
    start = pd.Timestamp(shift_start)
    end = pd.Timestamp(shift_end)
    if start.tzinfo is None or end.tzinfo is None:
        msg = "shift start and end must be timezone-aware"
        raise ProblemError(msg)
    if end <= start:
        msg = f"shift ends ({end}) at or before it starts ({start})"
        raise ProblemError(msg)
    local = start.tz_convert(timezone)
    cuts = [local]
    t = local.floor("h") + pd.Timedelta(hours=1)
    end_local = end.tz_convert(timezone)
    while t < end_local:
        cuts.append(t)
        t += pd.Timedelta(hours=1)
    cuts.append(end_local)
    hows, starts, weights = [], [], []
    for a, b in itertools.pairwise(cuts):
        hows.append(a.weekday() * 24 + a.hour)
        starts.append(int((a - local).total_seconds()))
        weights.append((b - a) / dt.timedelta(hours=1))
    return np.asarray(hows), np.asarray(starts), np.asarray(weights, dtype=float)


def hourly_risk(
    risk: pd.DataFrame, shift_start: pd.Timestamp, shift_end: pd.Timestamp, timezone: str
) -> tuple[np.ndarray, np.ndarray]:
    """Risk expected in each hour piece of the shift, one row per grid.

    Returns
    -------
    matrix, start_s
        ``len(risk) x pieces`` expected risk, and each piece's start (seconds from shift start).
    """
    needed = ("grid_id", "prize" if "prize" in risk.columns else "risk", *HOW_COLUMNS)
    missing = [c for c in needed if c not in risk.columns]
    if missing:
        msg = f"risk table: columns {missing[:3]}{'...' if len(missing) > 3 else ''} are missing; build it with geo.hotspots.risk_table"
        raise ProblemError(msg)
    how, start_s, weight = shift_hours(shift_start, shift_end, timezone)
    profile = risk[list(HOW_COLUMNS)].to_numpy(dtype=float)
    shape = profile[:, how] * weight[None, :]
    if "prize" in risk.columns:
        # a shift prize per grid (geo.patrol_risk.patrol_prize), spread over the hours by profile
        total = shape.sum(axis=1, keepdims=True)
        prize = pd.to_numeric(risk["prize"], errors="coerce").to_numpy(dtype=float)[:, None]
        return np.nan_to_num(prize * shape / np.where(total > 0, total, 1.0)), start_s
    values = risk["risk"].to_numpy(dtype=float)[:, None] * shape
    return np.nan_to_num(values), start_s


def _windows(
    row: np.ndarray, start_s: np.ndarray, end_s: int, dwell_s: int
) -> tuple[list[tuple[int, int]], float]:
    positive = row > 0
    if not positive.any():
        return [], 0.0
    risky = row >= row[positive].mean() * (1 - 1e-9)
    windows: list[tuple[int, int]] = []
    prize = 0.0
    i, n = 0, len(row)
    while i < n:
        if not risky[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and risky[j + 1]:
            j += 1
        a = int(start_s[i])
        b = int(start_s[j + 1]) if j + 1 < n else end_s
        windows.append((a, max(a, b - dwell_s)))
        prize += float(row[i : j + 1].sum())
        i = j + 1
    return windows, prize


def stop_table(
    risk: pd.DataFrame,
    *,
    shift_start: pd.Timestamp,
    shift_end: pd.Timestamp,
    timezone: str,
    max_stops: int | None = None,
    dwell_s: int = DEFAULT_DWELL_S,
    min_gap_s: int = DEFAULT_VISIT_GAP_S,
    repeat_quantile: float = 0.9,
    max_visits: int = 3,
    base_share: float = 0.0,
    keep: Collection[str] = (),
    presence_gap_s: int | None = None,
    max_presence_visits: int = 8,
) -> pd.DataFrame:
    """The grids worth a visit in this shift, with windows, prizes and wanted visits.

    Parameters
    ----------
    risk
        Risk table: ``grid_id``, ``risk`` and ``how_000``..``how_167`` (the profile in the
        city's local hours). With a ``prize`` column (the shift's prize per grid,
        :func:`geo.patrol_risk.patrol_prize`) the prize replaces ``risk`` times the profile and
        the profile only spreads it over the shift's hours; a ``why`` column is carried to the
        stops.
    shift_start, shift_end
        The shift (timezone-aware).
    timezone
        The city's time zone (the profile's clock).
    max_stops
        Keep the grids with the highest shift risk only.
    dwell_s
        Presence per visit (Koper curve default: 12 minutes).
    min_gap_s
        Least time between two visits to one grid.
    repeat_quantile
        Grids at or above this quantile of shift risk want a second visit (and those above the
        midpoint between it and the top want ``max_visits``), where the windows leave room.
    max_visits
        Most visits per shift.
    base_share
        Base (prior) risk: every grid's hourly risk is at least this share of the mean hourly
        risk of the grids with any risk, so a grid with few recorded incidents still has value
        (presence has value) and a unit allowed only there still patrols. 0: recorded risk only.
    keep
        Grid ids kept whatever ``max_stops`` says (e.g. the best grids of each volunteer's
        area), when they are in ``risk``.
    presence_gap_s
        When set, each kept grid also gets a *presence* stop (``stop_id`` ``"<grid_id>~p"``,
        ``presence`` True): doses of patrol at any time of the shift, at least this far apart
        from any visit to the grid, worth the grid's mean risk per dwell. They fill the units'
        free time (:mod:`planner.fill`); the solvers never see them.
    max_presence_visits
        Most doses per presence stop.

    Returns
    -------
    pandas.DataFrame
        One row per stop, hottest first: ``stop_id`` (``"<grid_id>"``), ``grid_id``,
        ``shift_risk`` (risk expected over the whole shift), ``prize`` (risk expected in the
        windows), ``windows`` (list of ``(start_s, end_s)`` for the start of a visit),
        ``visits``, ``dwell_s``, ``min_gap_s``, ``presence`` (and ``why`` when the risk table
        has it).
    """
    values, start_s = hourly_risk(risk, shift_start, shift_end, timezone)
    end_s = int((pd.Timestamp(shift_end) - pd.Timestamp(shift_start)).total_seconds())
    _, _, weight = shift_hours(shift_start, shift_end, timezone)
    if base_share > 0:
        risky = values.sum(axis=1) > 0
        if risky.any():
            hourly = values[risky].sum(axis=1) / weight.sum()
            values = np.maximum(values, base_share * float(hourly.mean()) * weight[None, :])
    shift_risk = values.sum(axis=1)
    order = np.argsort(-shift_risk, kind="stable")
    order = order[shift_risk[order] > 0]
    ids = risk["grid_id"].astype(str).to_numpy()
    if max_stops is not None:
        kept = set(keep)
        extra = [i for i in order[max_stops:] if ids[i] in kept]
        order = np.concatenate([order[:max_stops], np.asarray(extra, dtype=order.dtype)])
    hot = shift_risk[order]
    q1 = float(np.quantile(hot, repeat_quantile)) if len(hot) else np.inf
    q2 = (q1 + float(hot.max())) / 2 if len(hot) else np.inf
    rows = []
    whys = risk["why"].fillna("").astype(str).to_numpy() if "why" in risk.columns else None
    for i in order:
        windows, prize = _windows(values[i], start_s, end_s, dwell_s)
        if not windows:
            continue
        span = windows[-1][1] - windows[0][0]
        room = 1 + span // min_gap_s if min_gap_s > 0 else max_visits
        wanted = 1 + (shift_risk[i] >= q1) + (shift_risk[i] >= q2 and max_visits >= 3)
        rows.append(
            {
                "stop_id": ids[i],
                "grid_id": ids[i],
                "shift_risk": float(shift_risk[i]),
                "prize": prize,
                "windows": windows,
                "visits": int(max(1, min(wanted, room, max_visits))),
                "dwell_s": int(dwell_s),
                "min_gap_s": int(min_gap_s),
                "presence": False,
            }
        )
        if whys is not None:
            rows[-1]["why"] = whys[i]
    if presence_gap_s is not None and end_s > dwell_s:
        doses = min(max_presence_visits, 1 + (end_s - dwell_s) // max(presence_gap_s, 1))
        hours = float(weight.sum())
        rows.extend(
            {
                "stop_id": f"{ids[i]}~p",
                "grid_id": ids[i],
                "shift_risk": float(shift_risk[i]),
                "prize": float(shift_risk[i]) / hours * dwell_s / 3600,
                "windows": [(0, end_s - dwell_s)],
                "visits": int(doses),
                "dwell_s": int(dwell_s),
                "min_gap_s": int(presence_gap_s),
                "presence": True,
                **({"why": whys[i]} if whys is not None else {}),
            }
            for i in order
        )
    columns = [
        "stop_id",
        "grid_id",
        "shift_risk",
        "prize",
        "windows",
        "visits",
        "dwell_s",
        "min_gap_s",
        "presence",
        *(["why"] if whys is not None else []),
    ]
    return pd.DataFrame(rows, columns=columns)


def incident_centres(joined: pd.DataFrame) -> pd.DataFrame:
    """Each grid's severity-weighted incident centre, where its stop should be placed near.

    Parameters
    ----------
    joined
        Joined incidents: ``grid_id`` and Point ``geometry`` (EPSG:4326); ``severity`` weighs
        each incident when present.

    Returns
    -------
    pandas.DataFrame
        ``grid_id``, ``near_lon``, ``near_lat`` for every grid with an incident (a weighted
        mean of lon/lat: exact enough at the scale of one grid).
    """
    inside = joined.loc[joined["grid_id"].notna()]
    if inside.empty:
        return pd.DataFrame({"grid_id": [], "near_lon": [], "near_lat": []})
    weight = (
        inside["severity"].to_numpy(dtype=float) if "severity" in inside else np.ones(len(inside))
    )
    frame = pd.DataFrame(
        {
            "grid_id": inside["grid_id"].astype(str).to_numpy(),
            "w": weight,
            "wx": weight * inside.geometry.x.to_numpy(),
            "wy": weight * inside.geometry.y.to_numpy(),
        }
    )
    sums = frame.groupby("grid_id", sort=True)[["w", "wx", "wy"]].sum()
    return pd.DataFrame(
        {
            "grid_id": sums.index.to_numpy(),
            "near_lon": (sums["wx"] / sums["w"]).to_numpy(),
            "near_lat": (sums["wy"] / sums["w"]).to_numpy(),
        }
    )


def category_skills(table: pd.DataFrame) -> dict[str, str]:
    """Category -> skill needed, from a category table's optional ``skill`` column.

    ``table`` is a category table frame (``geo.categories.CategoryTable.table``: ``category``,
    ``severity``, ``group`` and, here, ``skill``); rows with an empty skill need none.
    Categories are matched trimmed and case-folded, as the category table matches them.
    """
    if "skill" not in table.columns:
        return {}
    out: dict[str, str] = {}
    for category, skill in zip(table["category"], table["skill"], strict=True):
        text = "" if skill is None or (isinstance(skill, float) and np.isnan(skill)) else str(skill)
        if text.strip():
            out[" ".join(str(category).split()).casefold()] = text.strip()
    return out


def grid_skills(incidents: pd.DataFrame, skills: dict[str, str]) -> dict[str, frozenset[str]]:
    """Skills each grid's stop needs: those of the categories of its incidents.

    Parameters
    ----------
    incidents
        Joined incidents (``grid_id``, ``category``), e.g. those before the shift.
    skills
        Category (trimmed, case-folded) -> skill, from :func:`category_skills`.
    """
    if not skills or incidents.empty or "category" not in incidents.columns:
        return {}
    inside = incidents.loc[incidents["grid_id"].notna()]
    keys = inside["category"].astype(str).map(lambda c: " ".join(c.split()).casefold())
    need = keys.map(skills)
    hit = inside.assign(skill=need.to_numpy()).dropna(subset=["skill"])
    return {
        str(g): frozenset(rows["skill"].astype(str))
        for g, rows in hit.groupby(hit["grid_id"].astype(str), sort=True)
    }


def police_only_grids(incidents: pd.DataFrame, *, min_share: float = 0.5) -> frozenset[str]:
    """Grids whose risk comes from police-only categories: only police kinds serve their stop.

    A grid is police-only when its incidents of ``police_only`` categories (the category
    table's flag, carried on each incident by ``geo.incidents``) hold at least ``min_share`` of
    its severity (every incident severity 1 without a ``severity`` column). Only the grid's
    risk stop is restricted: its presence doses (``presence`` stops) stay open to every kind.

    Parameters
    ----------
    incidents
        Joined incidents (``grid_id``, ``police_only``, optional ``severity``), e.g. those
        before the shift.
    min_share
        Least police-only share of the grid's severity, in (0, 1].

    Examples
    --------
    >>> frame = pd.DataFrame({"grid_id": ["a", "a", "b", "b"],
    ...                       "police_only": [True, True, True, False],
    ...                       "severity": [4, 1, 1, 3]})
    >>> sorted(police_only_grids(frame))
    ['a']
    """
    if not 0 < min_share <= 1:
        msg = f"police-only share must be in (0, 1], got {min_share}"
        raise ProblemError(msg)
    if incidents.empty or "police_only" not in incidents.columns:
        return frozenset()
    inside = incidents.loc[incidents["grid_id"].notna()]
    flag = inside["police_only"].fillna(False).astype(bool).to_numpy()
    if not flag.any():
        return frozenset()
    weight = (
        pd.to_numeric(inside["severity"], errors="coerce").fillna(1.0).to_numpy(dtype=float)
        if "severity" in inside.columns
        else np.ones(len(inside))
    )
    frame = pd.DataFrame(
        {
            "grid_id": inside["grid_id"].astype(str).to_numpy(),
            "all": weight,
            "police": weight * flag,
        }
    )
    sums = frame.groupby("grid_id", sort=True)[["all", "police"]].sum()
    hit = sums.index[(sums["police"] > 0) & (sums["police"] >= min_share * sums["all"])]
    return frozenset(str(g) for g in hit)
