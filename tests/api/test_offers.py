"""Offers: validation, sector and location, lifecycle and events, access, lists."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.clock import FrozenClock
from services.core.models.contract import ContractStatus
from services.core.models.offer import Offer, OfferStatus
from services.core.models.outbox import OutboxEvent
from services.core.models.user import Role
from services.core.settings import Settings
from tests.api.clause import Territory, api_key, count, errors_of, events, make_territory
from tests.api.conftest import assert_problem
from tests.factories import make_contract, make_offer

pytestmark = pytest.mark.usefixtures("reference_data")


@pytest.fixture
async def world(db_session: AsyncSession, settings: Settings) -> Territory:
    return await make_territory(db_session, settings)


def complete(**changes: Any) -> dict[str, Any]:
    """A complete offer payload: publishable as it is."""
    return {
        "title": "Maçon ou maçonne en rénovation",
        "rome_code": "F1703",
        "contract_type": "CDD",
        "hours_per_week": 35,
        "positions": 2,
        "start_date": "2026-04-01",
        "end_date": "2026-12-31",
        "commune_insee": "93066",
        "requires_eligibility": True,
        **changes,
    }


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], **changes: Any
) -> dict[str, Any]:
    response = await client.post("/v1/offers", json=complete(**changes), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# -- creation, sector, location ------------------------------------------------------------


async def test_a_new_offer_is_a_draft_with_its_sector_derived_from_rome(
    client: httpx.AsyncClient, world: Territory
) -> None:
    response = await client.post("/v1/offers", json=complete(), headers=world.employer_staff)
    assert response.status_code == 201, response.text
    offer = response.json()
    assert response.headers["location"] == f"/v1/offers/{offer['id']}"
    assert offer["status"] == "draft"
    assert offer["status_label"] == "Brouillon"
    assert offer["employer_id"] == world.employer_id  # the caller's organisation by default
    assert offer["sector"] == "construction"
    assert offer["sector_label"] == "BÂTIMENT ET TRAVAUX PUBLICS"
    assert offer["contract_type_label"] == "Contrat à durée déterminée"
    assert offer["hours_per_week"] == "35.0"
    assert offer["open_positions"] == 2
    # Only the commune given: the work site is its centre.
    assert (offer["lon"], offer["lat"]) == (2.3657, 48.9378)
    assert offer["coordinates_source"] == "commune_centroid"
    assert offer["published_at"] is None
    read = await client.get(f"/v1/offers/{offer['id']}", headers=world.employer_staff)
    assert read.json() == offer
    assert read.headers["etag"] == response.headers["etag"]


@pytest.mark.parametrize(
    ("changes", "sector"),
    [
        ({"rome_code": "k2204"}, "cleaning"),
        ({"rome_code": "N1103"}, "logistics"),
        ({"rome_code": "J1501"}, None),  # health: outside every borne sector
        ({"rome_code": "J1501", "sector": "cleaning"}, "cleaning"),  # given, kept
    ],
)
async def test_sector_comes_from_rome_unless_given(
    client: httpx.AsyncClient, world: Territory, changes: dict[str, Any], sector: str | None
) -> None:
    offer = await create(client, world.employer_staff, **changes)
    assert offer["sector"] == sector
    assert offer["rome_code"] == changes["rome_code"].upper()


async def test_given_coordinates_are_the_work_site(
    client: httpx.AsyncClient, world: Territory
) -> None:
    offer = await create(client, world.employer_staff, lon=55.45, lat=-20.9, commune_insee="97411")
    assert (offer["lon"], offer["lat"], offer["coordinates_source"]) == (55.45, -20.9, "given")
    corsica = await create(client, world.employer_staff, lon=8.74, lat=41.93, commune_insee=None)
    assert corsica["coordinates_source"] == "given"
    assert corsica["commune_insee"] is None


async def test_an_appellation_must_belong_to_the_rome_code(
    client: httpx.AsyncClient, world: Territory
) -> None:
    offer = await create(client, world.employer_staff, appellation_code="11365")
    assert offer["appellation_code"] == "11365"
    response = await client.post(
        "/v1/offers",
        json=complete(appellation_code="10537"),  # nettoyage industriel, K2204
        headers=world.employer_staff,
    )
    body = assert_problem(response, 422, "validation-failed")
    assert errors_of(body) == [
        {
            "loc": ["body", "appellation_code"],
            "message": "cette appellation ne relève pas du code ROME donné",
            "type": "invalid",
        }
    ]


INVALID = [
    pytest.param({"rome_code": "F9999"}, ["body", "rome_code"], "code ROME inconnu", id="rome"),
    pytest.param(
        {"rome_code": "maçon"},
        ["body", "rome_code"],
        "code ROME invalide (une lettre de A à N et 4 chiffres, ex. F1703)",
        id="rome-format",
    ),
    pytest.param(
        {"commune_insee": "99999"}, ["body", "commune_insee"], "commune inconnue", id="insee"
    ),
    pytest.param(
        {"lon": -0.1276, "lat": 51.5072},  # London
        ["body", "lon"],
        "coordonnées hors de France (métropole, Corse ou outre-mer)",
        id="outside-france",
    ),
    pytest.param(
        {"lon": 0.0, "lat": 0.0},
        ["body", "lat"],
        "coordonnées hors de France (métropole, Corse ou outre-mer)",
        id="null-island",
    ),
    pytest.param({"lon": 2.35}, ["body"], "lon et lat s'envoient ensemble", id="lon-alone"),
    pytest.param(
        {"start_date": "2026-05-01", "end_date": "2026-04-30"},
        ["body", "end_date"],
        "la date de fin précède la date de début",
        id="end-before-start",
    ),
    pytest.param(
        {"hours_per_week": -35},
        ["body", "hours_per_week"],
        "doit être supérieur à 0",
        id="negative-hours",
    ),
    pytest.param(
        {"hours_per_week": 49},
        ["body", "hours_per_week"],
        "doit être inférieur ou égal à 48",
        id="too-many-hours",
    ),
    pytest.param(
        {"positions": 0}, ["body", "positions"], "doit être supérieur ou égal à 1", id="positions"
    ),
    pytest.param(
        {"positions": 2, "open_positions": 3},
        ["body", "open_positions"],
        "ne peut pas dépasser le nombre de postes (positions)",
        id="open-positions",
    ),
    pytest.param({"salary": 2000}, ["body", "salary"], "champ inconnu", id="unknown-field"),
    pytest.param(
        {"contract_type": "INTERIM"},
        ["body", "contract_type"],
        "valeur non autorisée (valeurs possibles : 'CDI', 'CDD', 'MIS', 'SAI', 'CDDI', "
        "'CDI_CHANTIER', 'APPRENTISSAGE' ou 'PROFESSIONNALISATION')",
        id="contract-type",
    ),
    pytest.param(
        {"employer_id": "00000000-0000-7000-8000-000000000000"},
        ["body", "employer_id"],
        "organisation inconnue ou désactivée",
        id="unknown-employer",
    ),
    pytest.param(
        {"lot_id": "00000000-0000-7000-8000-000000000000"},
        ["body", "lot_id"],
        "un lot ne se donne qu'avec son marché (contract_id)",
        id="lot-without-contract",
    ),
]


@pytest.mark.parametrize(("changes", "loc", "message"), INVALID)
async def test_an_invalid_offer_is_a_french_422_and_nothing_is_written(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    world: Territory,
    changes: dict[str, Any],
    loc: list[str],
    message: str,
) -> None:
    response = await client.post("/v1/offers", json=complete(**changes), headers=world.admin)
    body = assert_problem(response, 422, "validation-failed")
    assert {"loc": loc, "message": message} in [
        {"loc": e["loc"], "message": e["message"]} for e in errors_of(body)
    ]
    assert await count(db_session, Offer) == 0


async def test_every_problem_is_reported_at_once(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    payload = complete(rome_code="F9999", commune_insee="99999", end_date="2026-01-01")
    body = assert_problem(
        await client.post("/v1/offers", json=payload, headers=world.employer_staff),
        422,
        "validation-failed",
    )
    assert [e["loc"][-1] for e in errors_of(body)] == ["end_date", "rome_code", "commune_insee"]
    assert await count(db_session, Offer) == 0


async def test_contract_and_lot_are_checked(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    contract = await make_contract(
        db_session, world.buyer, holders=[world.employer], lots=[(1, "Gros œuvre")]
    )
    other = await make_contract(db_session, world.buyer, lots=[(1, "Peinture")])
    foreign = await make_contract(db_session, world.competitor, holders=[world.competitor])
    contract_id, lot_id = str(contract.id), str(contract.lots[0].id)
    other_lot_id, foreign_id = str(other.lots[0].id), str(foreign.id)

    offer = await create(client, world.employer_staff, contract_id=contract_id, lot_id=lot_id)
    assert (offer["contract_id"], offer["lot_id"]) == (contract_id, lot_id)

    wrong_lot = await client.post(
        "/v1/offers",
        json=complete(contract_id=contract_id, lot_id=other_lot_id),
        headers=world.employer_staff,
    )
    body = assert_problem(wrong_lot, 422, "validation-failed")
    assert errors_of(body)[0]["message"] == "ce lot n'appartient pas au marché"
    # A contract the caller cannot see is unknown to it.
    unseen = await client.post(
        "/v1/offers", json=complete(contract_id=foreign_id), headers=world.employer_staff
    )
    body = assert_problem(unseen, 422, "validation-failed")
    assert errors_of(body)[0] == {
        "loc": ["body", "contract_id"],
        "message": "marché inconnu",
        "type": "unknown",
    }
    assert await count(db_session, Offer) == 1


async def test_no_new_offer_on_a_closed_contract(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    contract = await make_contract(
        db_session, world.buyer, holders=[world.employer], status=ContractStatus.CLOSED
    )
    response = await client.post(
        "/v1/offers", json=complete(contract_id=str(contract.id)), headers=world.facilitator
    )
    assert_problem(response, 409, "contract-closed")
    assert await count(db_session, Offer) == 0


# -- publication and events ----------------------------------------------------------------


async def test_publishing_writes_exactly_one_offer_published_event(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory, clock: FrozenClock
) -> None:
    offer = await create(client, world.employer_staff)
    response = await client.post(
        f"/v1/offers/{offer['id']}/publish",
        headers={**world.employer_staff, "X-Request-ID": "publication-1"},
    )
    assert response.status_code == 200, response.text
    published = response.json()
    assert published["status"] == "open"
    assert published["published_at"] == "2026-03-02T09:00:00Z"
    assert response.headers["etag"] != ""
    [event] = await events(db_session, "offer.published")
    assert event.payload == {"offer_id": offer["id"]}
    assert event.request_id == "publication-1"
    assert await count(db_session, OutboxEvent) == 1


async def test_a_refused_publication_writes_no_event(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    offer = await create(client, world.employer_staff)
    assert (await client.post(f"/v1/offers/{offer['id']}/publish", headers=world.admin)).is_success
    again = await client.post(f"/v1/offers/{offer['id']}/publish", headers=world.admin)
    body = assert_problem(again, 409, "illegal-transition")
    assert body["detail"] == (
        "Seule une offre en brouillon peut être publiée ; celle-ci est « Ouverte »."
    )
    assert len(await events(db_session, "offer.published")) == 1


async def test_an_incomplete_offer_cannot_be_published(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    payload = {"title": "Agent ou agente d'entretien", "rome_code": "K2204"}
    offer = (await client.post("/v1/offers", json=payload, headers=world.employer_staff)).json()
    assert offer["sector"] == "cleaning"
    response = await client.post(f"/v1/offers/{offer['id']}/publish", headers=world.employer_staff)
    body = assert_problem(response, 409, "offer-incomplete")
    assert [e["loc"] for e in errors_of(body)] == [
        ["contract_type"],
        ["hours_per_week"],
        ["start_date"],
        ["commune_insee"],
    ]
    assert errors_of(body)[0]["message"] == "obligatoire pour une offre publiée"
    assert await count(db_session, OutboxEvent) == 0
    read = await client.get(f"/v1/offers/{offer['id']}", headers=world.employer_staff)
    assert read.json()["status"] == "draft"


async def test_an_offer_of_an_expired_period_cannot_be_published(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory, clock: FrozenClock
) -> None:
    offer = await create(
        client, world.employer_staff, start_date="2025-01-06", end_date="2026-03-01"
    )
    response = await client.post(f"/v1/offers/{offer['id']}/publish", headers=world.employer_staff)
    body = assert_problem(response, 409, "offer-incomplete")
    assert errors_of(body) == [
        {"loc": ["end_date"], "message": "la date de fin est passée", "type": "invalid"}
    ]
    assert await count(db_session, OutboxEvent) == 0


async def test_publishing_needs_an_active_contract(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    contract = await make_contract(db_session, world.buyer, holders=[world.employer])
    contract_id = str(contract.id)
    offer = await create(client, world.employer_staff, contract_id=contract_id)
    publish = f"/v1/offers/{offer['id']}/publish"
    assert_problem(
        await client.post(publish, headers=world.employer_staff), 409, "contract-not-active"
    )
    assert await count(db_session, OutboxEvent) == 0
    activated = await client.post(
        f"/v1/contracts/{contract_id}/activate", headers=world.facilitator
    )
    assert activated.status_code == 200, activated.text
    assert (await client.post(publish, headers=world.employer_staff)).status_code == 200
    assert len(await events(db_session, "offer.published")) == 1


async def test_a_publication_rolled_back_after_its_event_leaves_none(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    """The event is written before the offer's row: a failure after it takes both away."""
    offer = await create(client, world.employer_staff)
    await db_session.execute(
        text(
            "CREATE FUNCTION test_refuse_publication() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'publication refusée'; END $$"
        )
    )
    await db_session.execute(
        text(
            "CREATE TRIGGER test_refuse_publication BEFORE UPDATE ON offer FOR EACH ROW "
            "WHEN (NEW.status = 'open') EXECUTE FUNCTION test_refuse_publication()"
        )
    )
    response = await client.post(f"/v1/offers/{offer['id']}/publish", headers=world.employer_staff)
    assert_problem(response, 500, "internal-error")
    assert await count(db_session, OutboxEvent) == 0
    status = await db_session.scalar(
        text("SELECT status FROM offer WHERE id = :id"), {"id": offer["id"]}
    )
    assert status == "draft"


