"""Why is this person not ranked? ``GET /v1/offers/{offer_id}/candidates/{candidate_id}/ranking``
names every rule that keeps a candidate out of an offer's ranking, or gives their points and
their rank (issue 13, decision 0040)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models.candidate import (
    Candidate,
    CandidateShare,
    CandidateStatus,
    QpvStatus,
    ShareReason,
)
from services.core.models.eligibility import EligibilityCriterion, EligibilityKind
from services.core.models.match import Match
from services.core.models.offer import Offer, OfferStatus
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.referentials.sectors import SectorCode, get_sector
from services.core.settings import Settings
from services.matching.profiles import build_queued_profiles
from services.matching.refresh import refresh_offer_matches
from tests.api.conftest import assert_problem
from tests.api.identity import Network, audit_entries, make_network
from tests.factories import make_candidate, make_offer, make_organisation
from tests.matching.support import SITE, east_of_site

pytestmark = pytest.mark.usefixtures("reference_data", "clock")


@pytest.fixture
async def network(db_session: AsyncSession, settings: Settings) -> Network:
    return await make_network(db_session, settings)


@pytest.fixture
async def employer(db_session: AsyncSession, network: Network) -> Organisation:
    facilitation = await db_session.get(Organisation, uuid.UUID(network.facilitation_id))
    return await make_organisation(db_session, kind=OrganisationKind.EMPLOYER, parent=facilitation)


async def _offer(session: AsyncSession, employer: Organisation, **changes: Any) -> Offer:
    offer = await make_offer(session, employer, status=OfferStatus.OPEN)
    offer.lon, offer.lat = SITE
    for name, value in changes.items():
        setattr(offer, name, value)
    await session.flush()
    return offer


async def _person(
    session: AsyncSession, network: Network, *, km: float = 3.0, **changes: Any
) -> Candidate:
    member = await session.get(Organisation, uuid.UUID(network.member_id))
    assert member is not None
    candidate = await make_candidate(session, member)
    candidate.lon, candidate.lat = east_of_site(km)
    candidate.sectors_wanted = [SectorCode.CONSTRUCTION]
    candidate.mobility_radius_km = 15
    candidate.available_from = date(2026, 3, 2)
    candidate.hours_per_week = 35
    candidate.qpv_status = QpvStatus.OUTSIDE_QPV
    for name, value in changes.items():
        setattr(candidate, name, value)
    await session.flush()
    await build_queued_profiles(session)  # as the matching worker does first
    return candidate


async def _just_entered(session: AsyncSession, network: Network) -> Candidate:
    """A person inserted with everything at once, as an intake does: profile still queued."""
    lon, lat = east_of_site(2)
    candidate = Candidate(
        first_name="Samia",
        last_name="Nouvelle",
        search_name="nouvelle samia",
        commune_insee="93066",
        lon=lon,
        lat=lat,
        qpv_status=QpvStatus.OUTSIDE_QPV,
        sectors_wanted=[SectorCode.CONSTRUCTION],
    )
    session.add(candidate)
    await session.flush()
    session.add(
        CandidateShare(
            candidate_id=candidate.id,
            organisation_id=uuid.UUID(network.member_id),
            reason=ShareReason.CREATED,
        )
    )
    await session.flush()
    return candidate


async def _standing(
    client: httpx.AsyncClient, network: Network, offer: Offer, candidate: Candidate
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/offers/{offer.id}/candidates/{candidate.id}/ranking",
        headers=network.a1.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _codes(body: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in body["reasons"]]


async def test_a_listed_candidate_gets_the_rankings_points_and_rank(
    client: httpx.AsyncClient,
    network: Network,
    employer: Organisation,
    db_session: AsyncSession,
    settings: Settings,
) -> None:
    offer = await _offer(db_session, employer)
    near = await _person(db_session, network, km=2)
    person = await _person(db_session, network, km=6)
    await refresh_offer_matches(db_session, offer.id, settings=settings)
    stored = await db_session.scalar(
        select(Match).where(col(Match.offer_id) == offer.id, col(Match.candidate_id) == person.id)
    )
    assert stored is not None

    body = await _standing(client, network, offer, person)

    assert body["standing"] == "listed" and body["reasons"] == []
    assert body["rank"] == stored.rank == 2
    assert body["score"] == stored.score
    points = {c["criterion"]: c["points"] for c in body["criteria"]}
    assert points == {
        "sector": stored.sector_points,
        "qpv": stored.qpv_points,
        "availability": stored.availability_points,
        "distance": stored.distance_points,
        "eligibility": stored.eligibility_points,
    }
    distance = next(c for c in body["criteria"] if c["criterion"] == "distance")
    assert distance["label"] == "Distance"
    assert distance["explanation"] == "À 6 km (rayon 15 km)"
    # The read is the person's, audited, with the offer it was about.
    [entry] = await audit_entries(db_session, resource_type="candidate")
    assert (entry.action, entry.resource_id) == ("read", person.id)
    assert entry.details == {"offer_id": str(offer.id)}
    assert (await _standing(client, network, offer, near))["rank"] == 1


async def test_every_rule_that_excludes_a_candidate_is_named(
    client: httpx.AsyncClient,
    network: Network,
    employer: Organisation,
    db_session: AsyncSession,
) -> None:
    offer = await _offer(db_session, employer)
    demanding = await _offer(db_session, employer, requires_eligibility=True)
    far_and_elsewhere = await _person(
        db_session, network, km=30, sectors_wanted=[SectorCode.CLEANING]
    )
    placed = await _person(db_session, network, status=CandidateStatus.PLACED)
    nowhere = await _person(db_session, network, commune_insee=None, lon=None, lat=None)
    unknown_radius = await _person(db_session, network, km=24, mobility_radius_km=None)

    body = await _standing(client, network, offer, far_and_elsewhere)
    assert body["standing"] == "excluded"
    assert _codes(body) == ["sector", "distance"]
    sector = get_sector(SectorCode.CONSTRUCTION).label
    assert body["reasons"][0]["label"] == (
        f"Le secteur de l'offre ({sector}) n'est ni souhaité ni déjà exercé par la personne"
    )
    assert body["reasons"][1]["label"] == (
        "Lieu de travail à 30 km, au-delà du rayon de mobilité de 15 km"
    )
    assert body["criteria"] == [] and body["score"] is None and body["rank"] is None

    assert _codes(await _standing(client, network, offer, placed)) == ["placed"]
    assert _codes(await _standing(client, network, offer, nowhere)) == ["not_located"]
    fresh = await _just_entered(db_session, network)
    assert _codes(await _standing(client, network, offer, fresh)) == ["profile_pending"]
    radius = await _standing(client, network, offer, unknown_radius)
    assert radius["reasons"][0]["label"] == (
        "Lieu de travail à 24 km, au-delà du rayon non renseigné, 20 km retenus"
    )

    person = await _person(db_session, network)
    assert _codes(await _standing(client, network, demanding, person)) == ["eligibility"]
    db_session.add(
        EligibilityCriterion(
            candidate_id=person.id, kind=EligibilityKind.DELD, validated_on=date(2026, 1, 10)
        )
    )
    await db_session.flush()
    eligible = await _standing(client, network, demanding, person)
    assert eligible["standing"] == "not_listed"  # qualifies; the worker has not ranked it yet
    assert eligible["rank"] is None and eligible["score"] is not None

    offer.status = OfferStatus.FILLED
    await db_session.flush()
    filled = await _standing(client, network, offer, person)
    assert _codes(filled) == ["offer_not_open"]
    assert filled["reasons"][0]["label"] == "L'offre n'est pas ouverte (état : pourvue)"


async def test_someone_who_does_not_see_the_candidate_or_the_offer_gets_404(
    client: httpx.AsyncClient,
    network: Network,
    employer: Organisation,
    db_session: AsyncSession,
) -> None:
    offer = await _offer(db_session, employer)
    person = await _person(db_session, network)
    path = f"/v1/offers/{offer.id}/candidates/{person.id}/ranking"
    unknown = f"/v1/offers/{uuid.uuid4()}/candidates/{person.id}/ranking"
    assert_problem(await client.get(path, headers=network.b1.headers), 404, "not-found")
    assert_problem(await client.get(unknown, headers=network.a1.headers), 404, "not-found")
    assert_problem(await client.get(path, headers=network.desk.headers), 403, "forbidden")
    assert await audit_entries(db_session, resource_type="candidate") == []
