"""Reading reference data: ROME and sectors from the in-memory index, communes from SQL, QPV."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.pagination import PaginationParams, paginate
from services.api.referentials import schemas
from services.api.referentials.indexes import Fiche, FicheMatch, RomeIndex, not_loaded
from services.core.geo.communes import normalise_name
from services.core.geo.qpv import QpvHit, QpvIndex
from services.core.models import Commune, PostalCode
from services.core.referentials.sectors import SECTORS, Sector, get_sector
from services.core.referentials.store import DatasetKind, current_dataset

POSTAL_CODE_LENGTH = 5
_POSTAL_PREFIX = re.compile(r"^[0-9]{2,5}$")
# Abbreviations people type for the saints of commune names ("St-Denis", "Ste Geneviève").
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}

# -- ROME and sectors ----------------------------------------------------------------------


def _code_label(code: str, label: str | None) -> schemas.CodeLabel | None:
    return schemas.CodeLabel(code=code, label=label) if label is not None else None


def _summary_fields(index: RomeIndex, fiche: Fiche) -> dict[str, object]:
    domaine = index.domaines.get(fiche.domaine_code)
    sector = get_sector(fiche.sector) if fiche.sector is not None else None
    return {
        "code": fiche.code,
        "label": fiche.label,
        "domaine": _code_label(fiche.domaine_code, domaine[0] if domaine else None),
        "grand_domaine": _code_label(
            fiche.grand_domaine_code, index.grands_domaines.get(fiche.grand_domaine_code)
        ),
        "sector": fiche.sector,
        "sector_label": sector.label if sector is not None else None,
    }


def fiche_match(index: RomeIndex, match: FicheMatch) -> schemas.RomeFicheMatch:
    return schemas.RomeFicheMatch.model_validate(
        {
            **_summary_fields(index, match.fiche),
            "matched_appellations": [
                schemas.CodeLabel(code=a.code, label=a.label) for a in match.best_appellations()
            ],
        }
    )


def fiche_detail(index: RomeIndex, fiche: Fiche) -> schemas.RomeFicheDetail:
    return schemas.RomeFicheDetail.model_validate(
        {
            **_summary_fields(index, fiche),
            "parent_code": fiche.parent_code,
            "appellations": [
                schemas.CodeLabel(code=a.code, label=a.label) for a in fiche.appellations
            ],
            "edition": index.dataset.label,
        }
    )


def sector_view(index: RomeIndex, sector: Sector) -> schemas.Sector:
    prefixes = [
        schemas.SectorPrefix(
            prefix=prefix,
            grand_domaine=_code_label(letter, index.grands_domaines.get(letter))
            if letter is not None
            else None,
            domaines=[
                schemas.CodeLabel(code=code, label=index.domaines[code][0]) for code in domaines
            ],
        )
        for prefix, letter, domaines in index.sector_prefixes(sector)
    ]
    return schemas.Sector(code=sector.code, label=sector.label, rome_prefixes=prefixes)


def all_sectors(index: RomeIndex) -> list[schemas.Sector]:
    return [sector_view(index, sector) for sector in SECTORS]


# -- communes ------------------------------------------------------------------------------


def search_words(query: str) -> list[str]:
    """What people type, shaped like ``Commune.search_name``: ``"St-Denis"`` → saint, denis."""
    return [_ABBREVIATIONS.get(word, word) for word in normalise_name(query).split()]


def _postal_code_range(digits: str) -> tuple[str, str]:
    """Every five-digit postal code starting with ``digits``, as an inclusive range.

    A range on the (code, insee) unique index, whatever the database collation: postal codes are
    all five digits, and equal-length digit strings sort the same in every collation.
    """
    padding = POSTAL_CODE_LENGTH - len(digits)
    return digits + "0" * padding, digits + "9" * padding


def _by_name_prefix(name: str) -> Select[Commune]:
    # ``search_name`` only holds [a-z0-9 ], like ``name``: nothing to escape in the pattern, and
    # a constant prefix lets PostgreSQL use the text_pattern_ops index.
    exact_first = case((col(Commune.search_name) == name, 0), else_=1)
    return (
        select(Commune)
        .where(col(Commune.search_name).like(f"{name}%"))
        .order_by(exact_first, col(Commune.search_name), col(Commune.insee))
    )


def _in_dept(dept: str | None) -> tuple[ColumnElement[bool], ...]:
    return () if dept is None else (col(Commune.dept) == dept,)


async def _page_of(
    session: AsyncSession, ordered: Sequence[str], params: PaginationParams
) -> tuple[list[Commune], int]:
    """The communes of one page of ``ordered`` INSEE codes, in that order, and their count."""
    page = list(ordered[params.offset : params.offset + params.limit])
    if not page:
        return [], len(ordered)
    rows = await session.scalars(select(Commune).where(col(Commune.insee).in_(page)))
    by_insee = {commune.insee: commune for commune in rows}
    return [by_insee[insee] for insee in page], len(ordered)


async def _by_postal_code(
    session: AsyncSession, digits: str, dept: str | None, params: PaginationParams
) -> tuple[list[Commune], int]:
    """Communes with a postal code starting with ``digits``, by their first such code.

    Keys first, then the page: each step is an index lookup, whatever the planner's statistics
    say (right after an import, without ANALYZE, a join here would scan every commune).
    """
    low, high = _postal_code_range(digits)
    codes = await session.execute(
        select(col(PostalCode.insee), func.min(col(PostalCode.code)))
        .where(col(PostalCode.code).between(low, high))
        .group_by(col(PostalCode.insee))
    )
    first_code: dict[str, str] = {row[0]: row[1] for row in codes.all()}
    if not first_code:
        return [], 0
    keys = select(col(Commune.insee), col(Commune.search_name)).where(
        col(Commune.insee).in_(sorted(first_code)), *_in_dept(dept)
    )
    rows = sorted((await session.execute(keys)).all(), key=lambda r: (first_code[r[0]], r[1], r[0]))
    return await _page_of(session, [insee for insee, _ in rows], params)


async def _by_words(
    session: AsyncSession, words: Sequence[str], dept: str | None, params: PaginationParams
) -> tuple[list[Commune], int]:
    """Communes where every word starts a word of the name: one scan of the table (~10 ms)."""
    padded = literal(" ") + col(Commune.search_name)
    keys = (
        select(col(Commune.insee))
        .where(*(padded.like(f"% {word}%") for word in words), *_in_dept(dept))
        .order_by(col(Commune.search_name), col(Commune.insee))
    )
    return await _page_of(session, list((await session.scalars(keys)).all()), params)


async def search_communes(
    session: AsyncSession,
    query: str | None,
    dept: str | None,
    params: PaginationParams,
) -> tuple[list[Commune], int]:
    """Communes by postal code (2 to 5 digits: a prefix) or by name.

    A name matches from its start (``saint denis`` finds Saint-Denis, Saint-Denis-d'Oléron…),
    exact names first, through the ``search_name`` index. Only when no name starts so, every word
    may start any word of the name (``courneuve`` finds La Courneuve).
    """
    text = (query or "").strip().replace(" ", "")
    if _POSTAL_PREFIX.match(text):
        return await _by_postal_code(session, text, dept, params)
    words = search_words(query or "")
    if not words:
        statement = select(Commune).where(*_in_dept(dept)).order_by(col(Commune.insee))
        return await paginate(session, statement, params)
    statement = _by_name_prefix(" ".join(words)).where(*_in_dept(dept))
    found, total = await paginate(session, statement, params)
    if total == 0:
        return await _by_words(session, words, dept, params)
    return found, total


async def get_commune(session: AsyncSession, insee: str) -> Commune | None:
    commune: Commune | None = await session.scalar(
        select(Commune).where(col(Commune.insee) == insee)
    )
    return commune


async def require_communes_loaded(session: AsyncSession) -> None:
    """503 when the communes were never imported (an empty answer would look like "none")."""
    if await current_dataset(session, DatasetKind.COMMUNES) is None:
        raise not_loaded(DatasetKind.COMMUNES)


async def postal_codes_of(
    session: AsyncSession, insee_codes: Sequence[str]
) -> dict[str, list[str]]:
    """Each commune's postal codes, its main one first."""
    if not insee_codes:
        return {}
    primary_first: ColumnElement[int] = case((col(PostalCode.is_primary), 0), else_=1)
    rows = await session.execute(
        select(col(PostalCode.insee), col(PostalCode.code))
        .where(col(PostalCode.insee).in_(sorted(set(insee_codes))))
        .order_by(col(PostalCode.insee), primary_first, col(PostalCode.code))
    )
    codes: defaultdict[str, list[str]] = defaultdict(list)
    for insee, code in rows.all():
        codes[insee].append(code)
    return codes


def commune_view(
    commune: Commune, postal_codes: dict[str, list[str]], qpv: QpvIndex | None
) -> schemas.Commune:
    return schemas.Commune(
        insee=commune.insee,
        name=commune.name,
        dept=commune.dept,
        postal_codes=postal_codes.get(commune.insee, []),
        lon=commune.lon,
        lat=commune.lat,
        hosts_qpv=qpv.commune_hosts_qpv(commune.insee) if qpv is not None else None,
    )


# -- QPV -----------------------------------------------------------------------------------


def qpv_lookup(index: QpvIndex, lon: float, lat: float) -> schemas.QpvLookup:
    result = index.lookup(lon, lat)
    dataset = index.dataset
    common = {
        "near_boundary": result.near_boundary,
        "polygon_version": dataset.version if dataset is not None else "",
        "polygon_edition": dataset.label if dataset is not None else None,
    }
    if isinstance(result, QpvHit):
        return schemas.QpvLookup.model_validate(
            {
                **common,
                "status": "in_qpv",
                "qpv": schemas.QpvRef(code=result.code, name=result.name),
                "distance_to_boundary_m": round(result.distance_to_boundary_m, 1),
                "nearest_qpv_code": None,
            }
        )
    distance = result.distance_to_boundary_m
    return schemas.QpvLookup.model_validate(
        {
            **common,
            "status": "outside_qpv",
            "qpv": None,
            "distance_to_boundary_m": round(distance, 1) if distance is not None else None,
            "nearest_qpv_code": result.nearest_code,
        }
    )
