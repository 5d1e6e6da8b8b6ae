"""Probes for the orchestrator: liveness (no I/O) and readiness (PostgreSQL and Redis answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from services.api.deps import resources_of
from services.api.errors import ServiceUnavailable
from services.core.logging import get_logger

# A probe that waits longer than the orchestrator's own timeout is worse than a failed one.
CHECK_TIMEOUT_SECONDS = 2.0

log = get_logger("maillon.api.health")
router = APIRouter(prefix="/health", include_in_schema=False)

CheckResult = Literal["ok", "failed"]


class Live(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ok"] = "ok"
    checks: dict[str, CheckResult]


@router.get("/live")
async def live() -> Live:
    return Live()


@router.get("/ready")
async def ready(request: Request) -> Ready:
    resources = resources_of(request.app)

    async def postgresql() -> None:
        async with resources.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def redis() -> None:
        await resources.redis.ping()

    probes = {"postgresql": postgresql, "redis": redis}
    results = await asyncio.gather(*(_check(name, probe) for name, probe in probes.items()))
    checks: dict[str, CheckResult] = dict(zip(probes, results, strict=True))
    failed = [name for name, result in checks.items() if result != "ok"]
    if failed:
        raise ServiceUnavailable(
            "Service non prêt : " + ", ".join(_LABELS[name] for name in failed) + " injoignable.",
            extensions={"checks": checks},
        )
    return Ready(checks=checks)


_LABELS = {"postgresql": "PostgreSQL", "redis": "Redis"}


async def _check(name: str, probe: Callable[[], Awaitable[None]]) -> CheckResult:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await probe()
    except Exception as exc:
        log.warning("readiness_check_failed", check=name, error=type(exc).__name__)
        return "failed"
    return "ok"
