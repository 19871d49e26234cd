"""The area a network's streets cover, for gridding only where a stop can be placed."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from geo.errors import NetworkError
from geo.network import load_network


@pytest.fixture(scope="module")
def net(phl_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    return load_network(
        phl_dir / "temple_north_philly.osm", cache_dir=tmp_path_factory.mktemp("cache")
    )


def test_coverage_holds_every_street_and_is_tighter_than_the_hull(net) -> None:
    """Every drivable segment lies inside the coverage; the coverage is within the node hull's buffer
    and smaller than it where the extract's ways run out."""
    covered = net.coverage("drive", reach_m=150.0)
    edges = net.edges("drive").geometry.to_numpy()
    mids = shapely.line_interpolate_point(edges, 0.5, normalized=True)
    assert shapely.covers(covered, mids).all()
    assert covered.area < net.area.area


def test_coverage_needs_a_positive_reach(net) -> None:
    """A reach of zero is one clear error."""
    with pytest.raises(NetworkError, match="reach_m"):
        net.coverage("drive", reach_m=0)
