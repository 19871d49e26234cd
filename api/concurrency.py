"""Optimistic concurrency over HTTP: ``ETag`` from an incident's version, ``If-Match`` checked.

Every incident answer carries ``ETag: "<version>"`` (a strong validator: the version column,
raised by one on every change). A write that sends ``If-Match`` is applied only if the stored
version still matches; otherwise it answers ``412 Precondition Failed`` and changes nothing.
The comparison runs inside the write's compare-and-set (``UPDATE ... WHERE version = :v``), so
of two writers racing with the same ``If-Match`` exactly one succeeds.
"""

from __future__ import annotations

from api.problems import ProblemError

__all__ = ["ETAG_HEADER", "etag", "expected_version", "stale"]

#: The OpenAPI description of the ``ETag`` answer header.
ETAG_HEADER = {
    "ETag": {
        "description": "The incident's version as a strong entity tag; send it as If-Match",
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    }
}


def etag(version: int) -> str:
    """The ``ETag`` header value of a stored version."""
    return f'"{int(version)}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header names (None: no header, or ``*``).

    Raises
    ------
    ProblemError
        400 when the header is not one strong entity tag of this service.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    text = if_match.strip()
    if text.startswith("W/"):
        text = text[2:]
    digits = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else ""
    if not digits.isdigit() or len(digits) > 10:
        msg = 'If-Match: send the ETag of the incident as read, e.g. "3" (or * for any)'
        raise ProblemError(400, msg, field="header.if-match")
    return int(digits)


def stale(what: str, expected: int, current: int) -> ProblemError:
    """The 412 problem of a write whose ``If-Match`` no longer matches."""
    msg = (
        f"{what} is at version {current}, not {expected} (If-Match): it changed since you read "
        "it; read it again and retry"
    )
    return ProblemError(
        412, msg, field="header.if-match", headers={"ETag": etag(current)}, version=current
    )
