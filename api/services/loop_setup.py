"""Wiring of the residents-and-departments loop into the application: configuration on
``app.state`` and the SLA sweep running in the server's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from api.settings import Settings

from .loop_config import LoopConfigError, StageLimits, load_departments, load_open311
from .ratelimit import RateLimiter

__all__ = ["install_loop", "sla_background"]

log = logging.getLogger("patrolgrid.sla")


def install_loop(app: Any, settings: Settings) -> None:
    """Read the department list and the Open311 service list (a bad file refuses to start,
    :class:`api.services.loop_config.LoopConfigError`) and put them on ``app.state``."""
    if settings.sla_webhook_url and not settings.sla_webhook_secret.get_secret_value():
        msg = "PATROLGRID_SLA_WEBHOOK_SECRET: needed to sign webhooks to PATROLGRID_SLA_WEBHOOK_URL"
        raise LoopConfigError(msg)
    departments = load_departments(settings.departments_path)
    app.state.departments = departments
    app.state.open311 = load_open311(settings.open311_services_path, departments=departments)
    app.state.stage_limits = StageLimits(settings.stage_limits_s, departments)
    app.state.rate_limiter = RateLimiter()


@contextlib.asynccontextmanager
async def sla_background(app: Any) -> AsyncIterator[None]:
    """Run :func:`api.services.sla.sweep` every ``PATROLGRID_SLA_INTERVAL_S`` while serving."""
    interval_s = app.state.settings.sla_interval_s
    if interval_s <= 0:
        yield
        return
    from .sla import sweep

    async def run() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await asyncio.to_thread(sweep, app.state.database, app.state.settings)
            except Exception:  # keep sweeping; the next run retries
                log.exception("SLA sweep failed")

    task = asyncio.create_task(run(), name="sla-sweep")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
