"""The grid hierarchy: district > street > community > grid.

A grids frame (see DESIGN.md) holds every level in one table, linked by ``parent_id``. These
helpers answer the questions every other module asks of it: which rows are leaves, and what is
each leaf's chain of ancestors.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import GridError

__all__ = [
    "ANCESTOR_COLUMNS",
    "LEVELS",
    "ancestor_table",
    "as_text",
    "leaf_grids",
    "leaf_mask",
]

#: The levels from the top down.
LEVELS: tuple[str, ...] = ("district", "street", "community", "grid")

#: Column holding a leaf's ancestor id at each upper level, as in joined incidents.
ANCESTOR_COLUMNS: Mapping[str, str] = {
    "district": "district_id",
    "street": "street_id",
    "community": "community_id",
}


def leaf_grids(grids: pd.DataFrame) -> pd.DataFrame:
    """Rows that are no other row's parent (the cells incidents are joined to)."""
    return grids.loc[leaf_mask(grids)]


def leaf_mask(grids: pd.DataFrame) -> np.ndarray:
    """Per row: no other row names it as parent (:func:`leaf_grids` as a boolean array).

    Ids and parent ids compare as text (a parent id 7 names the grid "7").
    """
    parents = np.asarray(grids["parent_id"].unique(), dtype=object)  # Arrow's for Arrow text
    parents = parents[pd.notna(parents)].astype(str)  # missing dropped from the few distinct
    return ~as_text(grids["grid_id"]).isin(parents).to_numpy()


def as_text(column: pd.Series) -> pd.Series:
    """A column as strings (``astype(str)``), without a pass when it already holds text."""
    return column if isinstance(column.dtype, pd.StringDtype) else column.astype(str)


def ancestor_table(grids: pd.DataFrame) -> pd.DataFrame:
    """Each row's ancestor ids, one column per upper level.

    Returns a frame indexed by ``grid_id`` with the columns ``district_id``, ``street_id`` and
    ``community_id`` (None where the hierarchy has no such level above the row). A row's own
    level is filled with its own id, so a leaf community knows its ``community_id``.

    Raises
    ------
    GridError
        When a ``parent_id`` names no row, or the parent links form a cycle.
    """
    ids = grids["grid_id"].astype(str).tolist()
    parent = {
        grid_id: None if pd.isna(p) else str(p)
        for grid_id, p in zip(ids, grids["parent_id"], strict=True)
    }
    level = dict(zip(ids, grids["level"], strict=True))
    rows: dict[str, dict[str, str | None]] = {}
    for grid_id in ids:
        chain: dict[str, str | None] = dict.fromkeys(ANCESTOR_COLUMNS.values())
        seen: set[str] = set()
        node: str | None = grid_id
        while node is not None:
            if node in seen:
                msg = f"grids: parent links of {grid_id!r} form a cycle through {node!r}"
                raise GridError(msg)
            seen.add(node)
            if node not in level:
                msg = f"grids: parent_id {node!r} (an ancestor of {grid_id!r}) names no grid"
                raise GridError(msg)
            column = ANCESTOR_COLUMNS.get(level[node])
            if column is not None:
                chain[column] = node
            node = parent[node]
        rows[grid_id] = chain
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(ANCESTOR_COLUMNS.values()))
    table.index.name = "grid_id"
    return table.astype(object).where(table.notna(), None)
