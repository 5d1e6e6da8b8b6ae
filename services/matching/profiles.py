"""The match profiles of new candidates: queued by the insert trigger, built by the matching
worker before it ranks anything (decision 0037; ``sql/match_profile_flush.sql``)."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def build_queued_profiles(session: AsyncSession) -> int:
    """Build the match profiles of the candidates created since the last call (queued by the
    insert trigger, decision 0037), in batches; how many were taken. Every ranking job starts
    with it, so that nobody created before the job is missed."""
    return int(await session.scalar(text("SELECT match_profile_flush()")) or 0)


async def build_profile_of(session: AsyncSession, candidate_id: uuid.UUID) -> bool:
    """Make sure a queued candidate's profile is built before they are ranked; whether this job
    built it. ``match_profile_flush`` skips what another job is flushing (``SKIP LOCKED``): the
    jobs of one batch, running at once, would otherwise find no profile for their own candidate
    and rank nobody (issue 13). Here the job waits instead, as a writer does: on the candidate's
    row (held by a flush building the profile, or by a writer), then on the queue's row. It holds
    nothing else yet, so no cycle of waits can form. A flush that meets the candidate locked by
    this job queues them again: the loop takes them back until none is left."""
    queued = text("SELECT EXISTS (SELECT 1 FROM match_profile_pending WHERE candidate_id = :id)")
    if not await session.scalar(queued, {"id": candidate_id}):
        return False  # built (or not rankable): the profile is what the last writer left
    await session.execute(
        text("SELECT 1 FROM candidate WHERE id = :id FOR NO KEY UPDATE"), {"id": candidate_id}
    )
    taken = False
    while True:
        deleted = await session.execute(
            text(
                "DELETE FROM match_profile_pending WHERE candidate_id = :id RETURNING candidate_id"
            ),
            {"id": candidate_id},
        )
        taken = deleted.first() is not None or taken
        if not await session.scalar(queued, {"id": candidate_id}):
            break
    if taken:
        await session.execute(
            text("SELECT match_profile_sync(ARRAY[CAST(:id AS uuid)])"), {"id": candidate_id}
        )
    return taken
