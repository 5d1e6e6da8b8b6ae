"""Keep the match table current: each open offer's list holds its best N candidates.

A recomputation never changes a match's status and never deletes a match a human acted on
(status other than ``suggested``): such a match only leaves the list (``rank`` NULL), and loses
``is_current`` when its offer closes or its candidate stops being rankable. Suggested matches
that leave a list are deleted. A pair entering a list for the first time ever is announced once
(the ``match_suggestion`` ledger remembers it): each refresh emits ONE ``MatchSuggested`` carrying
all the pairs it announces (decision 0025), at most :data:`PAIRS_PER_EVENT` a piece.

Two writers of the same offer's list are serialised by a transaction-level advisory lock per
offer, taken in a fixed order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Boolean, literal_column, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import now
from services.core.events import MatchSuggested, SuggestedMatch, emit
from services.core.ids import uuid7
from services.core.models.match import Match, MatchStatus
from services.core.models.match_profile import MatchSuggestion
from services.core.models.offer import OfferStatus
from services.core.ranking.weights import Criterion
from services.core.settings import Settings
from services.matching.scoring import (
    Explanation,
    load_offer_terms,
    rank_candidates_for_terms,
    rank_offers_for_candidate,
)

PAIRS_PER_EVENT = 500
"""An event's pairs are capped (the outbox row and a webhook body stay small): a refresh that
announces more (a candidate entering hundreds of lists) emits one event per 500."""


@dataclass
class RefreshResult:
    inserted: int = 0  # new matches
    updated: int = 0  # matches already there, score and rank refreshed
    removed: int = 0  # suggested matches deleted (out of a list)
    retired: int = 0  # acted-on matches taken out of a list, kept
    suggestions: list[SuggestedMatch] = field(default_factory=list)  # pairs announced
    events: int = 0  # MatchSuggested events emitted

    @property
    def suggested(self) -> int:
        return len(self.suggestions)

    def add(self, other: RefreshResult) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.removed += other.removed
        self.retired += other.retired
        self.suggestions += other.suggestions
        self.events += other.events


def announce(
    session: AsyncSession, result: RefreshResult, *, offer_list: bool = False
) -> RefreshResult:
    """Emit the refresh's new pairs: one ``MatchSuggested`` (per :data:`PAIRS_PER_EVENT`), in
    the refresh's transaction; none when nothing is new. ``offer_list``: the pairs of an offer's
    list ranked again, alerted ahead of candidate refreshes (decision 0027)."""
    pairs = sorted(result.suggestions, key=lambda m: (m.offer_id, m.candidate_id))
    for start in range(0, len(pairs), PAIRS_PER_EVENT):
        batch = tuple(pairs[start : start + PAIRS_PER_EVENT])
        emit(session, MatchSuggested(matches=batch, offer_list=offer_list))
        result.events += 1
    return result


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


async def lock_offers(session: AsyncSession, offer_ids: Iterable[uuid.UUID]) -> None:
    """Serialise the writers of these offers' lists until the end of the transaction."""
    ids = sorted(set(offer_ids))
    if not ids:
        return
    await session.execute(
        text(
            "SELECT pg_advisory_xact_lock(s.k) FROM ("
            " SELECT DISTINCT hashtextextended('match:' || CAST(x AS text), 0) AS k"
            " FROM unnest(CAST(:ids AS uuid[])) AS x ORDER BY 1) AS s"
        ),
        {"ids": ids},
    )


def _points_values(explanation: Explanation) -> dict[str, float]:
    return {
        "sector_points": explanation.points(Criterion.SECTOR),
        "qpv_points": explanation.points(Criterion.QPV),
        "availability_points": explanation.points(Criterion.AVAILABILITY),
        "distance_points": explanation.points(Criterion.DISTANCE),
        "eligibility_points": explanation.points(Criterion.ELIGIBILITY),
    }


@dataclass(frozen=True)
class _Pair:
    offer_id: uuid.UUID
    candidate_id: uuid.UUID
    score: float
    explanation: Explanation
    distance_km: float
    rank: int


