"""Ranking in SQL: hand-built cases whose order is known (product.md §5)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.candidate import CandidateStatus
from services.core.models.contract import QpvPriority
from services.core.models.offer import OfferStatus
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.ranking.weights import Criterion
from services.core.referentials.sectors import SectorCode
from services.core.settings import Settings
from services.matching.ranking import rank_candidates_for_offer, rank_offers_for_candidate
from services.matching.results import Explanation, RankedCandidate
from tests.factories import make_contract, make_organisation
from tests.matching.support import (
    START,
    TODAY,
    add_candidate,
    add_criterion,
    add_offer,
    east_of_site,
)


@pytest.fixture
async def employer(db_session: AsyncSession) -> Organisation:
    return await make_organisation(db_session, kind=OrganisationKind.EMPLOYER)


async def ranked(
    session: AsyncSession, offer_id: uuid.UUID, settings: Settings
) -> list[RankedCandidate]:
    return await rank_candidates_for_offer(session, offer_id, settings=settings, today=TODAY)


def ids(results: list[RankedCandidate]) -> list[uuid.UUID]:
    return [r.candidate_id for r in results]


async def test_a_sector_link_ranks_wanted_before_worked_and_no_link_not_at_all(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    offer = await add_offer(db_session, employer)  # F1703: construction
    wanted = await add_candidate(db_session, wanted=[SectorCode.CONSTRUCTION])
    worked = await add_candidate(
        db_session, wanted=[SectorCode.CLEANING], worked=[SectorCode.CONSTRUCTION]
    )
    await add_candidate(db_session, wanted=[SectorCode.LOGISTICS], worked=[SectorCode.CLEANING])

    results = await ranked(db_session, offer.id, settings)

    assert ids(results) == [wanted.id, worked.id]
    assert [r.rank for r in results] == [1, 2]
    first, second = results
    assert first.explanation.points(Criterion.SECTOR) == settings.matching_weight_sector
    assert first.explanation.label(Criterion.SECTOR) == (
        "Secteur souhaité : BÂTIMENT ET TRAVAUX PUBLICS"
    )
    assert second.explanation.points(Criterion.SECTOR) == (
        settings.matching_weight_sector_experience
    )
    assert second.explanation.label(Criterion.SECTOR) == (
        "Expérience dans le secteur : BÂTIMENT ET TRAVAUX PUBLICS"
    )


async def test_a_qpv_resident_ranks_above_and_further_above_on_an_npnru_contract(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    buyer = await make_organisation(db_session, kind=OrganisationKind.BUYER)
    npnru = await make_contract(db_session, buyer, is_npnru=True)
    plain_offer = await add_offer(db_session, employer)
    npnru_offer = await add_offer(db_session, employer, contract=npnru)
    outside = await add_candidate(db_session, qpv=False)
    resident = await add_candidate(db_session, qpv=True)

    plain = await ranked(db_session, plain_offer.id, settings)
    on_npnru = await ranked(db_session, npnru_offer.id, settings)

    assert ids(plain) == [resident.id, outside.id]
    assert ids(on_npnru) == [resident.id, outside.id]
    plain_gap = plain[0].score - plain[1].score
    npnru_gap = on_npnru[0].score - on_npnru[1].score
    assert plain_gap == pytest.approx(settings.matching_weight_qpv)
    assert npnru_gap == pytest.approx(settings.matching_weight_qpv_priority)
    assert npnru_gap > plain_gap
    assert plain[0].explanation.label(Criterion.QPV) == "Réside en QPV"
    assert on_npnru[0].explanation.label(Criterion.QPV) == "Réside en QPV (contrat NPNRU)"
    assert on_npnru[1].explanation.label(Criterion.QPV) == "Résidence en QPV non établie"


async def test_qpv_priority_preferred_weighs_like_npnru_and_required_ranks_only_residents(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    buyer = await make_organisation(db_session, kind=OrganisationKind.BUYER)
    preferred = await make_contract(db_session, buyer, qpv_priority=QpvPriority.PREFERRED)
    required = await make_contract(db_session, buyer, qpv_priority=QpvPriority.REQUIRED)
    preferred_offer = await add_offer(db_session, employer, contract=preferred)
    required_offer = await add_offer(db_session, employer, contract=required)
    outside = await add_candidate(db_session, qpv=False)
    resident = await add_candidate(db_session, qpv=True)

    on_preferred = await ranked(db_session, preferred_offer.id, settings)
    on_required = await ranked(db_session, required_offer.id, settings)

    assert ids(on_preferred) == [resident.id, outside.id]
    assert on_preferred[0].explanation.points(Criterion.QPV) == (
        settings.matching_weight_qpv_priority
    )
    assert ids(on_required) == [resident.id]
    assert on_required[0].explanation.label(Criterion.QPV) == (
        "Réside en QPV (priorité QPV du contrat)"
    )


async def test_available_now_ranks_above_available_sixty_days_after_the_start(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    offer = await add_offer(db_session, employer, hours=None)  # hours: full points for all
    late = await add_candidate(db_session, available_from=START + timedelta(days=60))
    now_ = await add_candidate(db_session, available_from=TODAY)
    unknown = await add_candidate(db_session, available_from=None)
    never = await add_candidate(db_session, available_from=START + timedelta(days=200))

    results = await ranked(db_session, offer.id, settings)

    # No date given: half the availability points (decision 0038), below "available now",
    # above two months late.
    assert ids(results) == [now_.id, unknown.id, late.id, never.id]
    by_id = {r.candidate_id: r for r in results}
    full = settings.matching_weight_availability + settings.matching_weight_hours
    assert by_id[now_.id].explanation.points(Criterion.AVAILABILITY) == full
    decayed = settings.matching_weight_availability * (1 - 60 / 90) + settings.matching_weight_hours
    assert by_id[unknown.id].explanation.points(Criterion.AVAILABILITY) == (
        settings.matching_weight_availability / 2 + settings.matching_weight_hours
    )
    assert by_id[unknown.id].explanation.label(Criterion.AVAILABILITY) == (
        "Disponibilité non renseignée"
    )
    assert by_id[late.id].explanation.points(Criterion.AVAILABILITY) == pytest.approx(
        decayed, abs=0.01
    )
    assert by_id[never.id].explanation.points(Criterion.AVAILABILITY) == (
        settings.matching_weight_hours
    )
    assert by_id[now_.id].explanation.label(Criterion.AVAILABILITY) == (
        "Disponible avant le début du poste"
    )
    assert by_id[late.id].explanation.label(Criterion.AVAILABILITY) == (
        "Disponible 60 jours après le début du poste"
    )
    assert by_id[never.id].explanation.label(Criterion.AVAILABILITY) == (
        "Disponible plus de 90 jours après le début du poste"
    )


async def test_hours_compatible_earn_their_points(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    offer = await add_offer(db_session, employer)  # 35 h
    full_time = await add_candidate(db_session, hours=35)
    part_time = await add_candidate(db_session, hours=20)

    results = await ranked(db_session, offer.id, settings)

    assert ids(results) == [full_time.id, part_time.id]
    assert results[0].score - results[1].score == pytest.approx(settings.matching_weight_hours)
    assert results[0].explanation.label(Criterion.AVAILABILITY) == (
        "Disponible avant le début du poste ; horaires compatibles (35 h par semaine)"
    )
    assert results[1].explanation.label(Criterion.AVAILABILITY) == (
        "Disponible avant le début du poste ; 35 h par semaine pour 20 h souhaitées"
    )


async def test_closer_is_better_and_out_of_radius_is_not_ranked(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    offer = await add_offer(db_session, employer)
    far = await add_candidate(db_session, km=12, radius=15)
    near = await add_candidate(db_session, km=4, radius=15)
    await add_candidate(db_session, km=16, radius=15)  # out of radius
    wide = await add_candidate(db_session, km=30, radius=50)
    default_in = await add_candidate(db_session, km=18, radius=None)  # default radius: 20 km
    await add_candidate(db_session, km=22, radius=None)

    results = await ranked(db_session, offer.id, settings)

    assert ids(results) == [near.id, wide.id, far.id, default_in.id]
    by_id = {r.candidate_id: r for r in results}
    assert by_id[near.id].explanation.label(Criterion.DISTANCE) == "À 4 km (rayon 15 km)"
    assert by_id[near.id].distance_km == pytest.approx(4, abs=0.05)
    assert by_id[default_in.id].explanation.label(Criterion.DISTANCE) == (
        "À 18 km (rayon non renseigné, 20 km retenus)"
    )
    # No radius given: half what a declared 20 km would earn (decision 0038).
    assert by_id[default_in.id].explanation.points(Criterion.DISTANCE) == pytest.approx(
        settings.matching_weight_distance * (1 - 18 / 20) / 2, abs=0.01
    )
    assert by_id[near.id].explanation.points(Criterion.DISTANCE) == pytest.approx(
        settings.matching_weight_distance * (1 - 4 / 15), abs=0.02
    )


async def test_placed_inactive_anonymised_and_unlocated_candidates_are_not_ranked(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    offer = await add_offer(db_session, employer)
    new = await add_candidate(db_session, status=CandidateStatus.NEW)
    active = await add_candidate(db_session, status=CandidateStatus.ACTIVE)
    await add_candidate(db_session, status=CandidateStatus.PLACED)
    await add_candidate(db_session, status=CandidateStatus.INACTIVE)
    await add_candidate(db_session, status=CandidateStatus.ANONYMISED)
    later_placed = await add_candidate(db_session)
    unlocated = await add_candidate(db_session, commune_insee=None)
    unlocated.lon = unlocated.lat = None
    later_placed.status = CandidateStatus.PLACED
    await db_session.flush()

    assert set(ids(await ranked(db_session, offer.id, settings))) == {new.id, active.id}


async def test_required_eligibility_ranks_only_a_validated_unexpired_criterion(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    offer = await add_offer(db_session, employer, requires_eligibility=True)
    valid = await add_candidate(db_session)
    await add_criterion(db_session, valid, expires_on=date(2026, 12, 31))
    forever = await add_candidate(db_session)
    await add_criterion(db_session, forever, expires_on=None)
    expired = await add_candidate(db_session)
    await add_criterion(db_session, expired, expires_on=date(2026, 2, 1))
    unvalidated = await add_candidate(db_session)
    await add_criterion(db_session, unvalidated, validated_on=None)
    await add_candidate(db_session)  # no criterion

    results = await ranked(db_session, offer.id, settings)

    assert set(ids(results)) == {valid.id, forever.id}
    by_id = {r.candidate_id: r for r in results}
    assert by_id[valid.id].explanation.points(Criterion.ELIGIBILITY) == (
        settings.matching_weight_eligibility
    )
    assert by_id[valid.id].explanation.label(Criterion.ELIGIBILITY) == (
        "Éligibilité validée jusqu'au 31/12/2026"
    )
    assert by_id[forever.id].explanation.label(Criterion.ELIGIBILITY) == "Éligibilité validée"

    # A criterion withdrawn afterwards takes the candidate out (the profile follows).
    await db_session.execute(
        text("DELETE FROM eligibility_criterion WHERE candidate_id = :id"), {"id": valid.id}
    )
    assert ids(await ranked(db_session, offer.id, settings)) == [forever.id]


async def test_an_offer_outside_every_sector_is_matched_on_rome_wishes(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    offer = await add_offer(db_session, employer, rome_code="J1501")  # health: no sector
    exact = await add_candidate(db_session, wanted=[], rome_wishes=["J1501"])
    domain = await add_candidate(db_session, wanted=[], rome_wishes=["J15"])
    await add_candidate(db_session, wanted=[SectorCode.CLEANING], rome_wishes=["J1502"])

    results = await ranked(db_session, offer.id, settings)

    assert set(ids(results)) == {exact.id, domain.id}
    assert results[0].explanation.label(Criterion.SECTOR) == "Métier souhaité : J1501"


async def test_points_add_up_to_the_score_with_french_labels_both_ways(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    buyer = await make_organisation(db_session, kind=OrganisationKind.BUYER)
    contract = await make_contract(db_session, buyer, is_npnru=True)
    clause_offer = await add_offer(db_session, employer, contract=contract)
    other_offer = await add_offer(db_session, employer, rome_code="N1103")  # logistics
    candidate = await add_candidate(
        db_session,
        km=4,
        qpv=True,
        hours=35,
        wanted=[SectorCode.CONSTRUCTION],
        worked=[SectorCode.LOGISTICS],
        available_from=START + timedelta(days=9),
    )
    await add_criterion(db_session, candidate)
    for _ in range(3):
        await add_candidate(db_session, km=7, available_from=None)

    results = await ranked(db_session, clause_offer.id, settings)
    offers = await rank_offers_for_candidate(
        db_session, candidate.id, settings=settings, today=TODAY
    )

    scored: list[tuple[Explanation, float]] = [
        *((r.explanation, r.score) for r in results),
        *((o.explanation, o.score) for o in offers),
    ]
    for explanation, score in scored:
        criteria = explanation.criteria
        assert [c.criterion for c in criteria] == list(Criterion)
        assert sum(c.points for c in criteria) == pytest.approx(score, abs=1e-9)
        assert score == explanation.score  # the SQL's sum, exactly the explanation's
        assert all(c.points >= 0 for c in criteria)
        assert all(c.label and c.label[0].isupper() for c in criteria)
    mine = next(r for r in results if r.candidate_id == candidate.id)
    assert [c.label for c in mine.explanation.criteria] == [
        "Secteur souhaité : BÂTIMENT ET TRAVAUX PUBLICS",
        "Réside en QPV (contrat NPNRU)",
        "Disponible 9 jours après le début du poste ; horaires compatibles (35 h par semaine)",
        "À 4 km (rayon 15 km)",
        "Éligibilité validée",
    ]
    # The same pair scores the same whichever side asks.
    assert [o.offer_id for o in offers] == [clause_offer.id, other_offer.id]
    assert offers[0].score == mine.score
    assert offers[0].explanation == mine.explanation
    assert offers[1].explanation.label(Criterion.SECTOR) == (
        "Expérience dans le secteur : LOGISTIQUE"
    )
    assert offers[1].explanation.label(Criterion.ELIGIBILITY) == (
        "Éligibilité validée (non demandée par l'offre)"
    )


async def test_a_candidate_sees_only_open_offers_in_reach(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    candidate = await add_candidate(db_session, km=0, radius=10)
    near = await add_offer(db_session, employer, site=east_of_site(5))
    await add_offer(db_session, employer, site=east_of_site(15))
    await add_offer(db_session, employer, status=OfferStatus.DRAFT)
    await add_offer(db_session, employer, rome_code="N1103")  # no link
    nearer = await add_offer(db_session, employer, site=east_of_site(1))

    offers = await rank_offers_for_candidate(
        db_session, candidate.id, settings=settings, today=TODAY
    )

    assert [o.offer_id for o in offers] == [nearer.id, near.id]
    assert [o.rank for o in offers] == [1, 2]


async def test_a_shorter_list_is_the_head_of_the_longer_one_across_tiers(
    db_session: AsyncSession, settings: Settings, employer: Organisation
) -> None:
    buyer = await make_organisation(db_session, kind=OrganisationKind.BUYER)
    contract = await make_contract(db_session, buyer, qpv_priority=QpvPriority.PREFERRED)
    offer = await add_offer(db_session, employer, contract=contract)
    wanted, worked = [SectorCode.CONSTRUCTION], [SectorCode.CONSTRUCTION]
    for km, qpv, link, late in [
        (1, False, "wanted", 0),
        (1, False, "wanted", 0),  # the same twice: the id decides
        (2, True, "wanted", 120),
        (9, True, "worked", 0),
        (1, True, "worked", 0),
        (3, False, "worked", 10),
        (14, True, "wanted", 0),
        (5, False, "wanted", 45),
        (0, True, "worked", 100),
    ]:
        await add_candidate(
            db_session,
            km=km,
            qpv=qpv,
            wanted=wanted if link == "wanted" else [],
            worked=worked if link == "worked" else [],
            available_from=START + timedelta(days=late),
        )

    full = await rank_candidates_for_offer(db_session, offer.id, settings=settings, today=TODAY)

    assert len(full) == 9
    keys = [(-r.score, r.available_from, r.candidate_id) for r in full]
    assert keys == sorted(keys)
    for limit in range(1, 10):
        head = await rank_candidates_for_offer(
            db_session, offer.id, settings=settings, limit=limit, today=TODAY
        )
        assert [(r.candidate_id, r.score, r.rank) for r in head] == [
            (r.candidate_id, r.score, r.rank) for r in full[:limit]
        ]
