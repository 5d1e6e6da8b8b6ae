"""A batch's events go to the outbox in one statement, as ``emit`` would write each."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.events import CallbackOverdue, emit, emit_many
from services.core.models.outbox import OutboxEvent


async def test_emit_many_writes_what_emit_writes(db_session: AsyncSession) -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    await emit_many(db_session, [CallbackOverdue(callback_id=i) for i in ids], request_id="r-1")
    emit(db_session, CallbackOverdue(callback_id=ids[0]), request_id="r-2")
    await emit_many(db_session, [])  # nothing to write
    await db_session.flush()

    rows = list(await db_session.scalars(select(OutboxEvent).order_by(col(OutboxEvent.id))))
    assert [(r.type, r.payload, r.request_id) for r in rows] == [
        ("callback.overdue", {"callback_id": str(i)}, "r-1") for i in ids
    ] + [("callback.overdue", {"callback_id": str(ids[0])}, "r-2")]
    assert len({r.id for r in rows}) == 4
    assert all(r.published_at is None and r.publish_attempts == 0 for r in rows)
    assert rows[0].occurred_at == rows[2].occurred_at <= rows[3].occurred_at
