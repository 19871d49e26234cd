"""Routing engines on array-level instances: PyVRP, VROOM, OR-Tools and their portfolio.

Every engine takes a :class:`~planner.engines.arrays.RoutingArrays` and returns an
:class:`~planner.engines.arrays.EngineResult` whose routes are checked by
:func:`~planner.engines.arrays.violations`, so the planner can swap or combine engines freely.
"""

from __future__ import annotations

from .arrays import BreakSpec as BreakSpec
from .arrays import EngineResult as EngineResult
from .arrays import Objective as Objective
from .arrays import RoutingArrays as RoutingArrays
from .arrays import VehicleSpec as VehicleSpec
from .arrays import objective as objective
from .arrays import violations as violations
from .clock import Budget as Budget

__all__ = [
    "BreakSpec",
    "Budget",
    "EngineResult",
    "Objective",
    "RoutingArrays",
    "VehicleSpec",
    "objective",
    "violations",
]
