"""A lean HTTP/1.1 client for load generation: keep-alive connections over asyncio streams.

The load generator shares the two cores with the API and PostgreSQL. A general client (httpx)
spends about a millisecond of Python per request, which at 500 requests a second is a quarter of
the machine taken from the system under test. This one writes a pre-encoded request and reads
the status line, the headers and a ``Content-Length`` (or chunked) body: a few tens of
microseconds. It speaks only to the local API it was pointed at.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit


class ProtocolError(Exception):
    """The server answered something this client does not read."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class Connection:
    """One keep-alive connection, one request at a time."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError("only plain http to a local API is supported")
        self.host = parts.hostname
        self.port = parts.port or 80
        fixed = {"Host": f"{self.host}:{self.port}", **headers}
        self._head = "".join(f"{name}: {value}\r\n" for name, value in fixed.items()).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def post_json(self, path: str, body: bytes) -> Answer:
        reader, writer = await self._open()
        writer.write(
            b"POST %s HTTP/1.1\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (path.encode(), self._head, len(body))
            + body
        )
        try:
            return await self._read(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.close()
            raise

    async def _read(self, reader: asyncio.StreamReader) -> Answer:
        status_line = await reader.readuntil(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ProtocolError("not an HTTP/1.x answer")
        status = int(parts[1])
        length: int | None = None
        chunked, keep_alive = False, True
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                keep_alive = False
        if chunked:
            body = bytearray()
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            content = bytes(body)
        else:
            content = await reader.readexactly(length or 0)
        if not keep_alive:
            await self.close()
        return Answer(status=status, body=content)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
