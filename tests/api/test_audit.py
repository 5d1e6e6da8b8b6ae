"""/v1/audit: administrators only, newest first, filters; the table itself is append-only."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.core import audit
from services.core.clock import FrozenClock
from services.core.models.audit import AuditEntry
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.identity import make_network


async def test_admins_read_the_log_newest_first_with_filters(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    n = await make_network(db_session, settings)
    start = clock.now()
    await client.get(f"/v1/users/{n.a2.id}", headers=n.a1.headers)
    clock.advance(timedelta(minutes=1))
    await client.get("/v1/users", headers=n.facilitator.headers)
    clock.advance(timedelta(minutes=1))
    await client.get(f"/v1/users/{n.a1.id}", headers=n.a2.headers)

    async def entries(**params: str) -> list[dict[str, object]]:
        response = await client.get("/v1/audit", params=params, headers=n.admin.headers)
        assert response.status_code == 200, response.text
        items: list[dict[str, object]] = response.json()["items"]
        return items

    newest_first = await entries()
    assert [(e["action"], e["actor_id"]) for e in newest_first] == [
        ("read", n.a2.id),
        ("list", n.facilitator.id),
        ("read", n.a1.id),
    ]
    assert newest_first[0]["resource_type"] == "user"
    assert newest_first[0]["resource_id"] == n.a1.id
    assert [e["actor_id"] for e in await entries(action="read")] == [n.a2.id, n.a1.id]
    assert [e["actor_id"] for e in await entries(actor_id=n.a1.id)] == [n.a1.id]
    assert [e["actor_id"] for e in await entries(resource_id=n.a2.id)] == [n.a1.id]
    assert len(await entries(organisation_id=n.facilitation_id)) == 1
    assert len(await entries(resource_type="organisation")) == 0
    window = await entries(
        **{
            "from": (start + timedelta(seconds=30)).isoformat(),
            "to": (start + timedelta(seconds=90)).isoformat(),
        }
    )
    assert [e["action"] for e in window] == ["list"]
    page = await client.get("/v1/audit", params={"limit": 2, "page": 2}, headers=n.admin.headers)
    assert page.json()["pagination"] == {"page": 2, "limit": 2, "total_count": 3, "max_page": 2}
    assert [e["actor_id"] for e in page.json()["items"]] == [n.a1.id]


async def test_only_administrators_read_the_log(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    for caller in (n.facilitator, n.a1, n.desk):
        assert_problem(await client.get("/v1/audit", headers=caller.headers), 403, "forbidden")
    assert_problem(await client.get("/v1/audit"), 401, "unauthorized")
    naive = await client.get(
        "/v1/audit", params={"from": "2026-03-02T09:00:00"}, headers=n.admin.headers
    )
    body = assert_problem(naive, 422, "validation-failed")
    assert body["errors"] == [
        {
            "loc": ["query", "from"],
            "message": "fuseau horaire obligatoire (par exemple 2026-03-02T09:00:00+01:00)",
            "type": "timezone_aware",
        }
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET action = 'effacé' WHERE id = :id",
        "DELETE FROM audit_entry WHERE id = :id",
    ],
)
async def test_the_table_refuses_updates_and_deletes(
    db_session: AsyncSession, statement: str
) -> None:
    entry = audit.record(db_session, None, "create", "user", uuid.uuid4())
    await db_session.flush()
    with pytest.raises(DBAPIError, match="append-only"):
        async with db_session.begin_nested():
            await db_session.execute(text(statement), {"id": entry.id})
    kept = await db_session.get(AuditEntry, entry.id)
    assert kept is not None and kept.action == "create"
