"""Hotspot forecasts on Philadelphia 2016 and a generated city, scored like the NIJ challenge.

Run: ``python -m benchmarks.forecast`` (the held-out target below; ``--quick`` for a smoke run),
``python -m benchmarks.forecast --tables`` (every method on validation and test months).

Held-out target (the default run). Cases are (city, category, window): Philadelphia 2016 (all
incidents and seven categories, test origins July-October) and the generated city of
:mod:`benchmarks._synthetic_incidents` (all incidents and four categories, origins March,
May, July and September of its second year), windows 1w, 2w, 1m, 2m, 3m. The default method
(``auto``) chooses per case and origin by backtesting on the history before the origin only. Per
case: its hits over naive's hits summed over origins (PAI ratio), and the share of the
perfect-foresight gap it closed, ``(auto - naive) / (perfect - naive)`` hits, and whether a loss
is beyond chance (one-sided sign test on the incidents only one of the two flagged areas caught,
divided by the windows' overlap). Printed: every case, the mean and the worst ratio, the cases
below 0.95 and how many of them are beyond chance, the noise floor (naive with its ties broken
at random, :data:`NOISE_DRAWS` draws, scored the same way), the mean gap closed, and how often
each method was chosen. ``--phl-origins validation`` scores March-June origins instead (less
history); ``--synthetic-seed`` generates another city.

The tables (``--tables``):

Cells of 183 m over the city's police districts. For each forecast origin (the first of a month)
and each NIJ window (1w, 2w, 1m, 2m, 3m), every method forecasts with only the incidents before the
origin and is scored on the window after it, flagging 0.75 square miles of cells. Origins are
split in two: VALIDATION months (March-June; their windows end by 1 July) on which the default
method was chosen, and TEST months (July-October), reported separately and never used for tuning.
Printed: PAI and PEI* medians over origins per method and window, and each method's PAI ratio to
the naive past-year count baseline measured in the same run.

``--ceiling`` adds two rows that are not forecasts. ``oracle`` scores cells by their counts over
the whole data except the scored window (so it sees later months): it bounds what any forecast of
a steady intensity could gain over naive on these windows. ``perfect`` scores cells by the scored
window's own counts (PEI* = 1): no forecast can do better, so its ratio to naive (1 / naive's
PEI*) is the most any method can gain on that window.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from geo.forecast import (
    DEFAULT_METHOD,
    METHODS,
    CellEvents,
    Lattice,
    cell_events,
    choose_method,
    make_lattice,
    score_cells,
)
from geo.forecast_eval import WINDOWS, ForecastScore, flag_cells, score_forecast, window_end

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "philadelphia"
YEAR = DATA / "incidents_2016"
VALIDATION = ("2016-03-01", "2016-04-01", "2016-05-01", "2016-06-01")
#: Validation windows must end by this day (the first test origin): no look at test months.
VALIDATION_END = "2016-07-01"
TEST = ("2016-07-01", "2016-08-01", "2016-09-01", "2016-10-01")
CATEGORIES = (
    "all",
    "Thefts",
    "Theft from Vehicle",
    "Burglary Residential",
    "Aggravated Assault Firearm",
    "Robbery Firearm",
    "Narcotic / Drug Law Violations",
    "Motor Vehicle Theft",
)


def load_year(folder: Path) -> gpd.GeoDataFrame:
    """All 2016 incidents through the project's loader (Philadelphia preset)."""
    from geo.incidents import load_incidents

    frames = [
        load_incidents(path).incidents for path in sorted(folder.glob("incidents_2016_*.csv"))
    ]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")


def _ns(day: str) -> int:
    return int(pd.Timestamp(day, tz="UTC").as_unit("ns").value)


