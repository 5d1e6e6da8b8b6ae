"""Where the CLI finds PostgreSQL and Redis: the configured ones, or the embedded ones."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import typer

from services.core.db import SessionMaker, create_engine, create_sessionmaker
from services.core.embedded import EmbeddedUnavailable, start_postgres, start_redis
from services.core.logging import configure_logging
from services.core.migrate import upgrade
from services.core.settings import Settings, get_settings

_T = TypeVar("_T")


@dataclass
class Runtime:
    settings: Settings
    _stops: list[Callable[[], None]] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        assert self.settings.database_url is not None
        return self.settings.database_url

    @property
    def redis_url(self) -> str:
        assert self.settings.redis_url is not None
        return self.settings.redis_url

    def stop(self) -> None:
        """Stop the embedded servers this runtime started, last started first."""
        while self._stops:
            self._stops.pop()()


def resolve(settings: Settings, *, redis: bool = True) -> Runtime:
    """Settings with both URLs set, starting the embedded servers for those left unset."""
    runtime = Runtime(settings)
    try:
        _start_embedded(runtime, redis=redis)
    except EmbeddedUnavailable as exc:  # a sentence saying what to do, not a traceback
        runtime.stop()
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    return runtime


def _start_embedded(runtime: Runtime, *, redis: bool) -> None:
    settings = runtime.settings
    updates: dict[str, str] = {}
    if settings.database_url is None:
        typer.echo(f"PostgreSQL embarqué ({settings.state_dir}/postgres)…", err=True)
        postgres = start_postgres(settings.state_dir)
        runtime._stops.append(postgres.stop)
        updates["database_url"] = postgres.url
    if redis and settings.redis_url is None:
        typer.echo(f"Redis embarqué ({settings.state_dir}/redis)…", err=True)
        server = start_redis(settings.state_dir)
        runtime._stops.append(server.stop)
        updates["redis_url"] = server.url
    runtime.settings = settings.model_copy(update=updates)


def require_configured(settings: Settings, *, redis: bool = True) -> Settings:
    """For the single-part commands run by containers: no embedded fallback, a clear error."""
    missing = [
        name
        for name, value in (
            ("DATABASE_URL", settings.database_url),
            ("REDIS_URL", settings.redis_url),
        )
        if value is None and (redis or name == "DATABASE_URL")
    ]
    if missing:
        typer.echo(
            f"{' et '.join(missing)} doit être défini pour cette commande "
            "(`maillon up` démarre des serveurs embarqués).",
            err=True,
        )
        raise typer.Exit(2)
    return settings


def run_with_database(work: Callable[[SessionMaker], Awaitable[_T]]) -> _T:
    """Run ``work`` against the database of the settings (embedded when unset), then release
    everything."""
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)  # logs to stderr, not stdout
    runtime = resolve(settings, redis=False)

    async def main() -> _T:
        # Commands (imports, reports) have no statement limit: an operator runs them.
        engine = create_engine(
            runtime.settings, application_name="maillon-cli", statement_timeout=0
        )
        try:
            return await work(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    try:
        if settings.database_url is None:  # a fresh embedded database: make its schema first
            upgrade(runtime.database_url)
        return asyncio.run(main())
    finally:
        runtime.stop()
