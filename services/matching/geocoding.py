"""The matching worker's geocoding job: drains the geocoding queue every minute (decision 0015).

Rounds of ``geocoding_batch_size`` addresses run until the queue holds nothing due or the
minute is used up; an address whose geocoder was down comes back after its backoff. The QPV
index is loaded once and loaded again when a new QPV dataset is imported.
"""

from __future__ import annotations

import time
from typing import Any, cast

from services.core.db import SessionMaker, unit_of_work
from services.core.geo.qpv import QpvIndex, load_qpv_index
from services.core.geocoding.ban import BanGeocoder
from services.core.geocoding.queue import any_due, geocode_round
from services.core.logging import get_logger
from services.core.referentials.store import DatasetKind, current_dataset
from services.core.settings import Settings

log = get_logger("maillon.geocoding")

# A run stops starting rounds after this long: the next minute's run goes on.
RUN_BUDGET_SECONDS = 50.0


async def _qpv_index(ctx: dict[str, Any], sessionmaker: SessionMaker) -> QpvIndex | None:
    async with unit_of_work(sessionmaker) as session:
        dataset = await current_dataset(session, DatasetKind.QPV)
        if dataset is None:
            return None
        cached = cast(QpvIndex | None, ctx.get("qpv_index"))
        if (
            cached is not None
            and cached.dataset is not None
            and (cached.dataset.version == dataset.version)
        ):
            return cached
        index = await load_qpv_index(session)
    ctx["qpv_index"] = index
    return index if len(index) else None


async def geocode_addresses(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron job: geocode the due addresses, round after round, within the run's budget."""
    settings = cast(Settings, ctx["settings"])
    sessionmaker = cast(SessionMaker, ctx["sessionmaker"])
    totals = {"claimed": 0, "located": 0, "unmatched": 0, "postponed": 0, "dropped": 0}
    if not settings.geocoder_enabled or not await any_due(sessionmaker):
        return totals  # the QPV index is loaded only once there is work for it
    qpv = await _qpv_index(ctx, sessionmaker)
    if qpv is None:
        # Without polygons no residence can be decided: the addresses wait (they stay due).
        log.warning("geocoding_waits_for_qpv_reference")
        return totals
    started = time.monotonic()
    async with BanGeocoder.from_settings(settings) as geocoder:
        while time.monotonic() - started < RUN_BUDGET_SECONDS:
            done = await geocode_round(sessionmaker, geocoder, qpv, settings)
            for name in totals:
                totals[name] += getattr(done, name)
            if done.claimed < settings.geocoding_batch_size or done.postponed:
                break  # the queue is drained, or the geocoder is down: wait for the next run
    return totals
