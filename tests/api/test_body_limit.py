"""Request bodies: the caller checked before the body is read, a size limit per route, a body
without a declared length read only up to the limit (decision 0054).

Requests are sent to the ASGI application directly, so that the test sees every chunk the
application asks for: "not read" means not one ``receive`` of the body.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.body_limit import BATCH_MAX_BYTES, JSON_MAX_BYTES, MULTIPART_OVERHEAD_BYTES
from services.core.clock import now
from services.core.models.organisation import OrganisationKind
from services.core.models.user import Role
from services.core.security.tokens import new_api_key
from services.core.settings import Settings
from tests.factories import bearer, make_api_key, make_organisation, make_user

CHUNK = 64 * 1024


@dataclass
class Sent:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks_read: int = 0
    bytes_read: int = 0

    def problem(self) -> dict[str, Any]:
        assert self.headers["content-type"] == "application/problem+json"
        problem: dict[str, Any] = json.loads(self.body)
        assert problem["status"] == self.status
        return problem


def endless(chunk: int = CHUNK) -> Iterator[bytes]:
    while True:
        yield b"x" * chunk


async def send_raw(
    app: FastAPI,
    method: str,
    path: str,
    headers: dict[str, str],
    chunks: Iterator[bytes],
) -> Sent:
    """One request to the application, its body handed out chunk by chunk as it asks."""
    sent = Sent()
    done = False

    async def receive() -> dict[str, Any]:
        nonlocal done
        if done:
            return {"type": "http.disconnect"}
        piece = next(chunks, None)
        if piece is None:
            done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        sent.chunks_read += 1
        sent.bytes_read += len(piece)
        return {"type": "http.request", "body": piece, "more_body": True}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.status = message["status"]
            sent.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    await app(scope, receive, send)
    return sent


@pytest.fixture
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with LifespanManager(app):
        yield app


@pytest.fixture
async def token(db_session: AsyncSession, settings: Settings) -> dict[str, str]:
    facilitator = await make_organisation(db_session, kind=OrganisationKind.FACILITATION)
    return bearer(await make_user(db_session, facilitator, Role.FACILITATOR), settings)


JSON = {"content-type": "application/json"}


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    running: FastAPI, token: dict[str, str]
) -> None:
    headers = {**token, **JSON, "content-length": str(JSON_MAX_BYTES + 1)}
    sent = await send_raw(running, "POST", "/v1/contracts", headers, endless())
    assert sent.status == 413
    problem = sent.problem()
    assert problem["type"] == "/problems/payload-too-large"
    assert problem["detail"] == (
        "Le corps de la requête dépasse la taille acceptée pour cette opération (1 Mo)."
    )
    assert sent.chunks_read == 0


async def test_a_chunked_body_is_read_only_up_to_the_limit(
    running: FastAPI, token: dict[str, str]
) -> None:
    headers = {**token, **JSON, "transfer-encoding": "chunked"}
    sent = await send_raw(running, "POST", "/v1/contracts", headers, endless())
    assert sent.status == 413
    assert sent.problem()["type"] == "/problems/payload-too-large"
    # Reading stopped at the first chunk past the limit.
    assert JSON_MAX_BYTES < sent.bytes_read <= JSON_MAX_BYTES + CHUNK


async def test_a_chunked_body_within_the_limit_reaches_the_route(
    running: FastAPI, token: dict[str, str]
) -> None:
    headers = {**token, **JSON, "transfer-encoding": "chunked"}
    sent = await send_raw(running, "POST", "/v1/contracts", headers, iter([b"{", b"}"]))
    assert sent.status == 422  # the route's own validation: the body was read whole
    assert sent.problem()["type"] == "/problems/validation-failed"


@pytest.mark.parametrize("length", [str(150 * 1024 * 1024), "10", None])
@pytest.mark.parametrize(
    "credentials",
    [{}, {"Authorization": "Bearer pas-un-jeton"}, {"X-API-Key": "pas-une-cle"}],
    ids=["none", "bad-token", "bad-key"],
)
async def test_an_unauthenticated_body_is_never_read(
    running: FastAPI, credentials: dict[str, str], length: str | None
) -> None:
    framing = {"content-length": length} if length else {"transfer-encoding": "chunked"}
    headers = {**credentials, **JSON, **framing}
    sent = await send_raw(running, "POST", "/v1/contracts", headers, endless())
    assert sent.status == 401
    assert sent.problem()["type"] == "/problems/unauthorized"
    assert sent.headers["www-authenticate"] == 'Bearer realm="maillon"'
    assert sent.chunks_read == 0


async def test_a_public_route_bounds_its_body_too(running: FastAPI) -> None:
    headers = {**JSON, "transfer-encoding": "chunked"}
    sent = await send_raw(running, "POST", "/v1/auth/logout", headers, endless())
    assert sent.status == 413
    assert sent.bytes_read <= JSON_MAX_BYTES + CHUNK


async def test_larger_routes_have_larger_limits(
    running: FastAPI, token: dict[str, str], settings: Settings
) -> None:
    # Past the JSON limit but within the route's: read, then refused by the route itself.
    batch = {**token, **JSON, "content-length": str(BATCH_MAX_BYTES)}
    sent = await send_raw(
        running, "POST", "/v1/intakes/batch", batch, iter([b"x" * BATCH_MAX_BYTES])
    )
    assert sent.status != 413
    assert sent.chunks_read == 1
    over = {**batch, "content-length": str(BATCH_MAX_BYTES + 1)}
    assert (await send_raw(running, "POST", "/v1/intakes/batch", over, endless())).status == 413

    upload_limit = 2 * settings.upload_max_bytes + MULTIPART_OVERHEAD_BYTES
    multipart = {**token, "content-type": "multipart/form-data; boundary=b"}
    within = {**multipart, "content-length": str(JSON_MAX_BYTES * 2)}
    sent = await send_raw(running, "POST", "/v1/intakes", within, iter([b"x" * JSON_MAX_BYTES * 2]))
    assert sent.status != 413
    over = {**multipart, "content-length": str(upload_limit + 1)}
    assert (await send_raw(running, "POST", "/v1/intakes", over, endless())).status == 413
    # The same route in JSON keeps the JSON limit.
    json_over = {**token, **JSON, "content-length": str(JSON_MAX_BYTES + 1)}
    assert (await send_raw(running, "POST", "/v1/intakes", json_over, endless())).status == 413


async def _api_key(
    session: AsyncSession, *, revoked: bool = False, expired: bool = False
) -> dict[str, str]:
    moment = now()
    return await make_api_key(
        session,
        await make_organisation(session, kind=OrganisationKind.EMPLOYER),
        scopes=["webhooks:write"],
        revoked_at=moment if revoked else None,
        expires_at=moment - timedelta(minutes=1) if expired else None,
    )


@pytest.mark.parametrize("length", [str(JSON_MAX_BYTES), None])
@pytest.mark.parametrize("key", ["unknown", "revoked", "expired", "bearer-unknown"])
async def test_a_well_formed_key_is_looked_up_before_its_body_is_read(
    running: FastAPI, db_session: AsyncSession, key: str, length: str | None
) -> None:
    if key in ("unknown", "bearer-unknown"):
        secret = new_api_key().key  # the right shape, but no such key
        credentials = (
            {"X-API-Key": secret} if key == "unknown" else {"Authorization": f"Bearer {secret}"}
        )
    else:
        credentials = await _api_key(db_session, revoked=key == "revoked", expired=key == "expired")
    framing = {"content-length": length} if length else {"transfer-encoding": "chunked"}
    headers = {**credentials, **JSON, **framing}
    # A route whose body FastAPI reads before it solves the route's dependencies.
    sent = await send_raw(running, "POST", "/v1/webhooks", headers, endless())
    assert sent.status == 401
    problem = sent.problem()
    assert problem["type"] == "/problems/unauthorized"
    assert problem["detail"] == "Clé d'API inconnue, expirée ou révoquée."
    assert sent.chunks_read == 0


async def test_a_known_key_reaches_its_route_with_its_body(
    running: FastAPI, db_session: AsyncSession
) -> None:
    headers = {**await _api_key(db_session), **JSON, "transfer-encoding": "chunked"}
    sent = await send_raw(running, "POST", "/v1/webhooks", headers, iter([b"{", b"}"]))
    assert sent.status == 422  # the route's own validation: the key was good, the body read
    assert sent.problem()["type"] == "/problems/validation-failed"
    assert sent.chunks_read == 2
