"""Event types and helpers the kernel tests share (the catalogue's real events carry domain ids)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from arq.worker import Worker

from services.core.events import Consumer, Event
from services.core.jobs import EventConsumer
from services.core.settings import Settings
from services.core.worker import worker_settings


class Pinged(Event):
    type: ClassVar[str] = "kernel.pinged"
    consumers: ClassVar[frozenset[Consumer]] = frozenset({Consumer.MATCHING})
    ping_id: uuid.UUID


class Broadcast(Event):
    type: ClassVar[str] = "kernel.broadcast"
    consumers: ClassVar[frozenset[Consumer]] = frozenset(
        {Consumer.MATCHING, Consumer.NOTIFICATIONS}
    )
    ping_id: uuid.UUID


def burst_worker(consumer: EventConsumer, settings: Settings, **overrides: Any) -> Worker:
    """A real arq worker that stops once its queue is empty (deferred retries included)."""
    kwargs = worker_settings(consumer, settings)
    kwargs.update(burst=True, poll_delay=0.02, handle_signals=False, **overrides)
    return Worker(**kwargs)
