"""QPV lookups on the real 2024 polygons, and distances to their boundaries in metres."""

from __future__ import annotations

import math
from typing import Any

import pytest
import shapely
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.geo.distance import haversine_km
from services.core.geo.qpv import QpvHit, QpvIndex, QpvMiss, QpvPolygon, metres_per_degree
from services.core.models import Qpv

# ~1 m of latitude, from the mean meridian degree (independent of the code under test).
DEGREE_LAT_PER_M = 1 / 111_195


async def _polygon(session: AsyncSession, code: str) -> Any:
    wkb = (
        await session.execute(select(col(Qpv.geometry)).where(col(Qpv.code) == code))
    ).scalar_one()
    return shapely.from_wkb(wkb)


def test_goutte_dor(qpv_index: QpvIndex) -> None:
    result = qpv_index.lookup(2.3535, 48.8865)
    assert isinstance(result, QpvHit)
    assert (result.code, result.name) == ("QN07511M", "Goutte D'Or")
    assert result.in_qpv
    assert not result.near_boundary
    assert result.distance_to_boundary_m > 15


def test_outside_every_qpv(qpv_index: QpvIndex) -> None:
    result = qpv_index.lookup(2.3316, 48.8719)  # Opéra
    assert result == QpvMiss(near_boundary=False, distance_to_boundary_m=None, nearest_code=None)
    assert not result.in_qpv


def test_the_index_knows_its_dataset(qpv_index: QpvIndex) -> None:
    assert len(qpv_index) == 1584
    assert qpv_index.dataset is not None
    assert qpv_index.dataset.label == "2024"


async def test_a_point_a_few_metres_from_a_boundary_is_flagged(
    qpv_index: QpvIndex, db_session: AsyncSession
) -> None:
    polygon = await _polygon(db_session, "QN07511M")
    vertex_lon, vertex_lat = shapely.get_coordinates(polygon)[10]
    for dlat in (5 * DEGREE_LAT_PER_M, -5 * DEGREE_LAT_PER_M):
        result = qpv_index.lookup(vertex_lon, vertex_lat + dlat)
        assert result.near_boundary
        assert result.distance_to_boundary_m is not None
        assert result.distance_to_boundary_m <= 5.1
        if isinstance(result, QpvMiss):
            assert result.nearest_code == "QN07511M"
        else:
            assert result.code == "QN07511M"


async def test_a_point_farther_than_the_margin_is_not_flagged(
    qpv_index: QpvIndex, db_session: AsyncSession
) -> None:
    polygon = await _polygon(db_session, "QN07511M")
    outside = shapely.get_coordinates(polygon)[:, 1].max() + 30 * DEGREE_LAT_PER_M
    lon = shapely.get_coordinates(polygon)[:, 0].mean()
    result = qpv_index.lookup(lon, outside)
    assert isinstance(result, QpvMiss)
    assert not result.near_boundary


@pytest.mark.parametrize("department", ["QN974", "QN971", "QN973", "QN976"])
async def test_overseas_qpvs(
    qpv_index: QpvIndex, db_session: AsyncSession, department: str
) -> None:
    code = (
        (
            await db_session.execute(
                select(col(Qpv.code))
                .where(col(Qpv.code).startswith(department))
                .order_by(col(Qpv.code))
            )
        )
        .scalars()
        .first()
    )
    assert code is not None
    point = (await _polygon(db_session, code)).representative_point()
    result = qpv_index.lookup(point.x, point.y)
    assert isinstance(result, QpvHit)
    assert result.code == code


def test_communes_hosting_qpvs(qpv_index: QpvIndex) -> None:
    assert qpv_index.commune_hosts_qpv("93066")  # Saint-Denis
    assert qpv_index.commune_hosts_qpv("75118")  # Paris 18e: QPVs name Paris, 75056
    assert qpv_index.commune_hosts_qpv("97411")  # Saint-Denis (La Réunion)
    assert not qpv_index.commune_hosts_qpv("01001")


@pytest.mark.parametrize(("lon", "lat"), [(200.0, 48.0), (2.0, -91.0), (math.nan, 48.0)])
def test_invalid_coordinates_are_refused(qpv_index: QpvIndex, lon: float, lat: float) -> None:
    with pytest.raises(ValueError, match="coordonnées invalides"):
        qpv_index.lookup(lon, lat)


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(2.35, 48.85), (55.45, -20.9), (-52.33, 4.93), (-61.53, 16.24), (45.23, -12.78)],
)
@pytest.mark.parametrize("offset_m", [3.0, 10.0, 14.0, 40.0])
def test_distances_are_metres_wherever_the_quartier_lies(
    lon: float, lat: float, offset_m: float
) -> None:
    """A ~1 km square: the distance to its east and north edges matches the haversine one."""
    per_lon, per_lat = metres_per_degree(lat)
    half_lon, half_lat = 500 / per_lon, 500 / per_lat
    square = shapely.box(lon - half_lon, lat - half_lat, lon + half_lon, lat + half_lat)
    index = QpvIndex([QpvPolygon("QN00000M", "Carré", ("00000",), square)])
    east_edge = lon + half_lon
    north_edge = lat + half_lat
    for point, foot in (
        ((east_edge + offset_m / per_lon, lat), (east_edge, lat)),
        ((lon, north_edge + offset_m / per_lat), (lon, north_edge)),
        ((east_edge - offset_m / per_lon, lat), (east_edge, lat)),
    ):
        expected_m = haversine_km(*point, *foot) * 1000
        result = index.lookup(*point)
        assert result.near_boundary is (expected_m <= 15)
        if result.near_boundary or isinstance(result, QpvHit):
            assert result.distance_to_boundary_m == pytest.approx(expected_m, rel=0.006)
