"""Volunteer-scoped views and exports never list police-only incident details, even when a plan
carries them on the volunteer's own steps; police views keep them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm.attributes import flag_modified

from api.db.models import Plan
from tests.api.conftest import stored_plan, token_headers

POLICE_ONLY = {
    "incident_id": "PO-7781",
    "category": "刑事",
    "occurred_at": "2026-11-01T20:00:00+08:00",
    "description": "armed robbery, victim named",
    "police_only": True,
}


def _plan_with_police_only_on_volunteer_steps(app: Any) -> str:
    plan_id = stored_plan(app)
    with app.state.database.session() as session:
        row = session.get(Plan, plan_id)
        result = copy.deepcopy(row.result)
        doc = result["plan"]
        for route in doc["routes"]:
            for step in route["steps"]:
                if step["type"] == "visit":
                    step["incidents"] = [dict(POLICE_ONLY)]
        result["plan"] = doc
        row.result = result
        flag_modified(row, "result")
    return plan_id


@pytest.mark.usefixtures("grids_stored")
def test_volunteer_views_never_list_police_only_incidents(app: Any, client: TestClient) -> None:
    """The plan, its map, every export format and the handheld route views a volunteer can
    reach carry neither the id, the category nor the text of a police-only incident; a
    dispatcher's plan view does (the views are not simply empty)."""
    plan_id = _plan_with_police_only_on_volunteer_steps(app)
    volunteer = token_headers("volunteer")
    urls = [
        f"/plans/{plan_id}",
        f"/plans/{plan_id}/map",
        *(
            f"/plans/{plan_id}/export?unit=vol-1&format={f}"
            for f in ("gpx", "kml", "geojson", "csv")
        ),
        *(f"/plans/{plan_id}/routes/vol-1?format={f}" for f in ("json", "gpx", "kml")),
        f"/plans/{plan_id}/routes/vol-1?format=kml&crs=gcj02",
    ]
    for url in urls:
        answer = client.get(url, headers=volunteer)
        assert answer.status_code == 200, (url, answer.text)
        text = answer.content.decode("utf-8", errors="replace")
        for needle in ("PO-7781", "刑事", "armed robbery"):
            assert needle not in text, (url, needle)
    staff = client.get(f"/plans/{plan_id}", headers=token_headers("dispatcher"))
    assert "PO-7781" in staff.text
    police_file = client.get(
        f"/plans/{plan_id}/export?unit=car-1&format=kml", headers=token_headers("dispatcher")
    )
    assert "PO-7781" in police_file.text
    assert "armed robbery" not in police_file.text  # descriptions never leave, even to police
