"""Pure ASGI middlewares: request id, access log and metrics; CORS; the last-resort error page.

Order, outermost first (see :func:`services.api.app.create_app`): request context, CORS,
unhandled errors, body limit (:mod:`services.api.body_limit`), idempotency. The request context
sits outside everything so that every response, preflights and 500s included, carries
``X-Request-ID`` and is counted; CORS sits outside the error middleware so that browsers can read
500 and 503 problems.
"""

from __future__ import annotations

import asyncio
import re
import time
import traceback
import uuid

import redis.exceptions
import structlog
from asyncpg import exceptions as pg_errors
from sqlalchemy import exc as sa_errors
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.context import REQUEST_ID_HEADER, set_request_id
from services.api.errors import (
    BadRequest,
    InternalError,
    InvalidCharacter,
    ServiceUnavailable,
    problem_response,
)
from services.api.metrics import UNMATCHED_ROUTE, HttpMetrics
from services.core.logging import get_logger

access_log = get_logger("maillon.api.access")
error_log = get_logger("maillon.api.errors")

# Scraped every few seconds: their access lines are debug, not info.
_PROBES = frozenset({"/health/live", "/health/ready", "/metrics"})
# Frames of an unhandled error's stack that are logged (the innermost ones).
STACK_FRAMES = 8
# Set in the scope when the client hung up before its answer: logged as status 499 (the client
# closed the request, nginx's convention), neither a 500 nor an unhandled error.
CLIENT_GONE = "maillon.client_gone"
CLIENT_CLOSED_REQUEST = 499
# A caller's id is kept when it is a short token that is safe to log and to echo.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def route_template(scope: Scope) -> str:
    """The matched route's template (``/v1/offers/{offer_id}``), never the raw path."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER)
        request_id = (
            incoming if incoming and _SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        )
        set_request_id(scope, request_id)
        method: str = scope["method"]
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        in_progress = self.metrics.in_progress.labels(method)
        in_progress.inc()
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_request_id)
            finally:
                elapsed = time.perf_counter() - started
                in_progress.dec()
                route = route_template(scope)
                if scope.get(CLIENT_GONE) and status == 500:
                    status = CLIENT_CLOSED_REQUEST
                self.metrics.observe(method, route, status, elapsed)
                (access_log.debug if route in _PROBES else access_log.info)(
                    "http_request",
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 1),
                )


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a rejected preflight answered as a problem document."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                response = self.preflight_response(request_headers=headers)
                if response.status_code == 400:
                    response = problem_response(
                        Request(scope),
                        BadRequest(
                            "Requête préliminaire CORS refusée : l'origine, la méthode ou les "
                            "en-têtes demandés ne sont pas autorisés.",
                            headers={"Vary": "Origin"},
                        ),
                    )
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) means PostgreSQL or Redis cannot be reached now."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, _UNAVAILABLE) and not isinstance(seen, _LOCAL_OS_ERRORS):
            return True
        if isinstance(seen, sa_errors.DBAPIError) and seen.connection_invalidated:
            return True
        seen = seen.__cause__
    return False


def is_client_gone(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the client hanging up while its request was read."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ClientDisconnect):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_invalid_text(exc: BaseException) -> bool:
    """Whether PostgreSQL refused a text for a character it cannot store (NUL in text or JSON)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(
            seen, (pg_errors.CharacterNotInRepertoireError, pg_errors.UntranslatableCharacterError)
        ):
            return True
        seen = seen.__cause__ or getattr(seen, "orig", None)
    return False


_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable, DNS (socket.gaierror)…
    TimeoutError,
    sa_errors.OperationalError,
    sa_errors.InterfaceError,
    sa_errors.TimeoutError,  # no connection free in the pool in time
    sa_errors.DisconnectionError,
    pg_errors.PostgresConnectionError,
    pg_errors.CannotConnectNowError,
    pg_errors.TooManyConnectionsError,
    pg_errors.ConnectionDoesNotExistError,
    # statement_timeout and lock_timeout (decision 0056): the database is too slow or too busy
    # now, the request may be retried.
    pg_errors.QueryCanceledError,
    pg_errors.LockNotAvailableError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# OSErrors that are bugs or configuration, not an unreachable server.
_LOCAL_OS_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError)


class UnhandledErrorMiddleware:
    """Turn any exception that escaped the handlers into a 500 (or 503) problem.

    The body says nothing about the failure; the log has its type and stack, but not its message,
    which may quote personal data (a driver error repeating a value, for instance).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except asyncio.CancelledError:
            # The server is stopping or the request's task was cancelled: not an error of ours,
            # and the cancellation must go on.
            scope[CLIENT_GONE] = True
            error_log.info("request_cancelled", route=route_template(scope))
            raise
        except Exception as exc:
            if is_client_gone(exc):
                # Nobody is left to answer; the request's transaction is rolled back.
                scope[CLIENT_GONE] = True
                error_log.info("client_disconnected", route=route_template(scope))
                return
            if response_started:
                raise
            route = route_template(scope)
            if is_invalid_text(exc):
                error_log.info("invalid_character_refused", route=route)
                response = problem_response(Request(scope), InvalidCharacter())
                await response(scope, receive, send)
                return
            if is_unavailable(exc):
                error_log.warning("dependency_unavailable", error=type(exc).__name__, route=route)
                error: InternalError | ServiceUnavailable = ServiceUnavailable()
            else:
                error_log.error(
                    "unhandled_error",
                    error=type(exc).__name__,
                    route=route,
                    stack="".join(traceback.format_tb(exc.__traceback__, limit=-STACK_FRAMES)),
                )
                error = InternalError()
            response = problem_response(Request(scope), error)
            await response(scope, receive, send)
