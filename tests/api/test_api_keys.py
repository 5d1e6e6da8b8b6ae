"""/v1/api-keys: shown once, hashed at rest, narrowed by scopes, revocable."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.core.clock import FrozenClock
from services.core.models.api_key import ApiKey
from services.core.models.idempotency import IdempotencyRecord
from services.core.models.user import Role
from services.core.security.tokens import digest
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.identity import audit_entries, count, make_api_key, make_network


async def test_a_key_is_shown_once_then_works_as_a_credential(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    n = await make_network(db_session, settings)
    created = await client.post(
        "/v1/api-keys",
        json={"name": "SIRH", "role": "facilitator", "scopes": ["organisations:read"]},
        headers=n.facilitator.headers,
    )
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    key = body["key"]
    assert key.startswith(body["prefix"] + "_")
    assert body["organisation_id"] == n.facilitation_id
    assert body["created_by_id"] == n.facilitator.id
    assert (body["role"], body["role_label"]) == ("facilitator", "Facilitateur de la clause")
    assert body["last_used_at"] is None
    stored = await db_session.get(ApiKey, uuid.UUID(body["id"]))
    assert stored is not None and stored.key_hash == digest(key)

    location = created.headers["location"]
    assert location == f"/v1/api-keys/{body['id']}"
    again = (await client.get(location, headers=n.facilitator.headers)).json()
    listed = (await client.get("/v1/api-keys", headers=n.facilitator.headers)).json()["items"]
    for shown in (again, *listed):
        assert "key" not in shown and key not in str(shown)
    assert [item["prefix"] for item in listed] == [body["prefix"]]

    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        used = await client.get("/v1/organisations", headers=headers)
        assert used.status_code == 200, used.text
    read = (await client.get(location, headers=n.facilitator.headers)).json()
    assert read["last_used_at"] == clock.now().isoformat().replace("+00:00", "Z")


async def test_scopes_narrow_what_a_key_may_do(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    organisations_only = await make_api_key(
        db_session, uuid.UUID(n.member_id), Role.PRESCRIBER, ["organisations:read"]
    )
    users_too = await make_api_key(
        db_session, uuid.UUID(n.member_id), Role.PRESCRIBER, ["users:read"]
    )
    writer = await make_api_key(
        db_session, uuid.UUID(n.facilitation_id), Role.FACILITATOR, ["organisations:write"]
    )
    refused = await client.get("/v1/users", headers={"X-API-Key": organisations_only})
    body = assert_problem(refused, 403, "forbidden")
    assert body["detail"] == "Cette clé d'API n'a pas le droit « users:read »."
    allowed = await client.get("/v1/users", headers={"X-API-Key": users_too})
    assert allowed.status_code == 200
    assert {item["id"] for item in allowed.json()["items"]} == {n.a1.id, n.a2.id, n.desk.id}
    # A key's reads of personal data are audited under the key.
    [entry] = await audit_entries(db_session, action="list")
    assert (entry.actor_type, entry.organisation_id) == ("api_key", uuid.UUID(n.member_id))
    # Read-only: no writing; write implies read.
    assert_problem(
        await client.post(
            "/v1/organisations",
            json={"name": "X", "kind": "other", "commune_insee": "93066"},
            headers={"X-API-Key": organisations_only},
        ),
        403,
        "forbidden",
    )
    assert (await client.get("/v1/organisations", headers={"X-API-Key": writer})).status_code == 200
    # Keys never manage keys.
    assert_problem(
        await client.get("/v1/api-keys", headers={"X-API-Key": writer}), 403, "forbidden"
    )


async def test_a_revoked_key_is_refused(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    created = (
        await client.post(
            "/v1/api-keys",
            json={"name": "SIRH", "role": "prescriber", "scopes": ["offers:write"]},
            headers=n.admin.headers,
        )
    ).json()
    path = f"/v1/api-keys/{created['id']}"
    revoked = await client.delete(path, headers=n.admin.headers)
    assert revoked.status_code == 204
    first = (await client.get(path, headers=n.admin.headers)).json()["revoked_at"]
    assert first is not None
    assert (await client.delete(path, headers=n.admin.headers)).status_code == 204
    assert (await client.get(path, headers=n.admin.headers)).json()["revoked_at"] == first
    refused = await client.get("/v1/organisations", headers={"X-API-Key": created["key"]})
    body = assert_problem(refused, 401, "unauthorized")
    assert body["detail"] == "Clé d'API inconnue, expirée ou révoquée."
    listed = await client.get("/v1/api-keys", params={"revoked": "true"}, headers=n.admin.headers)
    assert created["id"] in {item["id"] for item in listed.json()["items"]}
    actions = [e.action for e in await audit_entries(db_session, resource_type="api_key")]
    assert actions == ["create", "revoke"]


async def test_who_may_manage_keys(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    new = {"name": "SIRH", "role": "prescriber", "scopes": ["offers:read"]}
    for caller in (n.a1, n.desk):
        assert_problem(
            await client.post("/v1/api-keys", json=new, headers=caller.headers), 403, "forbidden"
        )
        assert_problem(await client.get("/v1/api-keys", headers=caller.headers), 403, "forbidden")
    assert_problem(await client.get("/v1/api-keys"), 401, "unauthorized")
    above = await client.post(
        "/v1/api-keys", json={**new, "role": "admin"}, headers=n.facilitator.headers
    )
    body = assert_problem(above, 403, "forbidden")
    assert body["detail"] == "Une clé d'API ne peut pas avoir un rôle supérieur au vôtre."
    elsewhere = await client.post(
        "/v1/api-keys",
        json={**new, "organisation_id": n.member_id},
        headers=n.facilitator.headers,
    )
    assert_problem(elsewhere, 403, "forbidden")
    # An admin issues a key for another organisation: the facilitator does not see it.
    for_member = await client.post(
        "/v1/api-keys",
        json={**new, "role": "employer", "organisation_id": n.member_id},
        headers=n.admin.headers,
    )
    assert for_member.status_code == 201, for_member.text
    path = f"/v1/api-keys/{for_member.json()['id']}"
    assert_problem(await client.get(path, headers=n.facilitator.headers), 404, "not-found")
    assert_problem(await client.delete(path, headers=n.facilitator.headers), 404, "not-found")
    assert (await client.get("/v1/api-keys", headers=n.facilitator.headers)).json()["items"] == []
    assert (await client.get(path, headers=n.admin.headers)).status_code == 200


async def test_invalid_keys_are_french_422s(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    before = await count(db_session, ApiKey)

    async def refused(**body: object) -> dict[str, object]:
        payload = {"name": "SIRH", "role": "prescriber", "scopes": ["offers:read"], **body}
        response = await client.post("/v1/api-keys", json=payload, headers=n.admin.headers)
        problem = assert_problem(response, 422, "validation-failed")
        errors = problem["errors"]
        assert isinstance(errors, list) and len(errors) == 1
        error: dict[str, object] = errors[0]
        return error

    error = await refused(scopes=["offers:delete"])
    assert error["loc"] == ["body", "scopes"]
    assert str(error["message"]).startswith("portée inconnue")
    assert "offers:delete" not in str(error["message"])
    assert (await refused(scopes=["api_keys:write"]))["loc"] == ["body", "scopes"]
    assert (await refused(scopes=[]))["message"] == "au moins 1 élément(s)"
    assert (await refused(secret="x"))["message"] == "champ inconnu"
    assert (await refused(expires_at="2020-01-01T00:00:00Z"))["message"] == (
        "la date doit être dans le futur"
    )
    assert (await refused(organisation_id=str(uuid.uuid4())))["message"] == "organisation inconnue"
    assert await count(db_session, ApiKey) == before


async def test_a_new_key_never_lands_in_the_idempotency_table(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, engine: AsyncEngine
) -> None:
    """The response carries the secret (no-store): replaying it would store the key in clear."""
    n = await make_network(db_session, settings)
    request = {"name": "SIRH", "role": "facilitator", "scopes": ["offers:read"]}
    headers = {**n.facilitator.headers, "Idempotency-Key": "cle-sirh-1"}
    created = await client.post("/v1/api-keys", json=request, headers=headers)
    assert created.status_code == 201, created.text
    async with AsyncSession(engine) as session:
        stored = (await session.scalars(select(IdempotencyRecord))).all()
    assert stored == []
    # The same key again is a new request (the first was released), not a replay of the secret.
    again = await client.post("/v1/api-keys", json=request, headers=headers)
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["key"] != created.json()["key"]
