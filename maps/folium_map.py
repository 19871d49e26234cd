"""The supervisor's map: grids by risk, boundaries, incidents, warnings, routes and depots.

:func:`make_map` builds a :class:`folium.Map` from plain inputs (grids, an optional risk
table, incidents, plan and street lines); :func:`save_map` writes it as one self-contained
HTML file that opens on an offline intranet (see :mod:`maps.assets`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.hierarchy import leaf_grids

from .assets import inline_html
from .basemap import Basemap, resolve_basemap
from .charts import encode_profiles, profile_matrix, top_hours
from .colors import RISK_COLORS, UNIT_COLORS
from .errors import MapsError
from .i18n import labels as get_labels
from .layers import DataLayer, Legend, PatrolgridScript, feature_collection, to_json

__all__ = ["RISK_COLORS", "UNIT_COLORS", "make_map", "risk_classes", "save_map"]

_MAX_ZOOM = 19
#: Up to this many incidents each gets its own marker; above it, incidents are first counted on a
#: lattice of about 25 m (one marker per cell, carrying its count), so every incident of the area
#: is still shown and counted in the clusters while the page stays small.
_MAX_CLUSTER_MARKERS = 20_000
_MARKER_CELL_DEG = 0.00025
_HEAT_CELL_DEG = 0.0005
_HOUR_CELL_DEG = 0.002


def risk_classes(risk: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Class of each grid's risk: 0 for none, 1..5 by quintile of the grids with risk.

    Parameters
    ----------
    risk
        Risk per grid (NaN and values <= 0 mean no risk).

    Returns
    -------
    classes, breaks
        An int array of classes and the upper bounds of classes 1..5.
    """
    values = np.nan_to_num(np.asarray(risk, dtype=float), nan=0.0)
    classes = np.zeros(len(values), dtype=int)
    positive = values > 0
    if not positive.any():
        return classes, []
    breaks = list(np.quantile(values[positive], [0.2, 0.4, 0.6, 0.8, 1.0]))
    classes[positive] = np.minimum(np.searchsorted(breaks, values[positive], side="left") + 1, 5)
    return classes, [float(b) for b in breaks]


