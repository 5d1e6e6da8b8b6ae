"""Which QPV a point lies in, answered in memory from the stored 2024 polygons.

The polygons (1,584, ~230,000 vertices) sit in an STRtree; a lookup asks the tree for the few
polygons whose box comes within the boundary margin of the point, runs a prepared
point-in-polygon test on them, and measures the distance to their boundaries in metres.

Distances use, per polygon, a local equirectangular frame on the WGS84 ellipsoid centred on the
polygon (metres per degree of longitude and latitude at its centre). QPVs span a few kilometres at
most, so the scale error stays under 0.1 % — a centimetre at 15 m — in Paris as in Réunion or
French Guiana. See docs/decisions/0005-reference-data-and-qpv-index.md.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.geo.communes import parent_commune
from services.core.models import Qpv
from services.core.referentials.store import DatasetKind, DatasetVersion, current_dataset

# The published polygons are rounded to 4 decimals (~11 m): closer than this to a boundary,
# the answer may be wrong and the ANCT address tool has the last word.
BOUNDARY_MARGIN_M = 15.0

_WGS84_A = 6_378_137.0
_WGS84_E2 = 6.694_379_990_141_316_5e-3


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude at ``lat`` on the WGS84 ellipsoid."""
    phi = math.radians(lat)
    w2 = 1.0 - _WGS84_E2 * math.sin(phi) ** 2
    prime_vertical = _WGS84_A / math.sqrt(w2)
    meridional = _WGS84_A * (1.0 - _WGS84_E2) / w2**1.5
    radian = math.pi / 180.0
    return prime_vertical * math.cos(phi) * radian, meridional * radian


@dataclass(frozen=True, slots=True)
class QpvHit:
    """The point lies in QPV ``code``."""

    code: str
    name: str
    near_boundary: bool
    distance_to_boundary_m: float  # to the nearest QPV boundary

    @property
    def in_qpv(self) -> Literal[True]:
        return True


@dataclass(frozen=True, slots=True)
class QpvMiss:
    """The point lies in no QPV; ``near_boundary`` when one is within the margin."""

    near_boundary: bool
    distance_to_boundary_m: float | None  # None when no QPV boundary is within the margin
    nearest_code: str | None

    @property
    def in_qpv(self) -> Literal[False]:
        return False


QpvResult = QpvHit | QpvMiss


@dataclass(frozen=True, slots=True)
class QpvPolygon:
    code: str
    name: str
    insee_codes: tuple[str, ...]
    geometry: Any  # shapely (Multi)Polygon in WGS84 lon/lat


class QpvIndex:
    """An immutable, thread-safe spatial index of QPV polygons."""

    def __init__(
        self,
        polygons: Sequence[QpvPolygon],
        *,
        dataset: DatasetVersion | None = None,
        margin_m: float = BOUNDARY_MARGIN_M,
    ) -> None:
        self.dataset = dataset
        self.margin_m = margin_m
        self._codes = [p.code for p in polygons]
        self._known = frozenset(self._codes)
        self._names = [p.name for p in polygons]
        geometries = np.array([p.geometry for p in polygons], dtype=object)
        # Many published rings touch themselves after rounding; they are kept as is: the
        # prepared point-in-polygon test counts ring crossings, which stays well defined.
        shapely.prepare(geometries)
        self._geometries = geometries
        self._tree = shapely.STRtree(geometries)
        self._boundaries_m, self._origins, self._scales = _metric_boundaries(geometries)
        self._communes = frozenset(parent_commune(code) for p in polygons for code in p.insee_codes)

    def __len__(self) -> int:
        return len(self._codes)

    def lookup(self, lon: float, lat: float) -> QpvResult:
        """The QPV holding the point (``lon``, ``lat`` in WGS84 degrees), if any."""
        if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
            raise ValueError(
                "coordonnées invalides : longitude entre -180 et 180, latitude entre -90 et 90"
            )
        per_lon, per_lat = metres_per_degree(lat)
        # A box a little wider than the margin in each direction: no polygon within the margin
        # can be missed, and the exact distance decides below.
        dx = 1.01 * self.margin_m / max(per_lon, 1.0)
        dy = 1.01 * self.margin_m / per_lat
        candidates = self._tree.query(shapely.box(lon - dx, lat - dy, lon + dx, lat + dy))
        inside: int | None = None
        nearest: int | None = None
        nearest_m = math.inf
        for index in sorted(candidates.tolist()):
            distance = self._distance_to_boundary_m(index, lon, lat)
            if distance < nearest_m:
                nearest, nearest_m = index, distance
            if inside is None and shapely.intersects_xy(self._geometries[index], lon, lat):
                inside = index
        near = nearest_m <= self.margin_m
        if inside is not None:
            return QpvHit(
                code=self._codes[inside],
                name=self._names[inside],
                near_boundary=near,
                distance_to_boundary_m=nearest_m,
            )
        return QpvMiss(
            near_boundary=near,
            distance_to_boundary_m=nearest_m if near else None,
            nearest_code=self._codes[nearest] if near and nearest is not None else None,
        )

    def has_code(self, code: str) -> bool:
        """Whether ``code`` names a quartier of the loaded dataset."""
        return code in self._known

    def commune_hosts_qpv(self, insee: str) -> bool:
        """Whether any QPV lies (partly) in this commune; arrondissements count for their city."""
        return parent_commune(insee) in self._communes

    def _distance_to_boundary_m(self, index: int, lon: float, lat: float) -> float:
        origin_lon, origin_lat = self._origins[index]
        scale_lon, scale_lat = self._scales[index]
        point = shapely.Point((lon - origin_lon) * scale_lon, (lat - origin_lat) * scale_lat)
        return float(shapely.distance(self._boundaries_m[index], point))


def _metric_boundaries(geometries: Any) -> tuple[Any, Any, Any]:
    """Each polygon's boundary in metres, in a frame centred on the polygon's box."""
    bounds = shapely.bounds(geometries)
    origins = np.column_stack(
        ((bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2)
    )
    scales = np.array([metres_per_degree(lat) for lat in origins[:, 1]]).reshape(-1, 2)
    boundaries = shapely.boundary(geometries)
    coordinates, owner = shapely.get_coordinates(boundaries, return_index=True)
    # set_coordinates writes into the geometries: they are the fresh ones boundary() made.
    shapely.set_coordinates(boundaries, (coordinates - origins[owner]) * scales[owner])
    shapely.prepare(boundaries)
    return boundaries, origins, scales


def build_qpv_index(
    rows: Sequence[tuple[str, str, Sequence[str], bytes]], dataset: DatasetVersion | None
) -> QpvIndex:
    """Build the index from stored rows ``(code, name, insee_codes, geometry WKB)``."""
    geometries = shapely.from_wkb([row[3] for row in rows])
    polygons = [
        QpvPolygon(code=code, name=name, insee_codes=tuple(insee), geometry=geometry)
        for (code, name, insee, _), geometry in zip(rows, geometries, strict=True)
    ]
    return QpvIndex(polygons, dataset=dataset)


async def load_qpv_index(session: AsyncSession) -> QpvIndex:
    """Read every stored QPV and build the index (CPU work runs off the event loop)."""
    result = await session.execute(
        select(col(Qpv.code), col(Qpv.name), col(Qpv.insee_codes), col(Qpv.geometry)).order_by(
            col(Qpv.code)
        )
    )
    rows = [(r[0], r[1], r[2], r[3]) for r in result.all()]
    dataset = await current_dataset(session, DatasetKind.QPV)
    return await asyncio.to_thread(build_qpv_index, rows, dataset)
