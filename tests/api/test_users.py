"""/v1/users: accounts are personal data, scoped per decision 0008, every read audited."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models.user import Role, User
from services.core.security.principal import principal_for_user
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.identity import Network, audit_entries, count, make_network, user_by_email
from tests.factories import PASSWORD

NEW_PASSWORD = "un autre mot de passe long"


def _new_user(network: Network, **changes: object) -> dict[str, object]:
    return {
        "email": "  Nouvelle.Conseillere@Mission-Locale.FR ",
        "full_name": "Nadia Conseillère",
        "password": NEW_PASSWORD,
        "organisation_id": network.member_id,
        "role": "prescriber",
        **changes,
    }


async def _ids(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> set[str]:
    response = await client.get("/v1/users", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )


async def test_each_role_sees_the_accounts_of_its_scope(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    members = {n.a1.id, n.a2.id, n.desk.id}
    assert await _ids(client, n.a1.headers) == members
    assert await _ids(client, n.b1.headers) == {n.b1.id}
    # A facilitator: its own organisation and the ones below it.
    assert await _ids(client, n.facilitator.headers) == members | {n.facilitator.id}
    # Front desk: organisations, open offers and referentials only — and its own account.
    assert await _ids(client, n.desk.headers) == {n.desk.id}
    everyone = await _ids(client, n.admin.headers)
    assert members | {n.b1.id, n.facilitator.id, n.admin.id} <= everyone
    assert await _ids(client, n.admin.headers, organisation_id=n.elsewhere_id) == {n.b1.id}
    assert await _ids(client, n.facilitator.headers, role="reception") == {n.desk.id}
    assert_problem(await client.get("/v1/users"), 401, "unauthorized")


async def test_outside_ones_scope_an_account_does_not_exist(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    for caller, target in ((n.a1, n.b1), (n.b1, n.a1), (n.facilitator, n.b1), (n.desk, n.a1)):
        path = f"/v1/users/{target.id}"
        assert_problem(await client.get(path, headers=caller.headers), 404, "not-found")
        patched = await client.patch(
            path, json={"full_name": "X"}, headers={**caller.headers, "If-Match": "*"}
        )
        assert_problem(patched, 404, "not-found")
        assert_problem(
            await client.post(
                f"{path}/password",
                json={"new_password": NEW_PASSWORD},
                headers=caller.headers,
            ),
            404,
            "not-found",
        )


async def test_reading_an_account_never_shows_its_password(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    response = await client.get(f"/v1/users/{n.a2.id}", headers=n.a1.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "password_hash" not in body and "password" not in str(body)
    assert body["role_label"] == "Prescripteur"
    assert body["organisation_id"] == n.member_id
    again = await client.get(
        f"/v1/users/{n.a2.id}", headers={**n.a1.headers, "If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


async def test_every_read_and_list_is_audited_and_anonymous_failures_are_not(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    read = await client.get(f"/v1/users/{n.a2.id}", headers=n.a1.headers)
    [entry] = await audit_entries(db_session, action="read")
    assert entry.actor_type == "user"
    assert entry.actor_id == uuid.UUID(n.a1.id)
    assert entry.organisation_id == uuid.UUID(n.member_id)
    assert (entry.resource_type, entry.resource_id) == ("user", uuid.UUID(n.a2.id))
    assert entry.request_id == read.headers["x-request-id"]

    listed = await client.get("/v1/users", headers=n.facilitator.headers)
    [entry] = await audit_entries(db_session, action="list")
    assert entry.actor_id == uuid.UUID(n.facilitator.id)
    assert entry.request_id == listed.headers["x-request-id"]
    assert set(entry.details["ids"]) == {item["id"] for item in listed.json()["items"]}

    before = len(await audit_entries(db_session))
    assert_problem(await client.get(f"/v1/users/{n.a2.id}"), 401, "unauthorized")
    assert_problem(await client.get("/v1/users"), 401, "unauthorized")
    forged = {"Authorization": "Bearer forged"}
    assert_problem(await client.get("/v1/users", headers=forged), 401, "unauthorized")
    # Not found: nothing was read.
    assert_problem(await client.get(f"/v1/users/{n.b1.id}", headers=n.a1.headers), 404, "not-found")
    # An empty page reads no one.
    empty = await client.get("/v1/users", params={"role": "employer"}, headers=n.a1.headers)
    assert empty.json()["items"] == []
    assert len(await audit_entries(db_session)) == before


async def test_a_facilitator_creates_an_account_in_its_territory(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    response = await client.post(
        "/v1/users", json=_new_user(n, is_manager=True), headers=n.facilitator.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/users/{body['id']}"
    assert body["email"] == "nouvelle.conseillere@mission-locale.fr"
    assert (body["role"], body["is_manager"], body["permissions"]) == ("prescriber", True, [])
    assert "password" not in str(body)
    stored = await user_by_email(db_session, "nouvelle.conseillere@mission-locale.fr")
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    [entry] = await audit_entries(db_session, action="create")
    assert (entry.resource_type, entry.resource_id) == ("user", uuid.UUID(body["id"]))
    assert entry.details == {
        "fields": ["email", "full_name", "is_manager", "organisation_id", "password", "role"]
    }
    # The new account signs in.
    signed_in = await _login(client, "Nouvelle.Conseillere@mission-locale.fr", NEW_PASSWORD)
    assert signed_in.status_code == 200, signed_in.text


async def test_who_may_create_which_account(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    facilitator = n.facilitator.headers
    before = await count(db_session, User)
    for headers in (n.a1.headers, n.desk.headers):
        assert_problem(
            await client.post("/v1/users", json=_new_user(n), headers=headers), 403, "forbidden"
        )
    outside = _new_user(n, organisation_id=n.elsewhere_id)
    body = assert_problem(
        await client.post("/v1/users", json=outside, headers=facilitator), 403, "forbidden"
    )
    assert "territoire" in str(body["detail"])
    admin_role = _new_user(n, role="admin")
    body = assert_problem(
        await client.post("/v1/users", json=admin_role, headers=facilitator), 403, "forbidden"
    )
    assert body["detail"] == "Seul un administrateur peut donner le rôle administrateur."
    sensitive = _new_user(n, permissions=["sensitive_data"])
    body = assert_problem(
        await client.post("/v1/users", json=sensitive, headers=facilitator), 403, "forbidden"
    )
    assert body["detail"] == "Seul un administrateur peut accorder l'accès aux données sensibles."
    assert await count(db_session, User) == before
    # What a facilitator may not give, an admin may.
    granted = await client.post(
        "/v1/users",
        json=_new_user(n, role="admin", permissions=["sensitive_data", "sensitive_data"]),
        headers=n.admin.headers,
    )
    assert granted.status_code == 201, granted.text
    assert (granted.json()["role"], granted.json()["permissions"]) == ("admin", ["sensitive_data"])


async def test_invalid_accounts_are_french_422s_and_write_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    before = await count(db_session, User)

    async def refused(**changes: object) -> dict[str, object]:
        response = await client.post(
            "/v1/users", json=_new_user(n, **changes), headers=n.admin.headers
        )
        body = assert_problem(response, 422, "validation-failed")
        errors = body["errors"]
        assert isinstance(errors, list) and len(errors) == 1
        error: dict[str, object] = errors[0]
        return error

    error = await refused(email="jeanne.dupont@@exemple")
    assert error == {
        "loc": ["body", "email"],
        "message": "adresse e-mail invalide",
        "type": "value_error",
    }
    assert "jeanne" not in str(error)
    error = await refused(password="trop court")
    assert error["loc"] == ["body", "password"]
    assert error["message"] == "au moins 12 caractère(s)"
    assert "trop court" not in str(error)
    error = await refused(password_hash="x")
    assert (error["loc"], error["message"]) == (["body", "password_hash"], "champ inconnu")
    error = await refused(role="superviseur")
    assert str(error["message"]).startswith("valeur non autorisée")
    error = await refused(permissions=["everything"])
    assert error["loc"] == ["body", "permissions", 0]
    error = await refused(organisation_id=str(uuid.uuid4()))
    assert error == {
        "loc": ["body", "organisation_id"],
        "message": "organisation inconnue",
        "type": "unknown",
    }
    assert await count(db_session, User) == before


async def test_an_email_address_belongs_to_one_account(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    assert (await client.post("/v1/users", json=_new_user(n), headers=n.admin.headers)).is_success
    before = await count(db_session, User)
    again = _new_user(n, email="NOUVELLE.conseillere@mission-locale.fr")
    body = assert_problem(
        await client.post("/v1/users", json=again, headers=n.admin.headers), 409, "email-taken"
    )
    assert "nouvelle" not in str(body).lower()
    assert await count(db_session, User) == before


async def test_patch_needs_the_current_etag_and_audits_field_names(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    path = f"/v1/users/{n.a1.id}"
    headers = n.facilitator.headers
    etag = (await client.get(path, headers=headers)).headers["etag"]
    assert_problem(
        await client.patch(path, json={"is_manager": True}, headers=headers),
        428,
        "precondition-required",
    )
    changed = await client.patch(
        path,
        json={"is_manager": True, "full_name": "Agent Principal", "role": "prescriber"},
        headers={**headers, "If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["is_manager"], changed.json()["full_name"]) == (True, "Agent Principal")
    assert changed.headers["etag"] != etag
    assert_problem(
        await client.patch(path, json={"is_manager": False}, headers={**headers, "If-Match": etag}),
        412,
        "precondition-failed",
    )
    [entry] = await audit_entries(db_session, action="update")
    assert entry.details == {"fields": ["full_name", "is_manager"]}  # role did not change
    assert "Agent" not in str(entry.details)
    assert_problem(
        await client.patch(path, json={"role": None}, headers={**headers, "If-Match": "*"}),
        422,
        "validation-failed",
    )


async def test_who_may_change_which_account(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    # A colleague is visible but not changeable: 403.
    assert_problem(
        await client.patch(
            f"/v1/users/{n.a2.id}",
            json={"full_name": "X"},
            headers={**n.a1.headers, "If-Match": "*"},
        ),
        403,
        "forbidden",
    )
    facilitator = {**n.facilitator.headers, "If-Match": "*"}
    assert_problem(
        await client.patch(f"/v1/users/{n.a1.id}", json={"role": "admin"}, headers=facilitator),
        403,
        "forbidden",
    )
    assert_problem(
        await client.patch(
            f"/v1/users/{n.a1.id}", json={"permissions": ["sensitive_data"]}, headers=facilitator
        ),
        403,
        "forbidden",
    )
    admin = {**n.admin.headers, "If-Match": "*"}
    granted = await client.patch(
        f"/v1/users/{n.a1.id}", json={"permissions": ["sensitive_data"]}, headers=admin
    )
    assert granted.json()["permissions"] == ["sensitive_data"]
    # Removing what an admin granted needs no admin; changing other fields keeps it.
    kept = await client.patch(
        f"/v1/users/{n.a1.id}", json={"is_manager": True}, headers=facilitator
    )
    assert kept.json()["permissions"] == ["sensitive_data"]
    removed = await client.patch(
        f"/v1/users/{n.a1.id}", json={"permissions": []}, headers=facilitator
    )
    assert removed.json()["permissions"] == []
    # Nobody changes their own role or deactivates themselves.
    for change in ({"role": "prescriber"}, {"is_active": False}):
        assert_problem(
            await client.patch(f"/v1/users/{n.admin.id}", json=change, headers=admin),
            409,
            "own-account",
        )


async def test_a_facilitator_does_not_change_an_administrator_of_its_territory(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    created = await client.post(
        "/v1/users", json=_new_user(n, role="admin"), headers=n.admin.headers
    )
    admin_id = created.json()["id"]
    visible = await client.get(f"/v1/users/{admin_id}", headers=n.facilitator.headers)
    assert visible.status_code == 200
    assert_problem(
        await client.patch(
            f"/v1/users/{admin_id}",
            json={"is_active": False},
            headers={**n.facilitator.headers, "If-Match": "*"},
        ),
        403,
        "forbidden",
    )


async def test_deactivating_an_account_signs_it_out_everywhere(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    email = n.a1.email
    tokens = (await _login(client, email, PASSWORD)).json()
    deactivated = await client.patch(
        f"/v1/users/{n.a1.id}",
        json={"is_active": False},
        headers={**n.facilitator.headers, "If-Match": "*"},
    )
    assert deactivated.status_code == 200, deactivated.text
    assert deactivated.json()["is_active"] is False
    refreshed = await client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert_problem(refreshed, 401, "invalid-credentials")
    assert_problem(
        await client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}),
        401,
        "unauthorized",
    )
    assert await _ids(client, n.facilitator.headers, is_active="false") == {n.a1.id}


async def test_changing_a_password(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    email = n.a1.email
    own = f"/v1/users/{n.a1.id}/password"
    refresh = (await _login(client, email, PASSWORD)).json()["refresh_token"]

    missing = await client.post(own, json={"new_password": NEW_PASSWORD}, headers=n.a1.headers)
    body = assert_problem(missing, 422, "validation-failed")
    assert body["errors"] == [
        {
            "loc": ["body", "current_password"],
            "message": "champ obligatoire pour changer votre propre mot de passe",
            "type": "missing",
        }
    ]
    wrong = await client.post(
        own,
        json={"current_password": "pas le bon mot de passe", "new_password": NEW_PASSWORD},
        headers=n.a1.headers,
    )
    assert_problem(wrong, 403, "wrong-password")
    short = await client.post(
        own, json={"current_password": PASSWORD, "new_password": "court"}, headers=n.a1.headers
    )
    assert_problem(short, 422, "validation-failed")
    changed = await client.post(
        own, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=n.a1.headers
    )
    assert changed.status_code == 204, changed.text
    assert (await _login(client, email, NEW_PASSWORD)).status_code == 200
    assert_problem(
        await client.post(
            "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
        ),
        401,
        "invalid-credentials",
    )
    # A colleague may not; a facilitator neither; an admin resets without the current one.
    for caller in (n.a2, n.facilitator):
        assert_problem(
            await client.post(own, json={"new_password": PASSWORD}, headers=caller.headers),
            403,
            "forbidden",
        )
    reset = await client.post(own, json={"new_password": PASSWORD}, headers=n.admin.headers)
    assert reset.status_code == 204
    assert (await _login(client, email, PASSWORD)).status_code == 200
    entries = await audit_entries(db_session, action="password_change")
    assert [e.actor_id for e in entries] == [uuid.UUID(n.a1.id), uuid.UUID(n.admin.id)]
    assert all(e.details == {"fields": ["password"]} for e in entries)
    stored = await db_session.scalar(select(User).where(col(User.id) == uuid.UUID(n.a1.id)))
    assert stored is not None and stored.role == Role.PRESCRIBER


async def test_roles_read_back_from_the_database_keep_their_rights(
    db_session: AsyncSession, settings: Settings
) -> None:
    """The role column is VARCHAR; read back, it is the enum member again (EnumText)."""
    n = await make_network(db_session, settings)
    db_session.expunge_all()
    admin = await db_session.get(User, uuid.UUID(n.admin.id))
    facilitator = await db_session.get(User, uuid.UUID(n.facilitator.id))
    assert admin is not None and facilitator is not None
    assert admin.role is Role.ADMIN
    assert facilitator.role is Role.FACILITATOR
    assert (await principal_for_user(db_session, admin)).everywhere
    territory = (await principal_for_user(db_session, facilitator)).territory
    assert territory == {uuid.UUID(n.facilitation_id), uuid.UUID(n.member_id)}
