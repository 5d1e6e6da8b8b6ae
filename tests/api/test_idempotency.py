"""Idempotency-Key on POST: replay, conflicts, release on failure, expiry.

Idempotency records are committed for real (their own short transactions, as in production), so
this module empties ``idempotency_record`` after each test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.requests import HTTPConnection

from services.api.idempotency import principal_of, should_store
from services.core.clock import FrozenClock
from services.core.models.idempotency import IdempotencyRecord
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.routes import arm_slow_route, count_pings


@pytest.fixture(autouse=True)
async def _empty_records(engine: AsyncEngine) -> AsyncIterator[None]:
    yield
    async with engine.begin() as connection:
        await connection.execute(delete(IdempotencyRecord))


async def _records(engine: AsyncEngine) -> list[IdempotencyRecord]:
    async with AsyncSession(engine) as session:
        return list(await session.scalars(select(IdempotencyRecord)))


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def test_a_retry_replays_the_first_response_and_runs_once(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    first = await client.post("/test/pings", json={"note": "un"}, headers=_key("k-1"))
    again = await client.post("/test/pings", json={"note": "un"}, headers=_key("k-1"))

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == "application/json"
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert await count_pings(db_session) == 1


async def test_the_same_key_with_another_body_is_409(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await client.post("/test/pings", json={"note": "un"}, headers=_key("k-2"))
    reused = await client.post("/test/pings", json={"note": "deux"}, headers=_key("k-2"))
    assert_problem(reused, 409, "idempotency-key-reused")
    assert await count_pings(db_session) == 1


async def test_the_same_key_on_another_route_is_409(client: httpx.AsyncClient) -> None:
    await client.post("/test/pings", json={"note": "un"}, headers=_key("k-3"))
    reused = await client.post("/test/forms", json={"note": "un"}, headers=_key("k-3"))
    assert_problem(reused, 409, "idempotency-key-reused")


async def test_without_a_key_every_request_runs(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    for _ in range(2):
        assert (await client.post("/test/pings", json={"note": "un"})).status_code == 201
    assert await count_pings(db_session) == 2


async def test_a_request_still_in_flight_is_409(app: FastAPI, client: httpx.AsyncClient) -> None:
    entered, gate = arm_slow_route(app)
    first = asyncio.create_task(client.post("/test/slow", json={}, headers=_key("k-4")))
    await asyncio.wait_for(entered.wait(), timeout=5)

    concurrent = await client.post("/test/slow", json={}, headers=_key("k-4"))
    body = assert_problem(concurrent, 409, "idempotency-key-in-progress")
    assert concurrent.headers["retry-after"] == "1"
    assert "clé" in str(body["detail"])

    gate.set()
    done = await asyncio.wait_for(first, timeout=5)
    assert done.status_code == 200
    replay = await client.post("/test/slow", json={}, headers=_key("k-4"))
    assert replay.headers["idempotent-replayed"] == "true"


async def test_a_server_error_releases_the_key(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    broken = await client.post("/test/pings/broken", json={"note": "un"}, headers=_key("k-5"))
    assert_problem(broken, 500, "internal-error")
    assert await _records(engine) == []
    again = await client.post("/test/pings/broken", json={"note": "un"}, headers=_key("k-5"))
    assert again.status_code == 500
    assert "idempotent-replayed" not in again.headers


async def test_a_rolled_back_request_releases_the_key(
    client: httpx.AsyncClient, db_session: AsyncSession, engine: AsyncEngine
) -> None:
    refused = await client.post("/test/pings/refused", json={"note": "un"}, headers=_key("k-6"))
    assert_problem(refused, 409, "conflict")
    assert await _records(engine) == []
    # Nothing was stored for the key: the client may correct its request and send it again.
    fixed = await client.post("/test/pings", json={"note": "deux"}, headers=_key("k-6"))
    assert fixed.status_code == 201
    assert await count_pings(db_session) == 1


async def test_a_validation_error_is_not_stored(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    invalid = await client.post("/test/pings", json={"note": "x" * 30}, headers=_key("k-7"))
    assert_problem(invalid, 422, "validation-failed")
    assert await _records(engine) == []


async def test_a_stored_record_keeps_the_response_until_it_expires(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    first = await client.post("/test/pings", json={"note": "un"}, headers=_key("k-8"))
    [record] = await _records(engine)
    assert record.principal == "anonymous"
    assert record.status_code == 201
    assert record.path == "/test/pings"
    assert record.expires_at == clock.now() + timedelta(hours=settings.idempotency_ttl_hours)
    assert record.response_body == first.content

    clock.advance(timedelta(hours=settings.idempotency_ttl_hours, seconds=1))
    renewed = await client.post("/test/pings", json={"note": "deux"}, headers=_key("k-8"))
    assert renewed.status_code == 201
    assert "idempotent-replayed" not in renewed.headers
    assert await count_pings(db_session) == 2


@pytest.mark.parametrize("key", ["", "a b", "é", "x" * 256])
async def test_a_malformed_key_is_422(client: httpx.AsyncClient, key: str) -> None:
    response = await client.post(
        "/test/pings", json={"note": "un"}, headers=[(b"Idempotency-Key", key.encode())]
    )
    body = assert_problem(response, 422, "validation-failed")
    assert body["errors"] == [
        {
            "loc": ["header", "Idempotency-Key"],
            "message": "de 1 à 255 caractères ASCII visibles (sans espace)",
            "type": "idempotency_key",
        }
    ]


async def test_the_longest_key_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/test/pings", json={"note": "un"}, headers=_key("x" * 255))
    assert response.status_code == 201


async def test_other_methods_ignore_the_key(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        response = await client.get("/v1", headers=_key("k-9"))
        assert "idempotent-replayed" not in response.headers


def _connection(state: dict[str, object]) -> HTTPConnection:
    return HTTPConnection({"type": "http", "headers": [], "state": state})


def test_the_principal_is_anonymous_until_authentication_sets_one() -> None:
    assert principal_of(_connection({})) == "anonymous"
    assert principal_of(_connection({"principal": "user:42"})) == "user:42"


@pytest.mark.parametrize(
    ("status", "transaction", "stored"),
    [
        (201, "committed", True),
        (200, None, True),
        (409, "committed", True),
        (404, None, False),
        (409, "rolled_back", False),
        (201, "rolled_back", False),
        (500, "committed", False),
        (503, None, False),
    ],
)
def test_what_is_stored(status: int, transaction: str | None, stored: bool) -> None:
    assert should_store(status, transaction) is stored  # type: ignore[arg-type]


async def test_keys_belong_to_their_caller(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, engine: AsyncEngine
) -> None:
    """Two callers choosing the same key never see each other's response."""
    from tests.factories import bearer, make_organisation, make_user

    organisation = await make_organisation(db_session)
    alice = bearer(await make_user(db_session, organisation), settings)
    bob = bearer(await make_user(db_session, organisation), settings)
    first = await client.post("/test/pings", json={"note": "a"}, headers={**_key("k"), **alice})
    other = await client.post("/test/pings", json={"note": "a"}, headers={**_key("k"), **bob})
    replay = await client.post("/test/pings", json={"note": "a"}, headers={**_key("k"), **alice})
    assert first.status_code == other.status_code == 201
    assert "idempotent-replayed" not in other.headers
    assert other.json()["event_id"] != first.json()["event_id"]
    assert replay.json() == first.json()
    principals = sorted(r.principal for r in await _records(engine))
    assert len(principals) == 2
    assert all(p.startswith("user:") for p in principals)
    assert await count_pings(db_session) == 2
