"""Scoring in SQL: rank candidates for an offer, and open offers for a candidate (product.md §5).

Scores are computed by PostgreSQL on ``match_profile`` (kept by triggers, decision 0016). The
candidates of the offer's sector are split in two tiers (wanted or only worked sector, decision
0073), each with its partial GiST index covering every column the score reads. The tiers are
read best-first, one index-only scan each
(reach box contains the work site, exact distance within the radius, points computed from the
covered columns, top ``limit`` sorted in SQL); reading stops once the last kept score beats the
best score the next tier can reach. All the tiers of an offer are ONE statement: each tier is a
materialised CTE guarded by a condition on the tiers before it (their ``limit``-th score against
the tier's bound), which PostgreSQL evaluates once before touching the tier's index (a one-time
filter), so a tier not needed is never read. Only the top rows come back to Python, which adds
the French labels when they are read (decision 0031). The same SQL expressions score both
directions, so a pair gets the same points whichever side asked.

The statements run on the session's own asyncpg connection (:func:`driver`), each prepared once
per connection (:func:`fetch`) and planned once (``plan_cache_mode = force_generic_plan``:
planning each execution costs more than the scan, decisions 0026 and 0073; the tier predicates
are literal, so the generic plan uses the same indexes); no transaction of their own (inside the
caller's when it has one, e.g. the worker's job; none otherwise: a read needs none).
"""

from __future__ import annotations

import re
import uuid
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache, partial
from itertools import repeat
from typing import Any, NamedTuple

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.clock import now
from services.core.db import session_driver
from services.core.models.contract import QpvPriority
from services.core.models.match_profile import Tier
from services.core.models.offer import OfferStatus
from services.core.ranking import explain
from services.core.ranking.score import SCORE_SQL as _SCORE
from services.core.ranking.score import km_sql as _km
from services.core.ranking.score import offer_points_sql as _offer_points
from services.core.ranking.score import points_sql as _points
from services.core.ranking.score import reach_km
from services.core.ranking.score import weight_params as _weight_params
from services.core.ranking.weights import Criterion, Weights
from services.core.referentials.sectors import SectorCode
from services.core.settings import Settings

DEFAULT_OFFERS_LIMIT = 100


class CriterionPoints(NamedTuple):
    # A named tuple, not a dataclass: five per ranked row, built for every ranking.
    criterion: Criterion
    points: float
    label: str


_ORDER = (
    Criterion.SECTOR,
    Criterion.QPV,
    Criterion.AVAILABILITY,
    Criterion.DISTANCE,
    Criterion.ELIGIBILITY,
)
_POSITION = {criterion: k for k, criterion in enumerate(_ORDER)}
_NEW = tuple.__new__


class Explanation:
    """The five criteria, in order; ``score`` is the sum of their points.

    The points come with the row; the French labels are built on first reading (``criteria``,
    ``label``): the matching worker stores points only, and a ranking's fifty or hundred rows
    would otherwise build 250–500 sentences nobody reads.
    """

    __slots__ = ("_criteria", "_labels", "_points")

    def __init__(
        self, points: tuple[float, ...], labels: Callable[[], tuple[str, ...]] | None = None
    ) -> None:
        self._points = points
        self._labels = labels
        self._criteria: tuple[CriterionPoints, ...] | None = None

    @classmethod
    def of(cls, criteria: tuple[CriterionPoints, ...]) -> Explanation:
        """An explanation from its five criteria, given in order."""
        if tuple(c.criterion for c in criteria) != _ORDER:
            raise ValueError("the five criteria, in order")
        made = cls(tuple(c.points for c in criteria))
        made._criteria = criteria
        return made

    @property
    def criteria(self) -> tuple[CriterionPoints, ...]:
        if self._criteria is None:
            labels = self._labels() if self._labels is not None else ("",) * len(_ORDER)
            # tuple.__new__ makes each named tuple without a Python call (five a row).
            self._criteria = tuple(
                map(_NEW, repeat(CriterionPoints), zip(_ORDER, self._points, labels, strict=False))
            )
            self._labels = None
        return self._criteria

    def points(self, criterion: Criterion) -> float:
        return self._points[_POSITION[criterion]]

    def label(self, criterion: Criterion) -> str:
        return self.criteria[_POSITION[criterion]].label

    @property
    def score(self) -> float:
        return round(sum(self._points), 2)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Explanation):
            return NotImplemented
        return self.criteria == other.criteria

    def __hash__(self) -> int:
        return hash(self.criteria)

    def __repr__(self) -> str:
        return f"Explanation({self.criteria!r})"


