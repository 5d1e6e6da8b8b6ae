"""ETag on reads, If-None-Match → 304, If-Match required on updates (428) and checked (412)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import assert_problem
from tests.api.routes import CREATE_NOTES, notes


@pytest.fixture
async def note_id(db_session: AsyncSession) -> uuid.UUID:
    await db_session.execute(text(CREATE_NOTES))
    identifier = uuid.uuid4()
    await db_session.execute(insert(notes).values(id=identifier, body="première version"))
    return identifier


async def _body(session: AsyncSession, note_id: uuid.UUID) -> str:
    query = select(notes.c.body).where(notes.c.id == note_id)
    body: str = (await session.execute(query)).scalar_one()
    return body


async def test_a_read_carries_a_strong_etag(client: httpx.AsyncClient, note_id: uuid.UUID) -> None:
    first = await client.get(f"/test/notes/{note_id}")
    second = await client.get(f"/test/notes/{note_id}")
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert second.headers["etag"] == etag


async def test_a_current_copy_gets_304(client: httpx.AsyncClient, note_id: uuid.UUID) -> None:
    etag = (await client.get(f"/test/notes/{note_id}")).headers["etag"]
    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        response = await client.get(f"/test/notes/{note_id}", headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.headers["etag"] == etag
        assert response.content == b""
    stale = await client.get(f"/test/notes/{note_id}", headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200


async def test_an_update_without_if_match_is_428(
    client: httpx.AsyncClient, db_session: AsyncSession, note_id: uuid.UUID
) -> None:
    response = await client.put(f"/test/notes/{note_id}", json={"body": "écrasée"})
    assert_problem(response, 428, "precondition-required")
    assert await _body(db_session, note_id) == "première version"


async def test_an_update_on_a_changed_resource_is_412(
    client: httpx.AsyncClient, db_session: AsyncSession, note_id: uuid.UUID
) -> None:
    etag = (await client.get(f"/test/notes/{note_id}")).headers["etag"]
    first = await client.put(
        f"/test/notes/{note_id}", json={"body": "deuxième"}, headers={"If-Match": etag}
    )
    assert first.status_code == 200
    assert first.headers["etag"] != etag

    late = await client.put(
        f"/test/notes/{note_id}", json={"body": "troisième"}, headers={"If-Match": etag}
    )
    assert_problem(late, 412, "precondition-failed")
    assert late.headers["etag"] == first.headers["etag"]
    assert await _body(db_session, note_id) == "deuxième"


async def test_a_weak_tag_never_satisfies_if_match(
    client: httpx.AsyncClient, note_id: uuid.UUID
) -> None:
    etag = (await client.get(f"/test/notes/{note_id}")).headers["etag"]
    response = await client.put(
        f"/test/notes/{note_id}", json={"body": "x"}, headers={"If-Match": f"W/{etag}"}
    )
    assert_problem(response, 412, "precondition-failed")


async def test_the_new_etag_is_the_one_a_read_returns(
    client: httpx.AsyncClient, note_id: uuid.UUID
) -> None:
    etag = (await client.get(f"/test/notes/{note_id}")).headers["etag"]
    updated = await client.put(
        f"/test/notes/{note_id}", json={"body": "deuxième"}, headers={"If-Match": etag}
    )
    reread = await client.get(f"/test/notes/{note_id}")
    assert reread.headers["etag"] == updated.headers["etag"]
    assert reread.json() == updated.json()
