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
from sqlalchemy.sql import Executable

from services.core import liveness
from services.core.settings import Settings

SessionMaker = async_sessionmaker[AsyncSession]


# A pooled connection unused for longer than this is checked with a ping before it is handed out;
# one used a moment ago is not (a ping is three round trips: BEGIN, ";", ROLLBACK).
PING_IDLE_SECONDS = 1.0


# The driver's own limit on a statement, past PostgreSQL's statement_timeout: the server answers
# first when it is alive; when it is not (frozen, unreachable), the driver gives up.
COMMAND_TIMEOUT_MARGIN_SECONDS = 5.0


def _milliseconds(seconds: float) -> str:
    return str(round(seconds * 1000))


def create_engine(
    settings: Settings,
    *,
    application_name: str = "maillon",
    statement_timeout: float | None = None,
) -> AsyncEngine:
    """The engine of a process. ``statement_timeout``: seconds (0 none), by default the API's
    ``database_statement_timeout_seconds``; the lock timeout is the same everywhere (decision
    0056)."""
    if statement_timeout is None:
        statement_timeout = settings.database_statement_timeout_seconds
    state = liveness.Liveness()
    engine = create_async_engine(
        settings.async_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout_seconds,
        connect_args={
            "async_creator_fn": state.connect,
            "timeout": settings.database_connect_timeout,
            "command_timeout": statement_timeout + COMMAND_TIMEOUT_MARGIN_SECONDS
            if statement_timeout
            else None,
            "server_settings": {
                "application_name": application_name,
                "timezone": "UTC",
                "statement_timeout": _milliseconds(statement_timeout),
                "lock_timeout": _milliseconds(settings.database_lock_timeout_seconds),
            },
        },
    )
    event.listen(engine.sync_engine.pool, "checkin", _remember_checkin)
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    liveness.install(engine, state)
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


async def commit_alone(sessionmaker: SessionMaker, statement: Executable) -> None:
    """Run one statement as a transaction of its own, in one round trip: no ``BEGIN`` nor
    ``COMMIT``, the server commits it as it ends. For a mark that must be durable as soon as
    possible after an outside system acted (a message accepted: decision 0071); anything of more
    than one statement goes through :func:`unit_of_work`."""
    async with sessionmaker() as session:
        connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        await connection.execute(statement)
