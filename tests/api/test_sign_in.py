"""Sign-in under attack (decision 0055): attempts counted atomically before the password is
checked, a delay that grows instead of a lock, a limit per client address, hashing off the event
loop, a password policy, and access tokens that stop at sign-out."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.app import create_app
from services.api.auth import throttle
from services.core.clock import FrozenClock
from services.core.db import SessionMaker, unit_of_work
from services.core.models.organisation import OrganisationKind
from services.core.models.user import Role
from services.core.security import passwords
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.factories import PASSWORD, make_organisation, make_user

pytestmark = pytest.mark.usefixtures("redis_client", "clock")


def _form(email: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": email, "password": password}


class CountingHasher:
    """argon2 as in production, counting the checks and where and how many at once they run."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.checks = 0
        self.running = 0
        self.most_at_once = 0
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.checks += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.threads.add(threading.current_thread().name)
        try:
            return bool(self.real.verify(password_hash, password))
        finally:
            with self._lock:
                self.running -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    return counting


@pytest.fixture
async def account(committing_sessionmaker: SessionMaker) -> str:
    """An account committed for real: concurrent requests each take their own connection."""
    async with unit_of_work(committing_sessionmaker) as session:
        organisation = await make_organisation(session, kind=OrganisationKind.MISSION_LOCALE)
        user = await make_user(session, organisation, email=f"cible.{uuid.uuid4().hex[:8]}@ml.fr")
    return user.email


@pytest.fixture
async def real_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


