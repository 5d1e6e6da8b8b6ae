"""Real PostgreSQL and Redis for every test.

``DATABASE_URL`` / ``REDIS_URL`` name the servers (``scripts/test`` sets them when the machine
has them); otherwise the embedded ones are started under ``.maillon-test/``. The suite creates
its own database, migrates it with Alembic, and drops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.api.app import create_app
from services.api.deps import get_session, request_transaction
from services.core.clock import FrozenClock, use_clock
from services.core.db import SessionMaker, create_engine, create_sessionmaker
from services.core.embedded import EmbeddedRedis, start_postgres, start_redis
from services.core.geo.qpv import QpvIndex, load_qpv_index
from services.core.migrate import upgrade
from services.core.referentials.loader import ImportSummary, load_reference_data
from services.core.settings import Settings
from tests.s3_server import S3Server, running_s3_server

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
TEST_STATE = ROOT / ".maillon-test"
TEST_REDIS_DB = int(os.environ.get("MAILLON_TEST_REDIS_DB", "9"))

# Tables holding reference data: loaded once per run, never truncated between tests.
REFERENCE_TABLES: set[str] = {
    "alembic_version",
    "rome_grand_domaine",
    "rome_domaine",
    "rome_fiche",
    "rome_appellation",
    "commune",
    "postal_code",
    "qpv",
    "reference_dataset",
}


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def server_database_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL") or os.environ.get("MAILLON_DATABASE_URL")
    if url:
        yield url
        return
    embedded = start_postgres(TEST_STATE)
    try:
        yield embedded.url
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
async def database_url(server_database_url: str) -> AsyncIterator[str]:
    name = f"maillon_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(_asyncpg_dsn(server_database_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = _with_database(server_database_url, name)
    await asyncio.to_thread(upgrade, url)
    yield url
    admin = await asyncpg.connect(_asyncpg_dsn(server_database_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def embedded_redis() -> Iterator[EmbeddedRedis | None]:
    if os.environ.get("REDIS_URL") or os.environ.get("MAILLON_REDIS_URL"):
        yield None
        return
    server = start_redis(TEST_STATE)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(embedded_redis: EmbeddedRedis | None) -> str:
    if embedded_redis is not None:
        return f"{embedded_redis.url}?db={TEST_REDIS_DB}"
    url = os.environ.get("REDIS_URL") or os.environ["MAILLON_REDIS_URL"]
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{TEST_REDIS_DB}", query=""))


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-protocol server process on loopback, with one bucket (tests/s3_server.py)."""
    with running_s3_server() as server:
        yield server


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        log_json=False,
        job_retry_base_seconds=0.01,
        job_retry_max_seconds=0.05,
        relay_poll_interval=0.05,
        # Tests import and roll back reference data: every request looks at the current version.
        referential_recheck_seconds=0,
        # The test process makes and drops many apps and workers: Python's collector as it is
        # (tests/core/test_collector.py checks the service setting).
        gc_threshold=0,
        storage_dir=TEST_STATE / "files",
        # Nothing talks to the internet: tests that geocode start a local fake BAN server.
        geocoder_url="http://127.0.0.1:9/search",
        # Webhook receivers are local servers: loopback is let through (decision 0042).
        webhook_allowed_networks="127.0.0.0/8,::1/128",
        # No database probe in the apps of the tests: on a machine busy with the suite, a late
        # answer would cut other tests' requests. tests/test_frozen_database.py turns it on.
        database_probe_seconds=0,
        # Every test client comes from 127.0.0.1 and shares one counter: the limit itself is
        # tested with its own app (tests/api/test_public_offers.py).
        public_rate_limit_per_minute=100_000,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings, application_name="maillon-tests")
    yield engine
    await engine.dispose()


@pytest.fixture
async def db_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction rolled back after the test; commits become savepoints."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest.fixture
async def committing_sessionmaker(engine: AsyncEngine) -> AsyncIterator[SessionMaker]:
    """For tests that need real commits seen by other connections (relay, workers).

    Every table but the reference ones is emptied afterwards.
    """
    yield create_sessionmaker(engine)
    async with engine.begin() as connection:
        rows = await connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        tables = [r[0] for r in rows if r[0] not in REFERENCE_TABLES]
        if tables:
            await connection.execute(
                text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
            )


@pytest.fixture(scope="session")
async def reference_data(engine: AsyncEngine) -> list[ImportSummary]:
    """The real files of ../shared/data (ROME, communes, QPV), committed once per run."""
    return await load_reference_data(create_sessionmaker(engine), SHARED_DATA)


@pytest.fixture(scope="session")
async def qpv_index(engine: AsyncEngine, reference_data: list[ImportSummary]) -> QpvIndex:
    async with create_sessionmaker(engine)() as session:
        return await load_qpv_index(session)


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client: aioredis.Redis = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with use_clock(frozen):
        yield frozen


@pytest.fixture
def app(settings: Settings, db_session: AsyncSession) -> FastAPI:
    """The API, its requests running in the test's transaction (each commit a savepoint)."""
    application = create_app(settings)

    async def session_in_test_transaction(request: Request) -> AsyncIterator[AsyncSession]:
        # What the test wrote before the request is committed data to the request: a rollback
        # must not undo it (it is still rolled back with the test's transaction).
        await db_session.commit()
        async with request_transaction(request, db_session) as session:
            yield session

    application.dependency_overrides[get_session] = session_in_test_transaction
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c
