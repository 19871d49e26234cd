"""Read OpenStreetMap files (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``) into node and edge tables.

XML goes through OSMnx's offline reader (:func:`osmnx.graph_from_xml`, unsimplified, every
component kept). PBF is first rewritten as OSM XML with pyosmium (the maintained Python binding of
libosmium), keeping only ``highway`` ways and their nodes, so both formats pass through the same
parser and give the same graph.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from .errors import NetworkError

__all__ = ["EDGE_TAGS", "read_osm"]

#: Way tags kept on every edge (the speed and access rules read them).
EDGE_TAGS: tuple[str, ...] = (
    "highway",
    "name",
    "maxspeed",
    "access",
    "service",
    "junction",
    "area",
    "foot",
    "bicycle",
    "motor_vehicle",
    "motorcar",
    "vehicle",
    "oneway:bicycle",
)


@contextmanager
def _way_tags() -> Iterator[None]:
    """Temporarily ask OSMnx to keep the tags the mode rules need."""
    import osmnx as ox

    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = sorted(set(saved) | set(EDGE_TAGS) | {"oneway"})
    try:
        yield
    finally:
        ox.settings.useful_tags_way = saved


def _pbf_to_xml(path: Path, folder: Path) -> Path:
    try:
        import osmium
    except ImportError as exc:  # pragma: no cover - osmium is a declared dependency
        msg = f"{path}: reading .osm.pbf needs pyosmium (pip install osmium)"
        raise NetworkError(msg) from exc
    target = folder / (path.name.removesuffix(".pbf") or "data.osm")
    if not target.name.endswith(".osm"):
        target = target.with_name(target.name + ".osm")
    try:
        # first pass: the nodes of street ways; second: write those nodes and the street ways
        streets = osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(
            osmium.filter.KeyFilter("highway")
        )
        needed: set[int] = set()
        for way in streets:
            if isinstance(way, osmium.osm.Way):
                needed.update(ref.ref for ref in way.nodes)
        with osmium.SimpleWriter(str(target)) as writer:
            for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
                street_node = isinstance(obj, osmium.osm.Node) and obj.id in needed
                street = isinstance(obj, osmium.osm.Way) and "highway" in obj.tags
                if street_node or street:
                    writer.add(obj)
    except RuntimeError as exc:
        msg = f"{path}: not a readable OSM PBF file ({exc})"
        raise NetworkError(msg) from exc
    return target


def _graph_from_file(path: Path) -> nx.MultiDiGraph:
    import osmnx as ox

    name = path.name.lower()
    with tempfile.TemporaryDirectory(prefix="patrolgrid-osm-") as tmp:
        source = _pbf_to_xml(path, Path(tmp)) if name.endswith(".pbf") else path
        try:
            with _way_tags(), warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                return ox.graph_from_xml(source, simplify=False, retain_all=True)
        except ox._errors.InsufficientResponseError as exc:
            msg = f"{path}: contains no OSM nodes or ways; export streets from OpenStreetMap"
            raise NetworkError(msg) from exc
        except Exception as exc:
            if isinstance(exc, NetworkError):
                raise
            msg = f"{path}: not a readable OSM file ({type(exc).__name__}: {exc})"
            raise NetworkError(msg) from exc


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)


def read_osm(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the street ways of an OSM file.

    Parameters
    ----------
    path
        ``.osm`` (XML), ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf``.

    Returns
    -------
    nodes : pandas.DataFrame
        ``osmid`` (int64), ``lon``, ``lat`` for every node on a street.
    edges : pandas.DataFrame
        One row per directed edge between consecutive way nodes: ``u``, ``v`` (OSM node ids),
        ``way_id``, ``oneway`` (bool, after OSMnx's rules: ``oneway`` tags and roundabouts),
        ``length_m`` (great-circle), and the way tags in :data:`EDGE_TAGS` as strings ("" when
        absent). A two-way street has both directions; a one-way street only the legal one.

    Raises
    ------
    NetworkError
        The file is missing, unreadable or has no ``highway`` ways.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"street network file {path} does not exist"
        raise NetworkError(msg)
    graph = _graph_from_file(path)
    rows = [
        (u, v, data)
        for u, v, data in graph.edges(data=True)
        if _text(data.get("highway")) and u != v
    ]
    if not rows:
        msg = (
            f"{path}: has no streets (no ways tagged highway=*); export an area with streets "
            "from OpenStreetMap"
        )
        raise NetworkError(msg)
    edges = pd.DataFrame(
        {
            "u": np.array([r[0] for r in rows], dtype=np.int64),
            "v": np.array([r[1] for r in rows], dtype=np.int64),
            "way_id": np.array([int(_text(r[2].get("osmid")).split(";")[0]) for r in rows]),
            "oneway": np.array([bool(r[2].get("oneway", False)) for r in rows]),
            "length_m": np.array([float(r[2]["length"]) for r in rows]),
        }
    )
    for tag in EDGE_TAGS:
        edges[tag.replace(":", "_")] = [_text(r[2].get(tag)) for r in rows]
    used = np.unique(np.concatenate([edges["u"].to_numpy(), edges["v"].to_numpy()]))
    coords = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in used], dtype=float)
    nodes = pd.DataFrame({"osmid": used.astype(np.int64), "lon": coords[:, 0], "lat": coords[:, 1]})
    edges = edges.sort_values(["u", "v", "way_id"], kind="stable").reset_index(drop=True)
    return nodes, edges
