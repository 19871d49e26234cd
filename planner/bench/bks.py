"""Best-known references of the benchmark sets, with their kind stated.

* Solomon VRPTW: ``solomon_bks.csv``, column ``distonly_distance`` (best known when only the
  distance is minimised, which is what PyVRP, VROOM and OR-Tools optimise). Where the table's
  note says that value must not be used for gaps (R109: 1101.37 lies below the proven optimum
  computed with distances truncated to one decimal), the gap is taken against that optimum, a
  lower bound on the double-precision optimum (kind ``lower-bound``), so it can only overstate
  a solver's gap.
* TOPTW: ``bks.csv``, column ``bks`` (kind ``optimal`` or ``best-known``); where it is empty the
  README asks for ``max(ref_best, best score found by any solver)``, labelled ``ref*`` (the
  published heuristic's value) or ``ref*(run)`` (a solver in this run did better).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from planner.errors import ProblemError

__all__ = ["Reference", "load_solomon_bks", "load_toptw_bks", "toptw_reference"]

#: "... below the exact optimum 1146.9 (13 veh) ..." in a Solomon row's note.
_OPTIMUM_IN_NOTE = re.compile(r"exact optimum (\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Reference:
    """A best-known value and what kind of value it is.

    Attributes
    ----------
    value
        Best-known distance (VRPTW) or score (TOPTW).
    kind
        ``optimal``, ``best-known``, ``distonly``, ``lower-bound`` (VRPTW: a lower bound on the
        optimum, see the module docstring) or ``ref*`` (TOPTW: a lower bound on the BKS).
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
    """Distance-only best-known distances by instance name (upper case).

    A row whose note says "do not use for gaps" gives the exact optimum the note cites instead
    (kind ``lower-bound``), or no reference when the note cites none.
    """
    out: dict[str, Reference] = {}
    for row in _rows(Path(path)):
        value, note = row.get("distonly_distance", ""), row.get("note") or ""
        if "do not use for gaps" in note:
            bound = _OPTIMUM_IN_NOTE.search(note)
            if bound:
                out[row["instance"].upper()] = Reference(float(bound.group(1)), "lower-bound")
        elif value:
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
