"""Idempotent event consumers run by arq workers.

A job receives an event id, never the event: it loads the committed outbox row, and in ONE
transaction records ``(consumer, event id)`` in ``processed_event`` and runs the handler. A second
delivery finds the row and does nothing, so an event has its effect exactly once. A handler that
raises is retried with exponential backoff; after the last try the event is written to
``failed_event`` for a human to look at.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from arq import Retry
from arq.worker import Function, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.backoff import exponential_seconds
from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.events import Consumer, Event, parse_event
from services.core.ids import uuid7
from services.core.logging import get_logger
from services.core.models.outbox import FailedEvent, OutboxEvent, ProcessedEvent
from services.core.relay import JOB_FUNCTION
from services.core.settings import Settings

log = get_logger(__name__)


@dataclass(frozen=True)
class HandlerContext:
    session: AsyncSession
    event_id: uuid.UUID
    settings: Settings


Handler = Callable[[HandlerContext, Any], Awaitable[None]]


def backoff_seconds(job_try: int, settings: Settings) -> float:
    """Exponential backoff with jitter: base, 2×base, 4×base… capped."""
    delay = exponential_seconds(
        job_try, settings.job_retry_base_seconds, settings.job_retry_max_seconds
    )
    return float(delay * random.uniform(0.75, 1.25))  # noqa: S311  (jitter, not security)


class EventConsumer:
    """The handlers of one worker service, by event type."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self._handlers: dict[str, Handler] = {}

    def on(self, event: type[Event]) -> Callable[[Handler], Handler]:
        if self.consumer not in event.consumers:
            raise ValueError(f"{event.type} is not delivered to {self.consumer}")

        def register(handler: Handler) -> Handler:
            if event.type in self._handlers:
                raise ValueError(f"{event.type} already has a handler in {self.consumer}")
            self._handlers[event.type] = handler
            return handler

        return register

    @property
    def handled_types(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def job_function(self, settings: Settings) -> Function:
        async def handle_event(ctx: dict[str, Any], event_id: str) -> str:
            return await self.handle(
                cast(SessionMaker, ctx["sessionmaker"]),
                uuid.UUID(event_id),
                job_try=int(ctx.get("job_try", 1)),
                settings=settings,
            )

        return func(handle_event, name=JOB_FUNCTION, max_tries=settings.job_max_tries)

    async def handle(
        self, sessionmaker: SessionMaker, event_id: uuid.UUID, *, job_try: int, settings: Settings
    ) -> str:
        try:
            return await self._handle_once(sessionmaker, event_id, settings)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if job_try >= settings.job_max_tries:
                await self._record_failure(sessionmaker, event_id, job_try, error)
                return "failed"
            delay = backoff_seconds(job_try, settings)
            log.warning(
                "event_retry",
                consumer=self.consumer.value,
                event_id=str(event_id),
                job_try=job_try,
                error=type(exc).__name__,
                retry_in_s=round(delay, 3),
            )
            raise Retry(defer=delay) from exc

    async def _handle_once(
        self, sessionmaker: SessionMaker, event_id: uuid.UUID, settings: Settings
    ) -> str:
        async with unit_of_work(sessionmaker) as session:
            claimed = await session.execute(
                insert(ProcessedEvent)
                .values(consumer=self.consumer.value, event_id=event_id, processed_at=now())
                .on_conflict_do_nothing()
                .returning(col(ProcessedEvent.event_id))
            )
            if claimed.first() is None:
                log.info("event_duplicate", consumer=self.consumer.value, event_id=str(event_id))
                return "duplicate"
            row = await session.get(OutboxEvent, event_id)
            if row is None:
                log.warning("event_missing", consumer=self.consumer.value, event_id=str(event_id))
                return "missing"
            handler = self._handlers.get(row.type)
            if handler is None:
                return "ignored"
            event = parse_event(row.type, row.payload)
            await handler(HandlerContext(session, event_id, settings), event)
            log.info(
                "event_handled", consumer=self.consumer.value, event_id=str(event_id), type=row.type
            )
            return "handled"

    async def _record_failure(
        self, sessionmaker: SessionMaker, event_id: uuid.UUID, attempts: int, error: str
    ) -> None:
        async with unit_of_work(sessionmaker) as session:
            row = await session.get(OutboxEvent, event_id)
            await session.execute(
                insert(FailedEvent)
                .values(
                    id=uuid7(),
                    failed_at=now(),
                    consumer=self.consumer.value,
                    event_id=event_id,
                    event_type=row.type if row is not None else "inconnu",
                    attempts=attempts,
                    error=error,
                )
                .on_conflict_do_nothing()
            )
        log.error(
            "event_failed",
            consumer=self.consumer.value,
            event_id=str(event_id),
            attempts=attempts,
        )
