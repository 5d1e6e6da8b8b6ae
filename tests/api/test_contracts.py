"""Contracts: lots and holders, validation, lifecycle, access, lists."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.contract import (
    Contract,
    ContractHolder,
    ContractLot,
    ContractStatus,
    QpvPriority,
)
from services.core.models.offer import OfferStatus
from services.core.models.outbox import OutboxEvent
from services.core.models.user import Role
from services.core.settings import Settings
from tests.api.clause import Territory, api_key, count, errors_of, events, make_territory
from tests.api.conftest import assert_problem
from tests.factories import make_contract, make_offer


@pytest.fixture
async def world(db_session: AsyncSession, settings: Settings) -> Territory:
    return await make_territory(db_session, settings)


def payload(world: Territory, **changes: Any) -> dict[str, Any]:
    return {
        "buyer_id": world.buyer_id,
        "reference": "2026-BAT-014",
        "title": "Réhabilitation de la cité des Francs-Moisins",
        "clause_kind": "execution",
        "start_date": "2026-02-01",
        "end_date": "2027-07-31",
        "amount": "2450000",
        "is_npnru": True,
        "qpv_priority": "preferred",
        "required_insertion_hours": 3500,
        "lots": [
            {"number": 2, "title": "Menuiseries", "required_insertion_hours": "700.5"},
            {"number": 1, "title": "Gros œuvre", "clause_kind": "reserved_siae"},
        ],
        "holder_ids": [world.employer_id],
        **changes,
    }


async def rows(session: AsyncSession) -> tuple[int, int, int]:
    return (
        await count(session, Contract),
        await count(session, ContractLot),
        await count(session, ContractHolder),
    )


async def test_a_contract_is_registered_with_its_lots_and_holders(
    client: httpx.AsyncClient, world: Territory
) -> None:
    response = await client.post("/v1/contracts", json=payload(world), headers=world.facilitator)
    assert response.status_code == 201, response.text
    contract = response.json()
    assert response.headers["location"] == f"/v1/contracts/{contract['id']}"
    assert contract["status"] == "draft"
    assert contract["status_label"] == "Brouillon"
    assert contract["clause_kind_label"] == "Clause d'exécution (art. L2112-2 CCP)"
    assert contract["amount"] == "2450000.00"
    assert contract["required_insertion_hours"] == "3500.00"
    assert contract["holder_ids"] == [world.employer_id]
    assert [(lot["number"], lot["title"]) for lot in contract["lots"]] == [
        (1, "Gros œuvre"),
        (2, "Menuiseries"),
    ]
    assert contract["lots"][0]["clause_kind"] == "reserved_siae"
    assert contract["lots"][1]["required_insertion_hours"] == "700.50"
    read = await client.get(f"/v1/contracts/{contract['id']}", headers=world.facilitator)
    assert read.json() == contract
    assert read.headers["etag"] == response.headers["etag"]


INVALID = [
    pytest.param(
        {"start_date": "2026-05-01", "end_date": "2026-04-30"},
        ["body", "end_date"],
        "la date de fin précède la date de début",
        id="end-before-start",
    ),
    pytest.param(
        {"required_insertion_hours": -10},
        ["body", "required_insertion_hours"],
        "doit être supérieur ou égal à 0",
        id="negative-hours",
    ),
    pytest.param(
        {"lots": [{"number": 1, "title": "Lot", "required_insertion_hours": -1}]},
        ["body", "lots", 0, "required_insertion_hours"],
        "doit être supérieur ou égal à 0",
        id="negative-lot-hours",
    ),
    pytest.param(
        {"lots": [{"number": 1, "title": "A"}, {"number": 1, "title": "B"}]},
        ["body", "lots"],
        "deux lots portent le même numéro",
        id="duplicate-lot",
    ),
    pytest.param(
        {"holder_ids": ["00000000-0000-7000-8000-000000000000"]},
        ["body", "holder_ids", 0],
        "organisation inconnue",
        id="unknown-holder",
    ),
    pytest.param(
        {"buyer_id": "00000000-0000-7000-8000-000000000000"},
        ["body", "buyer_id"],
        "organisation inconnue",
        id="unknown-buyer",
    ),
    pytest.param(
        {"clause_kind": "social"},
        ["body", "clause_kind"],
        "valeur non autorisée (valeurs possibles : 'execution', 'reserved_siae', "
        "'reserved_disability', 'award_criterion' ou 'insertion_market')",
        id="clause-kind",
    ),
    pytest.param({"budget": 12}, ["body", "budget"], "champ inconnu", id="unknown-field"),
]


@pytest.mark.parametrize(("changes", "loc", "message"), INVALID)
async def test_an_invalid_contract_is_a_french_422_and_nothing_is_written(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    world: Territory,
    changes: dict[str, Any],
    loc: list[str | int],
    message: str,
) -> None:
    response = await client.post(
        "/v1/contracts", json=payload(world, **changes), headers=world.admin
    )
    body = assert_problem(response, 422, "validation-failed")
    assert {"loc": loc, "message": message} in [
        {"loc": e["loc"], "message": e["message"]} for e in errors_of(body)
    ]
    assert await rows(db_session) == (0, 0, 0)


async def test_a_reference_is_unique_per_buyer(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    assert (
        await client.post("/v1/contracts", json=payload(world), headers=world.admin)
    ).status_code == 201
    again = await client.post("/v1/contracts", json=payload(world), headers=world.admin)
    assert_problem(again, 409, "contract-reference-taken")
    assert await rows(db_session) == (1, 2, 1)
    second = await client.post(
        "/v1/contracts", json=payload(world, reference="2026-BAT-015"), headers=world.admin
    )
    renamed = await client.patch(
        f"/v1/contracts/{second.json()['id']}",
        json={"reference": "2026-BAT-014", "title": "Autre intitulé"},
        headers={**world.admin, "If-Match": second.headers["etag"]},
    )
    assert_problem(renamed, 409, "contract-reference-taken")
    read = await client.get(f"/v1/contracts/{second.json()['id']}", headers=world.admin)
    assert read.json()["reference"] == "2026-BAT-015"
    assert read.headers["etag"] == second.headers["etag"]
    # Another buyer may use the same reference.
    elsewhere = payload(world, buyer_id=world.competitor_id, holder_ids=[world.competitor_id])
    assert (
        await client.post("/v1/contracts", json=elsewhere, headers=world.admin)
    ).status_code == 201


async def test_patch_replaces_lots_by_number_and_holders(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    created = await client.post("/v1/contracts", json=payload(world), headers=world.facilitator)
    contract = created.json()
    url = f"/v1/contracts/{contract['id']}"
    lot_one = contract["lots"][0]["id"]
    agency_id = str(world.agency.id)
    response = await client.patch(
        url,
        json={
            "title": "Réhabilitation et résidentialisation",
            "lots": [
                {"number": 1, "title": "Gros œuvre et démolition"},
                {"number": 3, "title": "Espaces verts", "required_insertion_hours": 200},
            ],
            "holder_ids": [agency_id, world.employer_id],
        },
        headers={**world.facilitator, "If-Match": created.headers["etag"]},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["title"] == "Réhabilitation et résidentialisation"
    assert [(lot["number"], lot["title"]) for lot in updated["lots"]] == [
        (1, "Gros œuvre et démolition"),
        (3, "Espaces verts"),
    ]
    assert updated["lots"][0]["id"] == lot_one  # same number, same lot
    assert updated["lots"][0]["clause_kind"] is None
    assert updated["holder_ids"] == sorted([agency_id, world.employer_id])
    read = await client.get(url, headers=world.facilitator)
    assert read.json() == updated
    assert read.headers["etag"] == response.headers["etag"]
    assert await rows(db_session) == (1, 2, 2)

    # Only the holders change: still a change of the contract.
    holders_only = await client.patch(
        url,
        json={"holder_ids": [world.employer_id]},
        headers={**world.facilitator, "If-Match": response.headers["etag"]},
    )
    assert holders_only.json()["holder_ids"] == [world.employer_id]
    assert holders_only.headers["etag"] != response.headers["etag"]


async def test_patch_needs_a_current_if_match_and_checks_the_result(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    contract = await make_contract(db_session, world.buyer, holders=[world.employer])
    url = f"/v1/contracts/{contract.id}"
    assert_problem(
        await client.patch(url, json={"title": "X"}, headers=world.facilitator),
        428,
        "precondition-required",
    )
    assert_problem(
        await client.patch(
            url, json={"title": "X"}, headers={**world.facilitator, "If-Match": '"x"'}
        ),
        412,
        "precondition-failed",
    )
    etag = (await client.get(url, headers=world.facilitator)).headers["etag"]
    headers = {**world.facilitator, "If-Match": etag}
    # Laid over the stored dates, the new end comes before the start.
    body = assert_problem(
        await client.patch(url, json={"end_date": "2025-12-31"}, headers=headers),
        422,
        "validation-failed",
    )
    assert errors_of(body)[0]["loc"] == ["body", "end_date"]
    body = assert_problem(
        await client.patch(url, json={"reference": None}, headers=headers),
        422,
        "validation-failed",
    )
    assert errors_of(body)[0]["message"].startswith("ne peut pas être null")
    read = await client.get(url, headers=world.facilitator)
    assert read.headers["etag"] == etag


async def test_a_lot_offers_point_at_cannot_be_removed(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    contract = await make_contract(
        db_session, world.buyer, holders=[world.employer], lots=[(1, "Gros œuvre"), (2, "VRD")]
    )
    await make_offer(db_session, world.employer, contract=contract, lot=contract.lots[1])
    url = f"/v1/contracts/{contract.id}"
    response = await client.patch(
        url,
        json={"lots": [{"number": 1, "title": "Gros œuvre"}]},
        headers={**world.facilitator, "If-Match": "*"},
    )
    body = assert_problem(response, 409, "lot-in-use")
    assert "lot(s) 2" in str(body["detail"])
    assert await count(db_session, ContractLot) == 2


async def test_lifecycle_draft_active_closed(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    contract = await make_contract(db_session, world.buyer)
    offer = await make_offer(db_session, world.employer, contract=contract, status=OfferStatus.OPEN)
    url, offer_url = f"/v1/contracts/{contract.id}", f"/v1/offers/{offer.id}"
    assert_problem(
        await client.post(f"{url}/close", headers=world.facilitator), 409, "illegal-transition"
    )
    # No holder yet: nobody executes it.
    assert_problem(
        await client.post(f"{url}/activate", headers=world.facilitator), 409, "contract-incomplete"
    )
    await client.patch(
        url,
        json={"holder_ids": [world.employer_id]},
        headers={**world.facilitator, "If-Match": "*"},
    )
    active = await client.post(f"{url}/activate", headers=world.facilitator)
    assert active.status_code == 200, active.text
    assert active.json()["status"] == "active"
    again = await client.post(f"{url}/activate", headers=world.facilitator)
    body = assert_problem(again, 409, "illegal-transition")
    assert body["detail"] == "Un marché « En cours » ne peut pas passer à l'état « En cours »."

    assert_problem(
        await client.post(f"{url}/close", headers=world.facilitator),
        409,
        "contract-has-open-offers",
    )
    closed_offer = await client.post(f"{offer_url}/close", headers=world.facilitator)
    assert closed_offer.status_code == 200
    closed = await client.post(f"{url}/close", headers=world.facilitator)
    assert closed.json()["status"] == "closed"
    assert_problem(
        await client.patch(
            url, json={"title": "X"}, headers={**world.facilitator, "If-Match": "*"}
        ),
        409,
        "contract-closed",
    )
    assert_problem(
        await client.post(f"{url}/activate", headers=world.facilitator), 409, "illegal-transition"
    )


async def test_qpv_priority_changes_rank_the_open_offers_again(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    contract = await make_contract(
        db_session, world.buyer, holders=[world.employer], status=ContractStatus.ACTIVE
    )
    open_offer = await make_offer(
        db_session, world.employer, contract=contract, status=OfferStatus.OPEN
    )
    await make_offer(db_session, world.employer, contract=contract)  # a draft: not ranked
    url = f"/v1/contracts/{contract.id}"
    retitled = await client.patch(
        url, json={"title": "Autre intitulé"}, headers={**world.facilitator, "If-Match": "*"}
    )
    assert retitled.status_code == 200
    assert await count(db_session, OutboxEvent) == 0
    response = await client.patch(
        url,
        json={"qpv_priority": QpvPriority.REQUIRED.value},
        headers={**world.facilitator, "If-Match": "*"},
    )
    assert response.status_code == 200, response.text
    [event] = await events(db_session, "offer.updated")
    assert event.payload == {"offer_id": str(open_offer.id)}


# -- access --------------------------------------------------------------------------------


async def test_who_sees_a_contract(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    contract = await make_contract(db_session, world.buyer, holders=[world.employer])
    url = f"/v1/contracts/{contract.id}"
    for headers in (world.admin, world.facilitator, world.buyer_staff, world.employer_staff):
        assert (await client.get(url, headers=headers)).status_code == 200
    # Out of scope: it does not exist, for reads and writes alike.
    for headers in (world.other_facilitator, world.competitor_staff, world.prescriber, world.desk):
        assert_problem(await client.get(url, headers=headers), 404, "not-found")
        assert_problem(
            await client.patch(url, json={"title": "X"}, headers={**headers, "If-Match": "*"}),
            404,
            "not-found",
        )
        assert_problem(await client.post(f"{url}/activate", headers=headers), 404, "not-found")
    # Visible, but only the admin and facilitators change contracts.
    for headers in (world.buyer_staff, world.employer_staff):
        assert_problem(
            await client.patch(url, json={"title": "X"}, headers={**headers, "If-Match": "*"}),
            403,
            "forbidden",
        )
    assert_problem(await client.get(url), 401, "unauthorized")


async def test_a_holder_in_the_territory_is_enough(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    """A contract of a buyer elsewhere, executed by a company of the territory."""
    contract = await make_contract(db_session, world.competitor, holders=[world.employer])
    url = f"/v1/contracts/{contract.id}"
    assert (await client.get(url, headers=world.facilitator)).status_code == 200
    assert_problem(await client.get(url, headers=world.buyer_staff), 404, "not-found")
    # …but a facilitator cannot move it out of its territory.
    moved = await client.patch(
        url,
        json={"holder_ids": [world.competitor_id]},
        headers={**world.facilitator, "If-Match": "*"},
    )
    assert_problem(moved, 403, "forbidden")
    assert await count(db_session, ContractHolder) == 1


async def test_who_may_register_a_contract(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    for headers in (world.buyer_staff, world.employer_staff, world.prescriber, world.desk):
        assert_problem(
            await client.post("/v1/contracts", json=payload(world), headers=headers),
            403,
            "forbidden",
        )
    outside = payload(world, buyer_id=world.competitor_id, holder_ids=[world.competitor_id])
    assert_problem(
        await client.post("/v1/contracts", json=outside, headers=world.facilitator),
        403,
        "forbidden",
    )
    assert_problem(await client.post("/v1/contracts", json=payload(world)), 401, "unauthorized")
    assert await rows(db_session) == (0, 0, 0)
    response = await client.post("/v1/contracts", json=outside, headers=world.other_facilitator)
    assert_problem(response, 403, "forbidden")
    assert (
        await client.post("/v1/contracts", json=outside, headers=world.admin)
    ).status_code == 201


async def test_api_keys_are_held_to_their_scopes(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    contract = await make_contract(db_session, world.buyer, holders=[world.employer])
    reader = await api_key(db_session, world.facilitation, Role.FACILITATOR, ["contracts:read"])
    offers_only = await api_key(db_session, world.facilitation, Role.FACILITATOR, ["offers:write"])
    url = f"/v1/contracts/{contract.id}"
    assert (await client.get(url, headers=reader)).status_code == 200
    body = assert_problem(
        await client.patch(url, json={"title": "X"}, headers={**reader, "If-Match": "*"}),
        403,
        "forbidden",
    )
    assert body["detail"] == "Cette clé d'API n'a pas le droit « contracts:write »."
    assert_problem(await client.get(url, headers=offers_only), 403, "forbidden")


# -- lists ---------------------------------------------------------------------------------


async def test_the_list_is_paginated_filtered_and_scoped(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    renewal = await make_contract(db_session, world.buyer, holders=[world.employer], is_npnru=True)
    cleaning = await make_contract(
        db_session, world.buyer, holders=[world.employer], status=ContractStatus.ACTIVE
    )
    held = await make_contract(db_session, world.competitor, holders=[world.employer])
    rival = await make_contract(db_session, world.competitor, holders=[world.competitor])
    ids = [str(c.id) for c in (renewal, cleaning, held, rival)]

    async def listed(headers: dict[str, str], query: str = "") -> list[str]:
        response = await client.get(f"/v1/contracts?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await listed(world.admin) == ids[::-1]  # newest first
    assert await listed(world.facilitator) == [ids[2], ids[1], ids[0]]
    assert await listed(world.buyer_staff) == [ids[1], ids[0]]
    assert await listed(world.employer_staff) == [ids[2], ids[1], ids[0]]
    assert await listed(world.competitor_staff) == [ids[3], ids[2]]
    # Reception desks never see contracts: not even an empty list.
    assert (await client.get("/v1/contracts", headers=world.desk)).status_code == 403
    assert await listed(world.facilitator, "is_npnru=true") == [ids[0]]
    assert await listed(world.facilitator, "status=active") == [ids[1]]
    assert await listed(world.admin, f"buyer_id={world.competitor_id}") == [ids[3], ids[2]]

    page = await client.get("/v1/contracts?limit=2&page=1", headers=world.facilitator)
    body = page.json()
    assert body["pagination"] == {"page": 1, "limit": 2, "total_count": 3, "max_page": 2}
    assert [item["holder_ids"] for item in body["items"]] == [[world.employer_id]] * 2


async def test_a_discovered_contract_is_confirmed_by_a_facilitator_of_its_territory(
    client: httpx.AsyncClient, db_session: AsyncSession, world: Territory
) -> None:
    contract = await make_contract(
        db_session, world.buyer, holders=[world.employer], status=ContractStatus.DISCOVERED
    )
    url = f"/v1/contracts/{contract.id}"
    read = await client.get(url, headers=world.facilitator)
    assert read.json()["status_label"] == "Découvert dans les données ouvertes, à confirmer"
    etag = read.headers["etag"]
    # A discovered contract is not followed yet: it cannot be put under way before confirming.
    assert_problem(
        await client.post(f"{url}/activate", headers=world.facilitator), 409, "illegal-transition"
    )
    assert_problem(
        await client.post(f"{url}/confirm", headers=world.facilitator),
        428,
        "precondition-required",
    )
    for outsider in (world.other_facilitator, world.competitor_staff, world.prescriber):
        assert_problem(
            await client.post(f"{url}/confirm", headers={**outsider, "If-Match": etag}),
            404,
            "not-found",
        )
    assert_problem(
        await client.post(f"{url}/confirm", headers={**world.buyer_staff, "If-Match": etag}),
        403,
        "forbidden",
    )
    assert await events(db_session, "contract.confirmed") == []

    confirmed = await client.post(f"{url}/confirm", headers={**world.facilitator, "If-Match": etag})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "draft"
    assert confirmed.headers["etag"] == (await client.get(url, headers=world.admin)).headers["etag"]
    (event,) = await events(db_session, "contract.confirmed")
    assert event.payload == {"contract_id": str(contract.id)}

    again = await client.post(f"{url}/confirm", headers={**world.facilitator, "If-Match": "*"})
    body = assert_problem(again, 409, "illegal-transition")
    assert "Brouillon" in str(body["detail"])
    assert len(await events(db_session, "contract.confirmed")) == 1
