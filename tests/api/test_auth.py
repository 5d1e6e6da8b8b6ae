"""Signing in, tokens, refresh rotation and revocation, /v1/me."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth import throttle
from services.core.clock import FrozenClock
from services.core.models.audit import AuditEntry
from services.core.models.organisation import OrganisationKind
from services.core.models.user import Role
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.identity import make_network
from tests.factories import PASSWORD, bearer, make_organisation, make_user


async def _login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )


async def test_password_grant_then_me(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    landlord = await make_organisation(db_session, kind=OrganisationKind.SOCIAL_LANDLORD)
    user = await make_user(db_session, landlord, Role.RECEPTION, email="accueil@bailleur.fr")
    response = await _login(client, "  Accueil@Bailleur.FR ")
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert 0 < tokens["expires_in"] <= 15 * 60
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    body = me.json()
    assert body["id"] == str(user.id)
    assert body["role"] == "reception"
    assert body["role_label"] == "Accueil"
    assert body["organisation"]["kind"] == "social_landlord"
    logins = await db_session.scalar(
        select(func.count()).where(
            col(AuditEntry.action) == "login", col(AuditEntry.actor_id) == user.id
        )
    )
    assert logins == 1


async def test_an_account_signs_in_with_its_address_as_typed_accents_included(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    """Accounts and sign-in read addresses the same way (services.core.contact): a keyboard
    that types « é » as « e » plus a combining accent still finds the account."""
    n = await make_network(db_session, settings)
    typed = "  Jose\u0301.Conseiller@Mission-Locale.FR "
    created = await client.post(
        "/v1/users",
        json={
            "email": typed,
            "full_name": "José Conseiller",
            "password": "un mot de passe assez long",
            "organisation_id": n.member_id,
            "role": "prescriber",
        },
        headers=n.admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "jos\u00e9.conseiller@mission-locale.fr"
    for username in (typed, "jos\u00e9.conseiller@mission-locale.fr"):
        response = await _login(client, username, "un mot de passe assez long")
        assert response.status_code == 200, response.text
    # An address no account can have is a plain refusal, not a validation error.
    refused = await _login(client, "pas une adresse", "un mot de passe assez long")
    assert_problem(refused, 401, "invalid-credentials")


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    organisation = await make_organisation(db_session)
    email = (await make_user(db_session, organisation)).email
    wrong = await _login(client, email, "pas le bon mot de passe")
    unknown = await _login(client, "personne@exemple.fr")
    for response in (wrong, unknown):
        body = assert_problem(response, 401, "invalid-credentials")
        assert body["detail"] == "Adresse e-mail ou mot de passe incorrect."
    assert await db_session.scalar(select(func.count()).select_from(AuditEntry)) == 0


async def test_an_inactive_account_cannot_sign_in(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session, await make_organisation(db_session), is_active=False)
    assert_problem(await _login(client, user.email), 401, "invalid-credentials")


async def test_repeated_failures_slow_the_account_down_for_a_while(
    client: httpx.AsyncClient, db_session: AsyncSession, redis_client: object, clock: FrozenClock
) -> None:
    email = (await make_user(db_session, await make_organisation(db_session))).email
    for _ in range(throttle.ACCOUNT.free + 1):
        assert (await _login(client, email, "mauvais")).status_code == 401
    slowed = await _login(client, email)  # even the right password, while the delay runs
    assert_problem(slowed, 429, "too-many-attempts")
    assert slowed.headers["retry-after"] == "1"
    clock.advance(timedelta(seconds=1))
    assert (await _login(client, email)).status_code == 200


async def test_refresh_rotates_and_a_replayed_token_revokes_the_family(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session, await make_organisation(db_session))
    first = (await _login(client, user.email)).json()["refresh_token"]
    rotated = await client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": first}
    )
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    # The old token again: theft suspected, the whole family is revoked…
    assert_problem(
        await client.post(
            "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": first}
        ),
        401,
        "invalid-credentials",
    )
    # …including the newest one.
    assert_problem(
        await client.post(
            "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": second}
        ),
        401,
        "invalid-credentials",
    )


async def test_logout_revokes_the_refresh_token(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session, await make_organisation(db_session))
    refresh = (await _login(client, user.email)).json()["refresh_token"]
    assert (
        await client.post("/v1/auth/logout", json={"refresh_token": refresh})
    ).status_code == 204
    assert_problem(
        await client.post(
            "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
        ),
        401,
        "invalid-credentials",
    )


async def test_access_tokens_expire_with_the_clock(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    user = await make_user(db_session, await make_organisation(db_session))
    headers = bearer(user, settings)
    assert (await client.get("/v1/me", headers=headers)).status_code == 200
    clock.advance(timedelta(minutes=16))
    response = await client.get("/v1/me", headers=headers)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_missing_or_forged_credentials_are_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/me"), 401, "unauthorized")
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"}
    assert_problem(await client.get("/v1/me", headers=forged), 401, "unauthorized")
    assert_problem(
        await client.get("/v1/me", headers={"X-API-Key": "mk_0000_nope"}), 401, "unauthorized"
    )


async def test_grant_type_is_checked(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/token", data={"grant_type": "client_credentials"})
    assert_problem(response, 422, "validation-failed")
