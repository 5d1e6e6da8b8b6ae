"""One pagination shape for every list."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.events import emit
from services.core.ids import uuid7
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.routes import Pinged


@pytest.fixture
async def five_events(db_session: AsyncSession) -> list[str]:
    rows = [emit(db_session, Pinged(ping_id=uuid7())) for _ in range(5)]
    await db_session.flush()
    return [str(row.id) for row in rows]


async def test_a_page_has_items_and_pagination(
    client: httpx.AsyncClient, five_events: list[str]
) -> None:
    response = await client.get("/test/events", params={"type": Pinged.type, "page": 2, "limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == five_events[2:4]
    assert body["pagination"] == {"page": 2, "limit": 2, "total_count": 5, "max_page": 3}


async def test_the_last_page_may_be_short_and_past_it_is_empty(
    client: httpx.AsyncClient, five_events: list[str]
) -> None:
    last = (await client.get("/test/events?type=test.pinged&page=3&limit=2")).json()
    assert [item["id"] for item in last["items"]] == five_events[4:]
    beyond = (await client.get("/test/events?type=test.pinged&page=9&limit=2")).json()
    assert beyond == {
        "items": [],
        "pagination": {"page": 9, "limit": 2, "total_count": 5, "max_page": 3},
    }


async def test_an_empty_list(client: httpx.AsyncClient) -> None:
    body = (await client.get("/test/events?type=nothing")).json()
    assert body["items"] == []
    assert body["pagination"]["total_count"] == 0
    assert body["pagination"]["max_page"] == 0


async def test_defaults_come_from_the_settings(
    client: httpx.AsyncClient, settings: Settings, five_events: list[str]
) -> None:
    body = (await client.get("/test/events?type=test.pinged")).json()
    assert body["pagination"]["page"] == 1
    assert body["pagination"]["limit"] == settings.page_size_default
    assert len(body["items"]) == 5


async def test_the_maximum_limit_is_accepted(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.get(f"/test/events?limit={settings.page_size_max}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("query", "loc", "message"),
    [
        ("limit=201", "limit", "doit être inférieur ou égal à 200"),
        ("limit=0", "limit", "doit être supérieur ou égal à 1"),
        ("page=0", "page", "doit être supérieur ou égal à 1"),
        ("page=deux", "page", "nombre entier attendu"),
    ],
)
async def test_out_of_bounds_parameters_are_refused(
    client: httpx.AsyncClient, query: str, loc: str, message: str
) -> None:
    response = await client.get(f"/test/events?{query}")
    body = assert_problem(response, 422, "validation-failed")
    assert body["errors"] == [
        {"loc": ["query", loc], "message": message, "type": body["errors"][0]["type"]}  # type: ignore[index]
    ]
