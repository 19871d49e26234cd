"""Best-known references of the benchmark sets, with their kind stated.

* Solomon VRPTW: ``solomon_bks.csv``, column ``distonly_distance`` (best known when only the
  distance is minimised, which is what PyVRP, VROOM and OR-Tools optimise).
* TOPTW: ``bks.csv``, column ``bks`` (kind ``optimal`` or ``best-known``); where it is empty the
  README asks for ``max(ref_best, best score found by any solver)``, labelled ``ref*`` (the
  published heuristic's value) or ``ref*(run)`` (a solver in this run did better).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from planner.errors import ProblemError

__all__ = ["Reference", "load_solomon_bks", "load_toptw_bks", "toptw_reference"]


@dataclass(frozen=True)
class Reference:
    """A best-known value and what kind of value it is.

    Attributes
    ----------
    value
        Best-known distance (VRPTW) or score (TOPTW).
    kind
        ``optimal``, ``best-known``, ``distonly`` or ``ref*`` (a lower bound on the BKS).
    """

    value: float
    kind: str


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        msg = f"{path}: best-known table not found"
        raise ProblemError(msg)
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def load_solomon_bks(path: str | Path) -> dict[str, Reference]:
    """Distance-only best-known distances by instance name (upper case)."""
    out: dict[str, Reference] = {}
    for row in _rows(Path(path)):
        value = row.get("distonly_distance", "")
        if value:
            out[row["instance"].upper()] = Reference(float(value), "distonly")
    return out


def load_toptw_bks(path: str | Path) -> dict[tuple[str, int], tuple[Reference | None, float]]:
    """Per ``(instance, m)``: the citable BKS (or ``None``) and the ``ref_best`` lower bound."""
    out: dict[tuple[str, int], tuple[Reference | None, float]] = {}
    for row in _rows(Path(path)):
        bks = Reference(float(row["bks"]), row["bks_kind"]) if row.get("bks") else None
        ref = float(row["ref_best"]) if row.get("ref_best") else 0.0
        out[(row["instance"].lower(), int(row["m"]))] = (bks, ref)
    return out


def toptw_reference(
    table: dict[tuple[str, int], tuple[Reference | None, float]],
    name: str,
    m: int,
    best_in_run: float,
) -> Reference | None:
    """The reference a TOPTW gap is measured against, labelled as the README asks.

    Parameters
    ----------
    table
        From :func:`load_toptw_bks`.
    name, m
        The case.
    best_in_run
        Best checked score any solver reached in this run.

    Returns
    -------
    Reference or None
        The BKS where citable; else ``max(ref_best, best_in_run)`` as ``ref*`` / ``ref*(run)``;
        ``None`` for a case the table does not list.
    """
    if (name, m) not in table:
        return None
    bks, ref_best = table[(name, m)]
    if bks is not None:
        return bks
    if best_in_run > ref_best:
        return Reference(best_in_run, "ref*(run)")
    return Reference(ref_best, "ref*")
