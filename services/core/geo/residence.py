"""Where a person lives with respect to the QPV: the rule of product.md §4.4, as a pure function.

Precedence, first that applies:

1. coordinates sent by the client → point-in-polygon (``coordinates``);
2. an address geocoded with a trusted score (≥ 0.8) → point-in-polygon (``geocoded_address``,
   with the score);
3. a commune hosting no QPV at all → ``outside_qpv`` (``commune_only``), certain whatever the
   address;
4. a person's own statement (``declared``) without a usable point → ``unknown``: a statement is
   recorded, it never decides the status;
5. a commune hosting QPVs without a precise point → ``unknown`` (``commune_only``);
6. nothing → ``unknown`` without a method.

:func:`locate_residences` adds the geocoding of a batch of forms in one pass.

See docs/decisions/0013-geocoding-and-qpv-residence.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.core.clock import now
from services.core.geo.france import in_france
from services.core.geo.qpv import QpvHit, QpvIndex
from services.core.geocoding.base import GeocodeQuery, Geocoder, GeocodeResult, GeocoderUnavailable

_INSEE = re.compile(r"(?:\d{2}|2A|2B)\d{3}")
# The BAN files Paris, Lyon and Marseille addresses under their arrondissements: filtering on
# the city's own code would find nothing.
_CITIES_WITH_ARRONDISSEMENTS = frozenset({"75056", "69123", "13055"})


class QpvStatus(StrEnum):
    IN_QPV = "in_qpv"
    OUTSIDE_QPV = "outside_qpv"
    UNKNOWN = "unknown"


class QpvMethod(StrEnum):
    GEOCODED_ADDRESS = "geocoded_address"
    COORDINATES = "coordinates"
    DECLARED = "declared"
    COMMUNE_ONLY = "commune_only"


class CoordinatesOutsideFrance(ValueError):
    """Client coordinates outside every French territory (swapped, zero point, typo)."""

    code = "coordinates-outside-france"

    def __init__(self) -> None:
        super().__init__("coordonnées hors de France : vérifiez la longitude et la latitude")


class QpvReferenceMissing(RuntimeError):
    """No QPV polygon is loaded: no commune may be declared free of QPV."""

    def __init__(self) -> None:
        super().__init__("Référentiel QPV non chargé (maillon import qpv)")


@dataclass(frozen=True, slots=True)
class QpvResidence:
    status: QpvStatus
    code: str | None  # the QPV holding the point, when ``in_qpv``
    method: QpvMethod | None  # None when nothing at all was known
    score: float | None  # the geocoding score, when the point came from an address
    polygon_version: str | None  # the QPV dataset version (SHA-256) the answer was computed with
    near_boundary: bool  # within ~15 m of a QPV boundary: the ANCT tool has the last word
    checked_at: datetime
    # The address could not be geocoded because the geocoder was down and the answer is not
    # final: a job should geocode it again.
    retry_geocoding: bool = False


def decide_qpv_residence(
    index: QpvIndex,
    *,
    coordinates: tuple[float, float] | None = None,
    geocoded: GeocodeResult | None = None,
    commune_insee: str | None = None,
    declared: bool = False,
    geocoder_unavailable: bool = False,
) -> QpvResidence:
    """Decide QPV residence from what is known about a person.

    ``coordinates`` are (longitude, latitude) in WGS84 degrees as the client sent them; outside
    France they raise :class:`CoordinatesOutsideFrance` (and ``ValueError`` when not numbers in
    range). ``geocoded`` is the geocoder's answer for the person's address, trusted or not.
    ``commune_insee`` is the person's commune (arrondissements count for their city), already
    checked against the commune referential by the caller. ``declared`` tells that the person
    stated their QPV residence themselves. ``geocoder_unavailable`` tells that an address exists
    but could not be geocoded; the result then asks for a retry unless the commune decides.
    """
    if len(index) == 0:
        raise QpvReferenceMissing()
    version = index.dataset.version if index.dataset is not None else None
    checked_at = now()

    if coordinates is not None:
        lon, lat = coordinates
        result = index.lookup(lon, lat)  # ValueError for non-finite or out-of-range numbers
        if not in_france(lon, lat):
            raise CoordinatesOutsideFrance()
        return QpvResidence(
            status=QpvStatus.IN_QPV if result.in_qpv else QpvStatus.OUTSIDE_QPV,
            code=result.code if isinstance(result, QpvHit) else None,
            method=QpvMethod.COORDINATES,
            score=None,
            polygon_version=version,
            near_boundary=result.near_boundary,
            checked_at=checked_at,
        )

    if geocoded is not None and geocoded.trusted and in_france(geocoded.lon, geocoded.lat):
        result = index.lookup(geocoded.lon, geocoded.lat)
        return QpvResidence(
            status=QpvStatus.IN_QPV if result.in_qpv else QpvStatus.OUTSIDE_QPV,
            code=result.code if isinstance(result, QpvHit) else None,
            method=QpvMethod.GEOCODED_ADDRESS,
            score=geocoded.score,
            polygon_version=version,
            near_boundary=result.near_boundary,
            checked_at=checked_at,
        )

    insee = commune_insee.strip().upper() if commune_insee else None
    if insee is not None and _INSEE.fullmatch(insee) is None:
        raise ValueError("code INSEE de commune invalide (5 caractères, ex. 93066 ou 2A004)")
    if insee is not None and not index.commune_hosts_qpv(insee):
        return QpvResidence(
            status=QpvStatus.OUTSIDE_QPV,
            code=None,
            method=QpvMethod.COMMUNE_ONLY,
            score=None,
            polygon_version=version,
            near_boundary=False,
            checked_at=checked_at,
        )

    if declared:
        method: QpvMethod | None = QpvMethod.DECLARED
    elif insee is not None:
        method = QpvMethod.COMMUNE_ONLY
    else:
        method = None
    return QpvResidence(
        status=QpvStatus.UNKNOWN,
        code=None,
        method=method,
        score=None,
        polygon_version=version,
        near_boundary=False,
        checked_at=checked_at,
        retry_geocoding=geocoder_unavailable,
    )


@dataclass(frozen=True, slots=True)
class ResidenceInput:
    """What a form tells about where a person lives."""

    coordinates: tuple[float, float] | None = None  # (lon, lat) sent by the client
    address: str | None = None  # street address, without the commune when it is separate
    postcode: str | None = None
    commune_insee: str | None = None
    declared: bool = False


@dataclass(frozen=True, slots=True)
class LocatedResidence:
    residence: QpvResidence
    # The geocoder's answer (trusted or not), to store the point or show the matched label.
    geocoded: GeocodeResult | None


async def locate_residences(
    index: QpvIndex, geocoder: Geocoder | None, inputs: Sequence[ResidenceInput]
) -> list[LocatedResidence | ValueError]:
    """Decide QPV residence for a batch of forms, geocoding their addresses in one pass.

    Addresses are geocoded only for inputs without coordinates. With the geocoder down (or
    ``None``: geocoding disabled) the decision falls back to the commune; ``retry_geocoding``
    tells which results a job should compute again. An input the rule refuses (coordinates
    outside France, malformed commune code) gets its ``ValueError`` in place, so one bad form
    does not stop the batch. :class:`QpvReferenceMissing` is raised for the whole batch.
    """
    if len(index) == 0:
        raise QpvReferenceMissing()
    to_geocode = [i for i, item in enumerate(inputs) if item.coordinates is None and item.address]
    answers: dict[int, GeocodeResult | GeocoderUnavailable | None] = {}
    if geocoder is not None and to_geocode:
        found = await geocoder.geocode_many(
            [
                GeocodeQuery(
                    inputs[i].address or "",
                    citycode=_ban_citycode(inputs[i].commune_insee),
                    postcode=inputs[i].postcode,
                )
                for i in to_geocode
            ]
        )
        answers = dict(zip(to_geocode, found, strict=True))
    results: list[LocatedResidence | ValueError] = []
    for i, item in enumerate(inputs):
        answer = answers.get(i)
        geocoded = answer if isinstance(answer, GeocodeResult) else None
        try:
            residence = decide_qpv_residence(
                index,
                coordinates=item.coordinates,
                geocoded=geocoded,
                commune_insee=item.commune_insee,
                declared=item.declared,
                geocoder_unavailable=isinstance(answer, GeocoderUnavailable),
            )
        except ValueError as exc:
            results.append(exc)
            continue
        results.append(LocatedResidence(residence=residence, geocoded=geocoded))
    return results


async def locate_residence(
    index: QpvIndex, geocoder: Geocoder | None, item: ResidenceInput
) -> LocatedResidence:
    """:func:`locate_residences` for one form; refused input raises its ``ValueError``."""
    (result,) = await locate_residences(index, geocoder, [item])
    if isinstance(result, ValueError):
        raise result
    return result


def _ban_citycode(insee: str | None) -> str | None:
    if insee is None:
        return None
    insee = insee.strip().upper()
    if _INSEE.fullmatch(insee) is None or insee in _CITIES_WITH_ARRONDISSEMENTS:
        return None
    return insee
