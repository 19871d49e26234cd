"""Shared Hypothesis generators of bad values, one per field type of the API.

Each generator draws values a careless or hostile client may send where a field of that type
is expected: wrong JSON types (bools and numbers where text or times go, and the reverse),
control characters and lone surrogates, out-of-range and overflowing times, huge numbers,
ids that cannot be addressed in a URL. ``tests/api/test_hostile.py`` walks them through every
endpoint on both databases.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

CONTROL = st.sampled_from(["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\ud800", "\udfff"])

#: Any JSON value that is not a string.
NOT_STRING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def dirty_text(draw: st.DrawFn) -> str:
    """A string with a control character or a lone surrogate somewhere in it."""
    head = draw(st.text(max_size=8))
    tail = draw(st.text(max_size=8))
    return head + draw(CONTROL) + tail


#: Bad values for a text field (label, free text).
BAD_TEXT = st.one_of(NOT_STRING, dirty_text(), st.text(min_size=4001, max_size=4100))

#: Bad values for an id (also: '/', dot segments, padding, empty, too long).
BAD_ID = st.one_of(
    NOT_STRING,
    dirty_text(),
    st.sampled_from(["", ".", "..", "a/b", "/", " pad", "pad ", "x" * 129]),
    st.text(min_size=1, max_size=6).map(lambda t: f"{t}/{t}"),
)

#: Bad values for a time: wrong types, no offset, overflow, impossible dates, out of range.
BAD_TIME = st.one_of(
    NOT_STRING,
    dirty_text(),
    st.sampled_from(
        [
            "9999-12-31T23:59:59-14:00",
            "9999-12-31T23:59:59.999999-23:59",
            "0001-01-01T00:00:00+14:00",
            "0001-01-01T00:00:00+23:59",
            "1899-12-31T23:00:00Z",
            "2201-01-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-01T25:00:00Z",
            "2026-11-01T08:30:00",
            "2026-11-01T08:30:00+24:00",
            "12345",
            "1e10",
            "now",
            "",
        ]
    ),
    st.integers(min_value=-(2**40), max_value=2**40),
)

#: Bad values for a number field (coordinates, minutes): wrong types and out of range.
BAD_NUMBER = st.one_of(
    st.booleans(),
    st.none(),
    st.text(max_size=6),
    st.sampled_from(["1", "1.5", "NaN", "Infinity", "1e308"]),
    st.sampled_from([1e308, -1e308, 2**64, -(2**64), 10**30]),
    st.lists(st.floats(allow_nan=False), max_size=2),
)

#: Bad values for an integer field (severity, satisfaction, count).
BAD_INT = st.one_of(BAD_NUMBER, st.sampled_from([0, -1, 6, 1.5, 2**63, 10**20]))

#: Bad query parameter text (any string is possible in a query).
BAD_QUERY = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00+14:00/..",
            "../9999-12-31T23:59:59-14:00",
            "1e308,1e308,1e308,1e308",
            "-1e400,0,1,1",
            "nan,nan,nan,nan",
            "99999999999999999999999",
            "-1",
            "0",
            "%00",
            "a\x00b",
        ]
    ),
)

#: The bad-value generator of each field type.
BY_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "id": BAD_ID,
    "text": BAD_TEXT,
    "time": BAD_TIME,
    "number": BAD_NUMBER,
    "int": BAD_INT,
}

#: Field types of an incident row.
INCIDENT_FIELDS: dict[str, str] = {
    "incident_id": "id",
    "occurred_at": "time",
    "category": "text",
    "lon": "number",
    "lat": "number",
    "severity": "int",
    "description": "text",
}

#: Field types of a transition body.
TRANSITION_FIELDS: dict[str, str] = {
    "to": "text",
    "note": "text",
    "unit_id": "id",
    "department": "text",
    "satisfaction": "int",
}

#: Field types inside a units document (path in the document, type).
UNITS_FIELDS: list[tuple[tuple[Any, ...], str]] = [
    (("timezone",), "text"),
    (("shift", "start"), "time"),
    (("shift", "end"), "time"),
    (("dwell_min",), "number"),
    (("max_stops",), "int"),
    (("units", 0, "unit_id"), "id"),
    (("units", 0, "kind"), "text"),
    (("units", 0, "mode"), "text"),
    (("units", 0, "depot", 0), "number"),
    (("units", 0, "depot"), "number"),
    (("units", 0, "count"), "int"),
    (("units", 0, "max_duration_min"), "number"),
    (("units", 0, "grids", 0), "id"),
    (("units", 0, "skills", 0), "text"),
]

#: Field types of a grids file's feature properties.
GRID_FIELDS: dict[str, str] = {
    "grid_id": "id",
    "parent_id": "id",
    "name": "text",
    "level": "text",
    "households": "number",
}
