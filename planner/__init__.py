"""patrolgrid planner: patrol problems, solver backends and the independent evaluator."""

from __future__ import annotations

from .errors import PlannerError as PlannerError
from .errors import ProblemError as ProblemError
