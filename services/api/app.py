"""The application factory: ``uvicorn --factory services.api.app:create_app``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version

import redis.asyncio as aioredis
from fastapi import FastAPI
from starlette.middleware import Middleware

from services.api import health, metrics, v1
from services.api.body_limit import BodyLimitMiddleware
from services.api.conditional import install_conditional_handlers
from services.api.context import REQUEST_ID_HEADER
from services.api.deps import Resources, settings_of
from services.api.docs import MaillonAPI, install_docs
from services.api.errors import install_error_handlers, problem_responses
from services.api.idempotency import IDEMPOTENCY_KEY_HEADER, REPLAYED_HEADER, IdempotencyMiddleware
from services.api.middleware import (
    ProblemCORSMiddleware,
    RequestContextMiddleware,
    UnhandledErrorMiddleware,
)
from services.api.referentials.indexes import ReferentialIndexes
from services.core import collector, liveness
from services.core.db import create_engine, create_sessionmaker
from services.core.logging import configure_logging
from services.core.settings import Settings, get_settings
from services.core.storage import open_storage

REDIS_TIMEOUT_SECONDS = 5.0


def _version() -> str:
    try:
        return version("maillon")
    except PackageNotFoundError:
        return "0.0.0"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = settings_of(app)
    configure_logging(settings.log_level, json=settings.log_json)
    if settings.redis_url is None:
        raise RuntimeError("REDIS_URL n'est pas défini (lancez l'API avec « maillon up »)")
    # First, so that an unusable store (missing bucket, refused credentials, unreachable
    # endpoint) stops the API at start-up with a French message, not at the first upload.
    storage = await open_storage(settings)
    engine = create_engine(settings, application_name="maillon-api")
    redis: aioredis.Redis = aioredis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    app.state.resources = Resources(engine, create_sessionmaker(engine), redis, storage)
    # ROME and QPV indexes: built on first use, then once per imported version.
    app.state.referential_indexes = ReferentialIndexes(settings.referential_recheck_seconds)
    probe = None
    if settings.database_probe_seconds > 0:
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        probe = asyncio.create_task(
            liveness.watch(
                engine,
                dsn,
                every=settings.database_probe_seconds,
                patience=settings.database_probe_timeout_seconds,
            ),
            name="maillon-database-probe",
        )
    collector.settle(settings.gc_threshold)
    try:
        yield
    finally:
        if probe is not None:
            probe.cancel()
            with suppress(asyncio.CancelledError):
                await probe
        del app.state.resources
        del app.state.referential_indexes
        await redis.aclose()
        await engine.dispose()
        await storage.aclose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    http_metrics = metrics.HttpMetrics()
    app = MaillonAPI(
        title="Maillon",
        summary="Clause sociale d'insertion : offres, candidats, rappel sous 30 jours.",
        version=_version(),
        lifespan=lifespan,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        docs_url=None,  # FastAPI's pages load Swagger UI / ReDoc from a CDN: see install_docs
        redoc_url=None,
        responses=problem_responses(),
        middleware=[
            # Outermost first; why this order: services/api/middleware.py.
            Middleware(RequestContextMiddleware, metrics=http_metrics),
            Middleware(
                ProblemCORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    IDEMPOTENCY_KEY_HEADER,
                    "If-Match",
                    "If-None-Match",
                    REQUEST_ID_HEADER,
                ],
                expose_headers=[
                    "ETag",
                    "Location",
                    "Retry-After",
                    REQUEST_ID_HEADER,
                    REPLAYED_HEADER,
                ],
                max_age=600,
            ),
            Middleware(UnhandledErrorMiddleware),
            # Callers checked and bodies bounded before the idempotency middleware reads them.
            Middleware(BodyLimitMiddleware),
            Middleware(IdempotencyMiddleware, ttl=timedelta(hours=settings.idempotency_ttl_hours)),
        ],
    )
    app.state.settings = settings
    app.state.metrics = http_metrics
    install_error_handlers(app)
    install_conditional_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(v1.router)
    if settings.docs_enabled:
        install_docs(app)
    return app
