"""Scheduled jobs of the notifications worker."""

from __future__ import annotations

from typing import Any, cast

from services.core.db import SessionMaker, unit_of_work
from services.core.housekeeping import purge
from services.core.logging import get_logger
from services.core.settings import Settings

log = get_logger(__name__)


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
