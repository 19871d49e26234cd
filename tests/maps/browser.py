"""Open a local page in headless Debian Chromium with every network request blocked.

Shared by the browser tests and ``benchmarks.map_load``: the page is loaded from a
``file://`` URL, any request that is not ``file:``/``data:``/``blob:``/``about:`` is aborted
and recorded, console errors and page errors are collected.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def chromium_available() -> bool:
    """Whether Debian's Chromium and python playwright are installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return shutil.which("chromium") is not None and Path(CHROMIUM).exists()


@dataclass
class PageLoad:
    """What happened while a page loaded."""

    load_s: float
    external_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    js_heap_mb: float = float("nan")
    browser_rss_mb: float = float("nan")


def open_offline(
    page_path: Path,
    *,
    checks: dict[str, str],
    screenshot: Path | None = None,
    settle_s: float = 0.5,
    user_data_dir: Path | None = None,
    actions: str | None = None,
) -> PageLoad:
    """Load ``page_path`` offline, evaluate ``checks`` (name -> JS expression) and report.

    ``actions`` is JavaScript run after load and before the checks (e.g. opening a popup).
    """
    from playwright.sync_api import sync_playwright

    external: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        args = [f for f in FLAGS if f != "--headless"]
        if user_data_dir is not None:
            context = pw.chromium.launch_persistent_context(
                str(user_data_dir),
                executable_path=CHROMIUM,
                headless=True,
                args=args,
                viewport={"width": 1200, "height": 800},
            )
            browser = None
        else:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            context = browser.new_context(viewport={"width": 1200, "height": 800})

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith(LOCAL_SCHEMES):
                r.continue_()
            else:
                external.append(url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        start = time.perf_counter()
        page.goto(page_path.resolve().as_uri(), wait_until="load", timeout=120_000)
        # Two animation frames after load: Leaflet has painted its canvas and SVG layers.
        page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        load_s = time.perf_counter() - start
        rss_mb = _browser_rss_mb()
        page.wait_for_timeout(int(settle_s * 1000))
        if actions:
            page.evaluate(actions)
            page.wait_for_timeout(300)
        results = {name: page.evaluate(expr) for name, expr in checks.items()}
        heap = page.evaluate(
            "() => (performance.memory ? performance.memory.usedJSHeapSize / 1048576 : NaN)"
        )
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
        context.close()
        if browser is not None:
            browser.close()
    return PageLoad(load_s, external, errors, results, float(heap), rss_mb)


def _browser_rss_mb() -> float:
    """Proportional set size (PSS) of the browser processes this Python process started."""
    import psutil

    total = 0
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name().lower():
                total += child.memory_full_info().pss
        except psutil.Error:
            continue
    return total / 1048576
