"""Who receives which public event (decision 0041).

A subscription receives an event when a caller of the subscription's role in its organisation
could read, through the API, what the event names — the same rules as the policies of
``services/api`` (decisions 0008, 0011, 0017, 0020), evaluated at fan-out:

- ``offer.published`` / ``offer.closed``: every subscription (every caller reads open offers).
- ``match.suggested``: counsellors (admin, facilitator, prescriber) who see the candidate — shared
  with their organisation, or for a facilitator with any organisation of its territory; the
  body keeps only those pairs. Employers never see a suggestion, front desks no match.
- ``candidate.placed``: the same counsellors, and the employer whose offer was filled (it reads
  the hired match of its own offer).
- ``callback.overdue``: counsellors who see the case (assigned to their organisation, or for a
  facilitator to its territory).
- ``contract.behind_schedule`` (decision 0081): whoever reads the contract (decision 0008): a
  facilitator whose territory holds its buyer or a holder; the buyer, a holder (employer,
  prescriber or buyer organisation being one of them); the admin. Front desks never.

The admin, who runs the instance and is no counsellor, reads only its own organisation's people
and cases, so its subscriptions get no more.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.events import (
    CallbackOverdue,
    CandidatePlaced,
    ContractBehindSchedule,
    Event,
    MatchSuggested,
    OfferClosed,
    OfferPublished,
)
from services.core.models.callback import CallbackCase
from services.core.models.candidate import CandidateShare
from services.core.models.contract import Contract, ContractHolder
from services.core.models.offer import Offer
from services.core.models.user import Role
from services.core.security.principal import territory_of

COUNSELLORS = frozenset({Role.ADMIN, Role.FACILITATOR, Role.PRESCRIBER})


@dataclass(frozen=True)
class Subscriber:
    subscription_id: uuid.UUID
    organisation_id: uuid.UUID
    role: Role


async def candidates_organisations(
    session: AsyncSession, candidate_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """The organisations each candidate is shared with (one query for all): what decides who
    reads a person (decision 0011)."""
    ids = sorted(set(candidate_ids))
    found: dict[uuid.UUID, set[uuid.UUID]] = {candidate_id: set() for candidate_id in ids}
    if not ids:
        return found
    for candidate_id, organisation_id in await session.execute(
        select(col(CandidateShare.candidate_id), col(CandidateShare.organisation_id)).where(
            col(CandidateShare.candidate_id).in_(ids)
        )
    ):
        found[candidate_id].add(organisation_id)
    return found


async def _reaches(
    session: AsyncSession, subscribers: Sequence[Subscriber]
) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    """For each subscription, the organisations whose people and cases its role reads: its own
    (admin, prescriber), its territory (facilitator), none (employer, front desk)."""
    territories: dict[uuid.UUID, frozenset[uuid.UUID]] = {}
    reaches: dict[uuid.UUID, frozenset[uuid.UUID]] = {}
    for subscriber in subscribers:
        if subscriber.role not in COUNSELLORS:
            reaches[subscriber.subscription_id] = frozenset()
        elif subscriber.role is Role.FACILITATOR:
            organisation = subscriber.organisation_id
            if organisation not in territories:
                territories[organisation] = await territory_of(
                    session, organisation, Role.FACILITATOR
                )
            reaches[subscriber.subscription_id] = territories[organisation]
        else:
            reaches[subscriber.subscription_id] = frozenset({subscriber.organisation_id})
    return reaches


async def events_for(
    session: AsyncSession, event: Event, subscribers: Sequence[Subscriber]
) -> list[tuple[uuid.UUID, Event]]:
    """The event each subscription receives (cut to what it may read), subscriptions that may
    read nothing of it left out."""
    if isinstance(event, OfferPublished | OfferClosed):
        return [(s.subscription_id, event) for s in subscribers]
    reaches = await _reaches(session, subscribers)
    if isinstance(event, MatchSuggested):
        shares = await candidates_organisations(session, [m.candidate_id for m in event.matches])
        cut: list[tuple[uuid.UUID, Event]] = []
        for s in subscribers:
            reach = reaches[s.subscription_id]
            pairs = tuple(m for m in event.matches if shares[m.candidate_id] & reach)
            if pairs:
                cut.append((s.subscription_id, MatchSuggested(matches=pairs)))
        return cut
    if isinstance(event, CandidatePlaced):
        shares = await candidates_organisations(session, [event.candidate_id])
        employer = await session.scalar(
            select(col(Offer.employer_id)).where(col(Offer.id) == event.offer_id)
        )
        return [
            (s.subscription_id, event)
            for s in subscribers
            if shares[event.candidate_id] & reaches[s.subscription_id]
            or (s.role is Role.EMPLOYER and s.organisation_id == employer)
        ]
    if isinstance(event, ContractBehindSchedule):
        return await _contract_readers(session, event, subscribers)
    if isinstance(event, CallbackOverdue):
        organisation = await session.scalar(
            select(col(CallbackCase.organisation_id)).where(
                col(CallbackCase.id) == event.callback_id
            )
        )
        return [
            (s.subscription_id, event)
            for s in subscribers
            if organisation is not None and organisation in reaches[s.subscription_id]
        ]
    return []


async def _contract_readers(
    session: AsyncSession, event: ContractBehindSchedule, subscribers: Sequence[Subscriber]
) -> list[tuple[uuid.UUID, Event]]:
    """The subscriptions whose role reads the contract (its buyer or a holder within reach)."""
    buyer = await session.scalar(
        select(col(Contract.buyer_id)).where(col(Contract.id) == event.contract_id)
    )
    if buyer is None:
        return []
    parties = {buyer} | set(
        (
            await session.scalars(
                select(col(ContractHolder.organisation_id)).where(
                    col(ContractHolder.contract_id) == event.contract_id
                )
            )
        ).all()
    )
    territories: dict[uuid.UUID, frozenset[uuid.UUID]] = {}
    received: list[tuple[uuid.UUID, Event]] = []
    for s in subscribers:
        if s.role is Role.RECEPTION:
            continue
        if s.role is Role.ADMIN:
            received.append((s.subscription_id, event))
            continue
        if s.role is Role.FACILITATOR:
            if s.organisation_id not in territories:
                territories[s.organisation_id] = await territory_of(
                    session, s.organisation_id, Role.FACILITATOR
                )
            reach = territories[s.organisation_id]
        else:
            reach = frozenset({s.organisation_id})
        if parties & reach:
            received.append((s.subscription_id, event))
    return received
