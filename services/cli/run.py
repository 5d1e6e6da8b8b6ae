"""Commands that run Maillon: ``up`` (everything), and each part on its own for containers."""

from __future__ import annotations

import asyncio
import signal
from enum import StrEnum
from typing import Annotated

import typer

from services.cli.app import app
from services.cli.runtime import require_configured, resolve
from services.core import collector
from services.core.heartbeat import ACTIVITY_LABELS, Activity, Heartbeat
from services.core.logging import configure_logging
from services.core.migrate import upgrade
from services.core.settings import Settings, get_settings

health_app = typer.Typer(help="Sondes de vie des processus sans port HTTP (workers, relais).")
app.add_typer(health_app, name="health")


class WorkerName(StrEnum):
    matching = "matching"
    notifications = "notifications"


HostOption = Annotated[str | None, typer.Option(help="Adresse d'écoute de l'API.")]
PortOption = Annotated[int | None, typer.Option(help="Port de l'API.")]


@app.command()
def migrate() -> None:
    """Applique les migrations du schéma (PostgreSQL embarqué si DATABASE_URL n'est pas défini)."""
    runtime = resolve(get_settings(), redis=False)
    try:
        upgrade(runtime.database_url)
        typer.echo("Schéma à jour.")
    finally:
        runtime.stop()


@app.command()
def api(host: HostOption = None, port: PortOption = None) -> None:
    """Démarre l'API HTTP (uvicorn)."""
    import uvicorn

    settings = require_configured(get_settings())
    configure_logging(settings.log_level, json=settings.log_json)
    uvicorn.run(
        "services.api.app:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )


@app.command()
def worker(name: Annotated[WorkerName, typer.Argument(help="matching ou notifications")]) -> None:
    """Démarre un worker arq."""
    settings = require_configured(get_settings())
    if name is WorkerName.matching:
        from services.matching.worker import main
    else:
        from services.notifications.worker import main
    main(settings)


@app.command()
def relay() -> None:
    """Démarre le relais de l'outbox (plusieurs processus peuvent tourner en même temps)."""
    settings = require_configured(get_settings())
    configure_logging(settings.log_level, json=settings.log_json)
    asyncio.run(_relay(settings))


async def _relay(settings: Settings) -> None:
    from arq.connections import ArqRedis, create_pool
    from redis.exceptions import RedisError

    from services.core.db import create_engine, create_sessionmaker
    from services.core.queue import SERIALIZERS
    from services.core.reconcile import ReconcileRules, run_reconciler
    from services.core.relay import run_relay
    from services.core.worker import redis_settings

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    engine = create_engine(
        settings,
        application_name="maillon-relay",
        statement_timeout=settings.worker_statement_timeout_seconds,
    )
    redis_conf = redis_settings(settings)
    heartbeat = Heartbeat(settings.heartbeat_dir, "relay")
    pool: ArqRedis | None = None
    while pool is None and not stop.is_set():
        heartbeat.beat(Activity.WAITING_FOR_REDIS)
        try:
            pool = await create_pool(redis_conf, **SERIALIZERS)
        except (OSError, RedisError) as exc:  # Redis not up yet: the relay waits for it
            typer.echo(f"Redis injoignable ({type(exc).__name__}), nouvel essai…", err=True)
            await asyncio.sleep(2)
    collector.settle(settings.gc_threshold)
    try:
        if pool is not None:
            sessionmaker = create_sessionmaker(engine)
            await asyncio.gather(
                run_relay(
                    sessionmaker,
                    pool,
                    batch_size=settings.relay_batch_size,
                    poll_interval=settings.relay_poll_interval,
                    stop=stop,
                    heartbeat=heartbeat,
                ),
                # Published is not done: events Redis lost are enqueued again (decision 0057).
                run_reconciler(
                    sessionmaker, pool, ReconcileRules.from_settings(settings), stop=stop
                ),
            )
    finally:
        if pool is not None:
            await pool.aclose()
        await engine.dispose()


@health_app.command("worker")
def health_worker(name: Annotated[WorkerName, typer.Argument()]) -> None:
    """Code 0 si le worker est vivant (battement de cœur récent)."""
    _check_heartbeat(f"worker-{name.value}")


@health_app.command("relay")
def health_relay() -> None:
    """Code 0 si le relais est vivant (battement de cœur récent)."""
    _check_heartbeat("relay")


def _check_heartbeat(component: str) -> None:
    heartbeat = Heartbeat(get_settings().heartbeat_dir, component)
    if not heartbeat.is_fresh():
        typer.echo(f"{component} : aucun battement de cœur récent", err=True)
        raise typer.Exit(1)
    activity = heartbeat.activity()
    # Alive whatever it is doing: a worker waiting for Redis must not be restarted for it.
    doing = f" ({ACTIVITY_LABELS[activity]})" if activity else ""
    typer.echo(f"{component} : vivant{doing}")
