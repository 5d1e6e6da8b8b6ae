"""Event handlers of the notifications worker: webhooks for the public events, and the
``match.suggested`` alert to the prescribers concerned."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.alerts.kinds import AlertKind
from services.core.alerts.raising import AlertRequest, raise_alerts
from services.core.clock import now
from services.core.events import (
    CallbackOverdue,
    CandidatePlaced,
    Event,
    MatchSuggested,
    OfferClosed,
    OfferPublished,
    SuggestedMatch,
)
from services.core.jobs import HandlerContext
from services.core.models.match import Match
from services.core.models.offer import Offer
from services.core.models.outbox import OutboxEvent
from services.notifications.consumer import consumer
from services.notifications.webhooks import fan_out


async def _fan_out(ctx: HandlerContext, event: Event) -> None:
    row = await ctx.session.get(OutboxEvent, ctx.event_id)
    occurred_at = row.occurred_at if row is not None else now()
    await fan_out(ctx.session, ctx.event_id, event, occurred_at)


@consumer.on(OfferPublished)
async def on_offer_published(ctx: HandlerContext, event: OfferPublished) -> None:
    await _fan_out(ctx, event)


@consumer.on(OfferClosed)
async def on_offer_closed(ctx: HandlerContext, event: OfferClosed) -> None:
    await _fan_out(ctx, event)


@consumer.on(CandidatePlaced)
async def on_candidate_placed(ctx: HandlerContext, event: CandidatePlaced) -> None:
    await _fan_out(ctx, event)


@consumer.on(CallbackOverdue)
async def on_callback_overdue(ctx: HandlerContext, event: CallbackOverdue) -> None:
    await _fan_out(ctx, event)


_PRESCRIBERS = """
SELECT c.id,
       CASE WHEN r.id IS NOT NULL THEN r.organisation_id ELSE c.referent_organisation_id END,
       CASE WHEN r.id IS NOT NULL THEN ARRAY[r.id] ELSE ARRAY(
         SELECT u.id FROM user_account u
         WHERE u.organisation_id = c.referent_organisation_id AND u.role = 'prescriber'
           AND u.is_active ORDER BY u.id) END
FROM candidate c
LEFT JOIN user_account r ON r.id = c.referent_prescriber_id AND r.is_active
WHERE c.id = ANY(CAST(:ids AS uuid[]))
"""


async def prescribers_concerned_by(
    session: AsyncSession, candidate_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, list[uuid.UUID]]]:
    """For each candidate: their referent prescriber when active; else the active prescribers of
    their referent organisation; candidates concerning nobody are left out. One query for all;
    values are (organisation, users)."""
    ids = sorted(set(candidate_ids))
    if not ids:
        return {}
    concerned: dict[uuid.UUID, tuple[uuid.UUID, list[uuid.UUID]]] = {}
    for candidate_id, organisation_id, users in await session.execute(
        text(_PRESCRIBERS), {"ids": ids}
    ):
        if organisation_id is not None and users:
            concerned[candidate_id] = (organisation_id, list(users))
    return concerned


async def prescribers_concerned(
    session: AsyncSession, candidate_id: uuid.UUID
) -> tuple[uuid.UUID | None, list[uuid.UUID]]:
    """:func:`prescribers_concerned_by` for one candidate: (organisation, users), or
    (None, []) when nobody."""
    found = (await prescribers_concerned_by(session, [candidate_id])).get(candidate_id)
    return found if found is not None else (None, [])


def suggestion_alerts(
    event_id: uuid.UUID,
    matches: Sequence[SuggestedMatch],
    concerned: dict[uuid.UUID, tuple[uuid.UUID, list[uuid.UUID]]],
    offers: dict[uuid.UUID, str],
    ranks: dict[uuid.UUID, int | None],
    link_base_url: str,
) -> list[AlertRequest]:
    """One alert per offer and prescriber (decision 0025): the people they follow among the
    event's new pairs of that offer, counted, with the best rank. Keyed by the event, so a
    redelivered event writes nothing twice."""
    grouped: dict[tuple[uuid.UUID, uuid.UUID], tuple[uuid.UUID, list[SuggestedMatch]]] = {}
    for match in matches:
        found = concerned.get(match.candidate_id)
        if found is None:
            continue
        organisation_id, users = found
        for user_id in users:
            grouped.setdefault((match.offer_id, user_id), (organisation_id, []))[1].append(match)
    base = link_base_url.rstrip("/")
    alerts: list[AlertRequest] = []
    for (offer_id, user_id), (organisation_id, pairs) in sorted(grouped.items()):
        known_ranks = [r for r in (ranks.get(m.match_id) for m in pairs) if r is not None]
        alerts.append(
            AlertRequest(
                kind=AlertKind.MATCH_SUGGESTED,
                key=f"offer:{offer_id}:suggested:{event_id}",
                recipient_user_ids=[user_id],
                organisation_id=organisation_id,
                subject_type="offer",
                subject_id=offer_id,
                context={
                    "offer_id": str(offer_id),
                    "offer_title": offers.get(offer_id),
                    "count": len(pairs),
                    "rank": min(known_ranks) if known_ranks else None,
                    "url": f"{base}/offres/{offer_id}/correspondances",
                },
            )
        )
    return alerts


@consumer.on(MatchSuggested)
async def on_match_suggested(ctx: HandlerContext, event: MatchSuggested) -> None:
    """One webhook fan-out, one query for the prescribers concerned, their alerts in one
    INSERT, whatever the number of pairs."""
    await _fan_out(ctx, event)
    concerned = await prescribers_concerned_by(ctx.session, [m.candidate_id for m in event.matches])
    matches = [m for m in event.matches if m.candidate_id in concerned]
    if not matches:
        return
    offers: dict[uuid.UUID, str] = {
        row[0]: row[1]
        for row in await ctx.session.execute(
            select(col(Offer.id), col(Offer.title)).where(
                col(Offer.id).in_(sorted({m.offer_id for m in matches}))
            )
        )
    }
    ranks: dict[uuid.UUID, int | None] = {
        row[0]: row[1]
        for row in await ctx.session.execute(
            select(col(Match.id), col(Match.rank)).where(
                col(Match.id).in_(sorted({m.match_id for m in matches}))
            )
        )
    }
    await raise_alerts(
        ctx.session,
        suggestion_alerts(
            ctx.event_id,
            matches,
            concerned,
            offers,
            ranks,
            ctx.settings.notification_link_base_url,
        ),
    )
