"""Async engine and sessions. Engines are made by lifespans / worker start-up, never at import."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction

from services.core.settings import Settings

SessionMaker = async_sessionmaker[AsyncSession]


# A pooled connection unused for longer than this is checked with a ping before it is handed out;
# one used a moment ago is not (a ping is three round trips: BEGIN, ";", ROLLBACK).
PING_IDLE_SECONDS = 1.0


def create_engine(settings: Settings, *, application_name: str = "maillon") -> AsyncEngine:
    engine = create_async_engine(
        settings.async_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_connect_timeout,
        connect_args={
            "timeout": settings.database_connect_timeout,
            "command_timeout": 60,
            "server_settings": {"application_name": application_name, "timezone": "UTC"},
        },
    )
    event.listen(engine.sync_engine.pool, "checkin", _remember_checkin)
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


def _remember_checkin(_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(connection: Any, record: Any, _proxy: Any) -> None:
    """SQLAlchemy's pre-ping, only for connections that sat idle: after a PostgreSQL restart
    they are the stale ones. A connection in use when the server goes away fails its statement,
    which invalidates the whole pool (SQLAlchemy's disconnect handling)."""
    if time.monotonic() - record.info.get("checked_in_at", 0.0) < PING_IDLE_SECONDS:
        return
    try:
        connection.ping()
    except Exception as exc:
        # The pool discards this connection and checks out (or opens) another.
        raise DisconnectionError() from exc


_DRIVER = "maillon.driver"


async def session_driver(session: AsyncSession) -> Any:
    """The session's asyncpg connection, for statements run on the driver itself (decisions
    0026, 0028). Recorded when the session's transaction takes its connection (``after_begin``)
    and forgotten when the outermost transaction ends: asking the session for it costs two
    greenlet switches, more than a short query."""
    if _DRIVER not in session.info:
        await session.connection()  # takes a connection: the hook below records it
    return session.info[_DRIVER]


@event.listens_for(Session, "after_begin")
def _remember_driver(session: Session, _transaction: SessionTransaction, connection: Any) -> None:
    # Called whenever a transaction of the session takes a connection, one begun before it was
    # given to the session included.
    session.info[_DRIVER] = connection.connection.driver_connection


@event.listens_for(Session, "after_transaction_end")
def _forget_driver(session: Session, transaction: SessionTransaction) -> None:
    # The session gives its connection back when its outermost transaction ends.
    if transaction.parent is None:
        session.info.pop(_DRIVER, None)


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    """One transaction: commit when the block ends normally, roll back otherwise.

    The only place (with the request dependency) where Maillon commits.
    """
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
