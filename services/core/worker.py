"""What both arq workers share: resources owned by start-up / shutdown hooks, and liveness.

A worker process serves each lane of its consumer (:func:`services.core.events.lanes_of`) with
an arq worker of its own, in the same event loop and with its own database pool: a job on the
priority lane never waits behind the default lane's jobs, nor for one of its connections
(decision 0027). The cron jobs belong to the default lane; when any lane stops, they all stop.
Redis going away stops them too; the process then waits for it and starts them again
(:func:`serve`, decision 0058); any other failure ends the process (and its supervisor restarts
it). The heartbeat belongs to the process, not to a lane: it goes on while the process waits for
Redis, and says so (decision 0071).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections.abc import Sequence
from typing import Any

from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.worker import Function, Worker
from redis.exceptions import RedisError

from services.core import collector
from services.core.backoff import exponential_seconds
from services.core.db import create_engine, create_sessionmaker
from services.core.events import Lane, lanes_of, queue_name
from services.core.heartbeat import Activity, Heartbeat, Pulse
from services.core.jobs import EventConsumer
from services.core.logging import configure_logging, get_logger
from services.core.queue import SERIALIZERS
from services.core.settings import Settings
from services.core.storage import open_storage

log = get_logger(__name__)

CRON_TIMEOUT_SECONDS = 300
SCHEDULE_QUEUE = "{}:schedule"  # the cron jobs' own queue, beside the consumer's lanes
RECONNECT_BASE_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 30.0
# What Redis going away raises, from arq's start-up, its polls or its close.
REDIS_UNAVAILABLE: tuple[type[BaseException], ...] = (RedisError, OSError, ConnectionError)
STOP_SECONDS = 5.0  # a lane's main loop ends at its next poll; past this it is cancelled


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
    lane: Lane = Lane.DEFAULT,
    files: bool = False,
    schedule: bool = False,
    pulse: Pulse | None = None,
) -> dict[str, Any]:
    """Keyword arguments for :class:`arq.worker.Worker` (and ``arq.run_worker``) on one lane.

    ``files``: the consumer's cron jobs touch stored files; the worker running them opens the
    storage (``ctx["storage"]``) at start-up. ``schedule``: the worker of the cron jobs alone,
    on a queue of their own (:func:`lane_workers`). ``pulse``: the process's heartbeat
    (:func:`serve`), told that the lanes serve once the default one started; without it (arq's
    own command) the default lane beats while it runs."""
    name = consumer.consumer.value
    default = lane is Lane.DEFAULT and not schedule
    application = f"maillon-{name}" if default else f"maillon-{name}-{lane.value}"
    if schedule:
        application = f"maillon-{name}-schedule"

    async def on_startup(ctx: dict[str, Any]) -> None:
        if files and (default or schedule):
            # The worker of the cron jobs runs the jobs that touch files (retention), as the
            # default lane does under arq's own command; an unusable store stops the worker here
            # with a French message (StorageConfigurationError).
            ctx["storage"] = await open_storage(settings)
        engine = create_engine(
            settings,
            application_name=application,
            statement_timeout=settings.worker_statement_timeout_seconds,
        )
        ctx["engine"] = engine
        ctx["sessionmaker"] = create_sessionmaker(engine)
        ctx["settings"] = settings
        if default:
            if pulse is not None:
                pulse.set(Activity.SERVING)
            else:
                heartbeat = Heartbeat(settings.heartbeat_dir, f"worker-{name}")
                ctx["heartbeat_task"] = asyncio.create_task(
                    _beat_forever(heartbeat, settings.heartbeat_seconds)
                )
            collector.settle(settings.gc_threshold)
        log.info("worker_started", worker=name, lane=lane.value)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        # Idempotent: called again by :func:`_close` when arq's own close failed half-way.
        task = ctx.pop("heartbeat_task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        storage = ctx.pop("storage", None)
        if storage is not None:
            await storage.aclose()
        engine = ctx.pop("engine", None)
        if engine is not None:
            await engine.dispose()
            log.info("worker_stopped", worker=name, lane=lane.value)

    return {
        "functions": []
        if schedule
        else [consumer.job_function(settings), *(functions if default else ())],
        "cron_jobs": list(cron_jobs) if default or schedule else [],
        "queue_name": SCHEDULE_QUEUE.format(queue_name(consumer.consumer))
        if schedule
        else queue_name(consumer.consumer, lane),
        "redis_settings": redis_settings(settings),
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "max_jobs": max_jobs,
        "poll_delay": settings.worker_poll_delay,
        # The cron jobs keep arq's usual bound (those that need more say so); the event lanes
        # take the setting, which is also how long a job cut short waits to be taken again.
        "job_timeout": CRON_TIMEOUT_SECONDS if schedule else settings.job_timeout_seconds,
        # Results are kept a day: the relay's re-enqueue of the same job id is refused meanwhile.
        "keep_result": 24 * 3600,
        "max_tries": settings.job_max_tries,
        "retry_jobs": True,
        "allow_abort_jobs": False,
        **SERIALIZERS,
    }


async def _beat_forever(heartbeat: Heartbeat, every: float) -> None:
    while True:
        heartbeat.beat()
        await asyncio.sleep(every)


def lane_workers(
    consumer: EventConsumer, settings: Settings, *, cron_jobs: Sequence[CronJob] = (), **kwargs: Any
) -> list[Worker]:
    """One arq worker per lane of ``consumer``, and one for the cron jobs, for the running event
    loop; signals are the caller's (:func:`run_lanes`).

    The cron jobs run apart because arq keeps a job it started marked in progress for the
    longest timeout of its worker's functions: beside a nightly job allowed an hour, an event
    job cut short by a killed process would wait an hour before any worker took it again. Apart,
    it waits ``job_timeout_seconds`` + 10 s (decision 0058)."""
    workers = [
        Worker(**worker_settings(consumer, settings, lane=lane, **kwargs), handle_signals=False)
        for lane in lanes_of(consumer.consumer)
    ]
    if cron_jobs:
        kwargs.pop("functions", None)
        scheduled = worker_settings(
            consumer, settings, cron_jobs=cron_jobs, schedule=True, **kwargs
        )
        workers.append(Worker(**scheduled, handle_signals=False))
    return workers


async def run_lanes(workers: Sequence[Worker], stop: asyncio.Event) -> None:
    """Run the lanes' workers until ``stop`` is set or one of them ends (then stop them all;
    a lane that failed raises here)."""
    runs = [asyncio.create_task(worker.async_run()) for worker in workers]
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([*runs, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        await _stop_lanes(workers, runs)
    if not stop.is_set():
        raise RuntimeError("a worker lane stopped")


async def _stop_lanes(workers: Sequence[Worker], runs: Sequence[asyncio.Task[None]]) -> None:
    """Stop between two polls: no job taken any more (arq's burst rule with no job left to take),
    running jobs cancelled (arq retries them later) and awaited, then each main loop ends by
    itself and the worker closes (health key, pools, on_shutdown). A lane's own failure is
    raised here."""
    for worker in workers:
        worker.allow_pick_jobs = False
        worker.burst, worker.max_burst_jobs = True, 0
    await _cancel_jobs(workers)
    _, late = await asyncio.wait(runs, timeout=STOP_SECONDS)
    for task in late:
        task.cancel()
    await _cancel_jobs(workers)  # any taken by a poll that was under way
    for worker in workers:
        await _close(worker)
    for task in runs:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _close(worker: Worker) -> None:
    """arq's close, which talks to Redis first (its health key): with Redis gone it stops there,
    so the database pool and the heartbeat are released here, and the Redis pool dropped."""
    try:
        await worker.close()
    except REDIS_UNAVAILABLE:
        if worker.on_shutdown is not None:
            await worker.on_shutdown(worker.ctx)
        # arq offers no other way to drop a broken pool.
        pool = worker._pool
        worker._pool = None
        if pool is not None:
            with contextlib.suppress(*REDIS_UNAVAILABLE):
                await pool.close(close_connection_pool=True)


async def _cancel_jobs(workers: Sequence[Worker]) -> None:
    jobs = [task for worker in workers for task in worker.tasks.values()]
    for task in jobs:
        task.cancel()
    await asyncio.gather(*jobs, return_exceptions=True)
    for worker in workers:
        worker.tasks.clear()  # arq's close() and burst end would re-raise their cancellations


async def serve(
    consumer: EventConsumer, settings: Settings, stop: asyncio.Event, **kwargs: Any
) -> None:
    """Run the lanes until ``stop`` is set, through Redis outages: when Redis is unreachable (at
    start or later) the lanes stop, the process waits with a growing delay (≤ 30 s) and starts
    them again. Jobs cut short are not lost: Redis still has them (arq retries them), or it lost
    its data and the outbox reconciler enqueues their events again (decision 0058).

    The heartbeat beats from start to end, whatever the lanes do: ``serving`` once they started,
    ``waiting-for-redis`` while the process waits (decision 0071)."""
    heartbeat = Heartbeat(
        settings.heartbeat_dir, f"worker-{consumer.consumer.value}", min_interval=0
    )
    async with Pulse(heartbeat, settings.heartbeat_seconds) as pulse:
        await _serve(consumer, settings, stop, pulse, **kwargs)


async def _serve(
    consumer: EventConsumer, settings: Settings, stop: asyncio.Event, pulse: Pulse, **kwargs: Any
) -> None:
    failures = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            await run_lanes(lane_workers(consumer, settings, pulse=pulse, **kwargs), stop)
            return
        except REDIS_UNAVAILABLE as exc:
            pulse.set(Activity.WAITING_FOR_REDIS)
            if time.monotonic() - started > RECONNECT_MAX_SECONDS:
                failures = 0  # it ran a good while: a new outage, start from the shortest delay
            failures += 1
            delay = exponential_seconds(failures, RECONNECT_BASE_SECONDS, RECONNECT_MAX_SECONDS)
            delay *= random.uniform(0.8, 1.2)  # noqa: S311  (jitter, not security)
            log.warning(
                "worker_redis_unavailable",
                worker=consumer.consumer.value,
                error=type(exc).__name__,
                retry_in_s=round(delay, 2),
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)


def run(consumer: EventConsumer, settings: Settings, **kwargs: Any) -> None:
    """Run a worker process (every lane) in the foreground until SIGINT / SIGTERM."""
    configure_logging(settings.log_level, json=settings.log_json)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(consumer, settings, stop, **kwargs)

    asyncio.run(main())
