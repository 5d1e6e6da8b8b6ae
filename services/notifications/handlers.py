"""Event handlers of the notifications worker: webhooks for the public events, and the
``match.suggested`` alert to the prescribers concerned."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import now
from services.core.events import (
    CallbackOverdue,
    CandidatePlaced,
    Event,
    MatchSuggested,
    OfferClosed,
    OfferPublished,
)
from services.core.jobs import HandlerContext
from services.core.models.candidate import Candidate
from services.core.models.match import Match
from services.core.models.offer import Offer
from services.core.models.outbox import OutboxEvent
from services.core.models.user import Role, User
from services.notifications.alerts import AlertKind, AlertRequest, raise_alert
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


async def prescribers_concerned(
    session: AsyncSession, candidate_id: uuid.UUID
) -> tuple[uuid.UUID | None, list[uuid.UUID]]:
    """The candidate's referent prescriber when active; else the active prescribers of the
    candidate's referent organisation; else nobody. Returns (organisation, users)."""
    candidate = await session.get(Candidate, candidate_id)
    if candidate is None:
        return None, []
    if candidate.referent_prescriber_id is not None:
        referent = await session.get(User, candidate.referent_prescriber_id)
        if referent is not None and referent.is_active:
            return referent.organisation_id, [referent.id]
    if candidate.referent_organisation_id is None:
        return None, []
    users = list(
        (
            await session.execute(
                select(col(User.id))
                .where(
                    col(User.organisation_id) == candidate.referent_organisation_id,
                    col(User.role) == Role.PRESCRIBER,
                    col(User.is_active).is_(True),
                )
                .order_by(col(User.id))
            )
        ).scalars()
    )
    return candidate.referent_organisation_id, users


@consumer.on(MatchSuggested)
async def on_match_suggested(ctx: HandlerContext, event: MatchSuggested) -> None:
    await _fan_out(ctx, event)
    organisation_id, recipients = await prescribers_concerned(ctx.session, event.candidate_id)
    if organisation_id is None or not recipients:
        return
    offer = await ctx.session.get(Offer, event.offer_id)
    match = await ctx.session.get(Match, event.match_id)
    base = ctx.settings.notification_link_base_url.rstrip("/")
    await raise_alert(
        ctx.session,
        AlertRequest(
            kind=AlertKind.MATCH_SUGGESTED,
            key=f"match:{event.match_id}:suggested",
            recipient_user_ids=recipients,
            organisation_id=organisation_id,
            subject_type="match",
            subject_id=event.match_id,
            context={
                "offer_id": str(event.offer_id),
                "offer_title": offer.title if offer is not None else None,
                "rank": match.rank if match is not None else None,
                "url": f"{base}/offres/{event.offer_id}/correspondances",
            },
        ),
    )
