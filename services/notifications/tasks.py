"""Scheduled jobs of the notifications worker."""

from __future__ import annotations

import time
from typing import Any, cast

from services.core.calendar import is_working_day
from services.core.clock import PARIS, now
from services.core.db import SessionMaker, unit_of_work
from services.core.housekeeping import purge
from services.core.logging import get_logger
from services.core.settings import Settings
from services.notifications import delivery, webhooks

log = get_logger(__name__)

# The delivery sweeps' job timeout: each sweep stops claiming in time to end before it, rather
# than be cancelled in the middle of a batch (decision 0087).
SWEEP_TIMEOUT_SECONDS = 300


async def purge_kernel_tables(ctx: dict[str, Any]) -> dict[str, int]:
    """Nightly: expired idempotency records, old published events."""
    settings = cast(Settings, ctx["settings"])
    async with unit_of_work(cast(SessionMaker, ctx["sessionmaker"])) as session:
        purged = await purge(session, outbox_retention_days=settings.outbox_retention_days)
    log.info(
        "kernel_tables_purged",
        idempotency_records=purged.idempotency_records,
        outbox_events=purged.outbox_events,
        processed_events=purged.processed_events,
    )
    return {
        "idempotency_records": purged.idempotency_records,
        "outbox_events": purged.outbox_events,
        "processed_events": purged.processed_events,
    }


async def deliver_notifications(ctx: dict[str, Any]) -> dict[str, int]:
    """Every few seconds: send the due notification rows (decision 0022)."""
    settings = cast(Settings, ctx["settings"])
    report = await delivery.sweep(
        cast(SessionMaker, ctx["sessionmaker"]),
        settings,
        deadline=time.monotonic() + SWEEP_TIMEOUT_SECONDS,
    )
    return report.as_dict()


async def deliver_webhooks(ctx: dict[str, Any]) -> dict[str, int]:
    """Every few seconds: POST the due webhook deliveries (decision 0023)."""
    settings = cast(Settings, ctx["settings"])
    report = await webhooks.sweep(
        cast(SessionMaker, ctx["sessionmaker"]),
        settings,
        deadline=time.monotonic() + SWEEP_TIMEOUT_SECONDS,
    )
    return report.as_dict()


async def build_daily_digests(ctx: dict[str, Any]) -> int:
    """Hourly; at the digest hour (Europe/Paris) of a working day, gather held alerts into one
    digest each (weekends and public holidays: they wait for the next working day)."""
    settings = cast(Settings, ctx["settings"])
    local = now().astimezone(PARIS)
    if local.hour != settings.notification_digest_hour or not is_working_day(local.date()):
        return 0
    return await delivery.build_digests(cast(SessionMaker, ctx["sessionmaker"]))


async def purge_notifications(ctx: dict[str, Any]) -> dict[str, int]:
    """Nightly: finished notifications and webhook deliveries past their retention."""
    settings = cast(Settings, ctx["settings"])
    purged = await delivery.purge_finished(
        cast(SessionMaker, ctx["sessionmaker"]), settings.notification_retention_days
    )
    log.info("notifications_purged", **purged)
    return purged
