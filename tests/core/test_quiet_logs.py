"""An idle worker is quiet: periodic jobs that find nothing to do write no log line at INFO."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis.asyncio as aioredis
import structlog
from arq.cron import cron
from arq.worker import Worker

from services.core.logging import configure_logging
from services.core.settings import Settings
from services.core.worker import redis_settings


async def nothing_to_send(ctx: dict[str, Any]) -> dict[str, int]:
    return {"sent": 0, "retried": 0, "failed": 0}


async def two_sent(ctx: dict[str, Any]) -> dict[str, int]:
    return {"sent": 2, "retried": 0, "failed": 0}


async def _run_once(settings: Settings, level: str, capsys: pytest.CaptureFixture[str]) -> str:
    """A real arq worker runs both cron jobs once (at start-up, then stops: burst mode)."""
    configure_logging(level, json=True)
    worker = Worker(
        functions=[],
        cron_jobs=[
            cron(nothing_to_send, second={0}, run_at_startup=True),
            cron(two_sent, second={0}, run_at_startup=True),
        ],
        redis_settings=redis_settings(settings),
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
    )
    try:
        await worker.main()
    finally:
        await worker.close()
        structlog.reset_defaults()
    return capsys.readouterr().err


async def test_an_idle_cron_job_logs_nothing_at_info_a_busy_one_does(
    settings: Settings, redis_client: aioredis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    err = await _run_once(settings, "INFO", capsys)
    events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert [e for e in events if "Starting worker" in e]  # the worker did log at INFO
    assert [e for e in events if "cron:nothing_to_send" in e and "Starting" not in e] == []
    # The job that did something still says so when it ends (its start is not news).
    assert [e for e in events if "cron:two_sent" in e and "←" in e]
    assert [e for e in events if "cron:two_sent" in e and "→" in e] == []


async def test_at_debug_the_idle_cron_job_is_still_visible(
    settings: Settings, redis_client: aioredis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    err = await _run_once(settings, "DEBUG", capsys)
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    idle = [
        line
        for line in lines
        if "cron:nothing_to_send" in line["event"] and "Starting" not in line["event"]
    ]
    assert len(idle) == 2  # started, done
    assert {line["level"] for line in idle} == {"debug"}
