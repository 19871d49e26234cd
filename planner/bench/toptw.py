"""Reader for team orienteering instances with time windows (``../shared/benchmarks/toptw/``).

Format (the library's ``TOPTW_format.txt``): two header lines, then one line per vertex
``i x y d S f a list O C`` with vertex 0 the depot; ``d`` is the service time, ``S`` the score,
``O``/``C`` the earliest/latest start of service (the last two tokens). Tmax is the depot's
``C``. The number of routes ``m`` is not in the file. Quirks handled: CRLF line ends, and
``solomon_200/c204.txt``'s malformed header (vertices are counted, not read from the header).

Travel times follow the literature: Euclidean distance truncated to one decimal for the
Solomon-derived files and to two decimals for Cordeau's ``pr`` files. :func:`to_arrays` works
in exact integers (tenths or hundredths) with :func:`math.isqrt`, so no floating-point
rounding can move an arc across a truncation boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from planner.engines.arrays import RoutingArrays, VehicleSpec
from planner.errors import ProblemError

__all__ = ["ToptwInstance", "read_toptw", "to_arrays", "truncation_decimals"]

_MIN_VERTEX_FIELDS = 9


@dataclass(frozen=True)
class ToptwInstance:
    """A TOPTW instance (without ``m``, which the caller chooses).

    Attributes
    ----------
    name
        File name without extension (``c101``, ``pr01``).
    x, y
        Coordinates as exact decimals, depot first.
    service, score, open, close
        Per-vertex columns as exact decimals (score as int).
    """

    name: str
    x: tuple[Decimal, ...]
    y: tuple[Decimal, ...]
    service: tuple[Decimal, ...]
    score: tuple[int, ...]
    open: tuple[Decimal, ...]
    close: tuple[Decimal, ...]

    @property
    def n_customers(self) -> int:
        """Number of customers (vertices other than the depot)."""
        return len(self.x) - 1

    @property
    def tmax(self) -> Decimal:
        """Route budget: the depot's closing time."""
        return self.close[0]

    @property
    def family(self) -> str:
        """``c1``, ``r2``, ``rc1``... for Solomon-based files, ``pr`` for Cordeau's."""
        if self.name.startswith("pr"):
            return "pr"
        letters = self.name.rstrip("0123456789")
        return letters + self.name[len(letters)]


def truncation_decimals(name: str) -> int:
    """Decimals kept when truncating travel times: 2 for Cordeau's ``pr`` files, else 1."""
    return 2 if name.lower().startswith("pr") else 1


def read_toptw(path: str | Path) -> ToptwInstance:
    """Read one TOPTW instance file.

    Parameters
    ----------
    path
        The ``.txt`` file.

    Returns
    -------
    ToptwInstance
        The parsed instance.

    Raises
    ------
    ProblemError
        When vertex lines are missing, out of order or not numeric (file and line named).
    """
    path = Path(path)
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if number <= 2 or len(fields) < _MIN_VERTEX_FIELDS:
            continue
        rows.append(fields)
        numbers.append(number)
    if len(rows) < 2:
        msg = f"{path}: no vertex lines found (expected 'i x y d S f a list O C')"
        raise ProblemError(msg)
    x, y, service, open_, close = [], [], [], [], []
    score: list[int] = []
    for expected, (fields, number) in enumerate(zip(rows, numbers, strict=True)):
        try:
            index = int(fields[0])
            values = [Decimal(f) for f in (fields[1], fields[2], fields[3], fields[-2], fields[-1])]
            prize = Decimal(fields[4])
        except (ValueError, InvalidOperation):
            msg = f"{path}: line {number} is not numeric"
            raise ProblemError(msg) from None
        if index != expected:
            msg = f"{path}: line {number} holds vertex {index}, expected {expected}"
            raise ProblemError(msg)
        if prize != prize.to_integral_value():
            msg = f"{path}: line {number} has a non-integer score {prize}"
            raise ProblemError(msg)
        x.append(values[0])
        y.append(values[1])
        service.append(values[2])
        open_.append(values[3])
        close.append(values[4])
        score.append(int(prize))
    return ToptwInstance(
        name=path.stem.lower(),
        x=tuple(x),
        y=tuple(y),
        service=tuple(service),
        score=tuple(score),
        open=tuple(open_),
        close=tuple(close),
    )


def _scaled(values: tuple[Decimal, ...], factor: int, what: str, name: str) -> np.ndarray:
    out = []
    for i, value in enumerate(values):
        scaled = value * factor
        if scaled != scaled.to_integral_value():
            msg = f"{name}: vertex {i} has {what} {value}, finer than 1/{factor}"
            raise ProblemError(msg)
        out.append(int(scaled))
    return np.array(out, dtype=np.int64)


def _truncated_travel(instance: ToptwInstance, factor: int) -> np.ndarray:
    exponent = max(
        -min(v.as_tuple().exponent for v in (*instance.x, *instance.y)),  # type: ignore[operator]
        0,
    )
    unit = 10**exponent
    xs = [int(v * unit) for v in instance.x]
    ys = [int(v * unit) for v in instance.y]
    n = len(xs)
    travel = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        for j in range(i + 1, n):
            squared = (xs[i] - xs[j]) ** 2 + (ys[i] - ys[j]) ** 2
            # floor(factor * sqrt(squared) / unit) exactly.
            travel[i, j] = travel[j, i] = math.isqrt(factor * factor * squared) // unit
    return travel


def to_arrays(instance: ToptwInstance, *, m: int) -> RoutingArrays:
    """Integer arrays for ``m`` routes, in tenths (Solomon) or hundredths (Cordeau) of a unit.

    Parameters
    ----------
    instance
        The TOPTW instance.
    m
        Number of routes (units).

    Returns
    -------
    RoutingArrays
        Vertex ``i`` is node ``i``; every customer optional with its score as prize.
    """
    if m < 1:
        msg = f"{instance.name}: the number of routes must be at least 1, got {m}"
        raise ProblemError(msg)
    factor = 10 ** truncation_decimals(instance.name)
    travel = _truncated_travel(instance, factor)
    windows = np.column_stack(
        [
            _scaled(instance.open, factor, "an opening time", instance.name),
            _scaled(instance.close, factor, "a closing time", instance.name),
        ]
    )
    tmax = int(windows[0, 1])
    windows[0] = (0, tmax)
    required = np.zeros(len(instance.x), dtype=bool)
    return RoutingArrays(
        travel=travel,
        service=_scaled(instance.service, factor, "a service time", instance.name),
        windows=windows,
        vehicles=tuple(VehicleSpec(start=0, end=0, shift=(0, tmax)) for _ in range(m)),
        n_depots=1,
        prize=np.array(instance.score, dtype=np.int64),
        required=required,
    )
