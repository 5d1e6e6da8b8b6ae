"""A client of the BAN geocoder (``https://data.geopf.fr/geocodage/search`` by default).

One GET per address (``q``, ``citycode``, ``postcode``, ``limit=1``, ``index=address``); a batch
runs those requests with bounded concurrency. Timeouts and 5xx / 429 answers are retried once;
then the address is reported unavailable, and the rest of the batch is not sent to a service
that is down. Addresses never appear in logs.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from services.core.geocoding.base import GeocodeQuery, GeocodeResult, GeocoderUnavailable
from services.core.logging import get_logger
from services.core.settings import Settings

log = get_logger("maillon.geocoding")

# The BAN refuses queries shorter than 3 characters or longer than 200.
MIN_QUERY_LENGTH = 3
MAX_QUERY_LENGTH = 200


class BanGeocoder:
    """:class:`~services.core.geocoding.base.Geocoder` backed by the BAN HTTP API."""

    def __init__(
        self,
        url: str,
        *,
        min_score: float = 0.8,
        timeout_seconds: float = 5.0,
        connect_timeout_seconds: float = 2.0,
        concurrency: int = 8,
        tries: int = 2,
        retry_delay_seconds: float = 0.2,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if concurrency < 1 or tries < 1:
            raise ValueError("concurrency and tries must be at least 1")
        self.url = url
        self.min_score = min_score
        self.concurrency = concurrency
        self.tries = tries
        self.retry_delay_seconds = retry_delay_seconds
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"User-Agent": "maillon"},
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, client: httpx.AsyncClient | None = None) -> Self:
        return cls(
            settings.geocoder_url,
            min_score=settings.geocoder_min_score,
            timeout_seconds=settings.geocoder_timeout_seconds,
            connect_timeout_seconds=settings.geocoder_connect_timeout_seconds,
            concurrency=settings.geocoder_concurrency,
            tries=settings.geocoder_tries,
            client=client,
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def geocode(
        self, address: str, *, citycode: str | None = None, postcode: str | None = None
    ) -> GeocodeResult | None:
        query = " ".join(address.split())[:MAX_QUERY_LENGTH].strip()
        if len(query) < MIN_QUERY_LENGTH or not any(c.isalnum() for c in query):
            return None
        params = {"q": query, "limit": "1", "index": "address"}
        if citycode:
            params["citycode"] = citycode
        if postcode:
            params["postcode"] = postcode
        body = await self._get(params)
        return self._parse(body)

    async def geocode_many(
        self, queries: Sequence[GeocodeQuery]
    ) -> list[GeocodeResult | GeocoderUnavailable | None]:
        semaphore = asyncio.Semaphore(self.concurrency)
        down: list[GeocoderUnavailable] = []  # the first outage seen stops the rest

        async def one(query: GeocodeQuery) -> GeocodeResult | GeocoderUnavailable | None:
            async with semaphore:
                if down:
                    return down[0]
                try:
                    return await self.geocode(
                        query.address, citycode=query.citycode, postcode=query.postcode
                    )
                except GeocoderUnavailable as exc:
                    down.append(exc)
                    return exc

        return list(await asyncio.gather(*(one(query) for query in queries)))

    async def _get(self, params: dict[str, str]) -> Any:
        reason = "service de géocodage indisponible"
        for attempt in range(1, self.tries + 1):
            if attempt > 1 and self.retry_delay_seconds > 0:
                await asyncio.sleep(self.retry_delay_seconds * (attempt - 1))
            try:
                response = await self._client.get(self.url, params=params)
            except httpx.TimeoutException:
                reason = "service de géocodage trop lent (délai dépassé)"
                continue
            except httpx.TransportError:
                reason = "service de géocodage injoignable"
                continue
            if response.status_code >= 500 or response.status_code == 429:
                reason = f"service de géocodage en erreur (HTTP {response.status_code})"
                continue
            if response.status_code != 200:
                # The query itself was refused (400: too short, bad code…): no match, no retry.
                log.info("geocoder_query_refused", status=response.status_code)
                return {"features": []}
            try:
                return response.json()
            except ValueError:
                reason = "réponse illisible du service de géocodage"
                continue
        log.warning("geocoder_unavailable", reason=reason, tries=self.tries)
        raise GeocoderUnavailable(reason)

    def _parse(self, body: Any) -> GeocodeResult | None:
        try:
            features = body["features"]
            if not features:
                return None
            feature = features[0]
            lon, lat = (float(v) for v in feature["geometry"]["coordinates"][:2])
            properties = feature.get("properties") or {}
            score = float(properties.get("score", 0.0))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise GeocoderUnavailable("réponse illisible du service de géocodage") from exc
        if not (math.isfinite(lon) and math.isfinite(lat) and math.isfinite(score)):
            raise GeocoderUnavailable("réponse illisible du service de géocodage")
        return GeocodeResult(
            lon=lon,
            lat=lat,
            score=score,
            label=str(properties.get("label") or ""),
            citycode=_text(properties.get("citycode")),
            postcode=_text(properties.get("postcode")),
            result_type=_text(properties.get("type")),
            trusted=score >= self.min_score,
        )


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
