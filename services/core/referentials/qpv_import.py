"""Import QPV polygons from the ANCT GeoJSON (WGS84; properties code_qp, lib_qp, insee_com)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import shapely
from shapely.geometry import shape
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models import Qpv
from services.core.referentials.files import (
    ProgressCallback,
    ReferenceDataError,
    files_digest,
    no_progress,
    require_file,
    year_in_name,
)
from services.core.referentials.store import (
    DatasetKind,
    ImportSummary,
    lock_kind,
    record_dataset,
    sync_rows,
    table_of,
)

_CODE_QP = re.compile(r"[A-Z0-9]{8}")
_INSEE = re.compile(r"(?:\d{2}|2[AB])\d{3}")
_POLYGONAL = {"Polygon", "MultiPolygon"}
# CRS names that mean WGS84 lon/lat (RFC 7946 GeoJSON has no "crs" member at all).
_WGS84 = ("CRS84", "EPSG::4326", "EPSG:4326")


class QpvRow(NamedTuple):
    code: str
    name: str
    insee_codes: list[str]
    geometry: bytes  # WKB, as published: not repaired (see the QPV index for why)
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


def _feature_error(path: Path, number: int, message: str) -> ReferenceDataError:
    return ReferenceDataError(f"{path.name}, entité n° {number} : {message}")


def _check_crs(path: Path, document: dict[str, Any]) -> None:
    crs = document.get("crs")
    if crs is None:
        return
    name = str((crs.get("properties") or {}).get("name", "")) if isinstance(crs, dict) else ""
    if not name.endswith(_WGS84):
        raise ReferenceDataError(
            f"{path.name} : système de coordonnées « {name or crs} » non pris en charge ; "
            "le fichier doit être en WGS84 (longitude, latitude)"
        )


def _insee_codes(path: Path, number: int, value: object) -> list[str]:
    if isinstance(value, str):
        codes = [code.strip() for code in value.split(",") if code.strip()]
    elif isinstance(value, list):
        codes = [str(code).strip() for code in value]
    else:
        codes = []
    if not codes or not all(_INSEE.fullmatch(code) for code in codes):
        raise _feature_error(path, number, f"insee_com invalide : « {value} »")
    return codes


def _feature(path: Path, number: int, feature: object) -> QpvRow:
    if not isinstance(feature, dict):
        raise _feature_error(path, number, "entité GeoJSON attendue")
    properties = feature.get("properties") or {}
    missing = [key for key in ("code_qp", "lib_qp", "insee_com") if key not in properties]
    if missing:
        raise _feature_error(path, number, f"propriété(s) manquante(s) : {', '.join(missing)}")
    code = str(properties["code_qp"]).strip()
    if not _CODE_QP.fullmatch(code):
        raise _feature_error(path, number, f"code_qp invalide : « {code} »")
    name = str(properties["lib_qp"] or "").strip()
    if not name:
        raise _feature_error(path, number, f"lib_qp vide pour {code}")
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in _POLYGONAL:
        raise _feature_error(
            path, number, f"géométrie Polygon ou MultiPolygon attendue pour {code}"
        )
    try:
        polygon = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError) as error:
        raise _feature_error(path, number, f"géométrie illisible pour {code}") from error
    if polygon.is_empty:
        raise _feature_error(path, number, f"géométrie vide pour {code}")
    min_lon, min_lat, max_lon, max_lat = polygon.bounds
    if min_lon < -180 or max_lon > 180 or min_lat < -90 or max_lat > 90:
        raise _feature_error(
            path, number, f"coordonnées hors WGS84 pour {code} : longitude, latitude attendues"
        )
    return QpvRow(
        code=code,
        name=name[:255],
        insee_codes=_insee_codes(path, number, properties["insee_com"]),
        geometry=shapely.to_wkb(polygon),
        min_lon=min_lon,
        min_lat=min_lat,
        max_lon=max_lon,
        max_lat=max_lat,
    )


def parse_qpv(path: Path) -> list[QpvRow]:
    require_file(path)
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise ReferenceDataError(f"{path.name} : GeoJSON illisible ({error})") from error
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise ReferenceDataError(f"{path.name} : une FeatureCollection GeoJSON est attendue")
    _check_crs(path, document)
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise ReferenceDataError(f"{path.name} : aucun QPV dans le fichier")
    rows: dict[str, QpvRow] = {}
    for number, feature in enumerate(features, start=1):
        row = _feature(path, number, feature)
        if row.code in rows:
            raise _feature_error(path, number, f"code_qp en double : « {row.code} »")
        rows[row.code] = row
    return list(rows.values())


async def import_qpv(
    session: AsyncSession,
    geojson: Path,
    *,
    progress: ProgressCallback = no_progress,
    label: str | None = None,
) -> ImportSummary:
    """Import every QPV of ``geojson``, in the caller's transaction.

    ``label`` names the geography (default: the year in the file name, e.g. "2024").
    """
    rows = await asyncio.to_thread(parse_qpv, geojson)
    version = await asyncio.to_thread(files_digest, [geojson])
    await lock_kind(session, DatasetKind.QPV)
    result = await sync_rows(
        session,
        table_of(Qpv),
        ("code",),
        QpvRow._fields,
        rows,
        step="QPV",
        progress=progress,
        chunk_size=200,  # ~2 kB of polygon per row: keep statements small, progress smooth
    )
    summary = ImportSummary(
        kind=DatasetKind.QPV,
        version=version,
        label=label or year_in_name(geojson),
        source=geojson.name,
        counts={"QPV": len(rows)},
        changed=result.changed,
        removed=result.removed,
    )
    await record_dataset(session, summary)
    return summary
