"""Import communes (``insee,dept,lon,lat,name``) and postal codes (``insee,cp,cps_alt``)."""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.geo.communes import normalise_name
from services.core.models import Commune, PostalCode
from services.core.referentials.files import (
    ProgressCallback,
    ReferenceDataError,
    files_digest,
    no_progress,
    read_csv,
    row_error,
)
from services.core.referentials.store import (
    DatasetKind,
    ImportSummary,
    lock_kind,
    record_dataset,
    sync_rows,
    table_of,
)

COMMUNE_COLUMNS = ("insee", "dept", "lon", "lat", "name")
POSTAL_CODE_COLUMNS = ("insee", "cp", "cps_alt")

# 5 digits, or Corsica's 2A / 2B followed by 3 digits.
_INSEE = re.compile(r"(?:\d{2}|2[AB])\d{3}")
_DEPT = re.compile(r"\d{2,3}|2[AB]")
_POSTAL_CODE = re.compile(r"\d{5}")


class CommuneRow(NamedTuple):
    insee: str
    dept: str
    name: str
    search_name: str
    lon: float
    lat: float


class PostalCodeRow(NamedTuple):
    code: str
    insee: str
    is_primary: bool


@dataclass(frozen=True, slots=True)
class CommunesData:
    communes: list[CommuneRow]
    postal_codes: list[PostalCodeRow]


def _coordinate(path: Path, line: int, value: str, limit: float, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise row_error(path, line, f"{what} invalide : « {value} »") from None
    if not math.isfinite(number) or abs(number) > limit:
        raise row_error(path, line, f"{what} hors limites : « {value} »")
    return number


def _insee(path: Path, line: int, value: str) -> str:
    if not _INSEE.fullmatch(value):
        raise row_error(path, line, f"code INSEE invalide : « {value} »")
    return value


def parse_communes(path: Path) -> list[CommuneRow]:
    communes: dict[str, CommuneRow] = {}
    for line, (insee, dept, lon, lat, name) in read_csv(path, COMMUNE_COLUMNS):
        _insee(path, line, insee)
        if insee in communes:
            raise row_error(path, line, f"code INSEE en double : « {insee} »")
        if not _DEPT.fullmatch(dept):
            raise row_error(path, line, f"département invalide : « {dept} »")
        if not name or len(name) > 100:
            raise row_error(path, line, "nom de commune vide ou trop long")
        communes[insee] = CommuneRow(
            insee=insee,
            dept=dept,
            name=name,
            search_name=normalise_name(name),
            lon=_coordinate(path, line, lon, 180, "longitude"),
            lat=_coordinate(path, line, lat, 90, "latitude"),
        )
    if not communes:
        raise ReferenceDataError(f"{path.name} : aucune commune dans le fichier")
    return list(communes.values())


def parse_postal_codes(path: Path) -> list[PostalCodeRow]:
    """One row per (postal code, commune); the ``cp`` column is the commune's main code."""
    pairs: dict[tuple[str, str], bool] = {}
    for line, (insee, main, alternates) in read_csv(path, POSTAL_CODE_COLUMNS):
        _insee(path, line, insee)
        codes = [main, *(code.strip() for code in alternates.split("|") if code.strip())]
        for position, code in enumerate(codes):
            if not _POSTAL_CODE.fullmatch(code):
                raise row_error(path, line, f"code postal invalide : « {code} »")
            # A pair listed twice stays primary if it ever was.
            pairs[(code, insee)] = pairs.get((code, insee), False) or position == 0
    if not pairs:
        raise ReferenceDataError(f"{path.name} : aucun code postal dans le fichier")
    return [PostalCodeRow(code, insee, primary) for (code, insee), primary in pairs.items()]


def parse_communes_files(communes_csv: Path, postal_codes_csv: Path) -> CommunesData:
    return CommunesData(
        communes=parse_communes(communes_csv),
        postal_codes=parse_postal_codes(postal_codes_csv),
    )


async def import_communes(
    session: AsyncSession,
    communes_csv: Path,
    postal_codes_csv: Path,
    *,
    progress: ProgressCallback = no_progress,
    label: str | None = None,
) -> ImportSummary:
    """Import communes and their postal codes together, in the caller's transaction."""
    data = await asyncio.to_thread(parse_communes_files, communes_csv, postal_codes_csv)
    version = await asyncio.to_thread(files_digest, [communes_csv, postal_codes_csv])
    await lock_kind(session, DatasetKind.COMMUNES)
    communes = await sync_rows(
        session,
        table_of(Commune),
        ("insee",),
        CommuneRow._fields,
        data.communes,
        step="Communes",
        progress=progress,
    )
    postal_codes = await sync_rows(
        session,
        table_of(PostalCode),
        ("code", "insee"),
        PostalCodeRow._fields,
        data.postal_codes,
        step="Codes postaux",
        progress=progress,
    )
    summary = ImportSummary(
        kind=DatasetKind.COMMUNES,
        version=version,
        label=label,
        source=f"{communes_csv.name}, {postal_codes_csv.name}",
        counts={"communes": len(data.communes), "codes postaux": len(data.postal_codes)},
        changed=communes.changed + postal_codes.changed,
        removed=communes.removed + postal_codes.removed,
    )
    await record_dataset(session, summary)
    return summary
