"""The strict units file: unknown keys, wrong types and impossible values in one line each."""

from __future__ import annotations

from typing import Any

import pytest

from planner.errors import ProblemError
from planner.units_file import TOP_KEYS, UNIT_KEYS, parse_units

DOC: dict[str, Any] = {
    "timezone": "America/New_York",
    "shift": {"start": "2025-03-29T18:00", "end": "2025-03-29T22:00"},
    "units": [{"unit_id": "car-1", "kind": "police_car", "depot": [-75.16, 39.98]}],
}


def _unit(**extra: Any) -> dict[str, Any]:
    return {**DOC, "units": [{**DOC["units"][0], **extra}]}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_unit(brakes=[]), "units[0] (unit 'car-1'): unknown key 'brakes'; did you mean 'breaks'?"),
        (_unit(grid=["1412"]), "unknown key 'grid'; did you mean 'grids'?"),
        ({**DOC, "dwel_min": 10}, "unknown key 'dwel_min'; did you mean 'dwell_min'?"),
        (_unit(count=0), "units[0].count (unit 'car-1'): expected a whole number >= 1, got 0"),
        (_unit(max_duration_min=-5), "max_duration_min (unit 'car-1'): expected a number > 0"),
        (_unit(grids="1412"), "grids (unit 'car-1'): expected a list of ids, got '1412'"),
        (_unit(skills="dog"), "skills (unit 'car-1'): expected a list of text"),
        ({**DOC, "dwell_min": 0}, "dwell_min: expected a number > 0, got 0"),
        ({**DOC, "checkpoints": ["school"]}, "checkpoints: expected a list of mappings"),
        (
            _unit(breaks=[{"earliest": "20:00", "minutes": 30, "lenght": 5}]),
            "breaks[0] (unit 'car-1'): unknown key 'lenght'",
        ),
        (
            {**DOC, "shift": {"start": "2025-03-29T18:00", "ends": "x", "end": "2025-03-29T19:00"}},
            "shift: unknown key 'ends'; did you mean 'end'?",
        ),
    ],
)
def test_bad_keys_and_values_are_named(doc: dict[str, Any], message: str) -> None:
    """Each mistake raises one ProblemError naming the file, the unit and the key, with the
    nearest valid key suggested for a typo."""
    with pytest.raises(ProblemError) as caught:
        parse_units(doc, source="units.yaml")
    text = str(caught.value)
    assert text.startswith("units.yaml")
    assert message in text
    assert "\n" not in text


def test_skills_and_checkpoints_are_known_keys() -> None:
    """skills (list of text) and checkpoints (key sites, parsed by planner.checkpoints) pass."""
    school = {"name": "school", "lon": 113.3, "lat": 23.1, "windows": ["15:15-15:45"]}
    units = parse_units(
        {**_unit(skills=["dog", "medic"]), "checkpoints": [school]},
        source="units.yaml",
    )
    assert units.units[0].skills == frozenset({"dog", "medic"})
    assert "checkpoints" in TOP_KEYS
    assert "skills" in UNIT_KEYS
