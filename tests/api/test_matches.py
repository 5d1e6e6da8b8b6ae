"""Matches (decision 0017): an offer's candidates best first and a candidate's offers, scoped by
offer and candidate visibility, every candidate shown audited; the human moves of a match, and
hiring, which places the candidate and takes a position of the offer."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple, TypeVar

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.matches.service import LEGAL_MOVES
from services.core.clock import FrozenClock
from services.core.db import SessionMaker
from services.core.models.audit import AuditEntry
from services.core.models.candidate import Candidate, CandidateStatus
from services.core.models.match import Match, MatchStatus, MatchTransition
from services.core.models.offer import Offer, OfferStatus
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.outbox import OutboxEvent
from services.core.models.user import Role
from services.core.settings import Settings
from tests.api.conftest import ClientFactory, assert_problem
from tests.api.identity import Account, account, audit_entries, count, make_api_key, make_network
from tests.factories import make_candidate, make_match, make_offer, make_organisation

pytestmark = pytest.mark.usefixtures("reference_data", "clock")


@dataclass
class World:
    """facilitation ─┬─ member (prescriber ``a1``, reception ``desk``)
                     └─ employer (``boss``)
    elsewhere (prescriber ``b1``) · another employer (``rival``) · operator (``admin``)"""

    session: AsyncSession
    facilitator: Account
    a1: Account
    desk: Account
    b1: Account
    admin: Account
    boss: Account
    rival: Account
    member: Organisation
    elsewhere: Organisation
    employer: Organisation
    other_employer: Organisation

    async def offer(self, **kw: Any) -> Offer:
        kw.setdefault("status", OfferStatus.OPEN)
        return await make_offer(self.session, kw.pop("employer", self.employer), **kw)

    async def candidate(self, *shared_with: Organisation, **kw: Any) -> Candidate:
        return await make_candidate(self.session, *(shared_with or (self.member,)), **kw)


async def _organisation(session: AsyncSession, organisation_id: str) -> Organisation:
    organisation = await session.get(Organisation, uuid.UUID(organisation_id))
    assert organisation is not None
    return organisation


@pytest.fixture
async def world(db_session: AsyncSession, settings: Settings) -> World:
    n = await make_network(db_session, settings)
    facilitation = await _organisation(db_session, n.facilitation_id)
    employer = await make_organisation(
        db_session, kind=OrganisationKind.EMPLOYER, parent=facilitation
    )
    other_employer = await make_organisation(db_session, kind=OrganisationKind.EMPLOYER)
    return World(
        session=db_session,
        facilitator=n.facilitator,
        a1=n.a1,
        desk=n.desk,
        b1=n.b1,
        admin=n.admin,
        boss=await account(db_session, employer, Role.EMPLOYER, settings),
        rival=await account(db_session, other_employer, Role.EMPLOYER, settings),
        member=await _organisation(db_session, n.member_id),
        elsewhere=await _organisation(db_session, n.elsewhere_id),
        employer=employer,
        other_employer=other_employer,
    )


class Ref(NamedTuple):
    """A match's ids, still readable after a refused request rolled back (and expired) rows."""

    id: uuid.UUID
    offer_id: uuid.UUID
    candidate_id: uuid.UUID


async def _match(session: AsyncSession, offer: Offer, candidate: Candidate, **kw: Any) -> Ref:
    match = await make_match(session, offer, candidate, **kw)
    return Ref(match.id, match.offer_id, match.candidate_id)


async def _get(client: httpx.AsyncClient, path: str, who: Account, **params: Any) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


async def _move(
    client: httpx.AsyncClient, match: Ref | str, who: Account, to: str, **body: Any
) -> httpx.Response:
    match_id = match if isinstance(match, str) else str(match.id)
    return await client.post(
        f"/v1/matches/{match_id}/transitions", json={"to": to, **body}, headers=who.headers
    )


