"""/v1/organisations: public to every caller, changed by admins and by facilitators within their
territory; SIRET and commune checked."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.organisation import Organisation, OrganisationKind
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.identity import audit_entries, count, make_network, valid_siret
from tests.factories import make_organisation

# Organisations are checked against the commune referential.
pytestmark = pytest.mark.usefixtures("reference_data")


async def test_every_caller_lists_and_searches_organisations(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    network = await make_network(db_session, settings)
    plaine = await make_organisation(
        db_session, kind=OrganisationKind.FACILITATION, name="Maison de l'Emploi Plaine Commune"
    )
    regie = await make_organisation(
        db_session, kind=OrganisationKind.SIAE_ACI, name="Régie de quartier d'Épinay", parent=plaine
    )
    oeuvre = await make_organisation(db_session, kind=OrganisationKind.OTHER, name="Œuvre Sociale")
    plaine_id, regie_id, oeuvre_id = str(plaine.id), str(regie.id), str(oeuvre.id)

    everyone = await client.get("/v1/organisations", headers=network.b1.headers)
    assert everyone.status_code == 200, everyone.text
    assert everyone.json()["pagination"]["total_count"] == 7

    async def names(**params: str) -> list[str]:
        response = await client.get(
            "/v1/organisations", params=params, headers=network.desk.headers
        )
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await names(q="EPINAY") == [regie_id]
    assert await names(q="régie  de") == [regie_id]
    assert await names(q="oeuvre") == [oeuvre_id]
    assert await names(q="plaine-commune") == [plaine_id]
    assert await names(kind="siae_aci") == [regie_id]
    assert await names(parent_id=plaine_id) == [regie_id]
    assert await names(q="introuvable") == []
    item = (await client.get(f"/v1/organisations/{regie_id}", headers=network.a1.headers)).json()
    assert item["kind_label"] == "SIAE — atelier et chantier d'insertion (ACI)"
    assert item["parent_id"] == plaine_id


async def test_reading_one_sends_an_etag_and_honours_if_none_match(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    network = await make_network(db_session, settings)
    path = f"/v1/organisations/{network.elsewhere_id}"
    first = await client.get(path, headers=network.a1.headers)
    assert first.status_code == 200
    etag = first.headers["etag"]
    again = await client.get(path, headers={**network.a1.headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert_problem(
        await client.get(f"/v1/organisations/{uuid.uuid4()}", headers=network.a1.headers),
        404,
        "not-found",
    )
    assert_problem(await client.get(path), 401, "unauthorized")


async def test_an_admin_creates_an_organisation(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    network = await make_network(db_session, settings)
    siret = valid_siret()
    spaced = f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    response = await client.post(
        "/v1/organisations",
        json={
            "name": "  Entreprise Bâtiment Nord ",
            "kind": "employer",
            "siret": spaced,
            "commune_insee": "93066",
            "address": "1 rue de la Paix",
        },
        headers=network.admin.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/organisations/{body['id']}"
    assert response.headers["etag"]
    assert body["name"] == "Entreprise Bâtiment Nord"
    assert body["siret"] == siret
    assert body["parent_id"] is None
    assert body["kind_label"] == "Employeur"
    [entry] = await audit_entries(db_session, resource_id=uuid.UUID(body["id"]))
    assert (entry.action, entry.resource_type, entry.actor_id) == (
        "create",
        "organisation",
        uuid.UUID(network.admin.id),
    )
    assert entry.details == {"fields": ["address", "commune_insee", "kind", "name", "siret"]}


async def test_a_facilitator_creates_within_its_territory_only(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    network = await make_network(db_session, settings)
    headers = network.facilitator.headers
    new = {"name": "Chantier école", "kind": "siae_aci", "commune_insee": "93066"}

    below_own = await client.post("/v1/organisations", json=new, headers=headers)
    assert below_own.status_code == 201, below_own.text
    assert below_own.json()["parent_id"] == network.facilitation_id

    below_member = await client.post(
        "/v1/organisations", json={**new, "parent_id": network.member_id}, headers=headers
    )
    assert below_member.status_code == 201
    assert below_member.json()["parent_id"] == network.member_id

    before = await count(db_session, Organisation)
    outside = await client.post(
        "/v1/organisations", json={**new, "parent_id": network.elsewhere_id}, headers=headers
    )
    assert_problem(outside, 403, "forbidden")
    assert await count(db_session, Organisation) == before


async def test_other_roles_may_not_create_and_anonymous_callers_are_refused(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    network = await make_network(db_session, settings)
    new = {"name": "Structure", "kind": "other", "commune_insee": "93066"}
    for caller in (network.a1, network.desk):
        assert_problem(
            await client.post("/v1/organisations", json=new, headers=caller.headers),
            403,
            "forbidden",
        )
    assert_problem(await client.post("/v1/organisations", json=new), 401, "unauthorized")
    assert await audit_entries(db_session, action="create") == []


async def test_invalid_payloads_are_french_422s_and_write_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    network = await make_network(db_session, settings)
    before = await count(db_session, Organisation)
    valid = {"name": "Structure", "kind": "employer", "commune_insee": "93066"}

    async def refused(payload: dict[str, object]) -> list[dict[str, object]]:
        response = await client.post(
            "/v1/organisations", json=payload, headers=network.admin.headers
        )
        body = assert_problem(response, 422, "validation-failed")
        errors = body["errors"]
        assert isinstance(errors, list)
        return errors

    bad_key = "73282932000075"  # last digit off: the Luhn key fails
    [error] = await refused({**valid, "siret": bad_key})
    assert error == {
        "loc": ["body", "siret"],
        "message": "SIRET invalide (14 chiffres, clé de contrôle)",
        "type": "value_error",
    }
    assert bad_key not in str(error)
    [error] = await refused({**valid, "siret": "1234"})
    assert error["message"] == "SIRET invalide (14 chiffres, clé de contrôle)"
    [error] = await refused({**valid, "commune_insee": "99999"})
    assert error == {
        "loc": ["body", "commune_insee"],
        "message": "commune inconnue",
        "type": "unknown",
    }
    [error] = await refused({**valid, "parent_id": str(uuid.uuid4())})
    assert error["loc"] == ["body", "parent_id"]
    assert error["message"] == "organisation parente inconnue"
    [error] = await refused({**valid, "color": "bleu"})
    assert error == {
        "loc": ["body", "color"],
        "message": "champ inconnu",
        "type": "extra_forbidden",
    }
    [error] = await refused({**valid, "kind": "banque"})
    assert str(error["message"]).startswith("valeur non autorisée")
    assert await count(db_session, Organisation) == before


async def test_a_siret_is_unique(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    network = await make_network(db_session, settings)
    siret = valid_siret()
    await make_organisation(db_session, siret=siret)
    other = await make_organisation(db_session)
    other_id = str(other.id)
    before = await count(db_session, Organisation)
    duplicate = await client.post(
        "/v1/organisations",
        json={"name": "Doublon", "kind": "employer", "commune_insee": "93066", "siret": siret},
        headers=network.admin.headers,
    )
    body = assert_problem(duplicate, 409, "siret-taken")
    assert siret not in str(body)
    assert await count(db_session, Organisation) == before
    patched = await client.patch(
        f"/v1/organisations/{other_id}",
        json={"siret": siret},
        headers={**network.admin.headers, "If-Match": "*"},
    )
    assert_problem(patched, 409, "siret-taken")


async def test_patch_needs_the_current_etag(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    network = await make_network(db_session, settings)
    path = f"/v1/organisations/{network.member_id}"
    headers = network.facilitator.headers
    etag = (await client.get(path, headers=headers)).headers["etag"]

    assert_problem(
        await client.patch(path, json={"name": "Mission locale"}, headers=headers),
        428,
        "precondition-required",
    )
    changed = await client.patch(
        path,
        json={"name": "Mission locale Plaine", "address": "2 place du Marché"},
        headers={**headers, "If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Mission locale Plaine"
    assert changed.headers["etag"] != etag
    stale = await client.patch(path, json={"name": "Encore"}, headers={**headers, "If-Match": etag})
    assert_problem(stale, 412, "precondition-failed")
    cleared = await client.patch(
        path, json={"address": None}, headers={**headers, "If-Match": changed.headers["etag"]}
    )
    assert cleared.status_code == 200
    assert cleared.json()["address"] is None
    [update, _] = await audit_entries(db_session, action="update")
    assert update.details == {"fields": ["address", "name"]}


async def test_patch_refuses_null_names_unknown_communes_and_cycles(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    network = await make_network(db_session, settings)
    headers = {**network.admin.headers, "If-Match": "*"}
    facilitation = f"/v1/organisations/{network.facilitation_id}"
    body = assert_problem(
        await client.patch(facilitation, json={"name": None}, headers=headers),
        422,
        "validation-failed",
    )
    assert body["errors"] == [
        {
            "loc": ["body", "name"],
            "message": "ne peut pas être null (omettez le champ pour le laisser inchangé)",
            "type": "value_error",
        }
    ]
    assert_problem(
        await client.patch(facilitation, json={"commune_insee": "00000"}, headers=headers),
        422,
        "validation-failed",
    )
    cycle = await client.patch(facilitation, json={"parent_id": network.member_id}, headers=headers)
    assert_problem(cycle, 409, "organisation-cycle")
    itself = await client.patch(
        facilitation, json={"parent_id": network.facilitation_id}, headers=headers
    )
    assert_problem(itself, 409, "organisation-cycle")


async def test_who_may_change_an_organisation(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    network = await make_network(db_session, settings)
    facilitator = {**network.facilitator.headers, "If-Match": "*"}
    # Visible to all, so outside one's territory a change is forbidden, not "not found".
    assert_problem(
        await client.patch(
            f"/v1/organisations/{network.elsewhere_id}", json={"name": "X"}, headers=facilitator
        ),
        403,
        "forbidden",
    )
    assert_problem(
        await client.patch(
            f"/v1/organisations/{network.member_id}",
            json={"name": "X"},
            headers={**network.a1.headers, "If-Match": "*"},
        ),
        403,
        "forbidden",
    )
    # A facilitator cannot move a member out of its territory, nor detach it.
    for parent in (network.elsewhere_id, None):
        assert_problem(
            await client.patch(
                f"/v1/organisations/{network.member_id}",
                json={"parent_id": parent},
                headers=facilitator,
            ),
            403,
            "forbidden",
        )
    moved = await client.patch(
        f"/v1/organisations/{network.elsewhere_id}",
        json={"parent_id": network.facilitation_id},
        headers={**network.admin.headers, "If-Match": "*"},
    )
    assert moved.status_code == 200
    # Now in the facilitator's territory.
    renamed = await client.patch(
        f"/v1/organisations/{network.elsewhere_id}", json={"name": "Agence"}, headers=facilitator
    )
    assert renamed.status_code == 200, renamed.text


async def test_an_organisation_chooses_its_retention_between_1_and_36_months(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    network = await make_network(db_session, settings)
    path = f"/v1/organisations/{network.member_id}"
    headers = {**network.facilitator.headers, "If-Match": "*"}
    assert (await client.get(path, headers=headers)).json()["retention_months"] is None
    chosen = await client.patch(path, json={"retention_months": 12}, headers=headers)
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["retention_months"] == 12
    for wrong in (0, 37, "douze"):
        refused = await client.patch(path, json={"retention_months": wrong}, headers=headers)
        assert_problem(refused, 422, "validation-failed")
        assert refused.json()["errors"][0]["loc"] == ["body", "retention_months"]
    back = await client.patch(path, json={"retention_months": None}, headers=headers)
    assert back.json()["retention_months"] is None  # the instance's default again
