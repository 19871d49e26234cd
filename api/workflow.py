"""The closed-loop incident workflow as a pure state machine.

::

    reported -> verified -> accepted -> dispatched -> handled -> rechecked -> closed -> rated
                                          ^   |                    |            |        |
                                          +---+ (re-dispatch)      +-> dispatched (re-check failed)
    closed | rated -> reopened -> verified | dispatched

``dispatched`` names a unit (``unit_id``) or a department (one of :data:`DEPARTMENTS`);
``rated`` carries the reporter's ``satisfaction`` (1..5). Every other move is illegal and the
service answers it with 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "CLOSED_STATES",
    "DEPARTMENTS",
    "STATES",
    "TRANSITIONS",
    "TransitionRequest",
    "WorkflowError",
    "check_transition",
    "due_at",
]

STATES: tuple[str, ...] = (
    "reported",
    "verified",
    "accepted",
    "dispatched",
    "handled",
    "rechecked",
    "closed",
    "rated",
    "reopened",
)

#: Departments an incident may be dispatched to (instead of, or as well as, a unit).
DEPARTMENTS: tuple[str, ...] = ("urban_management", "emergency", "justice", "sanitation", "health")

#: Legal moves: state -> the states it may move to.
TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "reported": ("verified",),
    "verified": ("accepted",),
    "accepted": ("dispatched",),
    "dispatched": ("handled", "dispatched"),
    "handled": ("rechecked",),
    "rechecked": ("closed", "dispatched"),
    "closed": ("rated", "reopened"),
    "rated": ("reopened",),
    "reopened": ("verified", "dispatched"),
}

#: States counted as closed by the metrics.
CLOSED_STATES: frozenset[str] = frozenset({"closed", "rated"})


class WorkflowError(ValueError):
    """A transition is illegal (409) or misses what its target state needs (422).

    Parameters
    ----------
    message
        What is wrong and what would be legal.
    status
        409 for an illegal move, 422 for a missing or bad field.
    field
        The request field at fault, if any.
    """

    def __init__(self, message: str, *, status: int = 409, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass(frozen=True)
class TransitionRequest:
    """What a caller asks for: the target state and its details."""

    to: str
    note: str | None = None
    unit_id: str | None = None
    department: str | None = None
    satisfaction: int | None = None


def check_transition(current: str, request: TransitionRequest) -> None:
    """Raise :class:`WorkflowError` unless ``current -> request.to`` is legal and complete.

    Examples
    --------
    >>> check_transition("reported", TransitionRequest("verified"))
    >>> check_transition("reported", TransitionRequest("closed"))
    Traceback (most recent call last):
    ...
    api.workflow.WorkflowError: illegal transition reported -> closed; from reported the next state may be: verified
    """
    if request.to not in STATES:
        msg = f"to: unknown state {request.to!r}; expected one of {', '.join(STATES)}"
        raise WorkflowError(msg, status=422, field="to")
    allowed = TRANSITIONS.get(current, ())
    if request.to not in allowed:
        msg = (
            f"illegal transition {current} -> {request.to}; "
            f"from {current} the next state may be: {', '.join(allowed) or 'none'}"
        )
        raise WorkflowError(msg, status=409, field="to")
    if request.to == "dispatched":
        if not request.unit_id and not request.department:
            msg = "unit_id/department: dispatching needs a unit_id or a department"
            raise WorkflowError(msg, status=422, field="department")
        if request.department is not None and request.department not in DEPARTMENTS:
            msg = f"department: {request.department!r} is not one of {', '.join(DEPARTMENTS)}"
            raise WorkflowError(msg, status=422, field="department")
    if request.to == "rated":
        if request.satisfaction is None or not 1 <= request.satisfaction <= 5:
            msg = "satisfaction: rating needs satisfaction between 1 and 5"
            raise WorkflowError(msg, status=422, field="satisfaction")
    elif request.satisfaction is not None:
        msg = "satisfaction: only the move to 'rated' carries a satisfaction score"
        raise WorkflowError(msg, status=422, field="satisfaction")


def due_at(state: str, since: datetime, limits_s: Mapping[str, int]) -> datetime | None:
    """When an incident entering ``state`` at ``since`` becomes overdue (None: no limit)."""
    limit = limits_s.get(state)
    return None if limit is None else since + timedelta(seconds=int(limit))
