"""Reader for Solomon's VRPTW instances (``../shared/benchmarks/vrp/solomon/*.txt``).

The layout is Solomon's original text: a name line, ``VEHICLE`` / ``NUMBER CAPACITY`` and the
two numbers, then ``CUSTOMER`` and one line per node (``CUST NO. XCOORD. YCOORD. DEMAND
READY TIME DUE DATE SERVICE TIME``), node 0 being the depot. Line ends may be CRLF.
Conventions (README): Euclidean distance in double precision, travel time = distance, windows
constrain the start of service, vehicles leave at or after the depot's ready time and return
by its due date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from planner.engines.arrays import RoutingArrays, VehicleSpec
from planner.errors import ProblemError

__all__ = ["SolomonInstance", "read_solomon", "to_arrays"]

#: Integer units per distance unit handed to the engines (distances to 1/1000).
SCALE = 1000


@dataclass(frozen=True)
class SolomonInstance:
    """A Solomon VRPTW instance.

    Attributes
    ----------
    name
        Instance name from the file's first line (``C101``).
    vehicles, capacity
        Fleet size and vehicle capacity.
    ids
        Customer numbers as in the file (row ``i`` of every array), depot first.
    x, y, demand, ready, due, service
        Per-node columns.
    """

    name: str
    vehicles: int
    capacity: int
    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray

    @property
    def family(self) -> str:
        """Solomon family: ``C1``, ``C2``, ``R1``, ``R2``, ``RC1`` or ``RC2``."""
        return self.name.rstrip("0123456789") + self.name[len(self.name.rstrip("0123456789"))]

    def distances(self) -> np.ndarray:
        """Euclidean distance matrix in double precision."""
        return np.hypot(self.x[:, None] - self.x[None, :], self.y[:, None] - self.y[None, :])


def read_solomon(path: str | Path) -> SolomonInstance:
    """Read one Solomon instance file.

    Parameters
    ----------
    path
        The ``.txt`` file.

    Returns
    -------
    SolomonInstance
        The parsed instance.

    Raises
    ------
    ProblemError
        When the file does not follow Solomon's layout (the message names file and line).
    """
    path = Path(path)
    lines = [line.strip() for line in path.read_text().splitlines()]
    try:
        vehicle_at = next(i for i, line in enumerate(lines) if line.upper().startswith("VEHICLE"))
        customer_at = next(i for i, line in enumerate(lines) if line.upper().startswith("CUSTOMER"))
    except StopIteration:
        msg = f"{path}: not a Solomon VRPTW file (no VEHICLE or CUSTOMER section)"
        raise ProblemError(msg) from None
    fleet = [line for line in lines[vehicle_at + 1 : customer_at] if line and line[0].isdigit()]
    if not fleet or len(fleet[0].split()) != 2:
        msg = f"{path}: expected 'NUMBER CAPACITY' after VEHICLE"
        raise ProblemError(msg)
    vehicles, capacity = (int(v) for v in fleet[0].split())
    rows = []
    for number, line in enumerate(lines[customer_at + 1 :], start=customer_at + 2):
        if not line or not line[0].isdigit():
            continue
        fields = line.split()
        if len(fields) != 7:
            msg = f"{path}: line {number} has {len(fields)} fields, expected 7"
            raise ProblemError(msg)
        rows.append([float(f) for f in fields])
    if len(rows) < 2:
        msg = f"{path}: no customers found"
        raise ProblemError(msg)
    table = np.array(rows)
    if table[0, 0] != 0:
        msg = f"{path}: the first node must be the depot 0"
        raise ProblemError(msg)
    name = lines[0] or path.stem
    return SolomonInstance(
        name=name.upper(),
        vehicles=vehicles,
        capacity=capacity,
        ids=table[:, 0].astype(int),
        x=table[:, 1],
        y=table[:, 2],
        demand=table[:, 3].astype(int),
        ready=table[:, 4],
        due=table[:, 5],
        service=table[:, 6],
    )


def to_arrays(instance: SolomonInstance, *, scale: int = SCALE) -> RoutingArrays:
    """Integer arrays for the engines: distances rounded, travel times rounded *up*.

    Rounding travel times up (after scaling by ``scale``) makes every integer-feasible route
    feasible in double precision too; the cost is rounded to the nearest unit.

    Parameters
    ----------
    instance
        The Solomon instance.
    scale
        Integer units per distance unit.

    Returns
    -------
    RoutingArrays
        Node ``i`` is row ``i`` of the instance; every customer is required.
    """
    dist = instance.distances() * scale
    travel = np.ceil(dist - 1e-9).astype(np.int64)
    cost = np.rint(dist).astype(np.int64)
    windows = np.column_stack([instance.ready, instance.due]) * scale
    depot = (math.floor(windows[0, 0]), math.floor(windows[0, 1]))
    vehicles = tuple(
        VehicleSpec(start=0, end=0, shift=depot, capacity=instance.capacity)
        for _ in range(instance.vehicles)
    )
    return RoutingArrays(
        travel=travel,
        cost=cost,
        service=np.rint(instance.service * scale).astype(np.int64),
        windows=np.rint(windows).astype(np.int64),
        vehicles=vehicles,
        n_depots=1,
        demand=instance.demand,
    )
