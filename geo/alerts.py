"""Early warnings: grids running above their own baseline, and near-repeat flare-ups.

Trend test
----------
For each leaf grid, the ``recent`` count (the last ``recent_days`` before ``now``) is compared with
the ``baseline`` count (the ``baseline_days`` before that). Under "no change" both are Poisson with
one rate, so given their sum ``N`` the recent count is Binomial(``N``, ``recent / (recent +
baseline)`` days): the exact conditional test for two Poisson rates, which accounts for the
uncertainty of the baseline itself. One-sided p-values for "up" and "down" are adjusted across
grids with the Benjamini-Hochberg procedure (false-discovery rate ``alpha``); ``warning`` is True
where the "up" q-value is at most ``alpha``. Grids with fewer than ``min_incidents`` in both periods
are not tested: their p- and q-values are None and ``reason`` says why. The baseline starts no
earlier than the first incident of the whole input (data before it are unknown, not zero).

Near repeats
------------
Incidents of the chosen categories within ``distance_m`` metres and ``days`` days of each other
are linked; linked chains with at least ``min_incidents`` incidents form a flare-up (the
near-repeat pattern of burglaries: Townsley, Homel & Chaseling 2003; Bowers & Johnson 2004).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from .errors import IncidentError
from .hierarchy import leaf_grids
from .hotspots import to_timestamp

__all__ = [
    "NEAR_REPEAT_WORDS",
    "benjamini_hochberg",
    "near_repeat_categories",
    "near_repeats",
    "trend_alerts",
]

_DAY_NS = 86_400 * 10**9

#: Words that mark a category as near-repeat prone by default: burglary is where the near-repeat
#: pattern is best established (Townsley et al. 2003; Bowers & Johnson 2004). Chained over all
#: categories, a dense city's incidents join into one flare-up of hundreds that names every grid.
NEAR_REPEAT_WORDS: tuple[str, ...] = ("burglary", "入室")


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN entries stay NaN and are not counted.

    :func:`scipy.stats.false_discovery_control` on the tested (non-NaN) entries.

    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan])).round(3).tolist()[:3]
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        q[tested] = stats.false_discovery_control(p[tested], method="bh")
    return q


def _times_ns(joined: pd.DataFrame) -> np.ndarray:
    if "occurred_at" not in joined.columns:
        msg = "incidents: column 'occurred_at' is missing"
        raise IncidentError(msg)
    times = pd.DatetimeIndex(joined["occurred_at"])
    if times.tz is None:
        msg = "incidents: occurred_at must be timezone-aware (UTC)"
        raise IncidentError(msg)
    return times.as_unit("ns").asi8


def trend_alerts(
    joined: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    *,
    now: str | datetime | pd.Timestamp,
    recent_days: float = 28.0,
    baseline_days: float = 365.0,
    alpha: float = 0.05,
    min_incidents: int = 3,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Per leaf grid: recent vs baseline counts, exact Poisson-rate test, BH-controlled warning.

    Parameters
    ----------
    joined
        Joined incidents (``occurred_at``, ``grid_id``).
    grids
        Grids frame; one output row per leaf.
    now
        End of the recent period (naive = local time in ``timezone``).
    recent_days, baseline_days
        Lengths of the two periods.
    alpha
        False-discovery rate across grids.
    min_incidents
        Fewest incidents (recent + baseline) for a grid to be tested.

    Returns
    -------
    pandas.DataFrame
        ``grid_id``, ``recent_count``, ``baseline_count``, ``expected`` (recent count the
        baseline rate predicts), ``ratio`` (recent / expected, None without baseline),
        ``p_up``, ``q_up``, ``p_down``, ``q_down``, ``trend`` ("up", "down", "steady" or None),
        ``warning`` (bool), ``reason`` (why a grid was not tested, else None).
    """
    if not 0 < alpha < 1:
        msg = f"alpha must be between 0 and 1, got {alpha}"
        raise ValueError(msg)
    now_ns = int(to_timestamp(now, timezone).value)
    leaf_ids = pd.Index(leaf_grids(grids)["grid_id"].astype(str))
    t = _times_ns(joined)
    gid = joined["grid_id"]
    ok = gid.notna().to_numpy() & (t <= now_ns)
    idx = leaf_ids.get_indexer(gid[ok].astype(str))
    t = t[ok][idx >= 0]
    idx = idx[idx >= 0]
    n = len(leaf_ids)
    recent_start = now_ns - int(recent_days * _DAY_NS)
    baseline_start = recent_start - int(baseline_days * _DAY_NS)
    first = int(_times_ns(joined).min()) if len(joined) else now_ns
    baseline_start = max(baseline_start, first)
    base_len = max((recent_start - baseline_start) / _DAY_NS, 0.0)
    recent = np.bincount(idx[t > recent_start], minlength=n)
    baseline = np.bincount(idx[(t > baseline_start) & (t <= recent_start)], minlength=n)
    total = recent + baseline
    out = pd.DataFrame({"grid_id": leaf_ids.to_numpy(dtype=object)})
    out["recent_count"] = recent
    out["baseline_count"] = baseline
    out["expected"] = baseline * recent_days / base_len if base_len > 0 else np.nan

    reason = np.full(n, None, dtype=object)
    if base_len < 0.25 * recent_days:
        reason[:] = f"baseline shorter than {0.25 * recent_days:g} days (data start too late)"
    else:
        reason[total < min_incidents] = f"too few incidents (< {min_incidents}) to test"
    tested = np.array([r is None for r in reason])
    p0 = recent_days / (recent_days + base_len) if base_len > 0 else 1.0
    p_up = np.full(n, np.nan)
    p_down = np.full(n, np.nan)
    p_up[tested] = stats.binom.sf(recent[tested] - 1, total[tested], p0)
    p_down[tested] = stats.binom.cdf(recent[tested], total[tested], p0)
    q_up = benjamini_hochberg(p_up)
    q_down = benjamini_hochberg(p_down)
    expected = out["expected"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, recent / np.where(expected > 0, expected, 1.0), np.nan)
    trend = np.where(q_up <= alpha, "up", np.where(q_down <= alpha, "down", "steady"))
    out["ratio"] = _none_where_nan(ratio)
    out["expected"] = _none_where_nan(expected)
    out["p_up"] = _none_where_nan(p_up)
    out["q_up"] = _none_where_nan(q_up)
    out["p_down"] = _none_where_nan(p_down)
    out["q_down"] = _none_where_nan(q_down)
    out["trend"] = pd.Series(trend, dtype=object).where(tested, None)
    out["warning"] = tested & (q_up <= alpha)
    out["reason"] = reason
    return out


