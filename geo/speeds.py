"""Travel speeds per travel mode and OSM ``highway`` type, and who may use which street.

The speed table is a small CSV (``geo/data/speeds.csv``) that users can copy and edit: one row per
``highway`` value, one column per mode (``drive_kph``, ``bike_kph``, ``walk_kph``); an empty cell
means the mode may not use that kind of street. The defaults are *effective* urban speeds
(including junctions, lights and traffic) suitable for dense Chinese and US city centres, not
legal limits. Where a way carries a ``maxspeed`` tag, the drive speed is that limit times
``maxspeed_share`` (default 0.7, the share of the limit a car averages in dense traffic).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import NetworkError

__all__ = ["DEFAULT_SPEEDS", "MODES", "edge_speeds_kph", "load_speeds", "parse_maxspeed_kph"]

MODES: tuple[str, ...] = ("drive", "bike", "walk")
DEFAULT_SPEEDS = Path(__file__).resolve().parent / "data" / "speeds.csv"

_MPH = 1.609344
_NO = {"no", "private", "restricted", "agricultural", "forestry", "military", "delivery"}
_YES = {"yes", "designated", "permissive", "official", "destination", "use_sidepath"}
_DRIVE_SERVICE_NO = {"parking", "parking_aisle", "private", "emergency_access", "driveway"}
_NAMED_SPEEDS = {"walk": 6.0, "living_street": 10.0, "none": math.nan, "signals": math.nan}


def load_speeds(path: str | Path | None = None) -> pd.DataFrame:
    """Read a speed table.

    Parameters
    ----------
    path
        CSV with columns ``highway``, ``drive_kph``, ``bike_kph``, ``walk_kph``; ``None`` reads the
        packaged defaults. Empty cells forbid the mode on that kind of street.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``highway``; float columns ``drive_kph``, ``bike_kph``, ``walk_kph`` (NaN where
        forbidden).

    Examples
    --------
    >>> load_speeds().loc["residential", "walk_kph"]
    np.float64(5.0)
    """
    path = DEFAULT_SPEEDS if path is None else Path(path)
    try:
        table = pd.read_csv(path, dtype={"highway": str})
    except (OSError, pd.errors.ParserError) as exc:
        msg = f"speed table {path}: cannot be read ({exc})"
        raise NetworkError(msg) from exc
    columns = ["highway"] + [f"{mode}_kph" for mode in MODES]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        msg = f"speed table {path}: missing column(s) {missing}; expected {columns}"
        raise NetworkError(msg)
    table = table[columns].set_index("highway")
    if table.index.duplicated().any():
        dup = sorted(set(table.index[table.index.duplicated()]))
        msg = f"speed table {path}: highway value(s) {dup} listed twice; keep one row each"
        raise NetworkError(msg)
    for column in table.columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() & table[column].notna()
        bad |= values.notna() & (values <= 0)
        if bad.any():
            row = table.index[bad.to_numpy()][0]
            msg = (
                f"speed table {path}: row {row!r} column {column} must be a positive number "
                "or empty (mode not allowed)"
            )
            raise NetworkError(msg)
        table[column] = values.astype(float)
    return table


def parse_maxspeed_kph(value: object) -> float:
    """Read an OSM ``maxspeed`` value in km/h (NaN when absent or not a number).

    Lists (``"30;50"``, or several values on a simplified edge) give the smallest number.

    Examples
    --------
    >>> parse_maxspeed_kph("25 mph")
    40.2336
    >>> parse_maxspeed_kph("50")
    50.0
    """
    if isinstance(value, list | tuple):
        values = [parse_maxspeed_kph(v) for v in value]
        finite = [v for v in values if not math.isnan(v)]
        return min(finite) if finite else math.nan
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    text = str(value).strip().lower()
    if ";" in text or "|" in text:
        return parse_maxspeed_kph(re.split(r"[;|]", text))
    if text in _NAMED_SPEEDS:
        return _NAMED_SPEEDS[text]
    if ":" in text:  # zone values such as "us:urban", "cn:urban"
        return math.nan
    match = re.match(r"^([0-9]+(?:\.[0-9]+)?)\s*(mph|km/h|kmh|kph)?$", text)
    if match is None:
        return math.nan
    speed = float(match.group(1))
    if match.group(2) == "mph":
        speed *= _MPH
    return speed if speed > 0 else math.nan


def _first_values(values: pd.Series) -> pd.Series:
    """First of ``;``-separated tag values, as strings ("" when absent)."""
    text = values.fillna("").astype(str)
    if text.str.contains(";", regex=False).any():
        text = text.str.split(";", n=1).str[0]
    return text


def _allowed(edges: pd.DataFrame, mode: str) -> np.ndarray:
    """Access rules per mode from the ``access``/``foot``/``bicycle``/``motor_vehicle`` tags."""

    def tag(name: str) -> pd.Series:
        if name not in edges.columns:
            return pd.Series("", index=edges.index)
        return _first_values(edges[name]).str.lower()

    access = tag("access")
    area = tag("area")
    ok = area != "yes"
    if mode == "drive":
        vehicle = tag("motor_vehicle").where(tag("motor_vehicle") != "", tag("motorcar"))
        vehicle = vehicle.where(vehicle != "", tag("vehicle"))
        blocked = vehicle.isin(_NO) | ((vehicle == "") & access.isin(_NO))
        ok &= ~blocked & ~tag("service").isin(_DRIVE_SERVICE_NO)
    else:
        own = tag("foot") if mode == "walk" else tag("bicycle")
        if mode == "bike":
            own = own.where(own != "", tag("vehicle"))
        ok &= ~own.isin((_NO | {"dismount"}) if mode == "bike" else _NO)
        ok &= own.isin(_YES) | ~access.isin(_NO)
    return ok.to_numpy(dtype=bool)


def edge_speeds_kph(
    edges: pd.DataFrame,
    mode: str,
    *,
    speeds: pd.DataFrame | None = None,
    maxspeed_share: float = 0.7,
) -> np.ndarray:
    """Speed of each street edge for a travel mode.

    Parameters
    ----------
    edges
        One row per edge with a ``highway`` column and, optionally, ``maxspeed``, ``access``,
        ``service``, ``area``, ``foot``, ``bicycle``, ``motor_vehicle``, ``motorcar``, ``vehicle``.
    mode
        ``"drive"``, ``"bike"`` or ``"walk"``.
    speeds
        A table from :func:`load_speeds` (default: the packaged table).
    maxspeed_share
        Share of a posted ``maxspeed`` a car averages (drive mode only).

    Returns
    -------
    numpy.ndarray
        km/h per edge; NaN where the mode may not use the edge.
    """
    if mode not in MODES:
        msg = f"travel mode {mode!r} is unknown; use one of {list(MODES)}"
        raise NetworkError(msg)
    table = load_speeds() if speeds is None else speeds
    highway = _first_values(edges["highway"])
    speed = highway.map(table[f"{mode}_kph"]).to_numpy(dtype=float, copy=True)
    if mode == "drive" and "maxspeed" in edges.columns:
        raw = edges["maxspeed"].fillna("").astype(str)
        known = {value: parse_maxspeed_kph(value) for value in raw.unique()}
        posted = raw.map(known).to_numpy(dtype=float, copy=True)
        use = ~np.isnan(posted) & ~np.isnan(speed)
        speed[use] = posted[use] * maxspeed_share
    speed[~_allowed(edges, mode)] = np.nan
    return speed
