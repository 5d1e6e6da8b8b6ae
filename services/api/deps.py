"""Request dependencies, each with its ``Annotated`` alias.

``SessionDep`` is the unit of work of a request: the routes and services only ``flush()``; the
dependency commits once, after the route has returned and its response has been serialised but
*before* the response is sent (``scope="function"``), so a commit that fails becomes an error
response — never a 2xx for data that was not stored. Any exception rolls everything back.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, cast

import redis.asyncio as aioredis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette
from starlette.types import Scope

from services.api.context import (
    TRANSACTION_KEY,
    TransactionOutcome,
    request_id_of,
    transaction_outcome,
)
from services.core.clock import Clock, get_clock
from services.core.db import SessionMaker
from services.core.logging import get_logger
from services.core.settings import Settings
from services.core.storage import Storage

log = get_logger("maillon.api.session")


@dataclass(frozen=True)
class Resources:
    """What the lifespan opens and closes: held on ``app.state.resources``."""

    engine: AsyncEngine
    sessionmaker: SessionMaker
    redis: aioredis.Redis
    storage: Storage


def resources_of(app: Starlette) -> Resources:
    resources = getattr(app.state, "resources", None)
    if not isinstance(resources, Resources):
        raise RuntimeError("the application's lifespan has not run: no engine, no Redis client")
    return resources


def settings_of(app: Starlette) -> Settings:
    return cast(Settings, app.state.settings)


@asynccontextmanager
async def request_transaction(
    request: Request, session: AsyncSession
) -> AsyncIterator[AsyncSession]:
    """Commit ``session`` when the block ends normally, roll it back on any exception.

    Records the outcome on the request for the idempotency middleware. Tests use it to wrap their
    own session, so routes see the same boundary as in production.
    """
    outcome = transaction_outcome(request.scope)
    try:
        yield session
        await session.commit()
    except BaseException:
        outcome.state = "rolled_back"
        try:
            await session.rollback()
        except Exception as exc:
            # Keep the original error; the connection is discarded with the session.
            log.warning("rollback_failed", error=type(exc).__name__)
        raise
    outcome.state = "committed"


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with (
        resources_of(request.app).sessionmaker() as session,
        request_transaction(request, session),
    ):
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


@asynccontextmanager
async def session_before_the_request(app: Starlette, scope: Scope) -> AsyncIterator[AsyncSession]:
    """A session of the kind the request's routes get (:func:`get_session`, or what the
    application overrides it with), in a transaction of its own that is not the request's: for
    a middleware's read before the request starts (decision 0054). Its outcome is not recorded
    as the request's."""
    overrides = getattr(app, "dependency_overrides", {})
    provider = overrides.get(get_session, get_session)
    own = Request({**scope, TRANSACTION_KEY: TransactionOutcome()})
    async with asynccontextmanager(provider)(own) as session:
        yield session


async def get_settings(request: Request) -> Settings:
    return settings_of(request.app)


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_redis(request: Request) -> aioredis.Redis:
    return resources_of(request.app).redis


RedisDep = Annotated[aioredis.Redis, Depends(get_redis)]


async def get_storage(request: Request) -> Storage:
    return resources_of(request.app).storage


StorageDep = Annotated[Storage, Depends(get_storage)]


async def get_request_id(request: Request) -> str:
    # The middleware always sets one; a route mounted without it still gets an id.
    return request_id_of(request) or uuid.uuid4().hex


RequestIdDep = Annotated[str, Depends(get_request_id)]


async def _clock() -> Clock:
    return get_clock()


ClockDep = Annotated[Clock, Depends(_clock)]