class RankedCandidate(NamedTuple):
    # Named tuples, not dataclasses: one per ranked row, built for every ranking.
    candidate_id: uuid.UUID
    rank: int
    score: float
    explanation: Explanation
    distance_km: float
    available_from: date | None


class RankedOffer(NamedTuple):
    offer_id: uuid.UUID
    rank: int
    score: float
    explanation: Explanation
    distance_km: float
    start_date: date | None


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """What the ranking reads of an offer and its contract."""

    offer_id: uuid.UUID
    status: OfferStatus
    sector: SectorCode | None
    rome_code: str
    lon: float | None
    lat: float | None
    start_date: date | None
    hours_per_week: Decimal | None
    requires_eligibility: bool
    has_contract: bool
    is_npnru: bool
    qpv_priority: QpvPriority | None

    @property
    def qpv_prioritised(self) -> bool:
        return self.is_npnru or self.qpv_priority in (QpvPriority.PREFERRED, QpvPriority.REQUIRED)

    @property
    def eligibility_applies(self) -> bool:
        """Eligibility earns points on clause offers (a contract) and on offers requiring it."""
        return self.requires_eligibility or self.has_contract


# -- the connection the statements run on ------------------------------------------------------

_GENERIC_PLANS: weakref.WeakSet[Any] = weakref.WeakSet()


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The session's asyncpg connection (checked out once, as for any statement of the session),
    set to plan prepared statements once. The setting is the connection's (a ``SET`` outside a
    transaction, or committed with the caller's); rolled back with a failed transaction, it only
    costs plans until the connection is replaced."""
    found: asyncpg.Connection = await session_driver(session)
    if found not in _GENERIC_PLANS:
        await found.execute("SET plan_cache_mode = force_generic_plan")
        _GENERIC_PLANS.add(found)
    return found


_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


@lru_cache(maxsize=512)
def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:name`` parameters as asyncpg's ``$n``, and the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _NAMED.sub(number, sql), tuple(names)


Statement = tuple[str, tuple[Any, ...]]

TRACE: ContextVar[list[Statement] | None] = ContextVar("matching_statements", default=None)
"""When set to a list, each statement run here is appended to it with its arguments (the ranking
benchmark replays them as bare SQL)."""

# Prepared statements by connection, kept whatever their size: asyncpg's own cache skips
# statements over 15 KB (an offer's eight tiers in one statement were about 17 KB; its two tiers
# are about 5 KB since decision 0073), which would be parsed and planned every time.
_PREPARED: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _prepared_of(connection: asyncpg.Connection) -> dict[str, Any]:
    found = _PREPARED.get(connection)
    if found is None:
        # A new connection: forget the statements of closed ones (they reference their
        # connection, so the weak key alone would never let them go).
        for closed in [c for c in list(_PREPARED) if c.is_closed()]:
            del _PREPARED[closed]
        found = _PREPARED[connection] = {}
    return found


async def fetch(
    connection: asyncpg.Connection, sql: str, params: dict[str, Any]
) -> list[asyncpg.Record]:
    """Run ``sql`` (``:name`` parameters) as a statement prepared once per connection."""
    statement, names = _positional(sql)
    args = tuple(params[name] for name in names)
    prepared = _prepared_of(connection)
    ready = prepared.get(statement)
    if ready is None:
        ready = prepared[statement] = await connection.prepare(statement)
    trace = TRACE.get()
    if trace is not None:
        trace.append((statement, args))
    try:
        rows: list[asyncpg.Record] = await ready.fetch(*args)
    except asyncpg.exceptions.InvalidCachedStatementError:
        # The schema changed under the statement (a migration): prepared again next time.
        prepared.pop(statement, None)
        raise
    return rows


_TERMS = (
    "SELECT o.id, o.status, o.sector, o.rome_code, o.lon, o.lat, o.start_date, "
    "o.hours_per_week, o.requires_eligibility, o.contract_id IS NOT NULL, "
    "coalesce(c.is_npnru, false), c.qpv_priority "
    "FROM offer o LEFT JOIN contract c ON c.id = o.contract_id WHERE o.id = :id"
)


async def load_offer_terms(session: AsyncSession, offer_id: uuid.UUID) -> OfferTerms | None:
    return await load_terms(await driver(session), offer_id)


async def load_terms(connection: asyncpg.Connection, offer_id: uuid.UUID) -> OfferTerms | None:
    found = await fetch(connection, _TERMS, {"id": offer_id})
    row = found[0] if found else None
    if row is None:
        return None
    return OfferTerms(
        offer_id=row[0],
        status=OfferStatus(row[1]),
        sector=SectorCode(row[2]) if row[2] is not None else None,
        rome_code=row[3],
        lon=row[4],
        lat=row[5],
        start_date=row[6],
        hours_per_week=row[7],
        requires_eligibility=row[8],
        has_contract=row[9],
        is_npnru=row[10],
        qpv_priority=QpvPriority(row[11]) if row[11] is not None else None,
    )


# -- the score, as SQL ------------------------------------------------------------------------


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


def _row_key(row: Any) -> tuple[float, bool, date, uuid.UUID]:
    available: date | None = row["available_from"]
    return (-row["score"], available is None, available or date.max, row["candidate_id"])


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


async def _ranked_rows(
    connection: asyncpg.Connection,
    terms: OfferTerms,
    params: dict[str, Any],
    weights: Weights,
    limit: int,
) -> list[asyncpg.Record]:
    """The best ``limit`` rows, in one statement (:func:`tiers_sql`)."""
    tiers = tiers_for(terms, weights)
    if not tiers:
        return await fetch(connection, candidates_sql(Shape.of(terms), None), params)
    bounds = {f"bound_{k}": bound for k, (_, bound) in enumerate(tiers)}
    sql = tiers_sql(Shape.of(terms), tuple(tier for tier, _ in tiers))
    return await fetch(connection, sql, {**params, **bounds})


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
        reference=_reference(terms.start_date, today),
        offer_hours=float(terms.hours_per_week) if terms.hours_per_week is not None else None,
        eligibility_applies=terms.eligibility_applies,
        limit=limit,
    )
    if terms.sector is None:
        params["rome_prefixes"] = rome_prefixes_of(terms.rome_code)
    return params


def _reference(start: date | None, today: date) -> date:
    """Availability is scored against the start date, or today once it is past (or unknown)."""
    return max(start, today) if start is not None else today


def _today(today: date | None) -> date:
    return today if today is not None else now().date()


class _Labels:
    """What the labels of one ranking call share: the decay and the day, and the sector and
    QPV sentences built once per distinct value."""

    def __init__(self, weights: Weights, day: date) -> None:
        self.decay_days = weights.availability_decay_days
        self.day = day
        self._known: dict[tuple[Any, ...], str] = {}

    def _remembered(self, key: tuple[Any, ...], build: Callable[[], str]) -> str:
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = build()
        return found

    def sector(self, strong: bool, sector: SectorCode | None, rome_code: str) -> str:
        return self._remembered(
            ("sector", strong, sector, rome_code),
            lambda: explain.sector_label(strong=strong, sector=sector, rome_code=rome_code),
        )

    def qpv(self, in_qpv: bool, is_npnru: bool, qpv_priority: QpvPriority | str | None) -> str:
        return self._remembered(
            ("qpv", in_qpv, is_npnru, qpv_priority),
            lambda: explain.qpv_label(in_qpv=in_qpv, is_npnru=is_npnru, qpv_priority=qpv_priority),
        )


# The sentences that differ from row to row, by what they show: the same few thousand recur
# across every ranking of the process, so each is built once.


@lru_cache(maxsize=8192)
def _availability_sentence(
    late: int,
    has_start_date: bool,
    decay_days: int,
    candidate_hours: int | None,
    offer_hours: Decimal | float | None,
) -> str:
    """``late``: days from the reference to the availability, 0 when available by then, at most
    ``decay_days`` (one sentence beyond it); -1 when the person gave no date."""
    return explain.availability_label(
        available_from=date.min + timedelta(days=late) if late >= 0 else None,
        reference=date.min,
        has_start_date=has_start_date,
        decay_days=decay_days,
        candidate_hours=candidate_hours,
        offer_hours=offer_hours,
    )


@lru_cache(maxsize=8192)
def _distance_sentence(whole_km: int, radius_km: int | None) -> str:
    """``whole_km``: the distance rounded as the sentence shows it, -1 under 1 km."""
    return explain.distance_label(km=float(whole_km) if whole_km >= 1 else 0.0, radius_km=radius_km)


@lru_cache(maxsize=8192)
def _eligibility_sentence(applies: bool, shown: date | bool) -> str:
    """``shown``: the expiry of a current validation when the offer asks for one (the sentence
    shows it), else whether a validation is current."""
    until = shown if isinstance(shown, date) else (date.max if shown else None)
    return explain.eligibility_label(applies=applies, eligible_until=until, today=date.min)


@dataclass(frozen=True, slots=True)
class _Side:
    """What the labels of one ranking's rows share: the offer's side, or for an offer ranked for
    a candidate, that offer's (one per row)."""

    labels: _Labels
    sector: SectorCode | None
    rome_code: str
    is_npnru: bool
    qpv_priority: QpvPriority | str | None
    reference: date
    has_start_date: bool
    offer_hours: Decimal | float | None
    eligibility_applies: bool

    # The sector and QPV sentences of this side: two values each.
    _sector: dict[bool, str] = field(default_factory=dict)
    _qpv: dict[bool, str] = field(default_factory=dict)

    def row_labels(self, row: Any) -> tuple[str, ...]:
        """The five labels of one ranked row (both directions), in criterion order."""
        labels = self.labels
        strong = row["strong"]
        sector = self._sector.get(strong)
        if sector is None:
            sector = self._sector[strong] = labels.sector(strong, self.sector, self.rome_code)
        in_qpv = row["in_qpv"]
        qpv = self._qpv.get(in_qpv)
        if qpv is None:
            qpv = self._qpv[in_qpv] = labels.qpv(in_qpv, self.is_npnru, self.qpv_priority)
        available_from: date | None = row["available_from"]
        late = -1 if available_from is None else (available_from - self.reference).days
        if late < 0 and available_from is not None:
            late = 0
        elif late > labels.decay_days:
            late = labels.decay_days
        km: float = row["km"]
        until: date | None = row["eligible_until"]
        valid = until is not None and until >= labels.day
        applies = self.eligibility_applies
        return (
            sector,
            qpv,
            _availability_sentence(
                late, self.has_start_date, labels.decay_days, row["hours_per_week"],
                self.offer_hours,
            ),
            _distance_sentence(round(km) if km >= 1 else -1, row["radius_km"]),
            _eligibility_sentence(applies, until if valid and applies and until else valid),
        )  # fmt: skip


