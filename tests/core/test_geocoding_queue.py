"""The geocoding queue (decision 0015) against a local fake BAN server and real PostgreSQL:
an address resolved by the geocoder decides the QPV residence; with the geocoder down the
person stays ``unknown`` and the retry job fixes it once the service is back."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.core.clock import FrozenClock
from services.core.db import SessionMaker, unit_of_work
from services.core.geo.qpv import QpvIndex
from services.core.geo.residence import ResidenceInput, locate_residences
from services.core.geocoding.ban import BanGeocoder
from services.core.geocoding.queue import (
    apply_answers,
    claim_due,
    geocode_round,
    queue_geocoding,
    retry_delay,
)
from services.core.models import AuditEntry, Candidate, OutboxEvent
from services.core.models.candidate import CandidateStatus, QpvMethod, QpvStatus
from services.core.models.eligibility import EligibilityCriterion, EligibilityKind
from services.core.settings import Settings
from services.matching.geocoding import geocode_addresses
from tests.core.fake_ban import FakeBan, Place, running_fake_ban

GOUTTE_DOR = Place(
    lon=2.3535,
    lat=48.8865,
    score=0.93,
    label="12 Rue des Gardes 75018 Paris",
    citycode="75118",
    postcode="75018",
)
OPERA = Place(
    lon=2.3316,
    lat=48.8719,
    score=0.91,
    label="8 Rue Scribe 75009 Paris",
    citycode="75109",
    postcode="75009",
)

pytestmark = pytest.mark.usefixtures("reference_data")


async def _candidate(
    sessionmaker: SessionMaker, *, address: str | None, commune: str = "75118"
) -> uuid.UUID:
    async with unit_of_work(sessionmaker) as session:
        candidate = Candidate(first_name="Awa", last_name="Diallo", commune_insee=commune)
        candidate.address = address
        queue_geocoding(candidate)
        session.add(candidate)
        await session.flush()
        return candidate.id


async def _get(sessionmaker: SessionMaker, candidate_id: uuid.UUID) -> Candidate:
    async with sessionmaker() as session:
        candidate = await session.get(Candidate, candidate_id)
        assert candidate is not None
        return candidate


async def _events(sessionmaker: SessionMaker, candidate_id: uuid.UUID) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(col(OutboxEvent.type)).where(
                col(OutboxEvent.payload)["candidate_id"].astext == str(candidate_id)
            )
        )
        return list(rows)


def _geocoder(fake: FakeBan) -> BanGeocoder:
    return BanGeocoder(fake.url, timeout_seconds=1.0, connect_timeout_seconds=1.0, tries=1)


async def test_an_address_resolved_by_the_geocoder_decides_the_residence(
    committing_sessionmaker: SessionMaker,
    qpv_index: QpvIndex,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    inside = await _candidate(committing_sessionmaker, address="12 rue des Gardes")
    outside = await _candidate(committing_sessionmaker, address="8 rue Scribe", commune="75109")
    nowhere = await _candidate(committing_sessionmaker, address="nulle part")
    assert (await _get(committing_sessionmaker, inside)).qpv_status is QpvStatus.UNKNOWN
    async with running_fake_ban() as fake:
        fake.places = {"12 rue des gardes": GOUTTE_DOR, "8 rue scribe": OPERA}
        async with _geocoder(fake) as geocoder:
            done = await geocode_round(committing_sessionmaker, geocoder, qpv_index, settings)
        assert {r["q"] for r in fake.requests} == {
            "12 rue des Gardes",
            "8 rue Scribe",
            "nulle part",
        }
    assert (done.claimed, done.located, done.unmatched, done.postponed) == (3, 2, 1, 0)

    person = await _get(committing_sessionmaker, inside)
    assert (person.qpv_status, person.qpv_code, person.qpv_method) == (
        QpvStatus.IN_QPV,
        "QN07511M",
        QpvMethod.GEOCODED_ADDRESS,
    )
    assert (person.lon, person.lat, person.geocoding_score) == (2.3535, 48.8865, 0.93)
    assert person.qpv_polygon_version == qpv_index.dataset.version  # type: ignore[union-attr]
    assert person.geocoding_due_at is None
    assert await _events(committing_sessionmaker, inside) == ["candidate.updated"]

    away = await _get(committing_sessionmaker, outside)
    assert (away.qpv_status, away.qpv_method) == (QpvStatus.OUTSIDE_QPV, QpvMethod.GEOCODED_ADDRESS)

    # No match: the commune (Paris 18e hosts QPVs) leaves the status unknown, not retried.
    lost = await _get(committing_sessionmaker, nowhere)
    assert (lost.qpv_status, lost.qpv_method, lost.lon) == (
        QpvStatus.UNKNOWN,
        QpvMethod.COMMUNE_ONLY,
        None,
    )
    assert lost.geocoding_due_at is None
    assert await _events(committing_sessionmaker, nowhere) == []

    # The system's doing is audited, without the address.
    async with committing_sessionmaker() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry).where(col(AuditEntry.resource_id).in_([inside, outside]))
            )
        )
    assert {(e.actor_type, e.action) for e in entries} == {("system", "geocode")}
    assert all("rue" not in str(e.details).lower() for e in entries)


async def test_geocoder_down_then_fixed_by_the_retry_job(
    committing_sessionmaker: SessionMaker,
    qpv_index: QpvIndex,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    candidate_id = await _candidate(committing_sessionmaker, address="12 rue des Gardes")
    async with running_fake_ban() as fake:
        fake.places = {"12 rue des gardes": GOUTTE_DOR}
        fake.mode = "fail"
        async with _geocoder(fake) as geocoder:
            down = await geocode_round(committing_sessionmaker, geocoder, qpv_index, settings)
            assert (down.claimed, down.postponed) == (1, 1)
            person = await _get(committing_sessionmaker, candidate_id)
            assert (person.qpv_status, person.qpv_method) == (
                QpvStatus.UNKNOWN,
                QpvMethod.COMMUNE_ONLY,
            )
            assert person.geocoding_attempts == 1
            assert person.geocoding_due_at == clock.now() + retry_delay(1, settings)

            # Not due yet: the next run leaves it alone, even with the service back.
            fake.mode = "ok"
            early = await geocode_round(committing_sessionmaker, geocoder, qpv_index, settings)
            assert early.claimed == 0

            # Down again at the retry: the delay doubles.
            clock.advance(retry_delay(1, settings))
            fake.mode = "fail"
            again = await geocode_round(committing_sessionmaker, geocoder, qpv_index, settings)
            assert again.postponed == 1
            person = await _get(committing_sessionmaker, candidate_id)
            assert person.geocoding_attempts == 2
            assert retry_delay(2, settings) == 2 * retry_delay(1, settings)
            assert person.geocoding_due_at == clock.now() + retry_delay(2, settings)

            clock.advance(retry_delay(2, settings))
            fake.mode = "ok"
            fixed = await geocode_round(committing_sessionmaker, geocoder, qpv_index, settings)
    assert (fixed.claimed, fixed.located) == (1, 1)
    person = await _get(committing_sessionmaker, candidate_id)
    assert (person.qpv_status, person.qpv_code, person.qpv_method) == (
        QpvStatus.IN_QPV,
        "QN07511M",
        QpvMethod.GEOCODED_ADDRESS,
    )
    assert (person.geocoding_due_at, person.geocoding_attempts) == (None, 0)


def test_the_retry_delay_is_capped(settings: Settings) -> None:
    assert retry_delay(1, settings) == timedelta(seconds=settings.geocoding_retry_base_seconds)
    assert retry_delay(50, settings) == timedelta(seconds=settings.geocoding_retry_max_seconds)


async def test_an_address_changed_while_geocoding_is_not_overwritten(
    committing_sessionmaker: SessionMaker,
    qpv_index: QpvIndex,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    candidate_id = await _candidate(committing_sessionmaker, address="12 rue des Gardes")
    claimed = await claim_due(committing_sessionmaker, limit=10, lease_seconds=300)
    assert [c.candidate_id for c in claimed] == [candidate_id]
    # A second worker finds nothing: the address is leased.
    assert await claim_due(committing_sessionmaker, limit=10, lease_seconds=300) == []
    async with running_fake_ban() as fake:
        fake.places = {"12 rue des gardes": GOUTTE_DOR}
        async with _geocoder(fake) as geocoder:
            answers = await locate_residences(
                qpv_index, geocoder, [ResidenceInput(address=c.address) for c in claimed]
            )
    # Meanwhile the person moved: the write queues the new address again.
    async with unit_of_work(committing_sessionmaker) as session:
        person = await session.get(Candidate, candidate_id)
        assert person is not None
        person.address = "8 rue Scribe"
        person.commune_insee = "75109"
        queue_geocoding(person)
    done = await apply_answers(committing_sessionmaker, claimed, answers, settings)
    assert (done.dropped, done.located) == (1, 0)
    person = await _get(committing_sessionmaker, candidate_id)
    assert person.qpv_status is QpvStatus.UNKNOWN
    assert person.lon is None
    assert person.geocoding_due_at == clock.now()  # the new address waits for the next round


async def test_what_is_not_queued(
    committing_sessionmaker: SessionMaker, qpv_index: QpvIndex, clock: FrozenClock
) -> None:
    # Client coordinates decide: nothing to geocode.
    pointed = Candidate(address="12 rue des Gardes", qpv_method=QpvMethod.COORDINATES)
    queue_geocoding(pointed)
    assert pointed.geocoding_due_at is None
    # No address, or an erased person: nothing to geocode.
    blank = Candidate(address=None)
    queue_geocoding(blank)
    assert blank.geocoding_due_at is None
    erased = Candidate(address="x", status=CandidateStatus.ANONYMISED)
    queue_geocoding(erased)
    assert erased.geocoding_due_at is None


async def test_leaving_a_qpv_withdraws_the_qpv_criterion(
    committing_sessionmaker: SessionMaker,
    qpv_index: QpvIndex,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    candidate_id = await _candidate(
        committing_sessionmaker, address="8 rue Scribe", commune="75109"
    )
    async with unit_of_work(committing_sessionmaker) as session:
        session.add(
            EligibilityCriterion(
                candidate_id=candidate_id, kind=EligibilityKind.QPV_RESIDENT, sensitive=False
            )
        )
    async with running_fake_ban() as fake:
        fake.places = {"8 rue scribe": OPERA}
        async with _geocoder(fake) as geocoder:
            await geocode_round(committing_sessionmaker, geocoder, qpv_index, settings)
    async with committing_sessionmaker() as session:
        kinds = list(
            await session.scalars(
                select(col(EligibilityCriterion.kind)).where(
                    col(EligibilityCriterion.candidate_id) == candidate_id
                )
            )
        )
    assert kinds == []


async def test_the_worker_job_drains_the_queue_in_rounds(
    committing_sessionmaker: SessionMaker,
    qpv_index: QpvIndex,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    ids = [
        await _candidate(committing_sessionmaker, address=f"{n} rue des Gardes") for n in range(5)
    ]
    async with running_fake_ban() as fake:
        fake.places = {f"{n} rue des gardes": GOUTTE_DOR for n in range(5)}
        ctx: dict[str, object] = {
            "settings": settings.model_copy(
                update={"geocoder_url": fake.url, "geocoding_batch_size": 2}
            ),
            "sessionmaker": committing_sessionmaker,
        }
        totals = await geocode_addresses(ctx)
        assert len(fake.requests) == 5
        # Nothing due any more: the next run asks nothing.
        assert (await geocode_addresses(ctx))["claimed"] == 0
        assert len(fake.requests) == 5
    assert totals == {"claimed": 5, "located": 5, "unmatched": 0, "postponed": 0, "dropped": 0}
    for candidate_id in ids:
        assert (await _get(committing_sessionmaker, candidate_id)).qpv_code == "QN07511M"
    # Switched off: addresses wait, nobody is called.
    waiting = await _candidate(committing_sessionmaker, address="1 rue des Gardes")
    off = {
        "settings": settings.model_copy(update={"geocoder_enabled": False}),
        **{"sessionmaker": committing_sessionmaker},
    }
    assert (await geocode_addresses(off))["claimed"] == 0
    assert (await _get(committing_sessionmaker, waiting)).geocoding_due_at == clock.now()