def run_split(
    lattice: Lattice,
    events: CellEvents,
    context: CellEvents | None,
    origins: tuple[str, ...],
    methods: tuple[str, ...],
    area_sq_mi: float,
    until: str | None = None,
    everything_after: bool = False,
) -> pd.DataFrame:
    """One row per (origin, window, method) with PAI, PEI*, hits and incidents.

    Windows ending after ``until`` are skipped (validation never looks at test months). With
    ``everything_after``, the row ``oracle`` scores cells by all events outside the window and
    ``perfect`` by the window's own events.
    """
    rows = []
    for origin in origins:
        t0 = pd.Timestamp(origin, tz="UTC")
        for window in WINDOWS:
            end = window_end(t0, window)
            if until is not None and end > pd.Timestamp(until, tz="UTC"):
                continue
            horizon = (end - t0) / pd.Timedelta(days=1)
            actual = events.between(_ns(origin), int(end.as_unit("ns").value)).counts(
                lattice.n_cells
            )
            for method in (*methods, "oracle", "perfect") if everything_after else methods:
                start = time.perf_counter()
                if method == "perfect":  # the window's own counts: PEI* = 1 by definition
                    result = score_forecast(
                        actual.astype(float), actual, lattice.cell_area_m2, area_sq_mi=area_sq_mi
                    )
                    rows.append(_row(origin, window, method, result, start))
                    continue
                if method == "oracle":
                    outside = (events.time_ns < _ns(origin)) | (
                        events.time_ns >= int(end.as_unit("ns").value)
                    )
                    counts = np.bincount(events.cell[outside], minlength=lattice.n_cells)
                    result = score_forecast(
                        counts.astype(float), actual, lattice.cell_area_m2, area_sq_mi=area_sq_mi
                    )
                    rows.append(_row(origin, window, method, result, start))
                    continue
                scores = score_cells(
                    lattice,
                    events,
                    train_until_ns=_ns(origin),
                    horizon_days=horizon,
                    method=method,
                    context=context,
                )
                result = score_forecast(scores, actual, lattice.cell_area_m2, area_sq_mi=area_sq_mi)
                rows.append(_row(origin, window, method, result, start))
    return pd.DataFrame(rows)


def _row(origin: str, window: str, method: str, result: ForecastScore, start: float) -> dict:
    return {
        "origin": origin,
        "window": window,
        "method": method,
        "pai": result.pai,
        "pei_star": result.pei_star,
        "hits": result.hits,
        "incidents": result.incidents,
        "seconds": time.perf_counter() - start,
    }


