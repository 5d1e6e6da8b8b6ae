"""Keep the match table current: each open offer's list holds its best N candidates.

A recomputation never changes a match's status and never deletes a match a human acted on
(status other than ``suggested``): such a match only leaves the list (``rank`` NULL), and loses
``is_current`` when its offer closes or its candidate stops being rankable. Suggested matches
that leave a list are deleted. A pair entering a list for the first time ever is announced once
(the ``match_suggestion`` ledger remembers it): each refresh emits ONE ``MatchSuggested`` carrying
all the pairs it announces (decision 0025), at most ``match_rows.PAIRS_PER_EVENT`` a piece.

Two writers of the same offer's list are serialised by a transaction-level advisory lock per
offer, taken in a fixed order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.clock import now
from services.core.models.match import MatchStatus
from services.core.models.offer import OfferStatus
from services.core.settings import Settings
from services.matching.match_rows import (
    Pair,
    RefreshResult,
    announce,
    lock_offers,
    renumber,
    upsert,
)
from services.matching.offer_terms import load_offer_terms
from services.matching.profiles import build_profile_of, build_queued_profiles
from services.matching.ranking import rank_candidates_for_terms, rank_offers_for_candidate


async def retire_offer_matches(session: AsyncSession, offer_id: uuid.UUID) -> RefreshResult:
    """The offer is no longer open: its suggested matches go, the acted-on ones stay, not
    current."""
    await lock_offers(session, [offer_id])
    result = RefreshResult()
    removed = await session.execute(
        text("DELETE FROM match WHERE offer_id = :offer AND status = 'suggested' RETURNING id"),
        {"offer": offer_id},
    )
    result.removed = len(removed.all())
    retired = await session.execute(
        text(
            "UPDATE match SET is_current = false, rank = NULL, updated_at = :stamp"
            " WHERE offer_id = :offer AND status <> 'suggested'"
            " AND (is_current OR rank IS NOT NULL) RETURNING id"
        ),
        {"offer": offer_id, "stamp": now()},
    )
    result.retired = len(retired.all())
    return result


async def refresh_offer_matches(
    session: AsyncSession, offer_id: uuid.UUID, *, settings: Settings, today: date | None = None
) -> RefreshResult:
    """Rank the offer again and make its list the best ``matching_top_n`` candidates, and
    announce its new pairs in one event. An offer that is not open is retired instead."""
    await build_queued_profiles(session)
    return announce(
        session,
        await _refresh_offer(session, offer_id, settings=settings, today=today),
        offer_list=True,
    )


async def _refresh_offer(
    session: AsyncSession, offer_id: uuid.UUID, *, settings: Settings, today: date | None
) -> RefreshResult:
    await lock_offers(session, [offer_id])
    terms = await load_offer_terms(session, offer_id)
    if terms is None:
        return RefreshResult()
    if terms.status != OfferStatus.OPEN:
        return await retire_offer_matches(session, offer_id)
    ranked = await rank_candidates_for_terms(
        session, terms, settings=settings, limit=settings.matching_top_n, today=today
    )
    result = RefreshResult()
    await upsert(
        session,
        [
            Pair(
                offer_id,
                r.candidate_id,
                r.score,
                r.explanation,
                r.distance_km,
                r.rank,
            )
            for r in ranked
        ],
        result,
    )
    kept = [r.candidate_id for r in ranked]
    removed = await session.execute(
        text(
            "DELETE FROM match WHERE offer_id = :offer AND status = 'suggested'"
            " AND NOT (candidate_id = ANY(CAST(:kept AS uuid[]))) RETURNING id"
        ),
        {"offer": offer_id, "kept": kept},
    )
    result.removed += len(removed.all())
    retired = await session.execute(
        text(
            "UPDATE match SET rank = NULL, updated_at = :stamp"
            " WHERE offer_id = :offer AND status <> 'suggested' AND rank IS NOT NULL"
            " AND NOT (candidate_id = ANY(CAST(:kept AS uuid[]))) RETURNING id"
        ),
        {"offer": offer_id, "kept": kept, "stamp": now()},
    )
    result.retired += len(retired.all())
    return result


_STATS = """
SELECT o.id, coalesce(w.n, 0), w.id, w.status, w.score, w.available_from, w.candidate_id
FROM unnest(CAST(:offers AS uuid[])) AS o(id)
LEFT JOIN LATERAL (
  SELECT count(*) OVER () AS n, m.id, m.status, m.score, p.available_from, m.candidate_id
  FROM match m LEFT JOIN match_profile p ON p.candidate_id = m.candidate_id
  WHERE m.offer_id = o.id AND m.rank IS NOT NULL AND m.candidate_id <> :candidate
  ORDER BY m.score ASC, p.available_from DESC NULLS FIRST, m.candidate_id DESC
  LIMIT 1
) AS w ON true
"""


@dataclass(frozen=True)
class _Worst:
    """The last of an offer's list (the candidate being refreshed left out) and its length."""

    count: int
    match_id: uuid.UUID | None
    status: MatchStatus | None
    key: tuple[float, bool, date, uuid.UUID] | None