def _explanation(row: Any, labels: Callable[[], tuple[str, ...]]) -> Explanation:
    """The row's five points now, its labels when first read."""
    return Explanation(
        (
            row["sector_points"],
            row["qpv_points"],
            row["availability_points"],
            row["distance_points"],
            row["eligibility_points"],
        ),
        labels,
    )


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
    reference = _reference(terms.start_date, day)
    side = _Side(
        labels=_Labels(weights, day),
        sector=terms.sector,
        rome_code=terms.rome_code,
        is_npnru=terms.is_npnru,
        qpv_priority=terms.qpv_priority,
        reference=reference,
        has_start_date=terms.start_date is not None,
        offer_hours=terms.hours_per_week,
        eligibility_applies=terms.eligibility_applies,
    )
    return [
        RankedCandidate(
            row["candidate_id"],
            position,
            round(row["score"], 2),  # = explanation.score: same sum, same order
            _explanation(row, partial(side.row_labels, row)),
            round(row["km"], 1),
            row["available_from"],
        )
        for position, row in enumerate(rows, start=1)
    ]


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


_OFFERS_SQL = offers_sql()


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
    params = _weight_params(weights, day)
    params.update(candidate_id=candidate_id, limit=limit)
    rows = await fetch(await driver(session), _OFFERS_SQL, params)
    labels = _Labels(weights, day)
    return [
        RankedOffer(
            row["offer_id"],
            position,
            round(row["score"], 2),  # = explanation.score: same sum, same order
            _explanation(row, partial(_offer_labels, labels, row)),
            round(row["km"], 1),
            row["start_date"],
        )
        for position, row in enumerate(rows, start=1)
    ]


def _offer_labels(labels: _Labels, row: Any) -> tuple[str, ...]:
    """The labels of an offer ranked for a candidate: the offer's side is the row's own, made
    when the labels are first read."""
    side = _Side(
        labels=labels,
        sector=SectorCode(row["sector"]) if row["sector"] is not None else None,
        rome_code=row["rome_code"],
        is_npnru=row["is_npnru"],
        qpv_priority=row["qpv_priority"],
        reference=row["reference"],
        has_start_date=row["start_date"] is not None,
        offer_hours=row["offer_hours"],
        eligibility_applies=row["requires_eligibility"] or row["has_contract"],
    )
    return side.row_labels(row)
