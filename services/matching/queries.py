"""The SQL the ranking sends: candidates for an offer, tier by tier in one statement, and open
offers for a candidate (product.md §5, decision 0016).

Scores are computed by PostgreSQL on ``match_profile`` (kept by triggers, decision 0016). The
candidates of the offer's sector are split in two tiers (wanted or only worked sector, decision
0073), each with its partial GiST index covering every column the score reads. The tiers are
read best-first, one index-only scan each
(reach box contains the work site, exact distance within the radius, points computed from the
covered columns, top ``limit`` sorted in SQL); reading stops once the last kept score beats the
best score the next tier can reach. All the tiers of an offer are ONE statement: each tier is a
materialised CTE guarded by a condition on the tiers before it (their ``limit``-th score against
the tier's bound), which PostgreSQL evaluates once before touching the tier's index (a one-time
filter), so a tier not needed is never read. The same SQL expressions score both directions, so
a pair gets the same points whichever side asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from services.core.models.contract import QpvPriority
from services.core.models.match_profile import Tier
from services.core.ranking.score import SCORE_SQL as _SCORE
from services.core.ranking.score import km_sql as _km
from services.core.ranking.score import offer_points_sql as _offer_points
from services.core.ranking.score import points_sql as _points
from services.core.ranking.score import reach_km
from services.core.ranking.score import weight_params as _weight_params
from services.core.ranking.weights import Weights
from services.matching.offer_terms import OfferTerms


def rome_prefixes_of(code: str) -> list[str]:
    """Every prefix of a ROME code (``J1501`` → ``J``, ``J1``, ``J15``, ``J150``, ``J1501``): a
    candidate's wish matches when it is one of them."""
    code = code.strip().upper()
    return [code[:i] for i in range(1, len(code) + 1)]


@dataclass(frozen=True, slots=True)
class Shape:
    """What of an offer the text of its ranking query depends on (besides its tiers)."""

    qpv_required: bool
    requires_eligibility: bool

    @classmethod
    def of(cls, terms: OfferTerms) -> Shape:
        return cls(terms.qpv_priority == QpvPriority.REQUIRED, terms.requires_eligibility)


def candidates_sql(shape: Shape, tier: Tier | None, gate: str = "") -> str:
    """The ranking query of one offer, in one tier of its sector (``None``: an offer outside
    every sector, matched on ROME wishes). The tier's predicate is written into the text (enum
    values only), so the planner sees the partial index's predicate whatever the plan cache
    does; within a tier, the link is a constant of the query. ``gate``: a
    condition on other parts of the statement only (evaluated once, before the scan)."""
    if tier is not None:
        link = tier.predicate("p.")
        strong = "true" if tier.wanted else "false"
        in_qpv = "p.in_qpv"
    else:
        # ``cardinality(…) > 0`` is the predicate of the partial GIN index on the wishes: written
        # here, the index serves the query (without it, every profile is read: 100 ms at 1M).
        link = (
            "cardinality(p.rome_wishes) > 0"
            " AND p.rome_wishes && CAST(:rome_prefixes AS varchar(5)[])"
        )
        strong = "true"
        in_qpv = "p.in_qpv"
    extra = ""
    if shape.qpv_required:
        extra += " AND p.in_qpv"
    if shape.requires_eligibility:
        extra += " AND p.eligible_until >= CAST(:today AS date)"
    if gate:
        extra += f" AND {gate}"
    km = _km("p.home", "CAST(:lon AS float8)", "CAST(:lat AS float8)")
    points = _points(
        strong=strong,
        in_qpv=in_qpv,
        qpv_weight="CAST(:qpv_weight AS float8)",
        available_from="p.available_from",
        reference="CAST(:reference AS date)",
        candidate_hours="p.hours_per_week",
        offer_hours="CAST(:offer_hours AS float8)",
        km="d.km",
        radius="p.radius_km",
        eligible_until="p.eligible_until",
        eligibility_applies="CAST(:eligibility_applies AS boolean)",
    )
    return f"""
SELECT s.*, {_SCORE} AS score FROM (
  SELECT p.candidate_id, p.available_from, p.hours_per_week, {in_qpv} AS in_qpv, p.radius_km,
         p.eligible_until, {strong} AS strong, d.km, {points}
  FROM match_profile p
  CROSS JOIN LATERAL (SELECT {km} AS km) AS d
  WHERE {link}
    AND p.reach @> box(point(CAST(:lon AS float8), CAST(:lat AS float8)),
                       point(CAST(:lon AS float8), CAST(:lat AS float8)))
    AND d.km <= {reach_km("p.radius_km")}{extra}
) AS s
ORDER BY score DESC, s.available_from ASC NULLS LAST, s.candidate_id
LIMIT :limit
"""  # noqa: S608  (only enum values and this module's fragments are written into the text)


