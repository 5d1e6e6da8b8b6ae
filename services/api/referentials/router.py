"""``/v1/referentials``: ROME, the borne sectors, communes, and QPV lookups.

Every authenticated caller may read reference data (decision 0008); an API key needs the
``referentials:read`` scope.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AfterValidator

from services.api.auth.dependencies import CurrentPrincipal
from services.api.conditional import IfNoneMatchDep
from services.api.deps import SessionDep
from services.api.errors import Forbidden, NotFound
from services.api.pagination import PaginationDep
from services.api.referentials import schemas, service
from services.api.referentials.indexes import (
    ReferentialIndexes,
    indexes_of,
    sector_or_none,
)
from services.api.validation import InvalidValue
from services.core.referentials.sectors import SECTORS, SectorCode
from services.core.security.principal import Access, Principal

RESOURCE = "referentials"


async def require_reader(principal: CurrentPrincipal) -> Principal:
    if not principal.may_use(RESOURCE, Access.READ):
        raise Forbidden(f"Cette clé d'API n'a pas le droit « {RESOURCE}:{Access.READ.value} ».")
    return principal


async def get_indexes(request: Request) -> ReferentialIndexes:
    return indexes_of(request.app)


IndexesDep = Annotated[ReferentialIndexes, Depends(get_indexes)]

router = APIRouter(
    prefix="/referentials", tags=["référentiels"], dependencies=[Depends(require_reader)]
)

_ROME_CODE = r"^[A-Za-z][0-9]{4}$"
_INSEE = r"^(?:[0-9]{5}|2[ABab][0-9]{3})$"
_DEPT = r"^(?:[0-9]{2,3}|2[ABab])$"


@router.get(
    "/rome",
    summary="Rechercher une fiche ROME (code, métier ou appellation)",
    description=(
        "Recherche dans le référentiel ROME v4 importé par un code de fiche, un métier ou"
        " une appellation (sans tenir compte des accents). Accessible à tout appelant "
        "authentifié."
    ),
)
async def search_rome(
    session: SessionDep,
    indexes: IndexesDep,
    pagination: PaginationDep,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Début de code (« F17 », « f1703 ») ou mots du métier, accents et "
            "majuscules ignorés (« macon », « electricien batiment »). Les appellations sont "
            "aussi cherchées.",
        ),
    ] = None,
    sector: Annotated[
        SectorCode | None, Query(description="Ne garder que les fiches de ce secteur.")
    ] = None,
) -> schemas.RomeFichePage:
    index = await indexes.rome(session)
    matches = index.search(q, sector)
    window = matches[pagination.offset : pagination.offset + pagination.limit]
    page = schemas.RomeFichePage.build(
        [service.fiche_match(index, match) for match in window], len(matches), pagination
    )
    page.edition = index.dataset.label
    return page


@router.get(
    "/rome/{code}",
    summary="Une fiche ROME et toutes ses appellations",
    description=(
        "La fiche ROME (code à une lettre et quatre chiffres, `F1703` par exemple) et "
        "toutes ses appellations."
    ),
)
async def get_rome_fiche(
    session: SessionDep,
    indexes: IndexesDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
    code: Annotated[str, Path(pattern=_ROME_CODE, description="Code ROME, par exemple F1703.")],
) -> schemas.RomeFicheDetail:
    index = await indexes.rome(session)
    fiche = index.fiche(code)
    if fiche is None:
        raise NotFound("Aucune fiche ROME n'a ce code.")
    detail = service.fiche_detail(index, fiche)
    return if_none_match.answer(response, detail)


@router.get(
    "/sectors",
    summary="Les huit secteurs de la borne et leurs codes ROME",
    description=(
        "Les huit secteurs proposés sur le formulaire de la borne, chacun avec les "
        "parties du ROME qu'il couvre : c'est par eux que les souhaits des personnes "
        "rejoignent les offres."
    ),
)
async def list_sectors(
    session: SessionDep, indexes: IndexesDep, pagination: PaginationDep
) -> schemas.SectorPage:
    index = await indexes.rome(session)
    sectors = service.all_sectors(index)
    window = sectors[pagination.offset : pagination.offset + pagination.limit]
    page = schemas.SectorPage.build(window, len(sectors), pagination)
    page.edition = index.dataset.label
    return page


@router.get(
    "/sectors/{code}",
    summary="Un secteur de la borne et ses codes ROME",
    description=("Un secteur de la borne par son code, avec les parties du ROME qu'il couvre."),
)
async def read_sector(
    session: SessionDep,
    indexes: IndexesDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
    code: Annotated[str, Path(max_length=40, description="Code du secteur (construction…).")],
) -> schemas.SectorDetail:
    sector = sector_or_none(code)
    if sector is None:
        known = ", ".join(s.code.value for s in SECTORS)
        raise NotFound(f"Secteur inconnu. Codes possibles : {known}.")
    index = await indexes.rome(session)
    view = service.sector_view(index, sector)
    detail = schemas.SectorDetail(**view.model_dump(), edition=index.dataset.label)
    return if_none_match.answer(response, detail)


@router.get(
    "/communes",
    summary="Rechercher une commune (nom ou code postal)",
    description=(
        "Recherche une commune par le début de son nom (sans tenir compte des accents) ou"
        " par son code postal."
    ),
)
async def search_communes(
    session: SessionDep,
    indexes: IndexesDep,
    pagination: PaginationDep,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Code postal ou son début (« 93200 », « 932 »), ou nom de la commune, "
            "accents, tirets et majuscules ignorés (« saint denis », « St-Denis »).",
        ),
    ] = None,
    dept: Annotated[
        str | None, Query(pattern=_DEPT, description="Département (« 93 », « 974 », « 2A »).")
    ] = None,
) -> schemas.CommunePage:
    found, total = await service.search_communes(
        session, q, dept.upper() if dept else None, pagination
    )
    if total == 0:
        await service.require_communes_loaded(session)
    postal_codes = await service.postal_codes_of(session, [c.insee for c in found])
    qpv = await indexes.qpv_if_loaded(session) if found else None
    return schemas.CommunePage.build(
        [service.commune_view(c, postal_codes, qpv) for c in found], total, pagination
    )


@router.get(
    "/communes/{insee}",
    summary="Une commune par son code INSEE",
    description=("La commune, son centre et ses codes postaux, par son code INSEE (5 caractères)."),
)
async def get_commune(
    session: SessionDep,
    indexes: IndexesDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
    insee: Annotated[
        str, Path(pattern=_INSEE, description="Code INSEE (93066, 2A004), pas le code postal.")
    ],
) -> schemas.CommuneDetail:
    commune = await service.get_commune(session, insee.upper())
    if commune is None:
        await service.require_communes_loaded(session)
        raise NotFound("Aucune commune n'a ce code INSEE.")
    postal_codes = await service.postal_codes_of(session, [commune.insee])
    view = service.commune_view(commune, postal_codes, await indexes.qpv_if_loaded(session))
    detail = schemas.CommuneDetail(**view.model_dump())
    return if_none_match.answer(response, detail)


def _longitude(value: float) -> float:
    if not -180 <= value <= 180:
        raise InvalidValue("longitude entre -180 et 180 attendue (degrés WGS84)")
    return value


def _latitude(value: float) -> float:
    if not -90 <= value <= 90:
        raise InvalidValue("latitude entre -90 et 90 attendue (degrés WGS84)")
    return value


@router.get(
    "/qpv",
    summary="Le QPV (géographie 2024) contenant un point",
    description=(
        "Dit si un point (longitude et latitude WGS 84) se trouve dans un quartier "
        "prioritaire de la politique de la ville, et lequel."
    ),
)
async def lookup_qpv(
    session: SessionDep,
    indexes: IndexesDep,
    lon: Annotated[
        float,
        Query(allow_inf_nan=False, description="Longitude WGS84, en degrés (-180 à 180)."),
        AfterValidator(_longitude),
    ],
    lat: Annotated[
        float,
        Query(allow_inf_nan=False, description="Latitude WGS84, en degrés (-90 à 90)."),
        AfterValidator(_latitude),
    ],
) -> schemas.QpvLookup:
    index = await indexes.qpv(session)
    return service.qpv_lookup(index, lon, lat)
