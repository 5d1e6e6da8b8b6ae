"""Local stand-ins for the outside world: a real SMTP server (aiosmtpd) and a tiny HTTP/1.1
server on 127.0.0.1 for the SMS provider and webhook receivers. Nothing talks to the internet."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpSink:
    """Receives e-mail; ``messages`` holds each accepted message, parsed.

    ``stall_after``: once that many messages were accepted, the next RCPT command blocks (until
    ``release``), so a test can kill the sender at a known point: everything before accepted and
    marked, nothing of the next message accepted.
    """

    messages: list[EmailMessage] = field(default_factory=list)
    stall_after: int | None = None
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    refuse: bool = False  # answer ``refusal`` to every message
    refusal: str = "451 4.3.0 Réessayez plus tard"
    # Hold the answer to QUIT (until ``release``): the message is accepted, the session not over.
    stall_quit: bool = False
    quitting: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.stall_after is not None and len(self.messages) >= self.stall_after:
            self.stalled.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.stall_quit:
            self.quitting.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        return "221 Bye"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return self.refusal
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server(sink: SmtpSink, **options: Any) -> Any:
    """A real SMTP server on 127.0.0.1 (``options``: aiosmtpd's, e.g. TLS and authentication)."""
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        sink.release.set()
        controller.stop()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[Request], Awaitable[tuple[int, bytes]]]


@dataclass
class HttpServer:
    responder: Responder
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = Request(method, path, headers, body)
            self.requests.append(request)
            status, payload = await self.responder(request)
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def http_server(
    responder: Responder, tls: ssl.SSLContext | None = None
) -> AsyncIterator[HttpServer]:
    """On 127.0.0.1; over TLS with ``tls`` (a server context)."""
    server = HttpServer(responder)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        yield server
    finally:
        listener.close()
        await listener.wait_closed()
