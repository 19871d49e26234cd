"""patrolgrid planner: patrol problems, solver backends and the independent evaluator."""

from __future__ import annotations

from .errors import PlannerError as PlannerError
from .errors import ProblemError as ProblemError
from .evaluate import Evaluation as Evaluation
from .model import Break as Break
from .model import Plan as Plan
from .model import Problem as Problem
from .model import Route as Route
from .model import Stop as Stop
from .model import Unassigned as Unassigned
from .model import Unit as Unit
from .model import Visit as Visit
from .plan_json import plan_to_json as plan_to_json
from .problem import assemble_problem as assemble_problem
from .problem import build_problem as build_problem
from .solve import register_backend as register_backend
from .stops import stop_table as stop_table
from .units_file import load_units as load_units
