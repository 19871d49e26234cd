"""The plan report: timeline segments add up, charts present, offline, both languages."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from maps.errors import MapsError
from maps.report import render_report, timeline_segments


def test_segments_tile_each_route(plan: dict[str, Any]) -> None:
    """Segments are ordered, never overlap, and dwell/break time equals the steps' service time."""
    for route in plan["routes"]:
        segs = timeline_segments(route)
        for (_, _, end), (_, start, _) in itertools.pairwise(segs):
            assert end <= start
        dwell = sum((b - a).total_seconds() for k, a, b in segs if k in ("dwell", "break"))
        assert dwell == sum(float(s.get("service_s", 0)) for s in route["steps"])
        assert [k for k, _, _ in segs].count("break") == 1


def test_report_sections(plan: dict[str, Any]) -> None:
    """The page has a summary, one timeline row per unit, the risk curve, unassigned reasons."""
    html = render_report(plan)
    assert "<script" not in html
    assert not re.search(r"(src|href)=\"https?://", html)
    assert html.count('class="seg-dwell"') == 6
    assert "61.5%" in html
    assert "no unit can reach it in its window" in html
    assert "The plan carries no readiness figures." in html


def test_readiness_slices_are_drawn(plan: dict[str, Any]) -> None:
    """With metrics.readiness, both 3- and 5-minute lines have one step per 15-minute slice."""
    plan["metrics"] = {
        "readiness": [
            {
                "start": f"2026-01-05T{8 + q // 4:02d}:{(q % 4) * 15:02d}:00-05:00",
                "within_3_pct": 40 + q,
                "within_5_pct": 70 + q,
            }
            for q in range(16)
        ]
    }
    html = render_report(plan, lang="zh")
    assert "响应就绪度" in html
    for key in ("within_3_pct", "within_5_pct"):
        points = re.search(rf'class="{key}" points="([^"]+)"', html)
        assert points
        assert len(points[1].split()) == 32


def test_planner_readiness_shares(plan: dict[str, Any]) -> None:
    """The evaluator's summary.readiness (shares 0..1) is drawn as percent: 0.5 sits mid-height."""
    plan["summary"]["readiness"] = [
        {"start": "2026-01-05T08:00:00-05:00", "within_3min": 0.5, "within_5min": 1.0}
    ]
    html = render_report(plan)
    three = re.search(r'class="within_3_pct" points="([^"]+)"', html)
    five = re.search(r'class="within_5_pct" points="([^"]+)"', html)
    assert three
    assert five
    y3 = float(three[1].split()[0].split(",")[1])
    y5 = float(five[1].split()[0].split(",")[1])
    assert y5 == 10.0
    assert y3 == 10 + (160 - 20) * 0.5


def test_naive_times_are_rejected(plan: dict[str, Any]) -> None:
    """A time without a UTC offset is a MapsError naming the value."""
    plan["routes"][0]["steps"][1]["arrival"] = "2026-01-05T08:10:00"
    with pytest.raises(MapsError, match="2026-01-05T08:10:00"):
        render_report(plan)


def test_idle_units_checkpoints_and_warnings_are_named(plan: dict[str, Any]) -> None:
    """A unit that cannot patrol is listed by name with its reason (never as a stop "None"),
    checkpoints show who met them or why not, and plan warnings are listed."""
    plan["unassigned"].append(
        {"stop_id": None, "grid_id": None, "unit_id": "vol-9", "reason": "no stop it may serve"}
    )
    plan["summary"]["checkpoints"] = [
        {
            "name": "school",
            "met": True,
            "unit_id": "car-1",
            "start": "2026-01-05T15:20:00+08:00",
            "end": "2026-01-05T15:30:00+08:00",
        },
        {
            "name": "bank",
            "met": False,
            "reason": "no unit of a kind allowed here (property_security)",
        },
    ]
    plan["summary"]["warnings"] = ["checkpoint bank not met: no unit of a kind allowed here"]
    html = render_report(plan)
    assert "None" not in html
    assert "<td>vol-9</td><td>no stop it may serve</td>" in html
    assert "Units not patrolling" in html
    assert "car-1 15:20-15:30" in html
    assert "no unit of a kind allowed here (property_security)" in html
    assert "checkpoint bank not met" in html
    assert "重点部位" in render_report(plan, lang="zh")
