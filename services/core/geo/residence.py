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

See docs/decisions/0013-geocoding-and-qpv-residence.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.core.clock import now
from services.core.geo.france import in_france
from services.core.geo.qpv import QpvHit, QpvIndex
from services.core.geocoding.base import GeocodeResult

_INSEE = re.compile(r"(?:\d{2}|2A|2B)\d{3}")


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
