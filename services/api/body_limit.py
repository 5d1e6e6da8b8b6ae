"""Request bodies: the caller checked first, then a size limit per route (decision 0054).

Outside the idempotency middleware (which reads the body to fingerprint it) and inside the
error middleware. For a request that carries a body:

1. a route that needs a caller refuses missing or invalid credentials, unknown or revoked API
   keys included (401), before anything of the body is read (:mod:`services.api.auth.gate`);
2. a declared ``Content-Length`` over the route's limit is refused (413) before reading;
3. a body sent without a length (chunked) is counted as it is read, and reading stops at the
   first chunk past the limit (413), whatever the application was doing with it.

Limits: JSON and forms ``JSON_MAX_BYTES``; a borne's batch of forms ``BATCH_MAX_BYTES``; a
multipart intake its files at ``upload_max_bytes`` each plus ``MULTIPART_OVERHEAD_BYTES``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.auth.gate import refusal, requires_caller
from services.api.deps import settings_of
from services.api.errors import MaillonError, PayloadTooLarge, problem_response
from services.api.intake.files import FILE_FIELDS
from services.core.settings import Settings

JSON_MAX_BYTES = 1024 * 1024
# 500 forms (MAX_BATCH_FORMS) of a few kilobytes each.
BATCH_MAX_BYTES = 8 * 1024 * 1024
# The text fields and part headers of a multipart intake, besides its files.
MULTIPART_OVERHEAD_BYTES = 256 * 1024

# Routes whose bodies may be larger than JSON_MAX_BYTES, by (method, path template).
_LARGER: dict[tuple[str, str], int] = {("POST", "/v1/intakes/batch"): BATCH_MAX_BYTES}
# Routes that take files in multipart/form-data: how many files at most.
_UPLOADS: dict[tuple[str, str], int] = {("POST", "/v1/intakes"): len(FILE_FIELDS)}


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a body without a declared length goes past the limit."""


def body_limit(route: _Route | None, method: str, content_type: str, settings: Settings) -> int:
    if route is None:
        return JSON_MAX_BYTES
    key = (method, route.path)
    files = _UPLOADS.get(key)
    if files is not None and content_type.startswith("multipart/form-data"):
        return files * settings.upload_max_bytes + MULTIPART_OVERHEAD_BYTES
    return _LARGER.get(key, JSON_MAX_BYTES)


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):.3g} Mo".replace(".", ",")
    return f"{limit / 1024:.3g} Ko".replace(".", ",")


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Le corps de la requête dépasse la taille acceptée pour cette opération ({_size(limit)})."
    )


def declared_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


@dataclass(frozen=True)
class _Route:
    """What the middleware needs of an API route, before Starlette routes the request."""

    path: str  # the template, prefix included
    regex: re.Pattern[str]
    methods: frozenset[str]
    needs_caller: bool


def _routes(application: Starlette) -> list[_Route]:
    table = []
    for context in iter_route_contexts(application.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path:
            regex, _, _ = compile_path(context.path)
            table.append(
                _Route(context.path, regex, frozenset(route.methods or ()), requires_caller(route))
            )
    return table


@dataclass(frozen=True)
class _Table:
    """The routes by method: a path without parameters found at once (most bodies go to one,
    e.g. ``POST /v1/intakes``), the others tried in order as Starlette would."""

    static: dict[tuple[str, str], _Route]
    templated: dict[str, list[_Route]]

    @classmethod
    def of(cls, routes: list[_Route]) -> _Table:
        static: dict[tuple[str, str], _Route] = {}
        templated: dict[str, list[_Route]] = {}
        for route in routes:
            for method in route.methods:
                if "{" in route.path:
                    templated.setdefault(method, []).append(route)
                else:
                    static.setdefault((method, route.path), route)
        return cls(static, templated)

    def find(self, method: str, path: str) -> _Route | None:
        found = self.static.get((method, path))
        if found is not None:
            return found
        for route in self.templated.get(method, ()):
            if route.regex.match(path):
                return route
        return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._table: _Table | None = None

    def _route(self, application: Starlette, scope: Scope) -> _Route | None:
        if self._table is None:
            self._table = _Table.of(_routes(application))
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return self._table.find(scope["method"], path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = declared_length(headers)
        if not declared and "transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body
            return
        application: Starlette = scope["app"]
        route = self._route(application, scope)
        if route is not None and route.needs_caller:
            refused = await refusal(application, scope, headers)
            if refused is not None:
                await _answer(scope, send, refused)
                return
        limit = body_limit(
            route, scope["method"], headers.get("content-type", ""), settings_of(application)
        )
        if declared is not None and declared > limit:
            await _answer(scope, send, too_large(limit))
            return
        await self._counting(scope, receive, send, limit)

    async def _counting(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        overflow = False
        started = replaced = False

        async def counting_receive() -> Message:
            nonlocal received, overflow
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflow = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if message["type"] == "http.response.start" and overflow and not started:
                # The application caught the error and answers something else (FastAPI makes
                # any failure to read a body a 400): the answer is 413 all the same.
                replaced = started = True
                await _answer(scope, send, too_large(limit))
                return
            if replaced:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if started:
                raise
            await _answer(scope, send, too_large(limit))
        except Exception:
            if not overflow or started:
                raise
            await _answer(scope, send, too_large(limit))


async def _answer(scope: Scope, send: Send, error: MaillonError) -> None:
    # The body is never read here: the client's connection is closed by the server after the
    # answer when it is not all read.
    await problem_response(Request(scope), error)(scope, _no_body, send)
