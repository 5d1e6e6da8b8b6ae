"""Periodic clean-up of the kernel's own tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import now
from services.core.models.idempotency import IdempotencyRecord
from services.core.models.outbox import OutboxEvent, ProcessedEvent


@dataclass(frozen=True)
class Purged:
    idempotency_records: int
    outbox_events: int
    processed_events: int


async def purge(session: AsyncSession, *, outbox_retention_days: int) -> Purged:
    """Drop expired idempotency records, and published events (with their consumption marks)
    older than the retention period. Pending events are never dropped."""
    moment = now()
    horizon = moment - timedelta(days=outbox_retention_days)
    idem = await session.execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.expires_at) < moment)
    )
    processed = await session.execute(
        delete(ProcessedEvent).where(col(ProcessedEvent.processed_at) < horizon)
    )
    events = await session.execute(
        delete(OutboxEvent).where(
            col(OutboxEvent.published_at).is_not(None), col(OutboxEvent.published_at) < horizon
        )
    )
    return Purged(
        idempotency_records=idem.rowcount,  # type: ignore[attr-defined]
        outbox_events=events.rowcount,  # type: ignore[attr-defined]
        processed_events=processed.rowcount,  # type: ignore[attr-defined]
    )
