"""Outbox relay and consumer throughput, and the latency of one event from commit to handler.

    python -m bench.relay [--events 20000]

Runs against DATABASE_URL / REDIS_URL (default: the local servers), in a scratch database.
Compares batch sizes side by side in one run and prints a Markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import ClassVar

from arq.connections import ArqRedis
from arq.worker import Worker
from sqlalchemy import insert

from bench.common import machine, percentiles, scratch_database, server_urls
from services.core.db import SessionMaker, create_engine, create_sessionmaker, unit_of_work
from services.core.events import Consumer, Event, consumers_of, emit, job_id, queue_name
from services.core.jobs import EventConsumer, HandlerContext
from services.core.models.outbox import OutboxEvent
from services.core.queue import create_queue_pool
from services.core.relay import JOB_FUNCTION, claim_pending, mark_published, relay_once
from services.core.settings import Settings
from services.core.worker import worker_settings


class BenchPinged(Event):
    type: ClassVar[str] = "bench.pinged"
    consumers: ClassVar[frozenset[Consumer]] = frozenset({Consumer.MATCHING})
    ping_id: uuid.UUID


BATCHED = "one Lua call per batch (enqueue_unique)"


async def relay_once_per_job(
    sessionmaker: SessionMaker, redis: ArqRedis, *, batch_size: int
) -> int:
    """The straightforward relay, for comparison: arq's enqueue_job (WATCH/MULTI) per job."""
    async with unit_of_work(sessionmaker) as session:
        rows = await claim_pending(session, batch_size=batch_size)
        for row in rows:
            for consumer in sorted(consumers_of(row.type)):
                await redis.enqueue_job(
                    JOB_FUNCTION,
                    str(row.id),
                    _job_id=job_id(consumer, row.id),
                    _queue_name=queue_name(consumer),
                )
        await mark_published(session, rows)
        return len(rows)


async def run(events: int) -> str:
    server, redis_url = server_urls()
    lines = [f"## Outbox relay — {time.strftime('%Y-%m-%d')}", "", f"Machine: {machine()}."]
    lines += [f"Command: `python -m bench.relay --events {events}`.", ""]
    lines += ["| enqueue | batch size | events | relay events/s |", "|---|---|---|---|"]
    async with scratch_database(server, "maillon_bench_relay") as url:
        settings = Settings(database_url=url, redis_url=redis_url, log_json=False)
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        pool = await create_queue_pool(redis_url)
        try:
            for batch, mode in (
                (200, "arq enqueue_job, one call per job"),
                (50, BATCHED),
                (200, BATCHED),
                (1000, BATCHED),
            ):
                await pool.flushdb()
                async with unit_of_work(sessionmaker) as session:
                    await session.execute(
                        insert(OutboxEvent),
                        [
                            {
                                "id": uuid.uuid4(),
                                "type": BenchPinged.type,
                                "payload": {"ping_id": str(uuid.uuid4())},
                            }
                            for _ in range(events)
                        ],
                    )
                started = time.perf_counter()
                relay = relay_once if mode == BATCHED else relay_once_per_job
                while await relay(sessionmaker, pool, batch_size=batch):
                    pass
                elapsed = time.perf_counter() - started
                lines.append(f"| {mode} | {batch} | {events} | {events / elapsed:,.0f} |")

            # Latency of one event: commit → relay → arq → handler committed.
            await pool.flushdb()
            consumer = EventConsumer(Consumer.MATCHING)
            handled: dict[uuid.UUID, float] = {}
            arrived = asyncio.Event()

            @consumer.on(BenchPinged)
            async def record(ctx: HandlerContext, event: BenchPinged) -> None:
                handled[event.ping_id] = time.perf_counter()
                arrived.set()

            worker = Worker(
                **worker_settings(consumer, settings), poll_delay=0.01, handle_signals=False
            )
            worker_task = asyncio.create_task(worker.async_run())
            stop = asyncio.Event()

            async def relay_loop() -> None:
                while not stop.is_set():
                    if not await relay_once(sessionmaker, pool, batch_size=200):
                        await asyncio.sleep(0.01)

            relay_task = asyncio.create_task(relay_loop())
            samples: list[float] = []
            for _ in range(200):
                ping = uuid.uuid4()
                async with unit_of_work(sessionmaker) as session:
                    emit(session, BenchPinged(ping_id=ping))
                committed = time.perf_counter()
                while ping not in handled:
                    await arrived.wait()
                    arrived.clear()
                samples.append((handled[ping] - committed) * 1000)
            stop.set()
            await relay_task
            worker_task.cancel()
            await worker.close()
            p = percentiles(samples)
            lines += [
                "",
                "Commit → handler (relay polling every 10 ms, worker polling every 10 ms), 200 "
                f"events one at a time: p50 {p['p50']:.1f} ms, p95 {p['p95']:.1f} ms, "
                f"max {p['max']:.1f} ms.",
            ]
        finally:
            await pool.aclose()
            await engine.dispose()
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    print(asyncio.run(run(args.events)))


if __name__ == "__main__":
    main()