def _none_where_nan(values: np.ndarray) -> pd.Series:
    series = pd.Series(np.asarray(values, dtype=float), dtype=object)
    return series.where(~np.isnan(np.asarray(values, dtype=float)), None)


def near_repeat_categories(names: Sequence[str] | pd.Series) -> list[str]:
    """The categories flare-ups are looked for in by default: names holding a
    :data:`NEAR_REPEAT_WORDS` word (any case).

    >>> near_repeat_categories(["Thefts", "Burglary Residential", "入室盗窃", "盗窃"])
    ['Burglary Residential', '入室盗窃']
    """
    unique = dict.fromkeys(str(n) for n in names)
    return sorted(n for n in unique if any(w in n.lower() for w in NEAR_REPEAT_WORDS))


def near_repeats(
    joined: gpd.GeoDataFrame,
    *,
    distance_m: float = 200.0,
    days: float = 7.0,
    categories: Sequence[str] | None = None,
    min_incidents: int = 3,
    now: str | datetime | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Flare-ups: chains of incidents within ``distance_m`` and ``days`` of each other.

    Parameters
    ----------
    joined
        Incidents (joined or not) with ``incident_id``, ``occurred_at``, ``category``, point
        geometry in EPSG:4326 (``grid_id`` is reported when present).
    distance_m, days
        The near-repeat window in space and time.
    categories
        Categories to consider (None = all).
    min_incidents
        Smallest flare-up to report.
    now
        When given, ``active`` flags flare-ups whose last incident is within ``days`` of it.

    Returns
    -------
    pandas.DataFrame
        One row per flare-up, largest first: ``flareup_id``, ``incidents``, ``incident_ids``,
        ``categories``, ``grid_ids``, ``first``, ``last``, ``lon``, ``lat`` (mean position),
        ``active``.
    """
    columns = [
        "flareup_id",
        "incidents",
        "incident_ids",
        "categories",
        "grid_ids",
        "first",
        "last",
        "lon",
        "lat",
        "active",
    ]
    frame = joined
    if categories is not None:
        frame = frame.loc[frame["category"].astype(str).isin([str(c) for c in categories])]
    frame = frame.loc[frame.geometry.notna() & ~frame.geometry.is_empty]
    if len(frame) < max(min_incidents, 2):
        return pd.DataFrame(columns=columns)
    t = _times_ns(frame)
    metric = frame.geometry.to_crs(frame.geometry.estimate_utm_crs())
    x, y = metric.x.to_numpy(), metric.y.to_numpy()
    # Chebyshev box in (space / distance_m, time / days), then the exact spatial distance.
    scaled = np.column_stack([x / distance_m, y / distance_m, t / (days * _DAY_NS)])
    pairs = cKDTree(scaled).query_pairs(r=1.0, p=np.inf, output_type="ndarray")
    if pairs.size:
        d2 = (x[pairs[:, 0]] - x[pairs[:, 1]]) ** 2 + (y[pairs[:, 0]] - y[pairs[:, 1]]) ** 2
        pairs = pairs[d2 <= distance_m**2]
    m = len(frame)
    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    _, labels = csgraph.connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    keep = np.flatnonzero(sizes >= min_incidents)
    now_ns = int(to_timestamp(now).value) if now is not None else None
    lonlat = frame.geometry.to_crs("EPSG:4326")
    ids = frame["incident_id"].astype(str).to_numpy() if "incident_id" in frame else None
    rows = []
    for label in keep[np.argsort(-sizes[keep], kind="stable")]:
        members = np.flatnonzero(labels == label)
        members = members[np.argsort(t[members], kind="stable")]
        last = int(t[members].max())
        rows.append(
            {
                "incidents": int(members.size),
                "incident_ids": ",".join(ids[members]) if ids is not None else "",
                "categories": ",".join(sorted(set(frame["category"].astype(str).iloc[members]))),
                "grid_ids": ",".join(
                    sorted({str(g) for g in frame["grid_id"].iloc[members] if pd.notna(g)})
                )
                if "grid_id" in frame
                else "",
                "first": pd.Timestamp(int(t[members].min()), tz="UTC"),
                "last": pd.Timestamp(last, tz="UTC"),
                "lon": float(lonlat.x.iloc[members].mean()),
                "lat": float(lonlat.y.iloc[members].mean()),
                "active": bool(now_ns is not None and now_ns - last <= days * _DAY_NS),
            }
        )
    out = pd.DataFrame(rows, columns=columns[1:])
    out.insert(0, "flareup_id", [f"nr-{k + 1:04d}" for k in range(len(out))])
    return out
