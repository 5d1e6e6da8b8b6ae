"""The transactional outbox and the consumers' bookkeeping."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from services.core.clock import now
from services.core.ids import uuid7


class OutboxEvent(SQLModel, table=True):
    """A domain event written in the same transaction as the change it describes.

    The relay publishes it to the consumers' queues after commit; ``id`` is the event id.
    """

    __tablename__ = "outbox_event"
    __table_args__ = (
        # The relay only ever scans pending rows: keep that index tiny.
        Index(
            "ix_outbox_event_pending",
            "occurred_at",
            postgresql_where=text("published_at IS NULL"),
        ),
        # The reconciler only ever scans published events not yet handled by every consumer
        # (decision 0057): a minute or so of events, whatever the outbox's size.
        Index(
            "ix_outbox_event_unhandled",
            "published_at",
            postgresql_where=text("published_at IS NOT NULL AND handled_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    type: str = Field(sa_type=String(100), nullable=False)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB, nullable=False)
    occurred_at: datetime = Field(default_factory=now, sa_type=DateTime(timezone=True))
    request_id: str | None = Field(default=None, sa_type=String(64))
    published_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    publish_attempts: int = Field(default=0, sa_type=Integer, nullable=False)
    last_error: str | None = Field(default=None, sa_type=Text)
    # Set by the reconciler once every consumer has handled the event (a ``processed_event`` row)
    # or recorded it as failed (a ``failed_event`` row): the event needs nothing more.
    handled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ProcessedEvent(SQLModel, table=True):
    """One row per (consumer, event) handled: what makes a consumer idempotent."""

    __tablename__ = "processed_event"

    consumer: str = Field(sa_type=String(50), primary_key=True)
    event_id: uuid.UUID = Field(primary_key=True)
    processed_at: datetime = Field(default_factory=now, sa_type=DateTime(timezone=True))


class FailedEvent(SQLModel, table=True):
    """An event a consumer could not handle after every try (dead letter), kept for a human."""

    __tablename__ = "failed_event"
    __table_args__ = (UniqueConstraint("consumer", "event_id"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    consumer: str = Field(sa_type=String(50), nullable=False)
    event_id: uuid.UUID = Field(nullable=False)
    event_type: str = Field(sa_type=String(100), nullable=False)
    attempts: int = Field(sa_type=Integer, nullable=False)
    # Exception class and message only: handlers must not put personal data in exceptions.
    error: str = Field(sa_type=Text, nullable=False)
    failed_at: datetime = Field(default_factory=now, sa_type=DateTime(timezone=True))
    resolved_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