async def test_changing_an_open_offer_emits_offer_updated(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    offer = await create(client, world.employer_staff)
    url = f"/v1/offers/{offer['id']}"
    draft_etag = (await client.get(url, headers=world.employer_staff)).headers["etag"]
    # A draft changes silently.
    draft = await client.patch(
        url,
        json={"title": "Maçon ou maçonne"},
        headers={**world.employer_staff, "If-Match": draft_etag},
    )
    assert draft.status_code == 200, draft.text
    assert await count(db_session, OutboxEvent) == 0

    published = await client.post(f"{url}/publish", headers=world.employer_staff)
    etag = published.headers["etag"]
    changed = await client.patch(
        url, json={"hours_per_week": 24.5}, headers={**world.employer_staff, "If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["hours_per_week"] == "24.5"
    assert changed.headers["etag"] != etag
    [event] = await events(db_session, "offer.updated")
    assert event.payload == {"offer_id": offer["id"]}

    # Nothing changes, nothing is emitted.
    same = await client.patch(
        url,
        json={"hours_per_week": 24.5},
        headers={**world.employer_staff, "If-Match": changed.headers["etag"]},
    )
    assert same.status_code == 200
    assert same.headers["etag"] == changed.headers["etag"]
    assert len(await events(db_session, "offer.updated")) == 1


async def test_patch_needs_a_current_if_match(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    offer = await create(client, world.employer_staff)
    url = f"/v1/offers/{offer['id']}"
    missing = await client.patch(url, json={"title": "Autre"}, headers=world.employer_staff)
    assert_problem(missing, 428, "precondition-required")
    stale = await client.patch(
        url, json={"title": "Autre"}, headers={**world.employer_staff, "If-Match": '"stale"'}
    )
    assert_problem(stale, 412, "precondition-failed")
    read = await client.get(url, headers=world.employer_staff)
    assert read.json()["title"] == "Maçon ou maçonne en rénovation"
    assert stale.headers["etag"] == read.headers["etag"]
    not_modified = await client.get(
        url, headers={**world.employer_staff, "If-None-Match": read.headers["etag"]}
    )
    assert not_modified.status_code == 304


async def test_patch_checks_the_offer_as_it_will_be(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    offer = await create(client, world.employer_staff)
    url = f"/v1/offers/{offer['id']}"
    etag = (await client.get(url, headers=world.employer_staff)).headers["etag"]
    headers = {**world.employer_staff, "If-Match": etag}
    before_start = await client.patch(url, json={"end_date": "2026-03-01"}, headers=headers)
    body = assert_problem(before_start, 422, "validation-failed")
    assert errors_of(body)[0]["loc"] == ["body", "end_date"]
    emptied = await client.patch(url, json={"title": None}, headers=headers)
    body = assert_problem(emptied, 422, "validation-failed")
    assert errors_of(body)[0]["message"].startswith("ne peut pas être null")

    # A new ROME code brings its sector; the work site moves with the commune.
    moved = await client.patch(
        url, json={"rome_code": "N1103", "commune_insee": "2A004"}, headers=headers
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["sector"] == "logistics"
    assert (moved.json()["lon"], moved.json()["lat"]) == (8.7058, 41.9228)

    pinned = await client.patch(
        url,
        json={"lon": 8.74, "lat": 41.93},
        headers={**world.employer_staff, "If-Match": moved.headers["etag"]},
    )
    assert pinned.json()["coordinates_source"] == "given"
    back = await client.patch(
        url,
        json={"lon": None, "lat": None},
        headers={**world.employer_staff, "If-Match": pinned.headers["etag"]},
    )
    assert back.json()["coordinates_source"] == "commune_centroid"
    assert (back.json()["lon"], back.json()["lat"]) == (8.7058, 41.9228)


async def test_a_published_offer_stays_complete(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    offer = await make_offer(db_session, world.employer, status=OfferStatus.OPEN)
    url = f"/v1/offers/{offer.id}"
    etag = (await client.get(url, headers=world.employer_staff)).headers["etag"]
    response = await client.patch(
        url, json={"start_date": None}, headers={**world.employer_staff, "If-Match": etag}
    )
    body = assert_problem(response, 409, "offer-incomplete")
    assert errors_of(body)[0]["loc"] == ["start_date"]
    assert await count(db_session, OutboxEvent) == 0


async def test_filled_then_closed(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    offer = await make_offer(db_session, world.employer, status=OfferStatus.OPEN, positions=2)
    url = f"/v1/offers/{offer.id}"
    etag = (await client.get(url, headers=world.employer_staff)).headers["etag"]
    filled = await client.patch(
        url, json={"open_positions": 0}, headers={**world.employer_staff, "If-Match": etag}
    )
    assert filled.json()["status"] == "filled"
    # A filled offer is still visible to everyone, and can be closed.
    assert (await client.get(url, headers=world.prescriber)).status_code == 200
    closed = await client.post(
        f"{url}/close", json={"reason": "filled"}, headers=world.employer_staff
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["close_reason"] == "filled"
    assert closed.json()["close_reason_label"] == "Postes pourvus"
    assert closed.json()["closed_at"] is not None
    assert [e.type for e in await events(db_session, "offer.updated")] == ["offer.updated"]
    [event] = await events(db_session, "offer.closed")
    assert event.payload == {"offer_id": str(offer.id)}

    again = await client.post(f"{url}/close", headers=world.employer_staff)
    assert_problem(again, 409, "illegal-transition")
    locked = await client.patch(
        url, json={"title": "Autre"}, headers={**world.employer_staff, "If-Match": "*"}
    )
    assert_problem(locked, 409, "offer-closed")
    # Closed offers leave the public view.
    assert_problem(await client.get(url, headers=world.prescriber), 404, "not-found")
    assert len(await events(db_session, "offer.closed")) == 1


async def test_a_close_reason_is_chosen_from_the_list_never_free_text(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    offer = await make_offer(db_session, world.employer, status=OfferStatus.OPEN)
    url = f"/v1/offers/{offer.id}/close"
    # Free text could name a person ("pourvu par M. Dupont"): refused, nothing changes.
    free = await client.post(
        url, json={"reason": "Pourvu par M. Dupont"}, headers=world.employer_staff
    )
    body = assert_problem(free, 422, "validation-failed")
    assert errors_of(body)[0]["loc"] == ["body", "reason"]
    assert await count(db_session, OutboxEvent) == 0
    closed = await client.post(
        url, json={"reason": "filled_elsewhere"}, headers=world.employer_staff
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["close_reason"] == "filled_elsewhere"
    assert closed.json()["close_reason_label"] == "Postes pourvus par un autre canal"
    # The database refuses an unlisted value too, whatever writes it.
    with pytest.raises(IntegrityError):
        async with db_session.begin_nested():
            await db_session.execute(
                text("UPDATE offer SET close_reason = 'pourvu par M. Dupont' WHERE id = :id"),
                {"id": offer.id},
            )


async def test_only_a_draft_is_deleted_and_with_if_match(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    published = [
        str(
            (
                await make_offer(
                    db_session,
                    world.employer,
                    status=status,
                    open_positions=0 if status is OfferStatus.FILLED else 1,
                )
            ).id
        )
        for status in (OfferStatus.OPEN, OfferStatus.FILLED, OfferStatus.CLOSED)
    ]
    draft = await create(client, world.employer_staff)
    url = f"/v1/offers/{draft['id']}"
    missing = await client.delete(url, headers=world.employer_staff)
    assert_problem(missing, 428, "precondition-required")
    stale = await client.delete(url, headers={**world.employer_staff, "If-Match": '"old"'})
    assert_problem(stale, 412, "precondition-failed")
    etag = (await client.get(url, headers=world.employer_staff)).headers["etag"]
    deleted = await client.delete(url, headers={**world.employer_staff, "If-Match": etag})
    assert deleted.status_code == 204, deleted.text
    assert_problem(await client.get(url, headers=world.employer_staff), 404, "not-found")
    assert await count(db_session, Offer) == 3
    assert await count(db_session, OutboxEvent) == 0
    # A published offer is closed, not deleted (its matches and events refer to it).
    for offer_id in published:
        refused = await client.delete(
            f"/v1/offers/{offer_id}", headers={**world.facilitator, "If-Match": "*"}
        )
        body = assert_problem(refused, 409, "illegal-transition")
        assert "brouillon" in str(body["detail"])
    assert await count(db_session, Offer) == 3


async def test_positions_added_are_open(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    offer = await make_offer(
        db_session, world.employer, status=OfferStatus.FILLED, positions=2, open_positions=0
    )
    url = f"/v1/offers/{offer.id}"
    response = await client.patch(
        url, json={"positions": 3}, headers={**world.facilitator, "If-Match": "*"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["open_positions"], response.json()["status"]) == (1, "open")


async def test_a_draft_cannot_be_closed(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    offer = await make_offer(db_session, world.employer)
    response = await client.post(f"/v1/offers/{offer.id}/close", headers=world.employer_staff)
    body = assert_problem(response, 409, "illegal-transition")
    assert "« Brouillon »" in str(body["detail"])
    assert await count(db_session, OutboxEvent) == 0


# -- access --------------------------------------------------------------------------------


async def test_another_organisations_draft_does_not_exist(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    offer = await make_offer(db_session, world.employer)
    url = f"/v1/offers/{offer.id}"
    for headers in (world.competitor_staff, world.other_facilitator, world.prescriber, world.desk):
        assert_problem(await client.get(url, headers=headers), 404, "not-found")
        assert_problem(
            await client.patch(url, json={"title": "X"}, headers={**headers, "If-Match": "*"}),
            404,
            "not-found",
        )
        assert_problem(await client.post(f"{url}/publish", headers=headers), 404, "not-found")
    assert await count(db_session, OutboxEvent) == 0
    # The employer, its facilitator and the admin see it.
    for headers in (world.employer_staff, world.facilitator, world.admin):
        assert (await client.get(url, headers=headers)).status_code == 200


async def test_open_offers_are_public_but_only_their_writers_change_them(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    offer = await make_offer(db_session, world.employer, status=OfferStatus.OPEN)
    url = f"/v1/offers/{offer.id}"
    for headers in (world.prescriber, world.desk, world.competitor_staff, world.other_facilitator):
        assert (await client.get(url, headers=headers)).status_code == 200
        assert_problem(
            await client.patch(url, json={"title": "X"}, headers={**headers, "If-Match": "*"}),
            403,
            "forbidden",
        )
        assert_problem(await client.post(f"{url}/close", headers=headers), 403, "forbidden")
    changed = await client.patch(
        url, json={"title": "Maçon"}, headers={**world.facilitator, "If-Match": "*"}
    )
    assert changed.status_code == 200
    assert len(await events(db_session, "offer.updated")) == 1


async def test_anonymous_callers_are_401(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    assert_problem(await client.get("/v1/offers"), 401, "unauthorized")
    assert_problem(await client.post("/v1/offers", json=complete()), 401, "unauthorized")
    assert await count(db_session, Offer) == 0


async def test_who_may_create_an_offer(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    for headers in (world.prescriber, world.desk):
        assert_problem(
            await client.post("/v1/offers", json=complete(), headers=headers), 403, "forbidden"
        )
    # An employer writes for its own organisation only; a facilitator, for its territory.
    for headers in (world.employer_staff, world.other_facilitator):
        response = await client.post(
            "/v1/offers", json=complete(employer_id=world.competitor_id), headers=headers
        )
        assert_problem(response, 403, "forbidden")
    assert await count(db_session, Offer) == 0
    by_facilitator = await create(client, world.facilitator, employer_id=world.employer_id)
    assert by_facilitator["employer_id"] == world.employer_id
    # …and cannot hand the offer over to an organisation outside it.
    moved = await client.patch(
        f"/v1/offers/{by_facilitator['id']}",
        json={"employer_id": world.competitor_id},
        headers={**world.employer_staff, "If-Match": "*"},
    )
    assert_problem(moved, 403, "forbidden")


async def test_api_keys_are_held_to_their_scopes(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    reader = await api_key(db_session, world.employer, Role.EMPLOYER, ["offers:read"])
    writer = await api_key(db_session, world.employer, Role.EMPLOYER, ["offers:write"])
    other = await api_key(db_session, world.employer, Role.EMPLOYER, ["contracts:read"])
    assert (await client.get("/v1/offers", headers=reader)).status_code == 200
    refused = await client.post("/v1/offers", json=complete(), headers=reader)
    body = assert_problem(refused, 403, "forbidden")
    assert body["detail"] == "Cette clé d'API n'a pas le droit « offers:write »."
    assert_problem(await client.get("/v1/offers", headers=other), 403, "forbidden")
    created = await create(client, writer)
    assert created["employer_id"] == world.employer_id
    assert (await client.get(f"/v1/offers/{created['id']}", headers=writer)).status_code == 200


# -- lists ---------------------------------------------------------------------------------


async def test_the_list_is_paginated_filtered_and_scoped(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    contract = await make_contract(
        db_session, world.buyer, holders=[world.employer], status=ContractStatus.ACTIVE
    )
    masonry = await make_offer(
        db_session, world.employer, status=OfferStatus.OPEN, contract=contract
    )
    cleaning = await make_offer(
        db_session,
        world.employer,
        status=OfferStatus.OPEN,
        rome_code="K2204",
        commune_insee="2A004",
    )
    draft = await make_offer(db_session, world.employer)
    rival = await make_offer(db_session, world.competitor)  # a draft elsewhere
    offers = {"masonry": masonry, "cleaning": cleaning, "draft": draft, "rival": rival}
    ids = {name: str(offer.id) for name, offer in offers.items()}
    contract_id = str(contract.id)

    async def listed(headers: dict[str, str], query: str = "") -> list[str]:
        response = await client.get(f"/v1/offers?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    # Newest first; a prescriber sees published offers only.
    assert await listed(world.prescriber) == [ids["cleaning"], ids["masonry"]]
    assert await listed(world.employer_staff) == [ids["draft"], ids["cleaning"], ids["masonry"]]
    assert len(await listed(world.admin)) == 4
    assert await listed(world.employer_staff, "status=draft") == [ids["draft"]]
    assert await listed(world.prescriber, "sector=cleaning") == [ids["cleaning"]]
    assert await listed(world.prescriber, "rome_code=f1703") == [ids["masonry"]]
    assert await listed(world.prescriber, f"contract_id={contract_id}") == [ids["masonry"]]
    assert await listed(world.prescriber, "commune_insee=2A004") == [ids["cleaning"]]
    assert await listed(world.admin, f"employer_id={world.competitor_id}") == [ids["rival"]]

    page = await client.get("/v1/offers?limit=1&page=2", headers=world.employer_staff)
    assert page.json()["pagination"] == {"page": 2, "limit": 1, "total_count": 3, "max_page": 3}
    assert [item["id"] for item in page.json()["items"]] == [ids["cleaning"]]
    bad = await client.get("/v1/offers?status=archived", headers=world.admin)
    assert_problem(bad, 422, "validation-failed")
