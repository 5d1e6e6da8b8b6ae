"""The connection pool: idle connections are checked before use, busy ones are not."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.core import db
from services.core.settings import Settings


async def _terminate(settings: Settings, pid: int) -> None:
    admin = await asyncpg.connect(settings.async_database_url.replace("+asyncpg", "", 1))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_a_connection_lost_while_idle_is_replaced_before_use(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.create_engine(settings.model_copy(update={"database_pool_size": 1}))
    try:
        async with engine.connect() as connection:
            first = await connection.scalar(text("SELECT pg_backend_pid()"))
        await _terminate(settings, first)  # as a PostgreSQL restart would
        monkeypatch.setattr(db, "PING_IDLE_SECONDS", 0.0)  # it has now been idle long enough
        async with engine.connect() as connection:
            second = await connection.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        await engine.dispose()


async def test_a_connection_used_a_moment_ago_is_not_pinged_and_a_loss_resets_the_pool(
    settings: Settings,
) -> None:
    engine = db.create_engine(settings.model_copy(update={"database_pool_size": 1}))
    try:
        async with engine.connect() as connection:
            first = await connection.scalar(text("SELECT pg_backend_pid()"))
        await _terminate(settings, first)
        # Handed out again at once, unchecked: its statement meets the lost connection…
        with pytest.raises(DBAPIError) as raised:
            async with engine.connect() as connection:
                await connection.scalar(text("SELECT 1"))
        assert raised.value.connection_invalidated
        # …and the next checkout opens a new one.
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT pg_backend_pid()")) != first
    finally:
        await engine.dispose()


async def test_the_session_driver_is_the_connection_the_session_holds_now(
    settings: Settings,
) -> None:
    """Looked up once per transaction: after a commit the session may hold another connection
    (its first one went back to the pool and another session took it)."""
    engine = db.create_engine(settings.model_copy(update={"database_pool_size": 2}))
    sessionmaker = db.create_sessionmaker(engine)
    try:
        async with sessionmaker() as session, sessionmaker() as other:
            first = await db.session_driver(session)
            assert await db.session_driver(session) is first  # the same transaction
            assert await first.fetchval("SELECT pg_backend_pid()") == await session.scalar(
                text("SELECT pg_backend_pid()")
            )
            await session.commit()
            taken = await db.session_driver(other)  # the connection given back, reused
            assert taken is first
            now_held = await db.session_driver(session)
            assert now_held is not first
            assert await now_held.fetchval("SELECT pg_backend_pid()") == await session.scalar(
                text("SELECT pg_backend_pid()")
            )
    finally:
        await engine.dispose()
