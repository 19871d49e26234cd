"""A city the project has never seen, made in code over the shared OSM extract's area.

Its files look like a real city's raw exports, not like patrolgrid's contract: two "areas"
split along a diagonal and reaching past the extract, six "beats" in a skewed lattice that the
area border cuts, beat ``B12`` drawn as two polygons (two rows, one id), coordinates in UTM
metres (EPSG:32618, declared in the GeoPackage), and a crime export with its own column names
and local wall times without an offset. The Chinese variant labels everything in Chinese and
writes GCJ-02 coordinates, as an Amap-based city system would.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.affinity import rotate
from shapely.geometry import Polygon, box

from geo.crs import to_gcj02

#: The shared extract's <bounds> (lon/lat).
WEST, SOUTH, EAST, NORTH = -75.1700, 39.9707, -75.1450, 39.9910
UTM = 32618


def _utm(geoms: list[Polygon]) -> gpd.GeoSeries:
    return gpd.GeoSeries(geoms, crs=4326).to_crs(UTM)


def city_polygons() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Areas and beats in lon/lat (WGS84)."""
    pad = 0.01  # the areas reach well past the extract
    mid_x = (WEST + EAST) / 2
    north = Polygon(
        [(WEST - pad, NORTH + pad), (EAST + pad, NORTH + pad), (EAST + pad, 39.9830),
         (mid_x, 39.9790), (WEST - pad, 39.9760)]
    )  # fmt: skip
    south = Polygon(
        [(WEST - pad, 39.9760), (mid_x, 39.9790), (EAST + pad, 39.9830), (EAST + pad, SOUTH - pad),
         (WEST - pad, SOUTH - pad)]
    )  # fmt: skip
    areas = gpd.GeoDataFrame(
        {"AREA_NO": [7, 9], "AREA_NAME": ["Northside", "Southside"]},
        geometry=[north, south],
        crs=4326,
    )
    # Beats: a 3 x 2 lattice, slightly rotated, covering the extract and then some.
    xs = np.linspace(WEST - 0.004, EAST + 0.004, 4)
    ys = np.linspace(SOUTH - 0.004, NORTH + 0.004, 3)
    whole = box(xs[0], ys[0], xs[-1], ys[-1])
    rows = []
    for j in range(2):
        for i in range(3):
            cell = rotate(box(xs[i], ys[j], xs[i + 1], ys[j + 1]), 4, origin=whole.centroid)
            rows.append((f"B{j + 1}{i + 1}", f"Beat {j + 1}{i + 1}", cell.intersection(whole)))
    records = []
    for beat_id, name, geom in rows:
        if beat_id == "B12":  # drawn as two polygons: two rows with one id
            minx, miny, maxx, maxy = geom.bounds
            half = (miny + maxy) / 2
            records.append((beat_id, name, geom.intersection(box(minx, miny, maxx, half))))
            records.append((beat_id, name, geom.intersection(box(minx, half, maxx, maxy))))
        else:
            records.append((beat_id, name, geom))
    beats = gpd.GeoDataFrame(
        {"beat_num": [r[0] for r in records], "beat_name": [r[1] for r in records]},
        geometry=[r[2] for r in records],
        crs=4326,
    )
    return areas, beats


