"""The demo's shift on the shared North Philadelphia data, as a planning problem (for slow tests)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from api.demo import TIMEZONE as TZ
from api.demo import DemoConfig, build_grids, demo_units, shift_after
from api.planning import shift_problem
from geo.hotspots import risk_table
from geo.incidents import load_incidents
from geo.join import join_incidents
from geo.network import load_network
from planner.model import Problem
from planner.units_file import UnitsFile
from tests.conftest import PHL


@functools.cache
def demo_inputs() -> dict[str, Any]:
    """Network, grids, joined incidents, shift and risk of the demo (computed once)."""
    config = DemoConfig(data_dir=PHL.parent, out_dir=Path("."))
    network = load_network(config.path("network"))
    grids = build_grids(config, network)
    load = load_incidents(config.path("incidents"), timezone=TZ)
    joined = join_incidents(load.incidents, grids)
    shift = shift_after(load.incidents["occurred_at"].max())
    risk = risk_table(joined, grids, now=shift[0], timezone=TZ)
    return {
        "config": config,
        "network": network,
        "grids": grids,
        "joined": joined,
        "shift": shift,
        "risk": risk,
    }


def problem_for(units: UnitsFile, max_stops: int = 80) -> Problem:
    """The demo's shift problem for ``units`` (as ``patrolgrid plan`` builds it)."""
    d = demo_inputs()
    problem, *_ = shift_problem(
        d["grids"], d["joined"], d["network"], units, max_stops=max_stops, risk=d["risk"]
    )
    return problem


def demo_problem() -> Problem:
    """The demo's own problem: two cars, three volunteers, 80 stops."""
    d = demo_inputs()
    units = demo_units(d["config"], d["grids"], d["risk"], d["network"], d["shift"])
    return problem_for(units)
