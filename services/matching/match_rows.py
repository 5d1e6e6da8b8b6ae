"""The rows of the match table a refresh writes: pairs upserted (never their status), pairs
announced once (the ``match_suggestion`` ledger, one ``MatchSuggested`` per refresh — decision
0025), positions renumbered; writers of one offer's list serialised by an advisory lock."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
from services.core.ranking.weights import Criterion
from services.matching.results import Explanation

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
class Pair:
    offer_id: uuid.UUID
    candidate_id: uuid.UUID
    score: float
    explanation: Explanation
    distance_km: float
    rank: int


async def upsert(
    session: AsyncSession, pairs: Sequence[Pair], result: RefreshResult
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


async def renumber(session: AsyncSession, offer_ids: Iterable[uuid.UUID]) -> None:
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
