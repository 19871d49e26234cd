"""Roll any per-leaf table up the grid hierarchy (grid > community > street > district).

>>> import pandas as pd
>>> grids = pd.DataFrame({"grid_id": ["D", "c1", "c2"], "level": ["district", "grid", "grid"],
...                       "parent_id": [None, "D", "D"]})
>>> table = pd.DataFrame({"grid_id": ["c1", "c2"], "count": [3, 4]})
>>> roll_up(table, grids, value_columns=["count"])[["grid_id", "level", "count"]].values.tolist()
[['D', 'district', 7], ['c1', 'grid', 3], ['c2', 'grid', 4]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from .errors import GridError
from .hierarchy import ANCESTOR_COLUMNS, LEVELS, ancestor_table, leaf_grids

__all__ = ["roll_up"]


def roll_up(
    table: pd.DataFrame,
    grids: pd.DataFrame,
    *,
    value_columns: Sequence[str],
    how: str | Callable[[pd.Series], object] = "sum",
    fill_value: object = None,
) -> pd.DataFrame:
    """Aggregate a per-leaf table to every level of the hierarchy.

    Each grid of ``grids`` gets one row: a leaf its own values (aggregated with ``how`` if the
    table has several rows for it), an upper grid the aggregate of the rows of all leaves below
    it. Every row of ``table`` counts once at each level.

    Parameters
    ----------
    table
        Rows with ``grid_id`` (a leaf id; rows whose id is missing, i.e. outside every grid, are
        ignored) and the ``value_columns``.
    grids
        A grids frame (``grid_id``, ``level``, ``parent_id``).
    value_columns
        Columns to aggregate.
    how
        Any pandas aggregation (``"sum"``, ``"mean"``, ``"max"``, ``"count"``...) or a function
        of a Series.
    fill_value
        Value for grids with no rows below them; default 0 for ``"sum"`` and ``"count"``,
        else missing.

    Returns
    -------
    pandas.DataFrame
        ``grid_id``, ``level``, ``parent_id`` and the value columns, one row per grid, ordered
        top level first, then by ``grid_id``.

    Raises
    ------
    GridError
        A value column is missing, or the table names a grid that is not a leaf of ``grids``.
    """
    missing = [c for c in ("grid_id", *value_columns) if c not in table]
    if missing:
        msg = f"roll_up: table lacks columns {missing}"
        raise GridError(msg)
    ids = grids["grid_id"].astype(str)
    rows = table.loc[table["grid_id"].notna(), ["grid_id", *value_columns]].copy()
    rows["grid_id"] = rows["grid_id"].astype(str)
    leaves = set(leaf_grids(grids)["grid_id"].astype(str))
    unknown = sorted(set(rows["grid_id"]) - leaves)
    if unknown:
        msg = (
            f"roll_up: table rows name grids that are not leaves of the hierarchy: {unknown[:5]}"
            f"{' ...' if len(unknown) > 5 else ''}"
        )
        raise GridError(msg)
    ancestors = ancestor_table(grids)
    rows = rows.join(ancestors, on="grid_id")
    level_of = dict(zip(ids, grids["level"], strict=True))
    rows["__leaf"] = rows["grid_id"]
    parts = []
    for level in LEVELS:
        key = ANCESTOR_COLUMNS.get(level, "__leaf")
        subset = rows if level in ANCESTOR_COLUMNS else rows[rows["grid_id"].map(level_of) == level]
        subset = subset[subset[key].notna()]
        if level in ANCESTOR_COLUMNS:
            # A leaf at this level is its own ancestor: keep only ids that sit at this level.
            subset = subset[subset[key].map(level_of) == level]
        grouped = subset.groupby(key, sort=True)[list(value_columns)].agg(how)
        grouped.index.name = "grid_id"
        parts.append(grouped)
    values = pd.concat(parts) if parts else pd.DataFrame(columns=list(value_columns))
    if fill_value is None and how in ("sum", "count"):
        fill_value = 0
    out = pd.DataFrame(
        {
            "grid_id": ids,
            "level": grids["level"].to_numpy(),
            "parent_id": grids["parent_id"].to_numpy(),
        }
    )
    out = out.join(values, on="grid_id")
    if fill_value is not None:
        out[list(value_columns)] = out[list(value_columns)].fillna(fill_value)
        for column in value_columns:
            if column in values and pd.api.types.is_integer_dtype(values[column]):
                out[column] = out[column].astype(values[column].dtype)
    rank = out["level"].map({level: i for i, level in enumerate(LEVELS)})
    out = out.assign(__rank=rank).sort_values(["__rank", "grid_id"], kind="stable")
    return out.drop(columns="__rank").reset_index(drop=True)
