"""What the benchmarks share: a scratch database migrated by Alembic, machine facts."""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from services.core.migrate import upgrade

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/8"


def server_urls() -> tuple[str, str]:
    return (
        os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
    )


@asynccontextmanager
async def scratch_database(server_url: str, name: str) -> AsyncIterator[str]:
    """A fresh database made by the migrations, dropped afterwards."""
    dsn = server_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    await asyncio.to_thread(upgrade, url)
    try:
        yield url
    finally:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def machine() -> str:
    cpus = os.cpu_count()
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return (
        f"{platform.machine()}, {cpus} cores, {total_kb / 1024 / 1024:.0f} GB RAM, "
        f"Python {platform.python_version()}"
    )


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    # "inclusive": a percentile never exceeds the largest sample (small samples).
    if len(ordered) < 2:
        return {"p50": ordered[0], "p95": ordered[0], "max": ordered[0]}
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": q[49], "p95": q[94], "max": ordered[-1]}
