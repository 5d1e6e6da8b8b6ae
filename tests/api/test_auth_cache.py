"""Callers remembered a few seconds per process (decision 0029): what may change."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth import cache
from services.api.auth.cache import TtlCache
from services.core.clock import FrozenClock
from services.core.models.user import User
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.identity import make_network


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticking(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ticking]:
    clock = Ticking()
    monkeypatch.setattr(cache.principals, "_clock", clock)
    monkeypatch.setattr(cache.organisations_active, "_clock", clock)
    monkeypatch.setattr(cache.verified_tokens, "_clock", clock)
    cache.principals.clear()
    yield clock
    cache.principals.clear()
    cache.verified_tokens.clear()


def test_entries_expire_and_the_oldest_go_first() -> None:
    clock = Ticking()
    kept: TtlCache[str, int] = TtlCache(max_entries=2, clock=clock)
    kept.put("a", 1, ttl=5)
    assert kept.get("a", ttl=5) == 1
    clock.now += 4.9
    assert kept.get("a", ttl=5) == 1
    clock.now += 0.1
    assert kept.get("a", ttl=5) is None  # exactly the delay: read again
    kept.put("a", 1, ttl=5)
    kept.put("b", 2, ttl=5)
    kept.put("c", 3, ttl=5)
    assert len(kept) == 2 and kept.get("a", ttl=5) is None and kept.get("c", ttl=5) == 3
    kept.put("d", 4, ttl=0)  # 0: nothing is kept
    assert kept.get("d", ttl=0) is None and len(kept) == 2


async def test_a_change_made_elsewhere_shows_within_the_delay(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, ticking: Ticking
) -> None:
    n = await make_network(db_session, settings)
    assert (await client.get("/v1/organisations", headers=n.a1.headers)).status_code == 200
    # Another process deactivates the account: no ORM flush here, nothing empties this cache.
    await db_session.execute(
        update(User).where(col(User.id) == uuid.UUID(n.a1.id)).values(is_active=False)
    )
    ticking.now += settings.auth_cache_seconds - 0.5
    assert (await client.get("/v1/organisations", headers=n.a1.headers)).status_code == 200
    ticking.now += 0.5
    refused = await client.get("/v1/organisations", headers=n.a1.headers)
    assert assert_problem(refused, 401, "unauthorized")["detail"] == "Compte inconnu ou désactivé."


async def test_a_key_revoked_by_this_process_is_refused_at_once(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, ticking: Ticking
) -> None:
    n = await make_network(db_session, settings)
    created = (
        await client.post(
            "/v1/api-keys",
            json={"name": "SIRH", "role": "prescriber", "scopes": ["offers:read"]},
            headers=n.admin.headers,
        )
    ).json()
    key = {"X-API-Key": created["key"]}
    assert (await client.get("/v1/offers", headers=key)).status_code == 200
    assert len(cache.principals) >= 1
    revoked = await client.delete(f"/v1/api-keys/{created['id']}", headers=n.admin.headers)
    assert revoked.status_code == 204
    assert_problem(await client.get("/v1/offers", headers=key), 401, "unauthorized")


async def test_a_user_deactivated_by_this_process_is_refused_at_once(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, ticking: Ticking
) -> None:
    n = await make_network(db_session, settings)
    assert (await client.get("/v1/organisations", headers=n.a1.headers)).status_code == 200
    user = await db_session.get(User, uuid.UUID(n.a1.id))
    assert user is not None
    user.is_active = False
    await db_session.flush()  # an ORM write of this process: the cache is emptied
    refused = await client.get("/v1/organisations", headers=n.a1.headers)
    assert_problem(refused, 401, "unauthorized")


async def test_a_token_checked_once_is_still_refused_once_expired(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: Settings,
    ticking: Ticking,
    clock: FrozenClock,
) -> None:
    cache.verified_tokens.clear()
    n = await make_network(db_session, settings)
    assert (await client.get("/v1/organisations", headers=n.a1.headers)).status_code == 200
    assert len(cache.verified_tokens) >= 1  # its signature is not checked again…
    clock.advance(timedelta(minutes=settings.access_token_minutes, seconds=1))
    refused = await client.get("/v1/organisations", headers=n.a1.headers)  # …its expiry is
    assert assert_problem(refused, 401, "unauthorized")["detail"] == (
        "Jeton d'accès invalide ou expiré."
    )
    forged = {"Authorization": n.a1.headers["Authorization"][:-2] + "xx"}
    assert_problem(await client.get("/v1/organisations", headers=forged), 401, "unauthorized")
