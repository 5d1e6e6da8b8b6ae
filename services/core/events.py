"""Typed domain events and how they reach the outbox.

An event is a small pydantic model carrying ids, never personal data. Each type declares the
consumers (worker services) that receive it; :func:`emit` writes it to the outbox in the caller's
transaction, and the relay publishes it after commit. Every outbox row, added through the session
or written set-based beside the rows it describes, is built by :func:`outbox_row`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.clock import now
from services.core.ids import uuid7
from services.core.models.outbox import OutboxEvent


class Consumer(StrEnum):
    MATCHING = "matching"
    NOTIFICATIONS = "notifications"


class Lane(StrEnum):
    """A consumer's queues. Events on the priority lane never wait behind the others: the
    consumer's process runs one arq worker per lane (decision 0027)."""

    DEFAULT = "default"
    PRIORITY = "priority"


def queue_name(consumer: Consumer, lane: Lane = Lane.DEFAULT) -> str:
    if lane is Lane.DEFAULT:
        return f"maillon:{consumer.value}"
    return f"maillon:{consumer.value}:{lane.value}"


def job_id(consumer: Consumer, event_id: uuid.UUID) -> str:
    """The arq job id of an event for one consumer.

    arq keys jobs by id across all queues, so the consumer is part of the id: one event, one job
    per consumer, never two.
    """
    return f"{consumer.value}:{event_id}"


class Event(BaseModel):
    """Base of every event payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    consumers: ClassVar[frozenset[Consumer]]
    priority_for: ClassVar[frozenset[Consumer]] = frozenset()
    """The consumers that take this event on their priority lane (those :meth:`urgent` says)."""
    internal_fields: ClassVar[frozenset[str]] = frozenset()
    """Payload fields for the system's own routing, left out of webhook bodies."""

    @classmethod
    def urgent(cls, payload: dict[str, Any]) -> bool:
        """Whether an event of this type, with this payload, takes the priority lane of the
        consumers in :attr:`priority_for` (every one, unless the type says otherwise)."""
        return True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("type")
        if event_type is None:
            return
        known = EVENT_TYPES.get(event_type)
        # The same class seen twice (a module imported under two names) is not a clash.
        if known is not None and _origin(known) != _origin(cls):
            raise TypeError(f"event type {event_type!r} declared twice")
        EVENT_TYPES[event_type] = cls


def _origin(cls: type) -> str:
    return f"{cls.__module__.rpartition('.')[2]}.{cls.__qualname__}"


EVENT_TYPES: dict[str, type[Event]] = {}
"""Every declared event type, by name."""


def parse_event(event_type: str, payload: dict[str, Any]) -> Event:
    try:
        model = EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None
    return model.model_validate(payload)


class UnknownEventType(LookupError):
    pass


def consumers_of(event_type: str) -> frozenset[Consumer]:
    model = EVENT_TYPES.get(event_type)
    return model.consumers if model is not None else frozenset()


def lane_of(consumer: Consumer, event_type: str, payload: dict[str, Any] | None = None) -> Lane:
    model = EVENT_TYPES.get(event_type)
    if model is not None and consumer in model.priority_for and model.urgent(payload or {}):
        return Lane.PRIORITY
    return Lane.DEFAULT


def lanes_of(consumer: Consumer) -> tuple[Lane, ...]:
    """The lanes ``consumer``'s process serves: the default one, and the priority one when an
    event type goes there."""
    if any(consumer in model.priority_for for model in EVENT_TYPES.values()):
        return (Lane.DEFAULT, Lane.PRIORITY)
    return (Lane.DEFAULT,)


# The columns :func:`outbox_row` fills; the database fills the rest (publication, handling).
OUTBOX_COLUMNS: tuple[str, ...] = (
    "id",
    "type",
    "payload",
    "occurred_at",
    "request_id",
    "publish_attempts",
)