def summarise(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Per method and window: median PAI and PEI* over origins, and the PAI ratio to naive.

    The ratio is total hits over total naive hits across origins: both flag the same area of the
    same cells against the same incidents, so it is the ratio of incident-weighted mean PAIs.
    Prints one line per method and returns the ratios (method x window).
    """
    frame = frame.dropna(subset=["pai"])
    hits = frame.pivot_table(index="method", columns="window", values="hits", aggfunc="sum")
    # undefined (NaN, left out of means) where naive caught nothing over all origins
    ratio = hits.div(hits.loc["naive"].where(hits.loc["naive"] > 0), axis=1)
    pai = frame.pivot_table(index="method", columns="window", values="pai", aggfunc="median")
    pei = frame.pivot_table(index="method", columns="window", values="pei_star", aggfunc="median")
    order = [w for w in WINDOWS if w in ratio.columns]
    print(f"\n== {label}: PAI median | PEI* median | PAI / naive PAI ==")
    print("           " + " | ".join(f"{w:^19s}" for w in order) + " | mean  min")
    for method in [m for m in frame["method"].unique() if m in ratio.index]:
        cells = [
            f"{pai.loc[method, w]:6.2f} {pei.loc[method, w]:.2f} {ratio.loc[method, w]:.2f}x"
            for w in order
        ]
        r = ratio.loc[method, order]
        print(f"  {method:9s} " + " | ".join(cells) + f" | {r.mean():.2f}x {r.min():.2f}x")
    return ratio[order]


def summarise_categories(ratios: dict[str, pd.DataFrame], label: str) -> None:
    """Mean over categories of each method's per-window PAI ratio (each category weighs one)."""
    stacked = pd.concat(ratios, names=["category"])
    mean = stacked.groupby(level="method", sort=False).mean()
    print(f"\n== {label}: PAI / naive PAI, mean over {len(ratios)} categories ==")
    print("           " + " | ".join(f"{w:^6s}" for w in mean.columns) + " |  mean   min")
    for method, row in mean.iterrows():
        cells = " | ".join(f"{v:5.2f}x" for v in row)
        print(f"  {method!s:9s} {cells} | {row.mean():5.2f}x {row.min():5.2f}x")
    if DEFAULT_METHOD in stacked.index.get_level_values("method"):
        own = stacked.xs(DEFAULT_METHOD, level="method")
        print(f"\n== {label}: {DEFAULT_METHOD} PAI / naive PAI per category ==")
        print(" " * 32 + " | ".join(f"{w:^5s}" for w in own.columns) + " | mean   min")
        for category, row in own.iterrows():
            cells = " | ".join(f"{v:5.2f}" for v in row)
            print(f"  {category!s:30s}{cells} | {row.mean():5.2f} {row.min():5.2f}")
        print(
            f"  mean of category means {own.mean(axis=1).mean():.2f}x, lowest category mean "
            f"{own.mean(axis=1).min():.2f}x, lowest single window {own.min(axis=None):.2f}x"
        )


#: Held-out origins every two weeks (more origins, less noise in sparse categories' ratios);
#: their 3-month windows end inside the data.
HELD_OUT_ORIGINS = tuple(
    str(d.date()) for d in pd.date_range("2016-07-01", "2016-10-01", freq="14D")
)
#: Draws of naive with random tie-breaks (the noise floor of a case's ratio).
NOISE_DRAWS = 20

#: Earlier origins, every two weeks from March to June (less history before them: the data start
#: in January 2016); a check on other months, not the target.
VALIDATION_ORIGINS = tuple(
    str(d.date()) for d in pd.date_range("2016-03-01", "2016-06-30", freq="14D")
)
SYNTHETIC_ORIGINS = tuple(
    str(d.date()) for d in pd.date_range("2024-03-01", "2024-09-30", freq="14D")
)


def held_out_cases(
    city: str,
    incidents: gpd.GeoDataFrame,
    lattice: Lattice,
    categories: tuple[str, ...],
    origins: tuple[str, ...],
    area_sq_mi: float,
    windows: tuple[str, ...] = tuple(WINDOWS),
    auto_params: dict | None = None,
) -> pd.DataFrame:
    """One row per (category, origin, window): hits of auto, naive and perfect, auto's choice."""
    everything, _ = cell_events(incidents, lattice)
    rows = []
    rng = np.random.default_rng(0)
    for category in categories:
        if category == "all":
            events, context = everything, None
        else:
            chosen = incidents.loc[incidents["category"].astype(str) == category]
            events, context = cell_events(chosen, lattice)[0], everything
        for origin in origins:
            t0 = pd.Timestamp(origin, tz="UTC")
            naive = score_cells(
                lattice, events, train_until_ns=_ns(origin), horizon_days=7.0, method="naive"
            )
            for window in windows:
                end = window_end(t0, window)
                horizon = (end - t0) / pd.Timedelta(days=1)
                actual = events.between(_ns(origin), int(end.as_unit("ns").value)).counts(
                    lattice.n_cells
                )
                start = time.perf_counter()
                backtest = choose_method(
                    lattice,
                    events,
                    train_until_ns=_ns(origin),
                    horizon_days=horizon,
                    context=context,
                    params={"flag_sq_mi": area_sq_mi, **(auto_params or {})},
                )
                auto = score_cells(
                    lattice,
                    events,
                    train_until_ns=_ns(origin),
                    horizon_days=horizon,
                    method=backtest.method,
                    context=context,
                )
                seconds = time.perf_counter() - start
                area = lattice.cell_area_m2
                r_auto = score_forecast(auto, actual, area, area_sq_mi=area_sq_mi)
                r_naive = score_forecast(naive, actual, area, area_sq_mi=area_sq_mi)
                r_best = score_forecast(actual.astype(float), actual, area, area_sq_mi=area_sq_mi)
                # the cells score_forecast flagged, to tell the incidents only one side caught
                mine = np.zeros(actual.size, dtype=bool)
                mine[flag_cells(auto, area, area_sq_mi=area_sq_mi)] = True
                theirs = np.zeros(actual.size, dtype=bool)
                theirs[flag_cells(naive, area, area_sq_mi=area_sq_mi)] = True
                # The noise floor: naive with its ties between equal counts broken at random is
                # naive in expectation; how far it strays from naive is chance alone.
                jitter = rng.random((NOISE_DRAWS, actual.size)) * 0.5
                ties = [
                    score_forecast(naive + j, actual, area, area_sq_mi=area_sq_mi).hits
                    for j in jitter
                ]
                rows.append(
                    {
                        "city": city,
                        "category": category,
                        "origin": origin,
                        "window": window,
                        "chosen": backtest.method,
                        "auto": r_auto.hits,
                        "naive": r_naive.hits,
                        "perfect": r_best.hits,
                        "only_auto": int(actual[mine & ~theirs].sum()),
                        "only_naive": int(actual[theirs & ~mine].sum()),
                        "naive_ties": ties,
                        "incidents": r_auto.incidents,
                        "naive_pai": r_naive.pai,
                        "auto_pai": r_auto.pai,
                        "seconds": seconds,
                    }
                )
    return pd.DataFrame(rows)


def summarise_target(rows: pd.DataFrame) -> pd.DataFrame:
    """Per case (city, category, window): ratio to naive and perfect-foresight gap closed."""
    cases = rows.groupby(["city", "category", "window"], sort=False)[
        ["auto", "naive", "perfect", "incidents", "only_auto", "only_naive"]
    ].sum()
    cases = cases.loc[cases["naive"] > 0].copy()
    cases["ratio"] = cases["auto"] / cases["naive"]
    # Is a loss more than chance? Of the incidents only one of the two flagged areas caught, each
    # is as likely to fall on either side when auto is no worse than naive (sign test, one-sided).
    # Windows longer than the origins' spacing overlap and count an incident several times: the
    # counts are divided by that overlap first.
    spacing = rows.groupby("city")["origin"].agg(
        lambda o: (
            np.median(np.diff(np.sort(pd.to_datetime(o.unique())))) / pd.Timedelta(days=1)
            if o.nunique() > 1
            else np.inf
        )
    )
    days = {w: (window_end(pd.Timestamp("2016-01-01"), w) - pd.Timestamp("2016-01-01")).days
            for w in WINDOWS}  # fmt: skip
    overlap = np.maximum(
        1.0,
        [days[w] / spacing[c] for c, _, w in cases.index],
    )
    only_auto = np.round(cases["only_auto"] / overlap)
    discordant = only_auto + np.round(cases["only_naive"] / overlap)
    cases["p_worse"] = stats.binom.cdf(only_auto, discordant.clip(lower=1), 0.5)
    cases.loc[discordant == 0, "p_worse"] = 1.0
    gap = (cases["perfect"] - cases["naive"]).where(lambda g: g > 0)
    cases["gap_closed"] = (cases["auto"] - cases["naive"]) / gap
    chosen = rows.groupby(["city", "category", "window"], sort=False)["chosen"].agg(
        lambda c: ",".join(f"{m}x{n}" for m, n in c.value_counts().items())
    )
    cases["chosen"] = chosen.reindex(cases.index)
    print("\n== held out: default (auto) PAI / naive PAI per case, hits summed over origins ==")
    print(
        f"  {'city':12s} {'category':31s} {'win':>3s}  ratio  gap  hits auto/naive/perfect  "
        "only auto/naive  p_worse  chosen"
    )
    for (city, category, window), r in cases.iterrows():
        gap_text = "  -  " if pd.isna(r["gap_closed"]) else f"{r['gap_closed']:+.2f}"
        print(
            f"  {city:12s} {category:31s} {window:>3s}  {r['ratio']:.3f} {gap_text} "
            f"{int(r['auto']):6d}/{int(r['naive'])}/{int(r['perfect'])}  "
            f"{int(r['only_auto']):4d}/{int(r['only_naive']):<4d}  {r['p_worse']:.2f}  {r['chosen']}"
        )
    for city, part in [("all cities", cases), *cases.groupby(level="city", sort=False)]:
        worst = part["ratio"].idxmin()
        print(
            f"  {city}: {len(part)} cases, mean ratio {part['ratio'].mean():.3f}, worst "
            f"{part['ratio'].min():.3f} ({' '.join(worst)}), mean gap closed "
            f"{part['gap_closed'].mean():.3f}, cases below 0.95: {(part['ratio'] < 0.95).sum()} "
            f"(of them worse than naive beyond chance, sign test p < 0.05: "
            f"{((part['ratio'] < 0.95) & (part['p_worse'] < 0.05)).sum()})"
        )
    # noise floor: each draw of naive with random ties, scored like auto
    draws = np.stack(rows["naive_ties"].to_numpy())
    keys = [rows[k] for k in ("city", "category", "window")]
    summed = pd.DataFrame(draws).groupby(keys, sort=False).sum().reindex(cases.index)
    tie_ratios = pd.DataFrame(summed.to_numpy() / cases[["naive"]].to_numpy(), index=cases.index)
    for city, part in [("all cities", tie_ratios), *tie_ratios.groupby(level="city", sort=False)]:
        below = (part.to_numpy() < 0.95).sum(axis=0)
        print(
            f"  noise floor, {city}: naive with ties broken at random ({NOISE_DRAWS} draws) is "
            f"below 0.95 of naive in {np.median(below):.0f} cases (median; {below.min()}-"
            f"{below.max()}), worst case {np.median(part.to_numpy().min(axis=0)):.3f} (median)"
        )
    by_window = cases.groupby(level="window", sort=False)["ratio"].mean()
    print("  mean ratio per window: " + ", ".join(f"{w} {v:.3f}" for w, v in by_window.items()))
    counts = rows["chosen"].value_counts()
    print("  methods chosen: " + ", ".join(f"{m} {n}" for m, n in counts.items()))
    print(f"  seconds per auto forecast (backtest included): median {rows['seconds'].median():.2f}")
    return cases


def _auto_params(args: argparse.Namespace) -> dict:
    out: dict = {}
    for item in args.auto_param or []:
        key, _, value = item.partition("=")
        out[key] = value.split(",") if key == "candidates" else float(value)
    return out


def run_target(args: argparse.Namespace) -> None:
    """The held-out target on Philadelphia and the generated city."""
    from benchmarks._synthetic_incidents import CATEGORIES as SYN_CATEGORIES
    from benchmarks._synthetic_incidents import synthetic_city

    frames = []
    if "philadelphia" in args.cities:
        incidents = load_year(args.data)
        area = gpd.read_file(args.data / "police_districts_2016.geojson")
        geom = incidents.geometry
        lattice = make_lattice(geom.x.to_numpy(), geom.y.to_numpy(), cell_m=args.cell_m, area=area)
        categories = tuple(args.categories or (CATEGORIES[:3] if args.quick else CATEGORIES))
        pool = HELD_OUT_ORIGINS if args.phl_origins == "test" else VALIDATION_ORIGINS
        origins = pool[2:3] if args.quick else pool
        print(f"philadelphia: {len(incidents):,} incidents, {lattice.n_cells:,} cells")
        frames.append(
            held_out_cases(
                "philadelphia",
                incidents,
                lattice,
                categories,
                origins,
                args.area_sq_mi,
                auto_params=_auto_params(args),
            )
        )
    if "synthetic" in args.cities:
        incidents, outline = synthetic_city(args.synthetic_seed)
        geom = incidents.geometry
        lattice = make_lattice(
            geom.x.to_numpy(), geom.y.to_numpy(), cell_m=args.cell_m, area=outline
        )
        categories = ("all", *SYN_CATEGORIES)
        categories = categories[:2] if args.quick else categories
        origins = SYNTHETIC_ORIGINS[4:5] if args.quick else SYNTHETIC_ORIGINS
        print(f"synthetic: {len(incidents):,} incidents, {lattice.n_cells:,} cells")
        frames.append(
            held_out_cases(
                "synthetic",
                incidents,
                lattice,
                categories,
                origins,
                args.area_sq_mi,
                auto_params=_auto_params(args),
            )
        )
    summarise_target(pd.concat(frames, ignore_index=True))


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=YEAR)
    parser.add_argument("--cell-m", type=float, default=183.0)
    parser.add_argument("--area-sq-mi", type=float, default=0.75)
    parser.add_argument("--quick", action="store_true", help="2 categories, 1 origin per split")
    parser.add_argument("--categories", nargs="*", default=None)
    parser.add_argument(
        "--methods",
        nargs="*",
        default=[m for m in METHODS if m != "gbm"],
        help="methods to compare (gbm costs ~30 CPU-s per forecast; add it explicitly)",
    )
    parser.add_argument("--splits", nargs="*", default=["validation", "test"])
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="add the rows 'oracle' (counts outside the window, later months included) and "
        "'perfect' (the window's own counts): bounds, not forecasts",
    )
    parser.add_argument(
        "--tables", action="store_true", help="every method on validation and test months"
    )
    parser.add_argument("--cities", nargs="*", default=["philadelphia", "synthetic"])
    parser.add_argument(
        "--phl-origins",
        choices=["test", "validation"],
        default="test",
        help="held-out Philadelphia origins: July-September (test) or March-June (validation)",
    )
    parser.add_argument(
        "--synthetic-seed", type=int, default=7, help="another generated city (another seed)"
    )
    parser.add_argument(
        "--auto-param",
        action="append",
        help="KEY=VALUE for auto (margin, backtest_min_days, backtest_origins, candidates=a,b)",
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if not args.tables:
        run_target(args)
        print(f"\ntotal {time.perf_counter() - start:.0f} s")
        return
    incidents = load_year(args.data)
    area = gpd.read_file(args.data / "police_districts_2016.geojson")
    geom = incidents.geometry
    lattice = make_lattice(geom.x.to_numpy(), geom.y.to_numpy(), cell_m=args.cell_m, area=area)
    print(
        f"{len(incidents):,} incidents, {lattice.n_cells:,} cells of {args.cell_m:g} m "
        f"({lattice.n_cells * lattice.cell_area_m2 / 2_589_988.11:.1f} sq mi), flag "
        f"{args.area_sq_mi} sq mi; default method: {DEFAULT_METHOD}; loaded in "
        f"{time.perf_counter() - start:.1f} s"
    )
    everything, outside = cell_events(incidents, lattice)
    print(f"{outside:,} incidents outside the cells or without a time")
    categories = args.categories or (CATEGORIES[:2] if args.quick else CATEGORIES)
    splits = {"validation": VALIDATION, "test": TEST}
    methods = tuple(args.methods)
    if "naive" not in methods:
        methods = ("naive", *methods)
    for name in args.splits:
        origins = splits[name][1:2] if args.quick else splits[name]
        ratios: dict[str, pd.DataFrame] = {}
        for category in categories:
            if category == "all":
                events, context = everything, None
            else:
                chosen = incidents.loc[incidents["category"].astype(str) == category]
                events, context = cell_events(chosen, lattice)[0], everything
            until = VALIDATION_END if name == "validation" else None
            frame = run_split(
                lattice, events, context, origins, methods, args.area_sq_mi, until, args.ceiling
            )
            ratios[category] = summarise(frame, f"{name} {origins[0]}..{origins[-1]} [{category}]")
        single = {c: r for c, r in ratios.items() if c != "all"}
        if len(single) > 1:
            summarise_categories(single, f"{name}, per category")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
