"""The closed-loop incident workflow as a pure state machine.

::

    reported -> verified -> accepted -> dispatched -> handled -> rechecked -> closed -> rated
                                          ^   |                    |            |        |
                                          +---+ (re-dispatch)      +-> dispatched (re-check failed)
    closed | rated -> reopened -> verified | dispatched
    dispatched -> returned (a department hands it back, with a note) -> dispatched

``dispatched`` names a unit (``unit_id``) or one or more departments (``department`` or
``departments``, codes of the configured department list; :data:`DEPARTMENTS` by default);
``rated`` carries the reporter's ``satisfaction`` (1..5). Every other move is illegal and the
service answers it with 409.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
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
    "returned",
)

#: Departments an incident may be dispatched to (instead of, or as well as, a unit).
DEPARTMENTS: tuple[str, ...] = ("urban_management", "emergency", "justice", "sanitation", "health")

#: Legal moves: state -> the states it may move to.
TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "reported": ("verified",),
    "verified": ("accepted",),
    "accepted": ("dispatched",),
    "dispatched": ("handled", "dispatched", "returned"),
    "handled": ("rechecked",),
    "rechecked": ("closed", "dispatched"),
    "closed": ("rated", "reopened"),
    "rated": ("reopened",),
    "reopened": ("verified", "dispatched"),
    "returned": ("dispatched",),
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
    departments: tuple[str, ...] = ()

    @property
    def all_departments(self) -> tuple[str, ...]:
        """``department`` and ``departments`` together, each once, in the order given."""
        named = ((self.department,) if self.department else ()) + tuple(self.departments)
        return tuple(dict.fromkeys(named))


def check_transition(
    current: str, request: TransitionRequest, *, known_departments: Collection[str] = DEPARTMENTS
) -> None:
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
        if not request.unit_id and not request.all_departments:
            msg = "unit_id/department: dispatching needs a unit_id or a department"
            raise WorkflowError(msg, status=422, field="department")
        for code in request.all_departments:
            if code not in known_departments:
                name = "department" if code == request.department else "departments"
                msg = f"{name}: {code!r} is not one of {', '.join(known_departments)}"
                raise WorkflowError(msg, status=422, field=name)
    elif request.departments:
        msg = "departments: only the move to 'dispatched' names departments"
        raise WorkflowError(msg, status=422, field="departments")
    if request.to == "returned" and not (request.note or "").strip():
        msg = "note: handing an incident back needs a note saying why"
        raise WorkflowError(msg, status=422, field="note")
    if request.to == "rated":
        if request.satisfaction is None or not 1 <= request.satisfaction <= 5:
            msg = "satisfaction: rating needs satisfaction between 1 and 5"
            raise WorkflowError(msg, status=422, field="satisfaction")
    elif request.satisfaction is not None:
        msg = "satisfaction: only the move to 'rated' carries a satisfaction score"
        raise WorkflowError(msg, status=422, field="satisfaction")


def due_at(
    state: str,
    since: datetime,
    limits_s: Mapping[str, int],
    *,
    category: str | None = None,
    departments: tuple[str, ...] = (),
) -> datetime | None:
    """When an incident entering ``state`` at ``since`` becomes overdue (None: no limit).

    ``limits_s`` may offer ``for_incident(category, departments)`` (per-category and
    per-department limits, :class:`api.services.loop_config.StageLimits`); it is then asked.
    """
    for_incident = getattr(limits_s, "for_incident", None)
    if for_incident is not None:
        limits_s = for_incident(category, departments)
    limit = limits_s.get(state)
    return None if limit is None else since + timedelta(seconds=int(limit))