T = TypeVar("T", Match, Offer, Candidate)


async def _fresh(session: AsyncSession, model: type[T], row_id: Any) -> T:
    row = await session.scalar(
        select(model)
        .where(col(model.id) == uuid.UUID(str(row_id)))
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


@dataclass(frozen=True)
class Written:
    """What a refused request must leave as it was."""

    transitions: int
    audit: int
    outbox: int

    @classmethod
    async def now(cls, session: AsyncSession) -> Written:
        return cls(
            await count(session, MatchTransition),
            await count(session, AuditEntry),
            await count(session, OutboxEvent),
        )


# -- lists ---------------------------------------------------------------------------------------


async def test_an_offers_matches_come_best_first_with_their_points_explained(
    client: httpx.AsyncClient, world: World, db_session: AsyncSession
) -> None:
    offer = await world.offer()
    people = [await world.candidate(last_name=name, commune_insee="93066") for name in "ABCD"]
    people[0].sectors_wanted = [offer.sector] if offer.sector else []
    people[0].mobility_radius_km = 10
    scores = {
        0: (40.0, 20.0, 15.0, 12.5, 10.0),  # 97.5
        1: (30.0, 0.0, 15.0, 5.25, 0.0),  # 50.25
        2: (30.0, 0.0, 15.0, 5.25, 0.0),  # 50.25, a tie: by candidate
        3: (10.0, 0.0, 0.0, 0.0, 0.0),  # 10
    }
    matches = [await _match(db_session, offer, people[i], points=p) for i, p in scores.items()]
    # Not shown: a candidate a1 does not see, a match no longer current.
    hidden = await world.candidate(world.elsewhere)
    await _match(db_session, offer, hidden, points=(50.0, 50.0, 0.0, 0.0, 0.0))
    old = await world.candidate()
    outdated = await _match(
        db_session,
        offer,
        old,
        status=MatchStatus.CONTACTED,
        is_current=False,
        points=(99, 0, 0, 0, 0),
    )
    tied = sorted((matches[1], matches[2]), key=lambda m: m.candidate_id, reverse=True)
    expected = [str(m.id) for m in (matches[0], *tied, matches[3])]

    first = await _get(client, f"/v1/offers/{offer.id}/matches", world.a1, limit=3)
    second = await _get(client, f"/v1/offers/{offer.id}/matches", world.a1, limit=3, page=2)
    assert _ids(first) + _ids(second) == expected
    assert first["pagination"] == {"page": 1, "limit": 3, "total_count": 4, "max_page": 2}

    best = first["items"][0]
    assert best["status"] == "suggested" and best["status_label"] == "Suggéré"
    assert best["score"] == 97.5
    assert [(c["criterion"], c["label"], c["points"]) for c in best["criteria"]] == [
        ("sector", "Secteur", 40.0),
        ("qpv", "Résidence QPV", 20.0),
        ("availability", "Disponibilité", 15.0),
        ("distance", "Distance", 12.5),
        ("eligibility", "Publics éligibles", 10.0),
    ]
    assert best["criteria"][0]["explanation"] == "Secteur souhaité : BÂTIMENT ET TRAVAUX PUBLICS"
    assert best["criteria"][3]["explanation"] == (
        "4,2 km du lieu de travail, dans son rayon de mobilité (10 km)"
    )
    for item in first["items"] + second["items"]:
        assert round(sum(c["points"] for c in item["criteria"]), 2) == item["score"]
    assert best["distance_km"] == 4.2 and best["rank"] == 1 and best["is_current"] is True
    assert best["candidate"] == {
        "id": str(people[0].id),
        "first_name": "Aïcha",
        "last_name": "A",
        "commune_insee": "93066",
        "commune_name": "Saint-Denis",
        "qpv_status": "unknown",
        "qpv_status_label": "Résidence QPV inconnue",
        "available_from": None,
        "hours_per_week": None,
        "mobility_radius_km": 10,
        "status": "new",
        "status_label": "Nouveau",
    }
    assert "phone" not in best["candidate"] and "email" not in best["candidate"]
    assert best["offer"]["id"] == str(offer.id)
    assert best["offer"]["status_label"] == "Ouverte"
    assert best["offer"]["open_positions"] == 2

    # Each page is one audited list of the candidates it showed (none of those it did not).
    entries = await audit_entries(db_session, resource_type="candidate", action="list")
    assert [sorted(e.details["ids"]) for e in entries] == [
        sorted(str(m.candidate_id) for m in (matches[0], *tied)),
        [str(matches[3].candidate_id)],
    ]
    assert all(str(e.actor_id) == world.a1.id for e in entries)

    # The ones no longer current, on demand; a status filter.
    everything = await _get(
        client, f"/v1/offers/{offer.id}/matches", world.a1, current_only="false"
    )
    assert _ids(everything) == [str(outdated.id), *expected]
    contacted = await _get(
        client, f"/v1/offers/{offer.id}/matches", world.a1, status="contacted", current_only=False
    )
    assert _ids(contacted) == [str(outdated.id)]
    assert (
        _ids(await _get(client, f"/v1/offers/{offer.id}/matches", world.a1, status="hired")) == []
    )


async def test_an_empty_page_audits_nobody(
    client: httpx.AsyncClient, world: World, db_session: AsyncSession
) -> None:
    offer = await world.offer()
    await _match(db_session, offer, await world.candidate(world.elsewhere))
    page = await _get(client, f"/v1/offers/{offer.id}/matches", world.a1)
    assert page["items"] == [] and page["pagination"]["total_count"] == 0
    assert await audit_entries(db_session, resource_type="candidate") == []


async def test_offer_lists_are_scoped_to_the_offer_and_the_candidates_one_sees(
    client: httpx.AsyncClient, world: World, db_session: AsyncSession
) -> None:
    offer = await world.offer()
    draft = await world.offer(employer=world.other_employer, status=OfferStatus.DRAFT)
    shared = await world.candidate(world.member, world.elsewhere)
    ours = await world.candidate()
    on_offer = await _match(db_session, offer, shared)
    mine = await _match(db_session, offer, ours)
    await _match(db_session, draft, shared)
    path = f"/v1/offers/{offer.id}/matches"

    # The facilitator sees what its network sees; b1 only the candidate shared with it.
    assert set(_ids(await _get(client, path, world.facilitator))) == {
        str(on_offer.id),
        str(mine.id),
    }
    assert _ids(await _get(client, path, world.b1)) == [str(on_offer.id)]
    # The admin sees every offer but only the candidates of its own organisation: none here.
    assert _ids(await _get(client, path, world.admin)) == []

    # An offer one may not see does not exist: the same 404 as an unknown id, nothing audited.
    before = await count(db_session, AuditEntry)
    hidden = await client.get(f"/v1/offers/{draft.id}/matches", headers=world.a1.headers)
    unknown = await client.get(f"/v1/offers/{uuid.uuid4()}/matches", headers=world.a1.headers)
    for response in (hidden, unknown):
        assert_problem(response, 404, "not-found")
    assert {k: hidden.json()[k] for k in ("title", "detail")} == {
        k: unknown.json()[k] for k in ("title", "detail")
    }
    # The front desk never reads matches.
    assert_problem(await client.get(path, headers=world.desk.headers), 403, "forbidden")
    assert await count(db_session, AuditEntry) == before


async def test_employers_see_only_what_was_proposed_to_them_for_their_own_offers(
    client: httpx.AsyncClient, world: World, db_session: AsyncSession
) -> None:
    offer = await world.offer()
    proposed = await _match(
        db_session, offer, await world.candidate(), status=MatchStatus.PROPOSED_TO_EMPLOYER
    )
    hired = await _match(
        db_session, offer, await world.candidate(), status=MatchStatus.HIRED, points=(9, 0, 0, 0, 0)
    )
    declined_after = await _match(
        db_session,
        offer,
        await world.candidate(),
        path=(
            MatchStatus.CONTACTED,
            MatchStatus.PROPOSED_TO_EMPLOYER,
            MatchStatus.DECLINED,
        ),
        points=(5, 0, 0, 0, 0),
    )
    await _match(db_session, offer, await world.candidate(), status=MatchStatus.SUGGESTED)
    await _match(db_session, offer, await world.candidate(), status=MatchStatus.CONTACTED)
    await _match(db_session, offer, await world.candidate(), status=MatchStatus.DECLINED)
    path = f"/v1/offers/{offer.id}/matches"

    page = await _get(client, path, world.boss)
    assert _ids(page) == [str(proposed.id), str(hired.id), str(declined_after.id)]
    entries = await audit_entries(db_session, resource_type="candidate", action="list")
    assert [str(e.actor_id) for e in entries] == [world.boss.id]
    assert sorted(entries[0].details["ids"]) == sorted(
        str(m.candidate_id) for m in (proposed, hired, declined_after)
    )
    # Another employer sees the open offer, not its shortlist.
    assert _ids(await _get(client, path, world.rival)) == []
    # A candidate's page stays closed to employers (decision 0011).
    response = await client.get(
        f"/v1/candidates/{proposed.candidate_id}/matches", headers=world.boss.headers
    )
    assert_problem(response, 404, "not-found")


async def test_a_candidates_matches_cover_the_offers_one_sees_and_the_read_is_audited(
    client: httpx.AsyncClient, world: World, db_session: AsyncSession
) -> None:
    person = await world.candidate()
    near = await world.offer(title="Maçon")
    far = await world.offer(title="Coffreur")
    hidden = await world.offer(employer=world.other_employer, status=OfferStatus.DRAFT)
    best = await _match(db_session, far, person, points=(40, 20, 10, 10, 0))
    second = await _match(db_session, near, person, points=(40, 0, 10, 10, 0))
    await _match(db_session, hidden, person, points=(50, 20, 10, 10, 0))
    path = f"/v1/candidates/{person.id}/matches"

    page = await _get(client, path, world.a1)
    assert _ids(page) == [str(best.id), str(second.id)]
    assert [item["offer"]["title"] for item in page["items"]] == ["Coffreur", "Maçon"]
    entries = await audit_entries(db_session, resource_type="candidate")
    assert [(e.action, str(e.resource_id), str(e.actor_id)) for e in entries] == [
        ("read", str(person.id), world.a1.id)
    ]

    # Someone who does not see the candidate: the 404 of an unknown id, and no audit entry.
    for who in (world.b1, world.boss, world.admin):
        response = await client.get(path, headers=who.headers)
        assert_problem(response, 404, "not-found")
    unknown = await client.get(f"/v1/candidates/{uuid.uuid4()}/matches", headers=world.b1.headers)
    assert_problem(unknown, 404, "not-found")
    assert_problem(await client.get(path, headers=world.desk.headers), 403, "forbidden")
    assert len(await audit_entries(db_session, resource_type="candidate")) == 1


async def test_lists_come_in_rank_order_ties_included(
    client: httpx.AsyncClient, world: World, db_session: AsyncSession
) -> None:
    # Three people with the same score: the worker numbered them by availability, not by id.
    offer = await world.offer()
    people = sorted([await world.candidate() for _ in range(3)], key=lambda c: c.id)
    tied = [
        await _match(db_session, offer, person, rank=position)
        for position, person in enumerate(people, start=1)
    ]
    # Out of the list but kept (acted on): after it, whatever its score.
    kept = await _match(
        db_session,
        offer,
        await world.candidate(),
        status=MatchStatus.CONTACTED,
        rank=None,
        points=(40, 20, 15, 15, 10.5),
    )
    listed = await _get(client, f"/v1/offers/{offer.id}/matches", world.a1)
    assert _ids(listed) == [str(m.id) for m in (*tied, kept)]

    # A candidate's offers: score, then the earliest start (none last), then the offer.
    person = await world.candidate()
    offers = [await world.offer(title=f"Offre {i}") for i in range(3)]
    offers[0].start_date = None
    offers[1].start_date = date(2026, 5, 1)
    offers[2].start_date = date(2026, 4, 1)
    await db_session.flush()
    by_offer = [await _match(db_session, o, person) for o in offers]
    page = await _get(client, f"/v1/candidates/{person.id}/matches", world.a1)
    assert _ids(page) == [str(by_offer[2].id), str(by_offer[1].id), str(by_offer[0].id)]


# -- moves ---------------------------------------------------------------------------------------

LEGAL = [(before, after) for before, targets in LEGAL_MOVES.items() for after in targets]
TARGETS = [s for s in MatchStatus if s is not MatchStatus.SUGGESTED]
ILLEGAL = [
    (before, after)
    for before, after in itertools.product(MatchStatus, TARGETS)
    if after not in LEGAL_MOVES[before]
]


def test_the_moves_are_those_of_decision_0017() -> None:
    assert {f"{a.value}>{b.value}" for a, b in LEGAL} == {
        "suggested>contacted",
        "suggested>declined",
        "suggested>withdrawn",
        "contacted>proposed_to_employer",
        "contacted>declined",
        "contacted>withdrawn",
        "proposed_to_employer>hired",
        "proposed_to_employer>declined",
        "proposed_to_employer>withdrawn",
    }
    assert len(ILLEGAL) == 6 * 5 - 9


@pytest.mark.parametrize(("before", "after"), LEGAL, ids=lambda s: s.value)
async def test_each_legal_move_is_recorded(
    client: httpx.AsyncClient,
    world: World,
    db_session: AsyncSession,
    clock: FrozenClock,
    before: MatchStatus,
    after: MatchStatus,
) -> None:
    offer = await world.offer()
    person = await world.candidate()
    match = await _match(db_session, offer, person, status=before)
    history = await count(db_session, MatchTransition)

    response = await _move(client, match, world.a1, after.value, comment="  Appelée le matin  ")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == str(match.id) and body["status"] == after.value
    assert response.headers["etag"]

    stored = await _fresh(db_session, Match, match.id)
    assert stored.status is after and stored.status_changed_at == clock.now()
    assert await count(db_session, MatchTransition) == history + 1
    transition = await db_session.scalar(
        select(MatchTransition).where(
            col(MatchTransition.match_id) == match.id,
            col(MatchTransition.from_status) == before,
            col(MatchTransition.to_status) == after,
        )
    )
    assert transition is not None
    assert (transition.from_status, transition.to_status) == (before, after)
    assert (transition.actor_type, str(transition.actor_id)) == ("user", world.a1.id)
    assert str(transition.organisation_id) == str(world.member.id)
    assert transition.occurred_at == clock.now()
    assert transition.comment == "Appelée le matin"
    # The move and the candidate shown in the answer are in the audit log.
    moves = await audit_entries(db_session, resource_type="match", action="transition")
    assert [(str(e.resource_id), e.details["from"], e.details["to"]) for e in moves] == [
        (str(match.id), before.value, after.value)
    ]
    reads = await audit_entries(db_session, resource_type="candidate", action="read")
    assert [str(e.resource_id) for e in reads] == [str(person.id)]


@pytest.mark.parametrize(("before", "after"), ILLEGAL, ids=lambda s: s.value)
async def test_each_illegal_move_is_a_409_that_writes_nothing(
    client: httpx.AsyncClient,
    world: World,
    db_session: AsyncSession,
    before: MatchStatus,
    after: MatchStatus,
) -> None:
    offer = await world.offer()
    person = await world.candidate()
    match = await _match(db_session, offer, person, status=before)
    written = await Written.now(db_session)

    response = await _move(client, match, world.a1, after.value, comment="refusé")
    body = assert_problem(response, 409, "illegal-transition")
    assert "rapprochement" in str(body["detail"])
    assert await Written.now(db_session) == written
    assert (await _fresh(db_session, Match, match.id)).status is before
    assert (await _fresh(db_session, Candidate, match.candidate_id)).status is CandidateStatus.NEW
    assert (await _fresh(db_session, Offer, match.offer_id)).open_positions == 2


async def test_hiring_places_the_candidate_and_fills_the_offer_at_zero(
    client: httpx.AsyncClient, world: World, db_session: AsyncSession
) -> None:
    offer = await world.offer(positions=2)
    first = await _match(
        db_session, offer, await world.candidate(), status=MatchStatus.PROPOSED_TO_EMPLOYER
    )
    second = await _match(
        db_session, offer, await world.candidate(), status=MatchStatus.PROPOSED_TO_EMPLOYER
    )
    outbox = await count(db_session, OutboxEvent)

    response = await _move(client, first, world.a1, "hired")
    assert response.status_code == 200, response.text
    assert response.json()["candidate"]["status"] == "placed"
    assert response.json()["offer"]["open_positions"] == 1
    assert (
        await _fresh(db_session, Candidate, first.candidate_id)
    ).status is CandidateStatus.PLACED
    stored = await _fresh(db_session, Offer, offer.id)
    assert (stored.open_positions, stored.status) == (1, OfferStatus.OPEN)

    # The employer hires the second one itself: the offer is filled.
    response = await _move(client, second, world.boss, "hired", comment="Embauche au 1er avril")
    assert response.status_code == 200, response.text
    assert response.json()["offer"]["status"] == "filled"
    stored = await _fresh(db_session, Offer, offer.id)
    assert (stored.open_positions, stored.status) == (0, OfferStatus.FILLED)

    assert await count(db_session, OutboxEvent) == outbox + 4
    events = await db_session.scalars(
        select(OutboxEvent).where(col(OutboxEvent.type).in_(["candidate.placed", "offer.updated"]))
    )
    assert (
        sorted((e.type, sorted(e.payload.items())) for e in events)
        == [
            (
                "candidate.placed",
                [("candidate_id", str(m.candidate_id)), ("offer_id", str(offer.id))],
            )
            for m in sorted((first, second), key=lambda m: str(m.candidate_id))
        ]
        + [("offer.updated", [("offer_id", str(offer.id))])] * 2
    )
    updates = await audit_entries(db_session, resource_type="candidate", action="update")
    assert [(str(e.resource_id), e.details["fields"]) for e in updates] == [
        (str(first.candidate_id), ["status"]),
        (str(second.candidate_id), ["status"]),
    ]

    # A third proposed person can no longer be hired on the filled offer; declining still works.
    third = await _match(
        db_session, offer, await world.candidate(), status=MatchStatus.PROPOSED_TO_EMPLOYER
    )
    written = await Written.now(db_session)
    assert_problem(await _move(client, third, world.a1, "hired"), 409, "offer-not-open")
    assert await Written.now(db_session) == written
    assert (await _move(client, third, world.boss, "declined")).status_code == 200


async def test_hiring_someone_placed_elsewhere_or_on_a_closed_offer_is_refused(
    client: httpx.AsyncClient, world: World, db_session: AsyncSession
) -> None:
    placed = await world.candidate(status=CandidateStatus.PLACED)
    offer = await world.offer()
    elsewhere = await _match(db_session, offer, placed, status=MatchStatus.PROPOSED_TO_EMPLOYER)
    closed = await world.offer(status=OfferStatus.CLOSED)
    person = await world.candidate()
    on_closed = await _match(db_session, closed, person, status=MatchStatus.PROPOSED_TO_EMPLOYER)
    suggested_on_closed = await _match(db_session, closed, await world.candidate())
    written = await Written.now(db_session)

    body = assert_problem(
        await _move(client, elsewhere, world.a1, "hired"), 409, "candidate-already-placed"
    )
    assert "Aïcha" not in str(body["detail"])
    facilitator = world.facilitator
    for match, to in ((on_closed, "hired"), (suggested_on_closed, "contacted")):
        assert_problem(await _move(client, match, facilitator, to), 409, "offer-not-open")
    assert await Written.now(db_session) == written
    assert (await _fresh(db_session, Offer, elsewhere.offer_id)).open_positions == 2
    assert (await _fresh(db_session, Offer, on_closed.offer_id)).status is OfferStatus.CLOSED
    assert (
        await _fresh(db_session, Match, on_closed.id)
    ).status is MatchStatus.PROPOSED_TO_EMPLOYER
    # A closed offer is seen by its network's facilitator only (decision 0008), who may still
    # close its matches out.
    assert (await _move(client, on_closed, facilitator, "withdrawn")).status_code == 200


async def test_who_may_move_a_match(
    client: httpx.AsyncClient, world: World, db_session: AsyncSession
) -> None:
    offer = await world.offer()
    proposed = await _match(
        db_session, offer, await world.candidate(), status=MatchStatus.PROPOSED_TO_EMPLOYER
    )
    suggested = await _match(db_session, offer, await world.candidate())
    written = await Written.now(db_session)

    # The employer hires or declines what was proposed to it, nothing else.
    assert_problem(await _move(client, proposed, world.boss, "withdrawn"), 403, "forbidden")
    # A match it was never sent does not exist for it, nor one of another employer's offer.
    for who, match in ((world.boss, suggested), (world.rival, proposed)):
        response = await _move(client, match, who, "declined")
        assert_problem(response, 404, "not-found")
    unknown = await _move(client, str(uuid.uuid4()), world.boss, "declined")
    assert_problem(unknown, 404, "not-found")
    # Counsellors who do not see the candidate: 404; the front desk: 403.
    for who in (world.b1, world.admin):
        assert_problem(await _move(client, suggested, who, "contacted"), 404, "not-found")
    assert_problem(await _move(client, suggested, world.desk, "contacted"), 403, "forbidden")
    assert await Written.now(db_session) == written

    # The facilitator of the network may.
    response = await _move(client, suggested, world.facilitator, "contacted")
    assert response.status_code == 200, response.text


async def test_a_bad_move_body_is_a_french_422(
    client: httpx.AsyncClient, world: World, db_session: AsyncSession
) -> None:
    match = await _match(db_session, await world.offer(), await world.candidate())
    written = await Written.now(db_session)
    bodies: list[dict[str, Any]] = [
        {"to": "suggested"},
        {"to": "contacted", "comment": "x" * 1001},
        {"to": "contacted", "comment": "appel\x00"},
        {"to": "contacted", "extra": 1},
        {},
    ]
    for body in bodies:
        response = await client.post(
            f"/v1/matches/{match.id}/transitions", json=body, headers=world.a1.headers
        )
        assert_problem(response, 422, "validation-failed")
    assert await Written.now(db_session) == written
    errors = [
        error
        for response in [
            await client.post(
                f"/v1/matches/{match.id}/transitions",
                json={"to": "contacted", "comment": "x" * 1001},
                headers=world.a1.headers,
            )
        ]
        for error in response.json()["errors"]
    ]
    assert [(e["loc"], e["message"]) for e in errors] == [
        (["body", "comment"], "au plus 1000 caractère(s)")
    ]


async def test_an_api_key_moves_a_match_with_its_scope_and_is_the_recorded_actor(
    client: httpx.AsyncClient, world: World, db_session: AsyncSession
) -> None:
    match = await _match(db_session, await world.offer(), await world.candidate())
    member_id = world.member.id
    reader = await make_api_key(db_session, member_id, Role.PRESCRIBER, ["matches:read"])
    writer = await make_api_key(db_session, member_id, Role.PRESCRIBER, ["matches:write"])
    path = f"/v1/matches/{match.id}/transitions"

    refused = await client.post(path, json={"to": "contacted"}, headers={"X-API-Key": reader})
    assert_problem(refused, 403, "forbidden")
    response = await client.post(path, json={"to": "contacted"}, headers={"X-API-Key": writer})
    assert response.status_code == 200, response.text
    transition = await db_session.scalar(
        select(MatchTransition).where(col(MatchTransition.match_id) == match.id)
    )
    assert transition is not None
    assert transition.actor_type == "api_key" and transition.comment is None
    assert transition.organisation_id == member_id


async def test_an_anonymised_candidate_is_no_longer_put_forward(
    client: httpx.AsyncClient, world: World, db_session: AsyncSession
) -> None:
    person = await world.candidate(status=CandidateStatus.ANONYMISED)
    match = await _match(db_session, await world.offer(), person)
    written = await Written.now(db_session)
    response = await _move(client, match, world.a1, "contacted")
    assert_problem(response, 409, "candidate-anonymised")
    assert await Written.now(db_session) == written
    assert (await _move(client, match, world.a1, "withdrawn")).status_code == 200


# -- concurrent moves, on the real session dependency (real commits) ------------------------


async def test_concurrent_hires_place_a_person_once_and_never_overfill_an_offer(
    client_for: ClientFactory, committing_sessionmaker: SessionMaker, settings: Settings
) -> None:
    proposed = MatchStatus.PROPOSED_TO_EMPLOYER
    async with committing_sessionmaker() as session:
        n = await make_network(session, settings)
        member = await _organisation(session, n.member_id)
        employer = await make_organisation(session, kind=OrganisationKind.EMPLOYER)
        one, two, single = [
            await make_offer(session, employer, status=OfferStatus.OPEN, positions=1)
            for _ in range(3)
        ]
        person = await make_candidate(session, member)
        # The same person proposed on two offers; two people on the same one-position offer.
        same_person = [await _match(session, o, person, status=proposed) for o in (one, two)]
        same_offer = [
            await _match(session, single, await make_candidate(session, member), status=proposed)
            for _ in range(2)
        ]
        await session.commit()

    async with client_for() as client:
        hires = await asyncio.gather(*(_move(client, m, n.a1, "hired") for m in same_person))
        fills = await asyncio.gather(*(_move(client, m, n.a1, "hired") for m in same_offer))

    assert sorted(r.status_code for r in hires) == [200, 409]
    assert_problem(next(r for r in hires if r.is_error), 409, "candidate-already-placed")
    assert sorted(r.status_code for r in fills) == [200, 409]
    assert_problem(next(r for r in fills if r.is_error), 409, "offer-not-open")

    async with committing_sessionmaker() as session:
        offers = {
            offer.id: offer
            for offer in await session.scalars(
                select(Offer).where(col(Offer.id).in_([one.id, two.id, single.id]))
            )
        }
        assert sorted(o.open_positions for o in offers.values()) == [0, 0, 1]
        assert offers[single.id].status is OfferStatus.FILLED
        stored = await session.get(Candidate, person.id)
        assert stored is not None and stored.status is CandidateStatus.PLACED
        placed = list(
            await session.scalars(
                select(OutboxEvent).where(col(OutboxEvent.type) == "candidate.placed")
            )
        )
        assert sorted(e.payload["candidate_id"] for e in placed) == sorted(
            [str(person.id)]
            + [str(r.json()["candidate"]["id"]) for r in fills if r.status_code == 200]
        )
        moves = await count(session, MatchTransition)
        assert moves == 2 * 2 + 2 * 2 + 2  # the proposals' histories, and the two hires
