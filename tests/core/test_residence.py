"""QPV residence as product.md §4.4 states it, against the real 2024 polygons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import shapely
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import FrozenClock
from services.core.geo.france import in_france
from services.core.geo.qpv import QpvIndex
from services.core.geo.residence import (
    CoordinatesOutsideFrance,
    QpvMethod,
    QpvReferenceMissing,
    QpvResidence,
    QpvStatus,
    decide_qpv_residence,
)
from services.core.geocoding import GeocodeResult
from services.core.models import Qpv

GOUTTE_DOR = (2.3535, 48.8865)
OPERA = (2.3316, 48.8719)
RURAL = "01001"  # L'Abergement-Clémenciat: no QPV
SAINT_DENIS = "93066"  # hosts several QPVs


def _geocoded(lon: float, lat: float, score: float) -> GeocodeResult:
    return GeocodeResult(
        lon=lon,
        lat=lat,
        score=score,
        label="adresse",
        citycode=None,
        postcode=None,
        result_type="housenumber",
        trusted=score >= 0.8,
    )


def test_commune_fixtures_are_what_they_say(qpv_index: QpvIndex) -> None:
    assert not qpv_index.commune_hosts_qpv(RURAL)
    assert qpv_index.commune_hosts_qpv(SAINT_DENIS)


def test_coordinates_in_goutte_dor(qpv_index: QpvIndex, clock: FrozenClock) -> None:
    residence = decide_qpv_residence(qpv_index, coordinates=GOUTTE_DOR, commune_insee=RURAL)
    assert qpv_index.dataset is not None
    assert residence == QpvResidence(
        status=QpvStatus.IN_QPV,
        code="QN07511M",
        method=QpvMethod.COORDINATES,
        score=None,
        polygon_version=qpv_index.dataset.version,
        near_boundary=False,
        checked_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )


def test_coordinates_outside_every_qpv(qpv_index: QpvIndex, clock: FrozenClock) -> None:
    residence = decide_qpv_residence(qpv_index, coordinates=OPERA, commune_insee="75109")
    assert (residence.status, residence.code, residence.method) == (
        QpvStatus.OUTSIDE_QPV,
        None,
        QpvMethod.COORDINATES,
    )


async def test_near_boundary_is_flagged(qpv_index: QpvIndex, db_session: AsyncSession) -> None:
    wkb = (
        await db_session.execute(select(col(Qpv.geometry)).where(col(Qpv.code) == "QN07511M"))
    ).scalar_one()
    lon, lat = shapely.get_coordinates(shapely.from_wkb(wkb))[10]
    residence = decide_qpv_residence(qpv_index, coordinates=(float(lon), float(lat)))
    assert residence.near_boundary
    assert residence.method is QpvMethod.COORDINATES


@pytest.mark.parametrize("point", [(0.0, 0.0), (48.8865, 2.3535), (-74.0, 40.7)])
def test_coordinates_outside_france_refused(
    qpv_index: QpvIndex, point: tuple[float, float]
) -> None:
    with pytest.raises(CoordinatesOutsideFrance, match="hors de France"):
        decide_qpv_residence(qpv_index, coordinates=point)


@pytest.mark.parametrize("point", [(float("nan"), 48.0), (200.0, 48.0), (2.0, 95.0)])
def test_impossible_coordinates_refused(qpv_index: QpvIndex, point: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="coordonnées invalides"):
        decide_qpv_residence(qpv_index, coordinates=point)


def test_trusted_geocoded_address(qpv_index: QpvIndex) -> None:
    residence = decide_qpv_residence(
        qpv_index, geocoded=_geocoded(*GOUTTE_DOR, 0.93), commune_insee="75118"
    )
    assert (residence.status, residence.code, residence.method, residence.score) == (
        QpvStatus.IN_QPV,
        "QN07511M",
        QpvMethod.GEOCODED_ADDRESS,
        0.93,
    )
    outside = decide_qpv_residence(qpv_index, geocoded=_geocoded(*OPERA, 0.8))
    assert (outside.status, outside.method, outside.score) == (
        QpvStatus.OUTSIDE_QPV,
        QpvMethod.GEOCODED_ADDRESS,
        0.8,
    )


def test_coordinates_win_over_the_address(qpv_index: QpvIndex) -> None:
    residence = decide_qpv_residence(
        qpv_index, coordinates=OPERA, geocoded=_geocoded(*GOUTTE_DOR, 0.99)
    )
    assert (residence.status, residence.method) == (QpvStatus.OUTSIDE_QPV, QpvMethod.COORDINATES)


def test_untrusted_geocoding_falls_back_to_the_commune(qpv_index: QpvIndex) -> None:
    vague = _geocoded(*GOUTTE_DOR, 0.5)
    in_saint_denis = decide_qpv_residence(qpv_index, geocoded=vague, commune_insee=SAINT_DENIS)
    assert (in_saint_denis.status, in_saint_denis.code, in_saint_denis.method) == (
        QpvStatus.UNKNOWN,
        None,
        QpvMethod.COMMUNE_ONLY,
    )
    assert in_saint_denis.score is None
    rural = decide_qpv_residence(qpv_index, geocoded=vague, commune_insee=RURAL)
    assert (rural.status, rural.method) == (QpvStatus.OUTSIDE_QPV, QpvMethod.COMMUNE_ONLY)
    # A trusted score with a point outside France is no better.
    abroad = decide_qpv_residence(qpv_index, geocoded=_geocoded(-74.0, 40.7, 0.99))
    assert (abroad.status, abroad.method) == (QpvStatus.UNKNOWN, None)


def test_commune_without_qpv_is_outside(qpv_index: QpvIndex) -> None:
    residence = decide_qpv_residence(qpv_index, commune_insee=RURAL)
    assert (residence.status, residence.code, residence.method, residence.near_boundary) == (
        QpvStatus.OUTSIDE_QPV,
        None,
        QpvMethod.COMMUNE_ONLY,
        False,
    )


@pytest.mark.parametrize("insee", [SAINT_DENIS, "75118", "75056", "69383", "13203"])
def test_commune_hosting_qpvs_without_a_point_is_unknown(qpv_index: QpvIndex, insee: str) -> None:
    residence = decide_qpv_residence(qpv_index, commune_insee=insee)
    assert (residence.status, residence.code, residence.method) == (
        QpvStatus.UNKNOWN,
        None,
        QpvMethod.COMMUNE_ONLY,
    )


def test_nothing_known(qpv_index: QpvIndex) -> None:
    residence = decide_qpv_residence(qpv_index)
    assert (residence.status, residence.method, residence.retry_geocoding) == (
        QpvStatus.UNKNOWN,
        None,
        False,
    )


def test_a_statement_never_decides(qpv_index: QpvIndex) -> None:
    declared = decide_qpv_residence(qpv_index, commune_insee=SAINT_DENIS, declared=True)
    assert (declared.status, declared.code, declared.method) == (
        QpvStatus.UNKNOWN,
        None,
        QpvMethod.DECLARED,
    )
    # The commune has no QPV: the statement cannot be right.
    rural = decide_qpv_residence(qpv_index, commune_insee=RURAL, declared=True)
    assert (rural.status, rural.method) == (QpvStatus.OUTSIDE_QPV, QpvMethod.COMMUNE_ONLY)
    # A point decides.
    point = decide_qpv_residence(qpv_index, coordinates=GOUTTE_DOR, declared=True)
    assert (point.status, point.method) == (QpvStatus.IN_QPV, QpvMethod.COORDINATES)


def test_geocoder_down_asks_for_a_retry_unless_the_commune_decides(qpv_index: QpvIndex) -> None:
    pending = decide_qpv_residence(qpv_index, commune_insee=SAINT_DENIS, geocoder_unavailable=True)
    assert (pending.status, pending.method, pending.retry_geocoding) == (
        QpvStatus.UNKNOWN,
        QpvMethod.COMMUNE_ONLY,
        True,
    )
    final = decide_qpv_residence(qpv_index, commune_insee=RURAL, geocoder_unavailable=True)
    assert (final.status, final.retry_geocoding) == (QpvStatus.OUTSIDE_QPV, False)


@pytest.mark.parametrize("insee", ["9306", "ABCDE", "930666", "../x"])
def test_malformed_commune_code(qpv_index: QpvIndex, insee: str) -> None:
    with pytest.raises(ValueError, match="code INSEE"):
        decide_qpv_residence(qpv_index, commune_insee=insee)


def test_no_polygons_loaded() -> None:
    with pytest.raises(QpvReferenceMissing, match="non chargé"):
        decide_qpv_residence(QpvIndex([]), commune_insee=RURAL)


async def test_every_qpv_of_the_reference_lies_in_france(qpv_index: QpvIndex) -> None:
    """No person living in a quartier of the 2024 list is refused as "hors de France" — the
    88 quartiers of French Polynesia (QN987…) included — while Nouméa still is."""
    assert len(qpv_index) == 1584
    for code, geometry in zip(qpv_index._codes, qpv_index._geometries, strict=True):
        point = geometry.representative_point()
        assert in_france(point.x, point.y), code
    assert not in_france(166.45, -22.27)  # Nouméa: outside the QPV rule