def write_city(folder: Path, *, seed: int = 1) -> dict[str, Path]:
    """The raw files of the English-speaking city: areas, beats (UTM), crimes, units."""
    folder.mkdir(parents=True, exist_ok=True)
    areas, beats = city_polygons()
    areas.to_crs(UTM).to_file(folder / "areas.gpkg", driver="GPKG")
    beats.to_crs(UTM).to_file(folder / "beats.gpkg", driver="GPKG")
    rng = np.random.default_rng(seed)
    n = 400
    # Three hot places and a scatter; local times over four weeks without an offset.
    hot = np.array([[-75.1610, 39.9800], [-75.1520, 39.9860], [-75.1650, 39.9740]])
    which = rng.integers(0, 4, n)
    lon = np.where(which < 3, hot[np.minimum(which, 2), 0] + rng.normal(0, 0.0012, n),
                   rng.uniform(WEST, EAST, n))  # fmt: skip
    lat = np.where(which < 3, hot[np.minimum(which, 2), 1] + rng.normal(0, 0.0010, n),
                   rng.uniform(SOUTH, NORTH, n))  # fmt: skip
    start = pd.Timestamp("2025-03-01 00:00")
    when = start + pd.to_timedelta(rng.uniform(0, 28 * 24 * 3600, n).round(), unit="s")
    types = rng.choice(["THEFT", "BATTERY", "ROBBERY", "CRIMINAL DAMAGE", "BURGLARY"], n)
    pd.DataFrame(
        {
            "case_number": [f"JK{100000 + k}" for k in range(n)],
            "date": when.strftime("%m/%d/%Y %I:%M:%S %p"),
            "primary_type": types,
            "x_coord": _utm_points(lon, lat)[0].round(1),
            "y_coord": _utm_points(lon, lat)[1].round(1),
        }
    ).to_csv(folder / "crimes.csv", index=False)
    (folder / "units.yaml").write_text(
        "timezone: America/New_York\n"
        "shift: {start: '2025-03-29T18:00', end: '2025-03-29T22:00'}\n"
        "units:\n"
        "  - {unit_id: car-1, kind: police_car, depot: [-75.1627, 39.9796]}\n"
        "  - {unit_id: car-2, kind: police_car, depot: [-75.1500, 39.9850]}\n"
        "  - {unit_id: foot-1, kind: volunteer, mode: walk, depot: [-75.1600, 39.9800],\n"
        "     grids: ['B12']}\n",
        encoding="utf-8",
    )
    return {
        name: folder / name for name in ("areas.gpkg", "beats.gpkg", "crimes.csv", "units.yaml")
    }


def _utm_points(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(UTM)
    return pts.x.to_numpy(), pts.y.to_numpy()


def write_chinese_city(folder: Path) -> dict[str, Path]:
    """The same city labelled in Chinese, polygons and incidents in GCJ-02 (as from Amap)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = write_city(folder / "src")
    areas, beats = city_polygons()

    def shift(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        # Move the city into Guangzhou (mainland China) and write it as GCJ-02.
        moved = frame.geometry.translate(113.30 - WEST, 23.10 - SOUTH)
        import shapely

        gcj = shapely.transform(
            np.asarray(moved.array, dtype=object),
            lambda c: np.column_stack(to_gcj02(c[:, 0], c[:, 1])),
        )
        return frame.set_geometry(gpd.GeoSeries(gcj, crs=4326))

    areas = shift(areas).rename(columns={"AREA_NO": "街道编码", "AREA_NAME": "街道名称"})
    beats = shift(beats).rename(columns={"beat_num": "网格编号", "beat_name": "网格名称"})
    areas["街道名称"] = ["北街道", "南街道"]
    areas.to_file(folder / "街道.geojson", driver="GeoJSON")
    beats.to_file(folder / "网格.geojson", driver="GeoJSON")
    crimes = pd.read_csv(paths["crimes.csv"])
    pts = gpd.GeoSeries(gpd.points_from_xy(crimes["x_coord"], crimes["y_coord"]), crs=UTM)
    pts = pts.to_crs(4326).translate(113.30 - WEST, 23.10 - SOUTH)
    glon, glat = to_gcj02(pts.x.to_numpy(), pts.y.to_numpy())
    classes = {"THEFT": "刑事", "BATTERY": "治安", "ROBBERY": "刑事", "CRIMINAL DAMAGE": "纠纷",
               "BURGLARY": "求助"}  # fmt: skip
    pd.DataFrame(
        {
            "警情编号": crimes["case_number"],
            "报警时间": pd.to_datetime(crimes["date"], format="%m/%d/%Y %I:%M:%S %p").dt.strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "警情类别": crimes["primary_type"].map(classes),
            "经度": glon.round(6),
            "纬度": glat.round(6),
        }
    ).to_csv(folder / "警情.csv", index=False, encoding="utf-8")
    return {"areas": folder / "街道.geojson", "beats": folder / "网格.geojson",
            "incidents": folder / "警情.csv"}  # fmt: skip


def write_shifted_osm(source: Path, target: Path) -> Path:
    """The shared OSM extract moved by the same offset as the Chinese city (a street network
    in Guangzhou for tests; the streets' shapes are Philadelphia's)."""
    import re

    dlon, dlat = 113.30 - WEST, 23.10 - SOUTH
    text = source.read_text(encoding="utf-8")

    def move(match: re.Match[str]) -> str:
        name, value = match.group(1), float(match.group(2))
        value += dlat if name.endswith("lat") else dlon
        return f'{name}="{value:.7f}"'

    target.write_text(
        re.sub(r'\b(lat|lon|minlat|minlon|maxlat|maxlon)="([-0-9.]+)"', move, text),
        encoding="utf-8",
    )
    return target
