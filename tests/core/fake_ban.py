"""A local stand-in for the BAN geocoder: a real HTTP/1.1 server on 127.0.0.1.

It answers ``GET /search?q=…`` with a GeoJSON FeatureCollection like the national service, and
can be told to fail (500), hang, or answer garbage. Nothing here talks to the internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

Mode = Literal["ok", "fail", "hang", "garbage"]


@dataclass
class Place:
    lon: float
    lat: float
    score: float
    label: str
    citycode: str
    postcode: str
    kind: str = "housenumber"


@dataclass
class FakeBan:
    places: dict[str, Place] = field(default_factory=dict)  # q (lower case) → answer
    mode: Mode = "ok"
    delay: float = 0.0  # seconds before each answer
    requests: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    url: str = ""
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def feature_collection(self, params: dict[str, str]) -> dict[str, Any]:
        place = self.places.get(params.get("q", "").lower())
        if place is None or (params.get("citycode") not in (None, place.citycode)):
            return {"type": "FeatureCollection", "features": []}
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [place.lon, place.lat]},
                    "properties": {
                        "label": place.label,
                        "score": place.score,
                        "citycode": place.citycode,
                        "postcode": place.postcode,
                        "type": place.kind,
                    },
                }
            ],
        }

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode()
            parts = urlsplit(target)
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            self.requests.append(params)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.delay:
                    await asyncio.sleep(self.delay)
                if self.mode == "hang":
                    await self._release.wait()
                    return
                if self.mode == "fail":
                    status, body = "500 Internal Server Error", b'{"message":"erreur"}'
                elif self.mode == "garbage":
                    status, body = "200 OK", b"<html>maintenance</html>"
                elif parts.path != "/search":
                    status, body = "404 Not Found", b"{}"
                else:
                    status, body = "200 OK", json.dumps(self.feature_collection(params)).encode()
            finally:
                self.in_flight -= 1
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@asynccontextmanager
async def running_fake_ban() -> AsyncIterator[FakeBan]:
    fake = FakeBan()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    fake.url = f"http://127.0.0.1:{port}/search"
    try:
        yield fake
    finally:
        fake._release.set()
        server.close()
        await server.wait_closed()