def client_from(application: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_concurrent_wrong_guesses_are_checked_a_few_times_only(
    real_app: FastAPI, account: str, hasher: CountingHasher
) -> None:
    async with client_from(real_app, "127.0.0.2") as client:
        answers = await asyncio.gather(
            *(
                client.post("/v1/auth/token", data=_form(account, f"essai-{n:04}-faux"))
                for n in range(100)
            )
        )
    statuses = [a.status_code for a in answers]
    assert set(statuses) == {401, 429}
    # The free attempts and the first delayed one: the 94 others waited for nothing.
    assert statuses.count(401) == throttle.ACCOUNT.free + 1
    assert hasher.checks == throttle.ACCOUNT.free + 1
    refused = next(a for a in answers if a.status_code == 429)
    body = assert_problem(refused, 429, "too-many-attempts")
    assert int(refused.headers["retry-after"]) >= 1
    assert body["detail"] == (
        f"Trop de tentatives de connexion : réessayez dans {refused.headers['retry-after']} s."
    )
    # Off the event loop, in the hashing threads, never more at once than there are threads.
    assert hasher.threads and all(t.startswith("maillon-argon2") for t in hasher.threads)
    assert hasher.most_at_once <= passwords.HASHING_THREADS


async def test_the_owner_waits_the_delay_and_is_never_locked_out(
    real_app: FastAPI, account: str, clock: FrozenClock
) -> None:
    async with client_from(real_app, "127.0.0.2") as attacker:
        for n in range(throttle.ACCOUNT.free + 3):
            guess = await attacker.post("/v1/auth/token", data=_form(account, f"faux-{n:04}-x"))
            if guess.status_code == 429:
                clock.advance(timedelta(seconds=int(guess.headers["retry-after"])))
    async with client_from(real_app, "127.0.0.3") as owner:
        first = await owner.post("/v1/auth/token", data=_form(account, PASSWORD))
        assert_problem(first, 429, "too-many-attempts")
        wait = int(first.headers["retry-after"])
        # The delay grows with failures but stays bounded: no 15-minute lock.
        assert 1 <= wait <= throttle.ACCOUNT.ceiling
        clock.advance(timedelta(seconds=wait))
        signed_in = await owner.post("/v1/auth/token", data=_form(account, PASSWORD))
        assert signed_in.status_code == 200, signed_in.text
        # A success forgets the failures: the next wrong password is an ordinary 401.
        again = await owner.post("/v1/auth/token", data=_form(account, "pas le bon mot de passe"))
        assert_problem(again, 401, "invalid-credentials")


@pytest.fixture
def few_free_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer free attempts per address than in production: each check costs a real hash."""
    monkeypatch.setattr(throttle, "ADDRESS", throttle.Pace(free=5, base=1, ceiling=300, memory=60))


@pytest.mark.usefixtures("few_free_attempts")
async def test_spraying_many_accounts_from_one_address_is_slowed(
    real_app: FastAPI, account: str
) -> None:
    async with client_from(real_app, "127.0.0.4") as sprayer:
        statuses = [
            (
                await sprayer.post(
                    "/v1/auth/token", data=_form(f"compte{n}@exemple.fr", "motdepasse-essai-1")
                )
            ).status_code
            for n in range(100)
        ]
    assert statuses[: throttle.ADDRESS.free + 1] == [401] * (throttle.ADDRESS.free + 1)
    assert statuses.count(429) == 100 - throttle.ADDRESS.free - 1
    # Another address is not slowed down by that one's failures.
    async with client_from(real_app, "127.0.0.5") as other:
        assert (
            await other.post("/v1/auth/token", data=_form(account, PASSWORD))
        ).status_code == 200


@pytest.mark.usefixtures("few_free_attempts")
async def test_successful_sign_ins_do_not_use_up_an_address(
    real_app: FastAPI, account: str
) -> None:
    async with client_from(real_app, "127.0.0.6") as office:
        for _ in range(throttle.ADDRESS.free + 2):
            answer = await office.post("/v1/auth/token", data=_form(account, PASSWORD))
            assert answer.status_code == 200, answer.text


async def test_an_access_token_stops_working_at_sign_out(
    real_app: FastAPI, account: str, settings: Settings
) -> None:
    async with client_from(real_app, "127.0.0.7") as client:
        tokens = (await client.post("/v1/auth/token", data=_form(account, PASSWORD))).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await client.get("/v1/me", headers=auth)).status_code == 200  # now cached
        out = await client.post(
            "/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=auth
        )
        assert out.status_code == 204
        after = await client.get("/v1/me", headers=auth)
        body = assert_problem(after, 401, "unauthorized")
        assert body["detail"] == "Jeton d'accès révoqué à la déconnexion : reconnectez-vous."
        # Nor may it carry a body past the gate.
        assert_problem(
            await client.post("/v1/contracts", json={}, headers=auth), 401, "unauthorized"
        )
    # Another API process, which had never seen the token: refused too.
    other = create_app(settings)
    async with LifespanManager(other), client_from(other, "127.0.0.7") as elsewhere:
        assert_problem(await elsewhere.get("/v1/me", headers=auth), 401, "unauthorized")


async def test_the_revocation_lasts_as_long_as_the_token(
    real_app: FastAPI, account: str, redis_client: aioredis.Redis, settings: Settings
) -> None:
    async with client_from(real_app, "127.0.0.8") as client:
        tokens = (await client.post("/v1/auth/token", data=_form(account, PASSWORD))).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        await client.post(
            "/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=auth
        )
    keys = [key async for key in redis_client.scan_iter("maillon:revoked-access:*")]
    assert len(keys) == 1
    assert 0 < await redis_client.ttl(keys[0]) <= settings.access_token_minutes * 60


WEAK = [
    ("            ", "le mot de passe ne peut pas être fait que d'espaces"),
    ("20262026202620", "le mot de passe ne peut pas être fait que de chiffres"),
    ("nadia.conseillere", "le mot de passe ne peut pas reprendre l'adresse e-mail du compte"),
    (
        "nadia.conseillere@mission-locale.fr",
        "le mot de passe ne peut pas reprendre l'adresse e-mail du compte",
    ),
    ("Motdepasse2026!", "ce mot de passe est trop courant : choisissez-en un autre"),
    ("azerty azerty azerty", "ce mot de passe est trop courant : choisissez-en un autre"),
    ("aaaaaaaaaaaaaaaa", "le mot de passe ne peut pas répéter un ou deux caractères"),
]


@pytest.mark.parametrize(("password", "reason"), WEAK)
async def test_obvious_passwords_are_refused_wherever_they_are_set(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: Settings,
    password: str,
    reason: str,
) -> None:
    from tests.api.identity import make_network

    n = await make_network(db_session, settings)
    created = await client.post(
        "/v1/users",
        json={
            "email": "Nadia.Conseillere@Mission-Locale.fr",
            "full_name": "Nadia Conseillère",
            "password": password,
            "organisation_id": str(n.member_id),
            "role": "prescriber",
        },
        headers=n.admin.headers,
    )
    body = assert_problem(created, 422, "validation-failed")
    assert body["errors"] == [
        {"loc": ["body", "password"], "message": reason, "type": "weak_password"}
    ]
    assert password.strip() == "" or password not in created.text
    desk = await make_user(
        db_session,
        await make_organisation(db_session),
        Role.RECEPTION,
        email="nadia.conseillere@mission-locale.fr",
    )
    changed = await client.post(
        f"/v1/users/{desk.id}/password", json={"new_password": password}, headers=n.admin.headers
    )
    body = assert_problem(changed, 422, "validation-failed")
    assert body["errors"] == [
        {"loc": ["body", "new_password"], "message": reason, "type": "weak_password"}
    ]
