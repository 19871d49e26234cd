"""Reader for Solomon's VRPTW instances (``../shared/benchmarks/vrp/solomon/*.txt``), by vrplib.

The layout is Solomon's original text: a name line, ``VEHICLE`` / ``NUMBER CAPACITY`` and the
two numbers, then ``CUSTOMER`` and one line per node (``CUST NO. XCOORD. YCOORD. DEMAND
READY TIME DUE DATE SERVICE TIME``), node 0 being the depot. Line ends may be CRLF.
Conventions (README): Euclidean distance in double precision, travel time = distance, windows
constrain the start of service, vehicles leave at or after the depot's ready time and return
by its due date.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import vrplib

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
        Node numbers (row ``i`` of every array is node ``i``, as Solomon numbers them), depot 0.
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
    try:
        parsed = vrplib.read_instance(path, instance_format="solomon", compute_edge_weights=False)
    except (RuntimeError, ValueError, IndexError) as error:  # vrplib's layout checks
        lines = str(error).strip().splitlines() or ["unreadable"]
        reason = re.sub(r"Line #(\d+) \((.*)\)", r"node row \1: \2", lines[-1].strip())
        msg = f"{path}: not a Solomon VRPTW file: {reason}"
        raise ProblemError(msg) from None
    ids = np.asarray(parsed["node_coord"]).shape[0]
    if ids < 2:
        msg = f"{path}: no customers found"
        raise ProblemError(msg)
    windows = np.asarray(parsed["time_window"], dtype=float)
    coords = np.asarray(parsed["node_coord"], dtype=float)
    return SolomonInstance(
        name=str(parsed["name"] or path.stem).upper(),
        vehicles=int(parsed["vehicles"]),
        capacity=int(parsed["capacity"]),
        ids=np.arange(ids),
        x=coords[:, 0],
        y=coords[:, 1],
        demand=np.asarray(parsed["demand"]).astype(int),
        ready=windows[:, 0],
        due=windows[:, 1],
        service=np.asarray(parsed["service_time"], dtype=float),
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
