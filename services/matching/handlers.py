"""The matching worker's event handlers, registered on its consumer by :func:`register`.

Each runs inside the transaction that records the event as processed (services/core/jobs.py):
its writes, its ``MatchSuggested`` events and the event's "done" mark commit together.
"""

from __future__ import annotations

import uuid

from services.core.events import (
    CandidateAnonymised,
    CandidateCreated,
    CandidatePlaced,
    CandidateUpdated,
    OfferClosed,
    OfferPublished,
    OfferUpdated,
)
from services.core.jobs import EventConsumer, HandlerContext
from services.core.logging import get_logger
from services.matching.match_rows import RefreshResult
from services.matching.refresh import (
    refresh_candidate_matches,
    refresh_offer_matches,
    retire_offer_matches,
)

log = get_logger(__name__)


def _log(kind: str, result: RefreshResult) -> None:
    log.info(
        "matches_refreshed",
        kind=kind,
        inserted=result.inserted,
        updated=result.updated,
        removed=result.removed,
        retired=result.retired,
        suggested=result.suggested,
    )


async def _offer_changed(ctx: HandlerContext, offer_id: uuid.UUID) -> None:
    _log("offer", await refresh_offer_matches(ctx.session, offer_id, settings=ctx.settings))


async def _candidate_changed(ctx: HandlerContext, candidate_id: uuid.UUID) -> None:
    # Placed, anonymised, merged or inactive candidates have no matching profile any more:
    # the same refresh takes them out of every list and keeps acted-on matches, not current.
    _log(
        "candidate",
        await refresh_candidate_matches(ctx.session, candidate_id, settings=ctx.settings),
    )


def register(consumer: EventConsumer) -> None:
    @consumer.on(OfferPublished)
    async def offer_published(ctx: HandlerContext, event: OfferPublished) -> None:
        await _offer_changed(ctx, event.offer_id)

    @consumer.on(OfferUpdated)
    async def offer_updated(ctx: HandlerContext, event: OfferUpdated) -> None:
        await _offer_changed(ctx, event.offer_id)

    @consumer.on(OfferClosed)
    async def offer_closed(ctx: HandlerContext, event: OfferClosed) -> None:
        _log("offer_closed", await retire_offer_matches(ctx.session, event.offer_id))

    @consumer.on(CandidateCreated)
    async def candidate_created(ctx: HandlerContext, event: CandidateCreated) -> None:
        await _candidate_changed(ctx, event.candidate_id)

    @consumer.on(CandidateUpdated)
    async def candidate_updated(ctx: HandlerContext, event: CandidateUpdated) -> None:
        await _candidate_changed(ctx, event.candidate_id)

    @consumer.on(CandidatePlaced)
    async def candidate_placed(ctx: HandlerContext, event: CandidatePlaced) -> None:
        await _candidate_changed(ctx, event.candidate_id)

    @consumer.on(CandidateAnonymised)
    async def candidate_anonymised(ctx: HandlerContext, event: CandidateAnonymised) -> None:
        await _candidate_changed(ctx, event.candidate_id)
