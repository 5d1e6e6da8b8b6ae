"""A batch's events go to the outbox in one statement, as ``emit`` would write each."""

from __future__ import annotations

import uuid

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.events import (
    OUTBOX_COLUMNS,
    CallbackOverdue,
    CandidateCreated,
    emit,
    emit_many,
    outbox_row,
)
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


def test_every_way_builds_the_same_row() -> None:
    """``emit``, ``emit_many`` and the people writer all take their rows from ``outbox_row``:
    the columns it fills are the ones the writer sends, the rest left to the outbox's defaults."""
    event = CandidateCreated(candidate_id=uuid.uuid4())
    row = outbox_row(event, request_id="r-1")
    assert tuple(row) == OUTBOX_COLUMNS
    assert row["type"] == "candidate.created"
    assert row["payload"] == {"candidate_id": str(event.candidate_id)}  # JSON-ready
    assert row["publish_attempts"] == 0 and row["request_id"] == "r-1"
    table = {column.key for column in inspect(OutboxEvent).columns}
    assert table - set(OUTBOX_COLUMNS) == {"published_at", "last_error", "handled_at"}