def outbox_row(
    event: Event, *, moment: datetime | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """``event`` as the outbox row that carries it, column name → value: the one way an event
    becomes a row, whether added through the session (:func:`emit`, :func:`emit_many`) or
    written set-based with the rows it describes (the people writer's ``COPY`` or statement)."""
    return {
        "id": uuid7(),
        "type": event.type,
        "payload": event.model_dump(mode="json"),
        "occurred_at": moment if moment is not None else now(),
        "request_id": request_id,
        "publish_attempts": 0,
    }


def emit(session: AsyncSession, event: Event, *, request_id: str | None = None) -> OutboxEvent:
    """Add ``event`` to the outbox inside the session's transaction (published after commit)."""
    row = OutboxEvent(**outbox_row(event, request_id=request_id))
    session.add(row)
    return row


async def emit_many(
    session: AsyncSession, events: Sequence[Event], *, request_id: str | None = None
) -> None:
    """Add ``events`` to the outbox in one statement, inside the session's transaction: for a
    batch of thousands, building an ORM object each cost more than the rest of the batch."""
    if not events:
        return
    moment = now()
    await session.execute(
        insert(OutboxEvent),
        [outbox_row(event, moment=moment, request_id=request_id) for event in events],
    )


_BOTH = frozenset({Consumer.MATCHING, Consumer.NOTIFICATIONS})
_MATCH = frozenset({Consumer.MATCHING})
_NOTIFY = frozenset({Consumer.NOTIFICATIONS})
# A consumer receives only the types it handles (a job it would ignore still costs a transaction
# on its queue, in front of the alerts). The matching worker takes offer events on its priority
# lane: under intake load, each new person is a refresh against every open offer, and a published
# offer must not wait behind them for its list (quality.md P3, decision 0027). The notifications
# worker takes the pairs of an offer's list on its own, ahead of every intake's events.


# The catalogue. Payloads carry ids only: consumers load fresh rows.


class OfferPublished(Event):
    type: ClassVar[str] = "offer.published"
    consumers: ClassVar[frozenset[Consumer]] = _BOTH
    priority_for: ClassVar[frozenset[Consumer]] = _MATCH
    offer_id: uuid.UUID


class OfferUpdated(Event):
    type: ClassVar[str] = "offer.updated"
    consumers: ClassVar[frozenset[Consumer]] = _MATCH
    priority_for: ClassVar[frozenset[Consumer]] = _MATCH
    offer_id: uuid.UUID


class OfferClosed(Event):
    type: ClassVar[str] = "offer.closed"
    consumers: ClassVar[frozenset[Consumer]] = _BOTH
    priority_for: ClassVar[frozenset[Consumer]] = _MATCH
    offer_id: uuid.UUID


class CandidateCreated(Event):
    type: ClassVar[str] = "candidate.created"
    consumers: ClassVar[frozenset[Consumer]] = _MATCH
    candidate_id: uuid.UUID


class CandidateUpdated(Event):
    type: ClassVar[str] = "candidate.updated"
    consumers: ClassVar[frozenset[Consumer]] = _MATCH
    candidate_id: uuid.UUID


class CandidatePlaced(Event):
    type: ClassVar[str] = "candidate.placed"
    consumers: ClassVar[frozenset[Consumer]] = _BOTH
    candidate_id: uuid.UUID
    offer_id: uuid.UUID


class CandidateAnonymised(Event):
    type: ClassVar[str] = "candidate.anonymised"
    consumers: ClassVar[frozenset[Consumer]] = _BOTH
    candidate_id: uuid.UUID


class IntakeReceived(Event):
    type: ClassVar[str] = "intake.received"
    consumers: ClassVar[frozenset[Consumer]] = _NOTIFY
    intake_id: uuid.UUID
    candidate_id: uuid.UUID


class SuggestedMatch(BaseModel):
    """One pair entering an offer's list for the first time."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "description": "Une paire candidat–offre qui entre pour la première fois dans la "
            "liste de l'offre."
        },
    )

    match_id: uuid.UUID
    offer_id: uuid.UUID
    candidate_id: uuid.UUID


class MatchSuggested(Event):
    """The pairs one refresh of the match table announces (decision 0025): one event per
    refresh, never one per pair."""

    type: ClassVar[str] = "match.suggested"
    consumers: ClassVar[frozenset[Consumer]] = _NOTIFY
    priority_for: ClassVar[frozenset[Consumer]] = _NOTIFY
    internal_fields: ClassVar[frozenset[str]] = frozenset({"offer_list"})
    matches: tuple[SuggestedMatch, ...]
    offer_list: bool = False
    """Announced by the ranking of an offer's list (offer published or updated, decision 0027):
    its alerts go ahead of those of candidate refreshes."""

    @classmethod
    def urgent(cls, payload: dict[str, Any]) -> bool:
        return payload.get("offer_list") is True

    @model_validator(mode="before")
    @classmethod
    def _one_pair(cls, data: Any) -> Any:
        # An event written before pairs were batched (one pair, flat) still reads.
        if isinstance(data, dict) and "matches" not in data and "match_id" in data:
            return {"matches": [data]}
        return data


class CallbackOverdue(Event):
    type: ClassVar[str] = "callback.overdue"
    consumers: ClassVar[frozenset[Consumer]] = _NOTIFY
    callback_id: uuid.UUID


class ContractDiscovered(Event):
    """A contract created or changed by the import of the public buyers' open data (decision
    0064). No worker acts on it yet: it is kept in the outbox for the record and for later
    consumers."""

    type: ClassVar[str] = "contract.discovered"
    consumers: ClassVar[frozenset[Consumer]] = frozenset()
    contract_id: uuid.UUID


class ContractConfirmed(Event):
    """A facilitator confirmed a discovered contract: Maillon follows it from now on."""

    type: ClassVar[str] = "contract.confirmed"
    consumers: ClassVar[frozenset[Consumer]] = frozenset()
    contract_id: uuid.UUID


class ContractBehindSchedule(Event):
    """A contract's counted hours fell behind the expected pace (decisions 0078, 0081): once per
    contract and calendar quarter. ``lot_ids``: its lots behind (empty: the contract as a
    whole, or a contract without lots)."""

    type: ClassVar[str] = "contract.behind_schedule"
    consumers: ClassVar[frozenset[Consumer]] = _NOTIFY
    contract_id: uuid.UUID
    period_start: date
    lot_ids: tuple[uuid.UUID, ...] = ()
