"""``Idempotency-Key`` for every POST route, as an ASGI middleware.

A POST sent with ``Idempotency-Key`` is first *claimed* in ``idempotency_record`` (its own short
transaction, so concurrent requests see it), then run. Its response is held back until the route's
transaction has ended; then, before the client sees anything:

- the response is **stored** when the request's transaction committed (or, for a route that opened
  none, when it succeeded) and the status is below 500;
- otherwise the key is **released**: a rolled-back request changed nothing, so sending it again
  with the same key is safe and runs it again;
- a response marked ``Cache-Control: no-store`` (a secret shown once) is never stored either.

A later request with the same principal and key gets, until the record expires:
the stored status, headers and body plus ``Idempotent-Replayed: true`` when its method, path,
query and body are byte-for-byte the same; 409 ``idempotency-key-reused`` when they are not;
409 ``idempotency-key-in-progress`` while the first one runs. An expired record is replaced.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, null, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.auth.credentials import caller_key
from services.api.context import TransactionState, transaction_outcome
from services.api.deps import resources_of, settings_of
from services.api.errors import Conflict, MaillonError, ValidationFailed, problem_response
from services.api.validation import FieldError
from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.ids import uuid7
from services.core.logging import get_logger
from services.core.models import metadata

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
ANONYMOUS = "anonymous"
# How long a claim blocks the key if its process dies mid-request (crash, deploy).
IN_FLIGHT_LEASE = timedelta(minutes=5)

_VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# Per-request headers that must not be replayed.
_NOT_STORED = frozenset({"x-request-id", "set-cookie"})

log = get_logger("maillon.api.idempotency")
_records = metadata.tables["idempotency_record"]


class IdempotencyKeyReused(Conflict):
    code = "idempotency-key-reused"
    title = "Clé d'idempotence déjà utilisée"
    default_detail = (
        "Cette clé d'idempotence a déjà servi pour une requête différente. "
        "Utilisez une nouvelle clé pour une nouvelle requête."
    )


class IdempotencyKeyInProgress(Conflict):
    code = "idempotency-key-in-progress"
    title = "Requête déjà en cours"
    default_detail = (
        "Une requête avec cette clé d'idempotence est encore en cours de traitement. "
        "Réessayez dans quelques instants."
    )

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1"})


def principal_of(connection: HTTPConnection) -> str:
    """Who sends the request, as keys are unique per caller only.

    Read from the credentials themselves, before any route runs: a verified access token names its
    user, an API key its digest. Anything unverifiable is "anonymous" (the route will refuse it).
    ``request.state.principal`` wins when something upstream already set it.
    """
    principal = getattr(connection.state, "principal", None)
    if principal is not None:
        if not isinstance(principal, str):
            raise TypeError("request.state.principal must be a string id")
        return principal
    return (
        caller_key(connection.headers, settings_of(connection.app))
        if "app" in connection.scope
        else ANONYMOUS
    )


@dataclass(frozen=True)
class Fingerprint:
    principal: str
    key: str
    method: str
    path: str
    digest: str

    @classmethod
    def of(cls, scope: Scope, key: str, body: bytes) -> Fingerprint:
        method: str = scope["method"]
        path: str = scope["path"]
        query: bytes = scope.get("query_string", b"")
        digest = hashlib.sha256(b"\n".join([method.encode(), path.encode(), query, body]))
        return cls(principal_of(HTTPConnection(scope)), key, method, path, digest.hexdigest())


@dataclass(frozen=True)
class Claimed:
    record_id: uuid.UUID


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class IdempotencyStore:
    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker

    async def claim(self, request: Fingerprint, lease: timedelta) -> Claimed | StoredResponse:
        """Take the key for ``request``, or say why not (stored response, or a conflict)."""
        for _ in range(3):
            async with unit_of_work(self._sessionmaker) as session:
                current = now()
                # A fresh id on every claim: a claimant whose lease ran out cannot settle the
                # record of the request that replaced it.
                fields: dict[str, Any] = {
                    "id": uuid7(),
                    "updated_at": current,
                    "method": request.method,
                    "path": request.path[:2000],
                    "request_hash": request.digest,
                    "status_code": None,
                    "response_headers": null(),
                    "response_body": None,
                    "expires_at": current + lease,
                }
                statement = (
                    pg_insert(_records)
                    .values(principal=request.principal, key=request.key, created_at=current)
                    .values(fields)
                    .on_conflict_do_update(
                        index_elements=[_records.c.principal, _records.c.key],
                        set_=fields,
                        where=_records.c.expires_at <= current,
                    )
                    .returning(_records.c.id)
                )
                claimed = (await session.execute(statement)).scalar_one_or_none()
                if claimed is not None:
                    return Claimed(claimed)
                existing = (
                    await session.execute(
                        select(
                            _records.c.request_hash,
                            _records.c.status_code,
                            _records.c.response_headers,
                            _records.c.response_body,
                        ).where(
                            _records.c.principal == request.principal,
                            _records.c.key == request.key,
                        )
                    )
                ).one_or_none()
            if existing is None:
                continue  # released in between: claim again
            if existing.request_hash != request.digest:
                raise IdempotencyKeyReused()
            if existing.status_code is None:
                raise IdempotencyKeyInProgress()
            return StoredResponse(
                existing.status_code,
                [(name, value) for name, value in existing.response_headers or []],
                existing.response_body or b"",
            )
        raise IdempotencyKeyInProgress()

    async def complete(self, claim: Claimed, response: StoredResponse, ttl: timedelta) -> None:
        async with unit_of_work(self._sessionmaker) as session:
            current = now()
            await session.execute(
                update(_records)
                .where(_records.c.id == claim.record_id, _records.c.status_code.is_(None))
                .values(
                    status_code=response.status,
                    response_headers=[[name, value] for name, value in response.headers],
                    response_body=response.body,
                    expires_at=current + ttl,
                    updated_at=current,
                )
            )

    async def release(self, claim: Claimed) -> None:
        async with unit_of_work(self._sessionmaker) as session:
            await session.execute(
                delete(_records).where(
                    _records.c.id == claim.record_id, _records.c.status_code.is_(None)
                )
            )


def should_store(status: int, transaction: TransactionState | None) -> bool:
    if status >= 500 or transaction == "rolled_back":
        return False
    return transaction == "committed" or status < 400


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, ttl: timedelta, lease: timedelta = IN_FLIGHT_LEASE) -> None:
        self.app = app
        self.ttl = ttl
        self.lease = lease

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = Headers(scope=scope).get(IDEMPOTENCY_KEY_HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not _VALID_KEY.fullmatch(key):
            await _problem(scope, receive, send, _invalid_key())
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before sending its body
        store = IdempotencyStore(resources_of(scope["app"]).sessionmaker)
        try:
            claim = await store.claim(Fingerprint.of(scope, key, body), self.lease)
        except MaillonError as error:
            await _problem(scope, receive, send, error)
            return
        if isinstance(claim, StoredResponse):
            await _replay(send, claim)
            return
        await self._run(scope, _replaying(body, receive), send, store, claim)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, store: IdempotencyStore, claim: Claimed
    ) -> None:
        outcome = transaction_outcome(scope)
        held: list[Message] = []
        settled = False

        async def settle() -> None:
            nonlocal settled
            settled = True
            start = held[0] if held and held[0]["type"] == "http.response.start" else None
            status: int = start["status"] if start else 500
            try:
                if (
                    start is not None
                    and should_store(status, outcome.state)
                    and not _no_store(start)
                ):
                    body = b"".join(m.get("body", b"") for m in held[1:])
                    stored = StoredResponse(status, _headers(start), body)
                    await store.complete(claim, stored, self.ttl)
                else:
                    await store.release(claim)
            except Exception as exc:
                # The response still goes out; the claim lapses at the end of its lease.
                log.warning("idempotency_record_not_saved", error=type(exc).__name__)

        async def holding_send(message: Message) -> None:
            if message["type"] not in ("http.response.start", "http.response.body"):
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                await settle()
                for held_message in held:
                    await send(held_message)
                held.clear()

        try:
            await self.app(scope, receive, holding_send)
        finally:
            if not settled:
                held.clear()
                await settle()


def _no_store(start: Message) -> bool:
    """A response marked ``Cache-Control: no-store`` (a secret shown once, such as a new API key)
    is never written to the idempotency table: the key is released instead."""
    for name, value in start.get("headers", []):
        if name.lower() == b"cache-control" and b"no-store" in value.lower():
            return True
    return False


def _headers(start: Message) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in start.get("headers", [])
        if name.decode("latin-1").lower() not in _NOT_STORED
    ]


def _invalid_key() -> ValidationFailed:
    return ValidationFailed(
        [
            FieldError(
                loc=["header", IDEMPOTENCY_KEY_HEADER],
                message="de 1 à 255 caractères ASCII visibles (sans espace)",
                type="idempotency_key",
            )
        ]
    )


async def _problem(scope: Scope, receive: Receive, send: Send, error: MaillonError) -> None:
    await problem_response(Request(scope), error)(scope, receive, send)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the body already read to the app, then the real channel."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _replay(send: Send, stored: StoredResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
