"""The geocoding queue: candidates whose address waits for the geocoder (decision 0015).

A request never waits on the geocoder. Writing an address (without client coordinates) sets
``candidate.geocoding_due_at``; the matching worker's job then, in rounds:

1. **claims** the due candidates (``FOR UPDATE SKIP LOCKED``, a lease pushed into
   ``geocoding_due_at``, committed at once: two workers never take the same person, and a worker
   killed mid-round only delays them by the lease);
2. **geocodes** their addresses in one pass (:func:`locate_residences`), outside any transaction;
3. **applies** the answers in one short transaction: a trusted point decides the QPV residence
   (method ``geocoded_address``) and becomes the person's point; no match or an untrusted score
   leaves the decision to the commune; the geocoder down keeps the status (``unknown`` where the
   commune does not decide) and schedules a retry with exponential backoff. An address changed
   while it was being geocoded is left to the newer request (the answer is dropped).

A changed status emits ``candidate.updated`` (matching ranks again) and is audited as the
system's doing; addresses are never logged.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlmodel import col

from services.core import audit
from services.core.backoff import exponential_seconds
from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.events import CandidateUpdated, emit
from services.core.geo.qpv import QpvIndex
from services.core.geo.residence import (
    LocatedResidence,
    QpvResidence,
    ResidenceInput,
    locate_residences,
)
from services.core.geocoding.base import Geocoder
from services.core.logging import get_logger
from services.core.models.candidate import Candidate, CandidateStatus, QpvMethod, QpvStatus
from services.core.models.eligibility import EligibilityCriterion, EligibilityKind
from services.core.settings import Settings

log = get_logger("maillon.geocoding")


def wants_geocoding(candidate: Candidate) -> bool:
    """An address to geocode: written, not anonymised, and no point sent by the client."""
    return (
        bool(candidate.address)
        and candidate.qpv_method is not QpvMethod.COORDINATES
        and candidate.status is not CandidateStatus.ANONYMISED
    )


def queue_geocoding(candidate: Candidate) -> None:
    """Call after the address, the commune or the coordinates changed (and the residence was
    decided from what is known now): the address goes to the geocoder, or leaves the queue."""
    candidate.geocoding_attempts = 0
    candidate.geocoding_due_at = now() if wants_geocoding(candidate) else None


def store_residence(candidate: Candidate, residence: QpvResidence) -> None:
    """Write a QPV residence decision on the candidate (stored, never recomputed silently)."""
    candidate.qpv_status = QpvStatus(residence.status.value)
    candidate.qpv_code = residence.code
    candidate.qpv_method = QpvMethod(residence.method.value) if residence.method else None
    candidate.geocoding_score = residence.score
    candidate.qpv_polygon_version = residence.polygon_version
    candidate.qpv_checked_at = residence.checked_at
    candidate.qpv_near_boundary = residence.near_boundary


def retry_delay(attempts: int, settings: Settings) -> timedelta:
    """After ``attempts`` failed tries: base, 2×base, 4×base… capped."""
    return timedelta(
        seconds=exponential_seconds(
            attempts,
            settings.geocoding_retry_base_seconds,
            settings.geocoding_retry_max_seconds,
        )
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    candidate_id: uuid.UUID
    address: str
    commune_insee: str | None
    lease_until: datetime
    # What the person said of their residence: the method when no point decides (0013).
    declared: bool = False


@dataclass(slots=True)
class GeocodingRound:
    claimed: int = 0
    located: int = 0  # a trusted point decided the residence
    unmatched: int = 0  # no answer or an untrusted one: the commune decides
    postponed: int = 0  # the geocoder was down: tried again later
    dropped: int = 0  # the address changed meanwhile, or the person was erased
    status_changed: list[uuid.UUID] = field(default_factory=list)


async def any_due(sessionmaker: SessionMaker) -> bool:
    """Whether some address is due (one index probe)."""
    async with sessionmaker() as session:
        found = await session.scalar(
            select(col(Candidate.id)).where(col(Candidate.geocoding_due_at) <= now()).limit(1)
        )
        return found is not None


async def claim_due(sessionmaker: SessionMaker, *, limit: int, lease_seconds: int) -> list[Claimed]:
    """Take up to ``limit`` due addresses, oldest first, and lease them."""
    moment = now()
    lease_until = moment + timedelta(seconds=lease_seconds)
    due = (
        select(col(Candidate.id))
        .where(col(Candidate.geocoding_due_at) <= moment)
        .order_by(col(Candidate.geocoding_due_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    async with unit_of_work(sessionmaker) as session:
        rows = await session.execute(
            update(Candidate)
            .where(col(Candidate.id).in_(due))
            .values(geocoding_due_at=lease_until)
            .returning(
                col(Candidate.id),
                col(Candidate.address),
                col(Candidate.commune_insee),
                col(Candidate.qpv_declared),
            )
            .execution_options(synchronize_session=False)
        )
        return [
            Claimed(
                candidate_id=row[0],
                address=row[1] or "",
                commune_insee=row[2],
                lease_until=lease_until,
                declared=row[3] is True,
            )
            for row in rows.all()
        ]


async def geocode_round(
    sessionmaker: SessionMaker,
    geocoder: Geocoder,
    qpv: QpvIndex,
    settings: Settings,
) -> GeocodingRound:
    """One round: claim, geocode in one pass, apply."""
    claimed = await claim_due(
        sessionmaker,
        limit=settings.geocoding_batch_size,
        lease_seconds=settings.geocoding_lease_seconds,
    )
    if not claimed:
        return GeocodingRound()
    answers = await locate_residences(
        qpv,
        geocoder,
        [
            ResidenceInput(
                address=item.address, commune_insee=item.commune_insee, declared=item.declared
            )
            for item in claimed
        ],
    )
    return await apply_answers(sessionmaker, claimed, answers, settings)


async def apply_answers(
    sessionmaker: SessionMaker,
    claimed: Sequence[Claimed],
    answers: Sequence[LocatedResidence | ValueError],
    settings: Settings,
) -> GeocodingRound:
    """Store what the geocoder said for the claimed candidates, in one transaction."""
    result = GeocodingRound(claimed=len(claimed))
    async with unit_of_work(sessionmaker) as session:
        rows = await session.scalars(
            select(Candidate)
            .where(col(Candidate.id).in_([item.candidate_id for item in claimed]))
            .with_for_update()
        )
        candidates = {candidate.id: candidate for candidate in rows}
        for item, answer in zip(claimed, answers, strict=True):
            candidate = candidates.get(item.candidate_id)
            if candidate is None or candidate.geocoding_due_at != item.lease_until:
                result.dropped += 1  # gone, or changed and queued again by a newer write
                continue
            if not wants_geocoding(candidate):
                candidate.geocoding_due_at = None  # erased, or a point was sent meanwhile
                result.dropped += 1
                continue
            if candidate.address != item.address or candidate.commune_insee != item.commune_insee:
                candidate.geocoding_due_at = now()  # the new address goes in the next round
                result.dropped += 1
                continue
            if isinstance(answer, ValueError):
                # The stored commune code is refused by the rule: nothing a retry would change.
                candidate.geocoding_due_at = None
                result.unmatched += 1
                continue
            residence = answer.residence
            before = (candidate.qpv_status, candidate.qpv_code)
            store_residence(candidate, residence)
            if residence.retry_geocoding:
                # What the commune tells (unknown) is stored; the address is tried again later.
                candidate.geocoding_attempts += 1
                candidate.geocoding_due_at = now() + retry_delay(
                    candidate.geocoding_attempts, settings
                )
                result.postponed += 1
                continue
            if residence.method is not None and residence.method.value == "geocoded_address":
                assert answer.geocoded is not None  # a geocoded decision carries its answer
                point = (answer.geocoded.lon, answer.geocoded.lat)
                point_changed = (candidate.lon, candidate.lat) != point
                candidate.lon, candidate.lat = point
                result.located += 1
            else:
                # No trusted point: a point stored from an earlier address is no longer hers.
                point_changed = candidate.lon is not None
                candidate.lon = candidate.lat = None
                result.unmatched += 1
            candidate.geocoding_due_at = None
            candidate.geocoding_attempts = 0
            status_changed = before != (candidate.qpv_status, candidate.qpv_code)
            if candidate.qpv_status is not QpvStatus.IN_QPV:
                # The QPV criterion follows the stored residence (product.md §4.5).
                await session.execute(
                    delete(EligibilityCriterion).where(
                        col(EligibilityCriterion.candidate_id) == candidate.id,
                        col(EligibilityCriterion.kind) == EligibilityKind.QPV_RESIDENT,
                    )
                )
            if status_changed or point_changed:
                audit.record(
                    session,
                    None,
                    "geocode",
                    "candidate",
                    candidate.id,
                    details={
                        "qpv_status": candidate.qpv_status.value,
                        "qpv_method": candidate.qpv_method.value if candidate.qpv_method else None,
                    },
                )
                emit(session, CandidateUpdated(candidate_id=candidate.id))
            if status_changed:
                result.status_changed.append(candidate.id)
    log.info(
        "geocoding_round",
        claimed=result.claimed,
        located=result.located,
        unmatched=result.unmatched,
        postponed=result.postponed,
        dropped=result.dropped,
        status_changed=len(result.status_changed),
    )
    return result
