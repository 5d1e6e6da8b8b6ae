"""What both arq workers share: resources owned by start-up / shutdown hooks, and liveness."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.worker import Function

from services.core.db import create_engine, create_sessionmaker
from services.core.events import queue_name
from services.core.heartbeat import Heartbeat
from services.core.jobs import EventConsumer
from services.core.logging import configure_logging, get_logger
from services.core.queue import SERIALIZERS
from services.core.settings import Settings

log = get_logger(__name__)

HEARTBEAT_SECONDS = 5.0


def redis_settings(settings: Settings) -> RedisSettings:
    if settings.redis_url is None:
        raise RuntimeError("REDIS_URL n'est pas défini")
    return RedisSettings.from_dsn(settings.redis_url)


def worker_settings(
    consumer: EventConsumer,
    settings: Settings,
    *,
    functions: Sequence[Function] = (),
    cron_jobs: Sequence[CronJob] = (),
    max_jobs: int = 20,
) -> dict[str, Any]:
    """Keyword arguments for :class:`arq.worker.Worker` (and ``arq.run_worker``)."""
    name = consumer.consumer.value

    async def on_startup(ctx: dict[str, Any]) -> None:
        engine = create_engine(settings, application_name=f"maillon-{name}")
        ctx["engine"] = engine
        ctx["sessionmaker"] = create_sessionmaker(engine)
        ctx["settings"] = settings
        heartbeat = Heartbeat(settings.heartbeat_dir, f"worker-{name}")
        ctx["heartbeat_task"] = asyncio.create_task(_beat_forever(heartbeat))
        log.info("worker_started", worker=name)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        task = ctx.get("heartbeat_task")
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        engine = ctx.get("engine")
        if engine is not None:
            await engine.dispose()
        log.info("worker_stopped", worker=name)

    return {
        "functions": [consumer.job_function(settings), *functions],
        "cron_jobs": list(cron_jobs),
        "queue_name": queue_name(consumer.consumer),
        "redis_settings": redis_settings(settings),
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "max_jobs": max_jobs,
        "poll_delay": settings.worker_poll_delay,
        "job_timeout": 300,
        # Results are kept a day: the relay's re-enqueue of the same job id is refused meanwhile.
        "keep_result": 24 * 3600,
        "max_tries": settings.job_max_tries,
        "retry_jobs": True,
        "allow_abort_jobs": False,
        **SERIALIZERS,
    }


async def _beat_forever(heartbeat: Heartbeat) -> None:
    while True:
        heartbeat.beat()
        await asyncio.sleep(HEARTBEAT_SECONDS)


def run(consumer: EventConsumer, settings: Settings, **kwargs: Any) -> None:
    """Run a worker in the foreground until SIGINT / SIGTERM."""
    from arq.worker import run_worker

    configure_logging(settings.log_level, json=settings.log_json)
    run_worker(worker_settings(consumer, settings, **kwargs))