def tiers_for(terms: OfferTerms, weights: Weights) -> list[tuple[Tier, float]]:
    """The tiers of the offer's sector with the best score each can reach, best first."""
    if terms.sector is None:
        return []
    qpv_weight = weights.qpv_priority if terms.qpv_prioritised else weights.qpv
    eligibility = weights.eligibility if terms.eligibility_applies else 0.0
    common = qpv_weight + eligibility + weights.availability + weights.hours + weights.distance
    tiers = [
        (Tier(terms.sector, wanted), (weights.sector if wanted else weights.sector_experience))
        for wanted in (True, False)
    ]
    return sorted(((tier, best + common) for tier, best in tiers), key=lambda item: -item[1])


@lru_cache(maxsize=256)
def tiers_sql(shape: Shape, tiers: tuple[Tier, ...]) -> str:
    """The offer's tiers (best first) in one statement: tier ``k`` is read only
    when the tiers before it kept fewer than ``limit`` rows or their ``limit``-th score does not
    beat the best score tier ``k`` can reach (``:bound_k``; a tie goes on, the tie-break could
    prefer it) — the rule of reading tier after tier, decided by PostgreSQL before each scan.
    Cached: the text is ~5 KB, and a few dozen shapes cover every offer."""
    parts: list[str] = []
    for k, tier in enumerate(tiers):
        gate = ""
        if k:
            kept = " UNION ALL ".join(f"SELECT score FROM t{j}" for j in range(k))  # noqa: S608
            gate = (
                f"coalesce((SELECT u.score FROM ({kept}) AS u ORDER BY u.score DESC"  # noqa: S608
                " OFFSET CAST(:limit AS bigint) - 1 LIMIT 1), -1.0)"
                f" <= CAST(:bound_{k} AS float8)"
            )
        parts.append(f"t{k} AS MATERIALIZED ({candidates_sql(shape, tier, gate)})")
    union = " UNION ALL ".join(f"SELECT * FROM t{k}" for k in range(len(parts)))  # noqa: S608
    return (
        f"WITH {', '.join(parts)} SELECT * FROM ({union}) AS r"  # noqa: S608  (this module's)
        " ORDER BY r.score DESC, r.available_from ASC NULLS LAST, r.candidate_id"
        " LIMIT :limit"
    )


def reference_day(start: date | None, today: date) -> date:
    """Availability is scored against the start date, or today once it is past (or unknown)."""
    return max(start, today) if start is not None else today


def candidates_params(
    terms: OfferTerms, weights: Weights, *, today: date, limit: int
) -> dict[str, Any]:
    if terms.lon is None or terms.lat is None:
        raise ValueError("offer without a work site")
    params = _weight_params(weights, today)
    params.update(
        lon=terms.lon,
        lat=terms.lat,
        qpv_weight=weights.qpv_priority if terms.qpv_prioritised else weights.qpv,
        reference=reference_day(terms.start_date, today),
        offer_hours=float(terms.hours_per_week) if terms.hours_per_week is not None else None,
        eligibility_applies=terms.eligibility_applies,
        limit=limit,
    )
    if terms.sector is None:
        params["rome_prefixes"] = rome_prefixes_of(terms.rome_code)
    return params


def offers_sql() -> str:
    km = _km("p.home", "o.lon", "o.lat")
    points = _offer_points("c")
    return f"""
SELECT s.*, {_SCORE} AS score FROM (
  SELECT o.id AS offer_id, o.sector, o.rome_code, o.start_date, o.hours_per_week AS offer_hours,
         o.requires_eligibility, o.contract_id IS NOT NULL AS has_contract,
         coalesce(c.is_npnru, false) AS is_npnru, c.qpv_priority, r.reference,
         p.in_qpv, p.available_from, p.hours_per_week, p.radius_km, p.eligible_until,
         (o.sector IS NULL OR p.wanted @> ARRAY[o.sector]::varchar(30)[]) AS strong,
         d.km, {points}
  FROM match_profile p
  JOIN offer o ON point(o.lon, o.lat) <@ p.reach AND o.status = 'open'
  LEFT JOIN contract c ON c.id = o.contract_id
  CROSS JOIN LATERAL (SELECT {km} AS km) AS d
  CROSS JOIN LATERAL (
    SELECT greatest(coalesce(o.start_date, CAST(:today AS date)), CAST(:today AS date))
      AS reference
  ) AS r
  WHERE p.candidate_id = :candidate_id
    AND (p.sectors @> ARRAY[o.sector]::varchar(30)[]
         OR (o.sector IS NULL AND EXISTS (
               SELECT 1 FROM unnest(p.rome_wishes) AS w(prefix)
               WHERE starts_with(upper(o.rome_code), w.prefix))))
    AND d.km <= {reach_km("p.radius_km")}
    AND (c.qpv_priority IS DISTINCT FROM 'required' OR p.in_qpv)
    AND (NOT o.requires_eligibility OR p.eligible_until >= CAST(:today AS date))
) AS s
ORDER BY score DESC, s.start_date ASC NULLS LAST, s.offer_id
LIMIT :limit
"""  # noqa: S608  (only this module's fragments are written into the text)


OFFERS_SQL = offers_sql()
"""The open offers one candidate is ranked for (``:candidate_id``, ``:today``, ``:limit``)."""