async def _upsert(
    session: AsyncSession, pairs: Sequence[_Pair], result: RefreshResult
) -> dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID]:
    """Insert or refresh the pairs (never their status); the ids of the pairs inserted."""
    if not pairs:
        return {}
    stamp = now()
    rows: list[dict[str, Any]] = [
        {
            "id": uuid7(),
            "created_at": stamp,
            "updated_at": stamp,
            "offer_id": pair.offer_id,
            "candidate_id": pair.candidate_id,
            "status": MatchStatus.SUGGESTED,
            "score": pair.score,
            **_points_values(pair.explanation),
            "distance_km": pair.distance_km,
            "rank": pair.rank,
            "computed_at": stamp,
            "is_current": True,
        }
        for pair in pairs
    ]
    statement = pg_insert(Match).values(rows)
    excluded = statement.excluded
    upsert = statement.on_conflict_do_update(
        index_elements=[col(Match.offer_id), col(Match.candidate_id)],
        set_={
            "score": excluded.score,
            "sector_points": excluded.sector_points,
            "qpv_points": excluded.qpv_points,
            "availability_points": excluded.availability_points,
            "distance_points": excluded.distance_points,
            "eligibility_points": excluded.eligibility_points,
            "distance_km": excluded.distance_km,
            "rank": excluded.rank,
            "computed_at": excluded.computed_at,
            "is_current": True,
            "updated_at": excluded.updated_at,
        },
    ).returning(
        col(Match.id),
        col(Match.offer_id),
        col(Match.candidate_id),
        literal_column("xmax = 0", Boolean()),
    )
    inserted: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = {}
    ids: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = {}
    for match_id, offer_id, candidate_id, fresh in await session.execute(upsert):
        ids[(offer_id, candidate_id)] = match_id
        if fresh:
            inserted[(offer_id, candidate_id)] = match_id
    result.inserted += len(inserted)
    result.updated += len(ids) - len(inserted)
    await _announce(session, ids, result)
    return inserted


async def _announce(
    session: AsyncSession,
    ids: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID],
    result: RefreshResult,
) -> None:
    """The pairs never announced before join the refresh's announcement."""
    if not ids:
        return
    stamp = now()
    statement = (
        pg_insert(MatchSuggestion)
        .values(
            [
                {"offer_id": offer_id, "candidate_id": candidate_id, "suggested_at": stamp}
                for offer_id, candidate_id in ids
            ]
        )
        .on_conflict_do_nothing()
        .returning(col(MatchSuggestion.offer_id), col(MatchSuggestion.candidate_id))
    )
    new_pairs = sorted((row[0], row[1]) for row in await session.execute(statement))
    result.suggestions += [
        SuggestedMatch(
            match_id=ids[(offer_id, candidate_id)], offer_id=offer_id, candidate_id=candidate_id
        )
        for offer_id, candidate_id in new_pairs
    ]


async def _renumber(session: AsyncSession, offer_ids: Iterable[uuid.UUID]) -> None:
    """Positions 1..n of each list, in the ranking's order."""
    ids = sorted(set(offer_ids))
    if not ids:
        return
    await session.execute(
        text(
            "UPDATE match m SET rank = x.position FROM ("
            " SELECT m2.id, row_number() OVER (PARTITION BY m2.offer_id ORDER BY m2.score DESC,"
            "  p.available_from ASC NULLS LAST, m2.candidate_id) AS position"
            " FROM match m2 LEFT JOIN match_profile p ON p.candidate_id = m2.candidate_id"
            " WHERE m2.offer_id = ANY(CAST(:ids AS uuid[])) AND m2.rank IS NOT NULL) AS x"
            " WHERE m.id = x.id AND m.rank IS DISTINCT FROM x.position"
        ),
        {"ids": ids},
    )


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
    await _upsert(
        session,
        [
            _Pair(
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

    entering: list[_Pair] = []
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
                    _Pair(
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

    await _upsert(session, entering, result)
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
    await _renumber(session, affected)
    for offer_id in refill:
        result.add(await _refresh_offer(session, offer_id, settings=settings, today=today))
    return result
