"""One request = one transaction, committed before the response leaves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from services.core.models.outbox import OutboxEvent
from tests.api.conftest import ClientFactory, assert_problem
from tests.api.routes import Pinged, count_pings


async def test_a_successful_request_commits_its_rows_and_event(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    response = await client.post(
        "/test/pings", json={"note": "bonjour"}, headers={"X-Request-ID": "req-1"}
    )
    assert response.status_code == 201
    event = await db_session.get(OutboxEvent, response.json()["event_id"])
    assert event is not None
    assert event.request_id == "req-1"
    assert response.headers["location"] == f"/test/pings/{event.id}"


async def test_a_domain_error_rolls_back_the_event(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    response = await client.post("/test/pings/refused", json={"note": "non"})
    body = assert_problem(response, 409, "conflict")
    assert body["detail"] == "Ce signal est refusé."
    assert await count_pings(db_session) == 0


async def test_an_unhandled_error_rolls_back_the_event(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    response = await client.post("/test/pings/broken", json={"note": "non"})
    assert_problem(response, 500, "internal-error")
    assert "Jeanne" not in response.text
    assert await count_pings(db_session) == 0


async def test_a_failed_commit_is_an_error_never_a_success(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    response = await client.post("/test/pings/uncommittable")
    assert_problem(response, 500, "internal-error")
    assert await count_pings(db_session) == 0


@pytest.fixture
async def committed_pings(engine: AsyncEngine) -> AsyncIterator[None]:
    """For tests on the real session dependency, whose commits are real."""
    yield
    async with engine.begin() as connection:
        await connection.execute(delete(OutboxEvent).where(col(OutboxEvent.type) == Pinged.type))


@pytest.mark.usefixtures("committed_pings")
async def test_the_real_session_has_committed_when_the_response_arrives(
    client_for: ClientFactory, engine: AsyncEngine
) -> None:
    async with client_for() as client:
        created = await client.post("/test/pings", json={"note": "réel"})
        refused = await client.post("/test/pings/refused", json={"note": "réel"})
    assert created.status_code == 201
    assert_problem(refused, 409, "conflict")
    async with AsyncSession(engine) as elsewhere:
        assert await count_pings(elsewhere) == 1
        assert await elsewhere.get(OutboxEvent, uuid.UUID(created.json()["event_id"]))
