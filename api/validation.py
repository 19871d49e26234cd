"""Input rules shared by every route: strict types, safe times, text without control characters.

One place decides what the service accepts, so that a bad value is refused the same way
wherever it arrives (a row of a batch, a transition, a units document, a query or a path):

* **Text** never contains a NUL, another C0/C1 control character or a lone UTF-16 surrogate:
  such a value is **rejected** (never silently stripped), naming the field. Free text
  (descriptions, notes) may contain tab, line feed and carriage return.
* **Times** are RFC 3339 strings with an explicit UTC offset, between the years 1900 and 2200
  in UTC; a number, a bool or a string without an offset is refused (no Unix-time coercion).
  The year check runs before any conversion, so no time can overflow.
* **Numbers** are JSON numbers, never bools or strings, and finite.
* **Ids** are printable, at most 128 characters, without ``/`` (it could never be addressed in a
  URL path) and not ``.`` or ``..``.

These are pydantic ``Annotated`` types (:data:`Identifier`, :data:`Label`, :data:`FreeText`,
:data:`Timestamp`, :data:`Number`, :data:`Count`) plus the plain checks behind them for
hand-written code (:func:`text_problem`, :func:`parse_time`).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

__all__ = [
    "MAX_JSON_DEPTH",
    "Count",
    "FreeText",
    "Identifier",
    "Label",
    "LocalTime",
    "Number",
    "Timestamp",
    "check_identifier",
    "check_local_time",
    "check_text",
    "json_depth",
    "parse_time",
    "text_problem",
]

#: Deepest JSON nesting of a request body (a units document needs about 6).
MAX_JSON_DEPTH = 32
MIN_YEAR, MAX_YEAR = 1900, 2200
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})$"
)
_BAD_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_FREE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str, *, free_text: bool = False) -> str | None:
    """Why ``value`` is not acceptable text (None when it is).

    Control characters are Unicode category Cc (U+0000..U+001F, U+007F..U+009F); lone
    surrogates category Cs (U+D800..U+DFFF). One regular expression finds them (C speed).

    >>> text_problem("ok")
    >>> text_problem("a\\x00b")
    'contains the control character U+0000 at position 1'
    """
    found = (_BAD_FREE_TEXT if free_text else _BAD_TEXT).search(value)
    if found is None:
        return None
    char = found.group(0)
    what = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "the control character"
    return f"contains {what} U+{ord(char):04X} at position {found.start()}"


def check_text(value: str) -> str:
    """Refuse control characters and lone surrogates (a pydantic after-validator)."""
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _check_free_text(value: str) -> str:
    problem = text_problem(value, free_text=True)
    if problem:
        raise ValueError(problem)
    return value


def check_identifier(value: str) -> str:
    """A printable id that can be put in a URL path segment."""
    check_text(value)
    if "/" in value:
        msg = "must not contain '/' (the id could not be addressed in a URL path)"
        raise ValueError(msg)
    if value in (".", ".."):
        msg = "must not be '.' or '..' (the id could not be addressed in a URL path)"
        raise ValueError(msg)
    if value != value.strip():
        msg = "must not start or end with whitespace"
        raise ValueError(msg)
    return value


def _strict_str(value: Any) -> Any:
    if not isinstance(value, str):
        msg = f"must be a string, not {_kind(value)}"
        raise ValueError(msg)
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _strict_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"must be a number, not {_kind(value)}"
        raise ValueError(msg)
    if isinstance(value, int) and abs(value) > 2**53:
        msg = "is too large"
        raise ValueError(msg)
    if not math.isfinite(value):
        msg = "must be a finite number"
        raise ValueError(msg)
    return float(value)


def _strict_int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"must be an integer, not {_kind(value)}"
        raise ValueError(msg)
    return value


def parse_time(text: str, *, what: str = "time") -> datetime:
    """An RFC 3339 time with an offset, in UTC; ``ValueError`` naming the rule otherwise.

    The year is checked on the local value first (a year-9999 or year-1 time with any offset
    is refused without converting it, so nothing overflows).

    >>> parse_time("2026-11-01T08:30:00+08:00").isoformat()
    '2026-11-01T00:30:00+00:00'
    """
    if not isinstance(text, str):
        msg = f"{what} must be an RFC 3339 string with a UTC offset, not {_kind(text)}"
        raise ValueError(msg)
    if not _RFC3339.match(text):
        msg = f"{what} must be an RFC 3339 time with a UTC offset, e.g. 2026-11-01T08:30:00+08:00"
        raise ValueError(msg)
    try:
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        msg = f"{what} is not a valid calendar date and time"
        raise ValueError(msg) from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:  # checked before any arithmetic on it
        msg = f"{what} must be between the years {MIN_YEAR} and {MAX_YEAR}"
        raise ValueError(msg)
    offset = value.utcoffset() or timedelta(0)
    if abs(offset) >= timedelta(hours=24):
        msg = f"{what} has an impossible UTC offset"
        raise ValueError(msg)
    utc = (value.replace(tzinfo=None) - offset).replace(tzinfo=UTC)
    if not MIN_YEAR <= utc.year <= MAX_YEAR:
        msg = f"{what} must be between the years {MIN_YEAR} and {MAX_YEAR}"
        raise ValueError(msg)
    return utc


_CLOCK = re.compile(r"^\d{1,2}:\d{2}$")


def check_local_time(value: str) -> str:
    """A time of a units document: ``HH:MM``, or ISO 8601 with or without an offset, 1900..2200.

    >>> check_local_time("18:00"), check_local_time("2026-11-02T18:00")
    ('18:00', '2026-11-02T18:00')
    """
    if _CLOCK.match(value):
        hours, minutes = (int(part) for part in value.split(":"))
        if hours > 23 or minutes > 59:
            msg = "must be a clock time HH:MM between 00:00 and 23:59"
            raise ValueError(msg)
        return value
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        msg = "must be HH:MM or an ISO 8601 time such as 2026-11-02T18:00"
        raise ValueError(msg) from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        msg = f"must be between the years {MIN_YEAR} and {MAX_YEAR}"
        raise ValueError(msg)
    offset = parsed.utcoffset()
    if offset is not None and abs(offset) >= timedelta(hours=24):
        msg = "has an impossible UTC offset"
        raise ValueError(msg)
    return value


def _time_validator(value: Any) -> datetime:
    if isinstance(value, datetime):  # already parsed (Python callers)
        if value.tzinfo is None:
            msg = "must carry a UTC offset"
            raise ValueError(msg)
        return parse_time(value.isoformat())
    return parse_time(value, what="must be a time:")


def json_depth(data: bytes) -> int:
    """How deep the arrays/objects of a JSON text nest (strings are skipped; linear time)."""
    import numpy as np

    stripped = re.sub(rb'"(?:[^"\\]|\\.)*"', b"", data)
    raw = np.frombuffer(stripped, dtype=np.uint8)
    steps = np.zeros(raw.shape, dtype=np.int32)
    steps[(raw == ord("[")) | (raw == ord("{"))] = 1
    steps[(raw == ord("]")) | (raw == ord("}"))] = -1
    if not steps.any():
        return 0
    return int(np.cumsum(steps).max())


#: An id (incident, unit, grid): printable, no ``/``, 1..128 characters, never coerced.
Identifier = Annotated[
    str,
    BeforeValidator(_strict_str),
    Field(min_length=1, max_length=128),
    AfterValidator(check_identifier),
]
#: A short label (category, state, department): printable, never coerced.
Label = Annotated[
    str,
    BeforeValidator(_strict_str),
    Field(min_length=1, max_length=128),
    AfterValidator(check_text),
]
#: Free text (description, note): printable plus tab/newline, at most 4000 characters.
FreeText = Annotated[
    str, BeforeValidator(_strict_str), Field(max_length=4000), AfterValidator(_check_free_text)
]
#: An RFC 3339 time with its offset (1900..2200), answered as an aware UTC datetime.
Timestamp = Annotated[datetime, BeforeValidator(_time_validator)]
#: A time of a units document (``HH:MM`` or ISO 8601, offset optional), kept as text.
LocalTime = Annotated[
    str,
    BeforeValidator(_strict_str),
    Field(min_length=1, max_length=40),
    AfterValidator(check_text),
    AfterValidator(check_local_time),
]
#: A finite JSON number (never a bool or a string).
Number = Annotated[float, BeforeValidator(_strict_number)]
#: A JSON integer (never a bool, a float or a string).
Count = Annotated[int, BeforeValidator(_strict_int)]
