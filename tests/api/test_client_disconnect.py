"""A client that hangs up in the middle of its request is not an error of the API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from services.api import middleware


class Recorder:
    """Stands for a structlog logger: keeps (level, event, fields) of each line."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Any:
        def log(event: str, **fields: Any) -> None:
            self.lines.append((level, event, fields))

        return log


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[int]:
    """The app behind a real uvicorn server on loopback; yields its port."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "the server did not start"
            await asyncio.sleep(0.02)
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


async def test_a_client_hanging_up_during_its_body_is_logged_as_such_not_as_a_500(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors, access = Recorder(), Recorder()
    monkeypatch.setattr(middleware, "error_log", errors)
    monkeypatch.setattr(middleware, "access_log", access)
    async with serving(app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # An SMS report whose body never arrives whole: the provider's connection dropped.
        writer.write(
            b"POST /v1/notifications/sms-status HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n"
            b'{"id": "'
        )
        await writer.drain()
        writer.close()  # the request has begun (its headers are in): the API reads its body
        await writer.wait_closed()
        assert await reader.read() == b""  # nothing was answered
        # The server finishes the request it was serving before it stops (see serving()).
    assert errors.lines == [("info", "client_disconnected", {"route": "/notifications/sms-status"})]
    [(_, event, fields)] = access.lines
    assert (event, fields["status"]) == ("http_request", 499)
