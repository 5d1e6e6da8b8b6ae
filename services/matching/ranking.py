"""The ranking: the best candidates for an offer, the open offers for a candidate (product.md §5,
decision 0016), scored by PostgreSQL (``queries``), sent through the statement cache
(``statement_cache``), returned with each criterion's points and, when first read, its French
label (``results``, ``labels``). The refresh of the match table (``refresh``) and the API's
explanation of one pair build on it."""

from __future__ import annotations

import uuid
from datetime import date
from functools import partial
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.clock import now
from services.core.ranking.score import weight_params
from services.core.ranking.weights import Weights
from services.core.settings import Settings
from services.matching.labels import Labels, Side, offer_labels
from services.matching.offer_terms import OfferTerms, load_offer_terms
from services.matching.queries import (
    OFFERS_SQL,
    Shape,
    candidates_params,
    candidates_sql,
    reference_day,
    tiers_for,
    tiers_sql,
)
from services.matching.results import RankedCandidate, RankedOffer, explanation_of
from services.matching.statement_cache import driver, fetch

DEFAULT_OFFERS_LIMIT = 100


def _today(today: date | None) -> date:
    return today if today is not None else now().date()


async def _ranked_rows(
    connection: asyncpg.Connection,
    terms: OfferTerms,
    params: dict[str, Any],
    weights: Weights,
    limit: int,
) -> list[asyncpg.Record]:
    """The best ``limit`` rows, in one statement (:func:`~services.matching.queries.tiers_sql`)."""
    tiers = tiers_for(terms, weights)
    if not tiers:
        return await fetch(connection, candidates_sql(Shape.of(terms), None), params)
    bounds = {f"bound_{k}": bound for k, (_, bound) in enumerate(tiers)}
    sql = tiers_sql(Shape.of(terms), tuple(tier for tier, _ in tiers))
    return await fetch(connection, sql, {**params, **bounds})


async def rank_candidates_for_offer(
    session: AsyncSession,
    offer_id: uuid.UUID,
    *,
    settings: Settings,
    limit: int = 100,
    today: date | None = None,
) -> list[RankedCandidate]:
    """The best ``limit`` candidates for the offer (open or not: the caller decides), best first.
    An unknown offer or one without a work site ranks nobody."""
    terms = await load_offer_terms(session, offer_id)
    if terms is None:
        return []
    return await rank_candidates_for_terms(
        session, terms, settings=settings, limit=limit, today=today
    )


async def rank_candidates_for_terms(
    session: AsyncSession,
    terms: OfferTerms,
    *,
    settings: Settings,
    limit: int = 100,
    today: date | None = None,
) -> list[RankedCandidate]:
    if terms.lon is None or terms.lat is None or limit <= 0:
        return []
    day = _today(today)
    weights = Weights.from_settings(settings)
    params = candidates_params(terms, weights, today=day, limit=limit)
    rows = await _ranked_rows(await driver(session), terms, params, weights, limit)
    side = Side(
        labels=Labels(weights, day),
        sector=terms.sector,
        rome_code=terms.rome_code,
        is_npnru=terms.is_npnru,
        qpv_priority=terms.qpv_priority,
        reference=reference_day(terms.start_date, day),
        has_start_date=terms.start_date is not None,
        offer_hours=terms.hours_per_week,
        eligibility_applies=terms.eligibility_applies,
    )
    return [
        RankedCandidate(
            row["candidate_id"],
            position,
            round(row["score"], 2),  # = explanation.score: same sum, same order
            explanation_of(row, partial(side.row_labels, row)),
            round(row["km"], 1),
            row["available_from"],
        )
        for position, row in enumerate(rows, start=1)
    ]


async def rank_offers_for_candidate(
    session: AsyncSession,
    candidate_id: uuid.UUID,
    *,
    settings: Settings,
    limit: int | None = DEFAULT_OFFERS_LIMIT,
    today: date | None = None,
) -> list[RankedOffer]:
    """The open offers the candidate is ranked for, best first (``limit=None``: all of them).
    A candidate who is not rankable (placed, inactive, anonymised, merged, not located) gets
    none."""
    day = _today(today)
    weights = Weights.from_settings(settings)
    params = weight_params(weights, day)
    params.update(candidate_id=candidate_id, limit=limit)
    rows = await fetch(await driver(session), OFFERS_SQL, params)
    labels = Labels(weights, day)
    return [
        RankedOffer(
            row["offer_id"],
            position,
            round(row["score"], 2),  # = explanation.score: same sum, same order
            explanation_of(row, partial(offer_labels, labels, row)),
            round(row["km"], 1),
            row["start_date"],
        )
        for position, row in enumerate(rows, start=1)
    ]