def order_key(
    score: float, available_from: date | None, candidate_id: uuid.UUID
) -> tuple[float, bool, date, uuid.UUID]:
    """The ranking's order (score desc, earliest available, unknown last, id) as an ascending
    key."""
    return (-round(score, 2), available_from is None, available_from or date.max, candidate_id)


async def refresh_candidate_matches(
    session: AsyncSession,
    candidate_id: uuid.UUID,
    *,
    settings: Settings,
    today: date | None = None,
) -> RefreshResult:
    """Place the candidate in (or out of) each open offer's list after a change, and announce
    the new pairs (theirs and those of the lists ranked again) in one event. Their own profile
    is built first if still queued, waiting for any other job building it."""
    await build_profile_of(session, candidate_id)
    await build_queued_profiles(session)
    return announce(
        session, await _refresh_candidate(session, candidate_id, settings=settings, today=today)
    )


async def _refresh_candidate(
    session: AsyncSession, candidate_id: uuid.UUID, *, settings: Settings, today: date | None
) -> RefreshResult:
    """The candidate enters an offer's list when it is not full or when they beat its last (who is
    then evicted); they leave the lists of offers they no longer qualify for or no longer make.
    A list that a departure leaves one short of full is ranked again, to take the next best.
    A candidate who is not rankable any more leaves every list; the acted-on matches stay, not
    current.
    """
    top_n = settings.matching_top_n
    result = RefreshResult()
    ranked = await rank_offers_for_candidate(
        session, candidate_id, settings=settings, limit=None, today=today
    )
    by_offer = {r.offer_id: r for r in ranked}
    existing_offers = (
        (
            await session.execute(
                text("SELECT offer_id FROM match WHERE candidate_id = :candidate"),
                {"candidate": candidate_id},
            )
        )
        .scalars()
        .all()
    )
    affected = sorted(set(by_offer) | set(existing_offers))
    await lock_offers(session, affected)

    profile = (
        await session.execute(
            text("SELECT available_from FROM match_profile WHERE candidate_id = :candidate"),
            {"candidate": candidate_id},
        )
    ).first()
    rankable = profile is not None
    available_from: date | None = profile[0] if profile is not None else None

    mine: dict[uuid.UUID, tuple[uuid.UUID, MatchStatus, int | None]] = {
        row[0]: (row[1], MatchStatus(row[2]), row[3])
        for row in await session.execute(
            text("SELECT offer_id, id, status, rank FROM match WHERE candidate_id = :candidate"),
            {"candidate": candidate_id},
        )
    }
    worst: dict[uuid.UUID, _Worst] = {}
    if affected:
        for row in await session.execute(
            text(_STATS), {"offers": affected, "candidate": candidate_id}
        ):
            worst[row[0]] = _Worst(
                count=row[1],
                match_id=row[2],
                status=MatchStatus(row[3]) if row[3] is not None else None,
                key=order_key(row[4], row[5], row[6]) if row[2] is not None else None,
            )

    entering: list[Pair] = []
    evicted: list[tuple[uuid.UUID, MatchStatus]] = []
    leaving: list[tuple[uuid.UUID, MatchStatus]] = []
    refill: list[uuid.UUID] = []
    for offer_id in affected:
        stats = worst.get(offer_id, _Worst(0, None, None, None))
        current = mine.get(offer_id)
        offer_rank = by_offer.get(offer_id)
        in_list = current is not None and current[2] is not None
        if offer_rank is not None:
            key = order_key(offer_rank.score, available_from, candidate_id)
            if stats.count < top_n or (stats.key is not None and key < stats.key):
                entering.append(
                    Pair(
                        offer_id,
                        candidate_id,
                        offer_rank.score,
                        offer_rank.explanation,
                        offer_rank.distance_km,
                        0,  # numbered below
                    )
                )
                if stats.count >= top_n and stats.match_id is not None and stats.status:
                    evicted.append((stats.match_id, stats.status))
                continue
        if current is not None:
            leaving.append((current[0], current[1]))
            if in_list and offer_rank is None and stats.count >= top_n - 1:
                refill.append(offer_id)

    await upsert(session, entering, result)
    stamp = now()
    gone = [match_id for match_id, status in (*leaving, *evicted) if status == "suggested"]
    if gone:
        await session.execute(
            text("DELETE FROM match WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": gone}
        )
        result.removed += len(gone)
    kept = [match_id for match_id, status in (*leaving, *evicted) if status != "suggested"]
    if kept:
        retired = await session.execute(
            text(
                "UPDATE match SET rank = NULL, updated_at = :stamp"
                " WHERE id = ANY(CAST(:ids AS uuid[])) AND rank IS NOT NULL RETURNING id"
            ),
            {"ids": kept, "stamp": stamp},
        )
        result.retired += len(retired.all())
    if not rankable:
        await session.execute(
            text(
                "UPDATE match SET is_current = false, rank = NULL, updated_at = :stamp"
                " WHERE candidate_id = :candidate AND is_current"
            ),
            {"candidate": candidate_id, "stamp": stamp},
        )
    await renumber(session, affected)
    for offer_id in refill:
        result.add(await _refresh_offer(session, offer_id, settings=settings, today=today))
    return result
