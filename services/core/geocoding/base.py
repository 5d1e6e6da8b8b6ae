"""The geocoder interface and its results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class GeocoderUnavailable(Exception):
    """The geocoder could not answer (down, timing out, answering garbage): try again later."""

    def __init__(self, reason: str = "service de géocodage indisponible") -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class GeocodeQuery:
    address: str
    citycode: str | None = None  # INSEE code of the commune, narrows the search
    postcode: str | None = None


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    """The best match for an address. ``trusted`` when its score reaches the minimum (0.8)."""

    lon: float
    lat: float
    score: float
    label: str
    citycode: str | None
    postcode: str | None
    result_type: str | None  # BAN: housenumber, street, locality, municipality
    trusted: bool


class Geocoder(Protocol):
    async def geocode(
        self, address: str, *, citycode: str | None = None, postcode: str | None = None
    ) -> GeocodeResult | None:
        """The best match, ``None`` when the address matches nothing.

        Raises :class:`GeocoderUnavailable` when the service cannot answer.
        """
        ...

    async def geocode_many(
        self, queries: Sequence[GeocodeQuery]
    ) -> list[GeocodeResult | GeocoderUnavailable | None]:
        """One answer per query, in order; a failed query gets a :class:`GeocoderUnavailable`.

        Never raises for one query's failure: the rest of the batch is still answered.
        """
        ...