def _check_frame(frame: Any, what: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{what} lacks column(s) {', '.join(missing)}; see the {what} contract in DESIGN.md"
        raise MapsError(msg)


def _to_wgs84(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if frame.crs is None:
        msg = f"{what} has no CRS; set it (EPSG:4326 at rest) with GeoDataFrame.set_crs"
        raise MapsError(msg)
    return frame if frame.crs.to_epsg() == 4326 else frame.to_crs(4326)


def _simplify_deg(grids: gpd.GeoDataFrame, simplify_m: float) -> float:
    lat = float(np.mean(grids.total_bounds[[1, 3]])) if len(grids) else 0.0
    return simplify_m / (111_320.0 * max(np.cos(np.radians(lat)), 0.1))


def _hhmm(value: Any) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(str(value)).strftime("%H:%M")
    except ValueError:
        return str(value)


def _text_column(frame: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """The first present column of ``names`` as strings ("" where missing); lists joined."""
    out = np.full(len(frame), "", dtype=object)
    for col in names:
        if col in frame.columns:
            for i, value in enumerate(frame[col].to_numpy(dtype=object)):
                if isinstance(value, str):
                    out[i] = value
                elif isinstance(value, list | tuple | np.ndarray):
                    out[i] = ", ".join(map(str, value))
            return out
    return out


#: Workflow metric column -> (popup key, scale, decimals): minutes for times, % for shares.
_METRICS: dict[str, tuple[str, float, int]] = {
    "response_s": ("resp", 1 / 60, 1),
    "handling_s": ("hand", 1 / 60, 1),
    "closure_rate": ("close", 100.0, 0),
    "overdue": ("over", 1.0, 0),
    "satisfaction_rate": ("sat", 100.0, 0),
}


def _add_metrics(props: list[dict[str, Any]], metrics: pd.DataFrame) -> None:
    """Put each grid's workflow numbers into its popup properties (in place)."""
    _check_frame(metrics, "metrics table", ("grid_id",))
    table = metrics.drop_duplicates("grid_id").set_index(metrics["grid_id"].astype(str))
    for p in props:
        if p["id"] not in table.index:
            continue
        row = table.loc[p["id"]]
        for column, (key, scale, decimals) in _METRICS.items():
            value = pd.to_numeric(row.get(column), errors="coerce")
            if value is not None and np.isfinite(value):
                scaled = float(value) * scale
                p[key] = round(scaled, decimals) if decimals else round(scaled)


def _grid_properties(
    leaves: gpd.GeoDataFrame, risk: pd.DataFrame | None, t: dict[str, str]
) -> tuple[list[dict[str, Any]], list[float]]:
    n = len(leaves)
    if risk is None:
        risk = pd.DataFrame({"grid_id": leaves["grid_id"].to_numpy()})
    _check_frame(risk, "risk table", ("grid_id",))
    risk = risk.drop_duplicates("grid_id").set_index("grid_id")
    aligned = risk.reindex(leaves["grid_id"].astype(str).to_numpy())
    values = (
        pd.to_numeric(aligned["risk"], errors="coerce").to_numpy(dtype=float)
        if "risk" in aligned
        else np.zeros(n)
    )
    counts = (
        pd.to_numeric(aligned["count"], errors="coerce").fillna(0).to_numpy(dtype=int)
        if "count" in aligned
        else np.zeros(n, dtype=int)
    )
    classes, breaks = risk_classes(values)
    profiles = profile_matrix(aligned)
    codes = encode_profiles(profiles)
    hours = top_hours(profiles)
    tops = _text_column(aligned, ("top_categories", "top", "categories"))
    whys = _text_column(aligned, ("why",))
    days = t["weekdays"].split(",")
    names = leaves["name"].to_numpy() if "name" in leaves else leaves["grid_id"].to_numpy()
    props: list[dict[str, Any]] = []
    for i, (gid, level) in enumerate(zip(leaves["grid_id"], leaves["level"], strict=True)):
        p: dict[str, Any] = {
            "id": str(gid),
            "name": None if pd.isna(names[i]) else str(names[i]),
            "level": str(level),
            "c": RISK_COLORS[classes[i]],
        }
        if counts[i]:
            p["n"] = int(counts[i])
        if np.isfinite(values[i]) and values[i] > 0:
            p["r"] = round(float(values[i]), 2)
            p["how"] = codes[i]
            if hours[i]:
                p["hours"] = ", ".join(f"{days[d]} {h:02d}:00" for d, h in hours[i])
        if tops[i]:
            p["top"] = tops[i]
        if whys[i]:
            p["why"] = whys[i]
        props.append(p)
    return props, breaks


def _legend_items(breaks: list[float], t: dict[str, str]) -> list[tuple[str, str]]:
    items = [(RISK_COLORS[0], t["no_risk"])]
    low = 0.0
    for k, high in enumerate(breaks, start=1):
        items.append((RISK_COLORS[k], f"{low:.1f} – {high:.1f}"))
        low = high
    return items


def _cell_counts(
    columns: list[np.ndarray], sizes: list[float]
) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique lattice cells of the points and their counts (``sizes`` 0 keeps integers)."""
    keys = [
        np.round(c / s).astype(np.int64) if s else c.astype(np.int64)
        for c, s in zip(columns, sizes, strict=True)
    ]
    stacked = np.column_stack(keys)
    uniq, counts = np.unique(stacked.view([("", np.int64)] * len(keys)), return_counts=True)
    out = [uniq[name].astype(np.int64) for name in uniq.dtype.names or ()]
    return [o * s if s else o for o, s in zip(out, sizes, strict=True)], counts


def _incident_layers(
    fmap: folium.Map,
    incidents: gpd.GeoDataFrame,
    t: dict[str, str],
    shift: Any,
    timezone: str,
    area: Any = None,
) -> None:
    _check_frame(incidents, "incidents", ("geometry",))
    incidents = _to_wgs84(incidents, "incidents")
    points = incidents[incidents.geometry.notna() & ~incidents.geometry.is_empty]
    if area is not None and len(points):
        # only the incidents inside the area the map draws (all of them, however many)
        shapely.prepare(area)
        inside = shapely.intersects_xy(
            area, points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
        )
        points = points[inside]
    lon, lat = shift(points.geometry.x.to_numpy(), points.geometry.y.to_numpy())
    if len(lon) == 0:
        return
    # Heat map: counts on a ~50 m lattice keep the page small at 200k points.
    (hlat, hlon), counts = _cell_counts([lat, lon], [_HEAT_CELL_DEG, _HEAT_CELL_DEG])
    heat = np.column_stack([hlat.round(6), hlon.round(6), counts]).tolist()
    # Intensity saturates at the 95th percentile cell, so one outlier does not wash out the rest.
    top = max(float(np.quantile(counts, 0.95)), 1.0)
    DataLayer(
        t["heat"],
        f"L.heatLayer(DATA, {{radius: 14, blur: 18, maxZoom: 16, max: {top:.1f}}})",
        to_json(heat),
        show=False,
        plugins=(("leaflet-heat.js", "leaflet_heat.min.js"),),
    ).add_to(fmap)
    # Clusters: every incident of the area; beyond the cap, counted per ~25 m cell first.
    has_time = "occurred_at" in points
    when_all = pd.DatetimeIndex(points["occurred_at"]) if has_time else None
    if len(points) <= _MAX_CLUSTER_MARKERS:
        label_parts = [
            points[col].astype(str).to_numpy()
            for col in ("incident_id", "category")
            if col in points
        ]
        if when_all is not None:
            label_parts.append(when_all.tz_convert(timezone).strftime("%Y-%m-%d %H:%M").to_numpy())
        labels = (
            [" · ".join(parts) for parts in zip(*label_parts, strict=True)]
            if label_parts
            else [""] * len(points)
        )
        marks = [
            [round(float(a), 6), round(float(b), 6), text, 1]
            for a, b, text in zip(lat, lon, labels, strict=True)
        ]
    else:
        (clat, clon), ccount = _cell_counts([lat, lon], [_MARKER_CELL_DEG, _MARKER_CELL_DEG])
        marks = [
            [round(float(a), 6), round(float(b), 6), f"{int(k)} {t['incidents']}", int(k)]
            for a, b, k in zip(clat, clon, ccount, strict=True)
        ]
    DataLayer(
        t["clusters"],
        "PG.clusters(DATA)",
        to_json(marks),
        show=False,
        plugins=(
            ("markerclusterjs", "leaflet.markercluster.js"),
            ("markerclustercss", "MarkerCluster.css"),
            ("markerclusterdefaultcss", "MarkerCluster.Default.css"),
        ),
    ).add_to(fmap)
    # By hour of day and by weekday in local time, with a slider: counts per ~200 m cell.
    if when_all is not None:
        local = when_all.tz_convert(timezone)
        series = {"hour": local.hour.to_numpy(), "day": local.day_of_week.to_numpy()}
        data: dict[str, list[list[float]]] = {}
        for key, values in series.items():
            (blat, blon, bv), n = _cell_counts(
                [lat, lon, values.astype(float)], [_HOUR_CELL_DEG, _HOUR_CELL_DEG, 0.0]
            )
            data[key] = [
                [a, b, int(v), int(k)]
                for a, b, v, k in zip(
                    blat.round(6).tolist(), blon.round(6).tolist(), bv, n, strict=True
                )
            ]
        DataLayer(
            t["incidents"],
            f"PG.byTime(MAP, DATA, {to_json(t['incidents'])})",
            to_json(data),
            show=False,
        ).add_to(fmap)


def _route_data(
    plan: dict[str, Any], shift: Any
) -> tuple[list[dict[str, Any]], list[list[Any]], list[list[float]]]:
    routes = plan.get("routes")
    if not isinstance(routes, list):
        msg = "plan has no 'routes' list; see the plan JSON contract in DESIGN.md"
        raise MapsError(msg)
    out: list[dict[str, Any]] = []
    depots: dict[tuple[float, float], list[Any]] = {}
    bounds: list[list[float]] = []
    taken: dict[tuple[float, float], int] = {}
    for k, route in enumerate(routes):
        unit = str(route.get("unit_id", f"route {k}"))
        color = UNIT_COLORS[k % len(UNIT_COLORS)]
        line: list[list[float]] = []
        geometry = route.get("geometry") or {}
        coords = geometry.get("coordinates") or []
        if coords:
            arr = np.asarray(coords, dtype=float)[:, :2]
            glon, glat = shift(arr[:, 0], arr[:, 1])
            line = np.column_stack([glat, glon]).round(6).tolist()
        stops: list[list[Any]] = []
        order = 0
        for j, step in enumerate(route.get("steps", [])):
            if "lon" not in step or "lat" not in step:
                msg = f"plan route {unit} step {j} lacks lon/lat; see the plan JSON contract"
                raise MapsError(msg)
            slon, slat = shift(np.array([float(step["lon"])]), np.array([float(step["lat"])]))
            lat_lon = [round(float(slat[0]), 6), round(float(slon[0]), 6)]
            bounds.append(lat_lon)
            if step.get("type") == "start":
                depots.setdefault((lat_lon[0], lat_lon[1]), [*lat_lon, unit])
            elif step.get("type") in ("visit", "checkpoint"):
                order += 1
                dwell_min = round(float(step.get("service_s", 0) or 0) / 60.0, 1)
                label = str(step.get("grid_id", ""))
                if step.get("type") == "checkpoint":
                    label = f"checkpoint {step.get('name', '')}"
                stops.append(
                    [
                        *lat_lon,
                        order,
                        label,
                        _hhmm(step.get("arrival")),
                        _hhmm(step.get("departure")),
                        dwell_min,
                        str(step.get("why") or ""),
                    ]
                )
        for st in stops:  # markers at a place already taken are offset (readable numbers)
            key = (round(st[0], 5), round(st[1], 5))
            st.append(taken.get(key, 0))
            taken[key] = taken.get(key, 0) + 1
        bounds.extend(line)
        out.append(
            {
                "unit": unit,
                "kind": str(route.get("kind", "")),
                "color": color,
                "line": line,
                "stops": stops,
            }
        )
    return out, list(depots.values()), bounds


def _warnings(
    leaves: gpd.GeoDataFrame, risk: pd.DataFrame | None, shift: Any
) -> list[list[Any]] | None:
    if risk is None:
        return None
    flag_col = next((c for c in ("warning", "hotspot") if c in risk.columns), None)
    if flag_col is None:
        return None
    flagged = risk[risk[flag_col].fillna(False).astype(bool)]
    merged = leaves.merge(flagged, on="grid_id", how="inner", suffixes=("", "_risk"))
    pts = merged.geometry.representative_point()
    lon, lat = shift(pts.x.to_numpy(), pts.y.to_numpy())
    out = []
    for i, (_, row) in enumerate(merged.iterrows()):
        name = row["name"] if "name" in row and isinstance(row["name"], str) else row["grid_id"]
        why = row["why"] if "why" in row.index and isinstance(row["why"], str) else ""
        out.append([round(float(lat[i]), 6), round(float(lon[i]), 6), str(name), why])
    return out


def make_map(
    *,
    grids: gpd.GeoDataFrame,
    risk: pd.DataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    plan: dict[str, Any] | None = None,
    streets: gpd.GeoDataFrame | None = None,
    lang: str = "en",
    basemap: str | Basemap | None = None,
    simplify_m: float = 2.0,
    timezone: str | None = None,
    metrics: pd.DataFrame | None = None,
) -> folium.Map:
    """Build the supervisor's map.

    Parameters
    ----------
    grids
        Grids contract (all levels); leaf grids are coloured by risk, upper levels drawn as
        named borders.
    risk
        Risk table (``grid_id``, ``count``, ``risk``, ``how_000``..``how_167``; optional
        ``why``, ``top_categories``, ``warning``).
    incidents
        Incidents contract; those inside the leaf grids are shown as a heat map, marker clusters
        (every incident; above 20,000 counted per ~25 m cell first) and
        counts by hour of day with a slider.
    plan
        Plan JSON dict; each route drawn along its ``geometry`` with numbered stops
        (arrival, departure, dwell) in the unit's colour, and depots.
    streets
        LineStrings (``net.edges(mode)``) drawn as the base map when there is no tile layer.
    lang
        ``"en"`` or ``"zh"``.
    basemap
        ``None``/``"none"`` (plain background, streets from the data), an XYZ URL template
        (intranet tile server), or a provider name of :data:`maps.basemap.PROVIDERS`; for
        GCJ-02 providers the overlays are shifted to GCJ-02 inside mainland China.
    simplify_m
        Display simplification of polygons in metres.
    timezone
        Zone of the hour slider and incident times; default the plan summary's ``timezone``,
        else UTC.
    metrics
        Incident workflow numbers per leaf grid, shown in its popup: ``grid_id`` and any of
        ``response_s``, ``handling_s`` (mean seconds), ``closure_rate``, ``satisfaction_rate``
        (shares 0..1) and ``overdue`` (count), as the API's ``GET /metrics`` gives them.

    Returns
    -------
    folium.Map
        Save it with :func:`save_map` (a plain ``Map.save`` would link CDNs).
    """
    t = get_labels(lang)
    base = resolve_basemap(basemap)
    _check_frame(grids, "grids", ("grid_id", "level", "geometry"))
    grids = _to_wgs84(grids, "grids")
    if len(grids) == 0:
        msg = "grids frame is empty; load grids with geo.grids.load_grids first"
        raise MapsError(msg)
    shift = base.shift_function()
    shifted = grids.copy()
    shifted["geometry"] = base.shift_geometries(grids.geometry.to_numpy())

    minx, miny, maxx, maxy = shapely.total_bounds(shifted.geometry.to_numpy())
    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=13,
        tiles=None,
        max_zoom=_MAX_ZOOM,
        control_scale=True,
        # folium gives max_zoom to its tile layer only; with no tiles Leaflet has no maxZoom
        # and marker clusters fail ("Map has no maxZoom specified"), so set it on the map.
        maxZoom=_MAX_ZOOM,
    )
    PatrolgridScript(t).add_to(fmap)
    if base.url is not None:
        folium.TileLayer(
            tiles=base.url,
            attr=base.attribution or "tiles",
            name=base.name,
            max_zoom=_MAX_ZOOM,
            max_native_zoom=base.max_native_zoom,
            subdomains=base.subdomains,
            overlay=False,
            control=True,
        ).add_to(fmap)
    elif streets is not None and len(streets):
        streets = _to_wgs84(streets, "streets")
        geoms = base.shift_geometries(streets.geometry.to_numpy())
        DataLayer(
            t["streets"],
            "L.geoJson(DATA, {style: PG.streetStyle, interactive: false, renderer: L.canvas()})",
            feature_collection(geoms, [{}] * len(geoms), simplify_deg=_simplify_deg(grids, 1.0)),
        ).add_to(fmap)

    simplify_deg = _simplify_deg(grids, simplify_m)
    leaves = leaf_grids(shifted)
    props, breaks = _grid_properties(leaves, risk, t)
    if metrics is not None:
        _add_metrics(props, metrics)
    DataLayer(
        t["grids"],
        "PG.grids(DATA, MAP)",
        feature_collection(leaves.geometry.to_numpy(), props, simplify_deg=simplify_deg),
    ).add_to(fmap)
    Legend(t["legend"], _legend_items(breaks, t)).add_to(fmap)

    upper = shifted[~shifted["grid_id"].isin(leaves["grid_id"])]
    if len(upper):
        names = upper["name"] if "name" in upper else upper["grid_id"]
        uprops = [
            {"id": str(g), "level": str(lv), "name": None if pd.isna(n) else str(n)}
            for g, lv, n in zip(upper["grid_id"], upper["level"], names, strict=True)
        ]
        DataLayer(
            t["borders"],
            "L.geoJson(DATA, {style: PG.borderStyle, onEachFeature: function (f, l) "
            "{ l.bindTooltip(PG.borderTooltip(f), {sticky: true}); }})",
            feature_collection(
                shapely.boundary(upper.geometry.to_numpy()), uprops, simplify_deg=simplify_deg
            ),
        ).add_to(fmap)

    warn = _warnings(leaves, risk, shift)
    if warn:
        DataLayer(t["warnings"], "PG.warnings(DATA)", to_json(warn)).add_to(fmap)
    if incidents is not None and len(incidents):
        zone = timezone or str((plan or {}).get("summary", {}).get("timezone") or "UTC")
        _incident_layers(fmap, incidents, t, shift, zone, area=leaf_grids(grids).union_all())
    view = [[miny, minx], [maxy, maxx]]
    if plan is not None:
        routes, depots, bounds = _route_data(plan, shift)
        DataLayer(t["routes"], "PG.routes(DATA)", to_json(routes)).add_to(fmap)
        if depots:
            DataLayer(t["depots"], "PG.depots(DATA)", to_json(depots)).add_to(fmap)
        if routes:
            Legend(t["units"], [(r["color"], f"{r['unit']} ({r['kind']})") for r in routes]).add_to(
                fmap
            )
        if bounds:  # open on the plan's area
            arr = np.asarray(bounds, dtype=float)
            view = [arr.min(axis=0).tolist(), arr.max(axis=0).tolist()]

    fmap.fit_bounds(view)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap


def map_html(fmap: folium.Map) -> str:
    """The map as one self-contained offline HTML page (see :func:`maps.assets.inline_html`)."""
    return inline_html(fmap.get_root().render())


def save_map(fmap: folium.Map, path: str | Path) -> Path:
    """Write the map as one self-contained HTML file that needs no network.

    Parameters
    ----------
    fmap
        A map from :func:`make_map` (or any folium map using only offline assets).
    path
        Output ``.html`` file; parent folders are created.

    Returns
    -------
    Path
        The written file.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(map_html(fmap), encoding="utf-8")
    return out
