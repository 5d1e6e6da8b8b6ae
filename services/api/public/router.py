"""``/v1/public/offers``: open offers marked public, for job boards and partners, without an
account (decision 0062). Three shapes of the same list: JSON (the project's pagination), schema.org
``JobPosting`` JSON-LD, and France Travail's offer vocabulary; each with an ETag, a
``Cache-Control`` and a rate limit per client address."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel
from starlette.responses import JSONResponse

from services.api.conditional import IfNoneMatch, IfNoneMatchDep, NotModified, etag_of
from services.api.deps import SessionDep
from services.api.errors import PROBLEM_MEDIA_TYPE
from services.api.pagination import Page, PaginationDep
from services.api.public import feed
from services.api.public.france_travail import OffreFranceTravail
from services.api.public.jsonld import JSON_LD_MEDIA_TYPE, JobPosting, JobPostingList, ListItem
from services.api.public.rate_limit import limit_rate
from services.api.public.schemas import PublicOffer
from services.core.models.offer import ContractType

# Job boards poll: five minutes of caching spares the database; a change shows within that.
CACHE_CONTROL = "public, max-age=300"
MAX_RADIUS_KM = 200

ModelT = TypeVar("ModelT", bound=BaseModel)


def _problem(description: str, *schemas: str) -> dict[str, Any]:
    """A problem response documented under its own media type, whatever the route's."""
    refs = [{"$ref": f"#/components/schemas/{name}"} for name in schemas]
    schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}


router = APIRouter(
    prefix="/public/offers",
    tags=["offres publiques"],
    dependencies=[Depends(limit_rate)],
    responses={
        429: _problem(
            "Trop de requêtes depuis cette adresse (`/problems/too-many-requests`, en-tête "
            "Retry-After).",
            "Problem",
        )
    },
)
# The JSON-LD route's media type is not JSON's: its errors are declared as problems here, not
# filed under application/ld+json.
_JSON_LD_PROBLEMS: dict[int | str, dict[str, Any]] = {
    422: _problem("Filtres invalides", "ValidationProblem", "Problem"),
    "4XX": _problem("Erreur du client", "Problem"),
    "5XX": _problem("Erreur du serveur", "Problem"),
}


class JsonLdResponse(JSONResponse):
    media_type = JSON_LD_MEDIA_TYPE


RomeFilter = Annotated[
    str | None,
    Query(pattern=r"^[A-Na-n]\d{4}$", description="Code ROME v4 (fiche), ex. F1703.", max_length=5),
]
CommuneFilter = Annotated[
    str | None,
    Query(
        pattern=r"^(\d{5}|2[ABab]\d{3})$",
        description="Commune du lieu de travail (code INSEE) ; avec `radius_km`, le centre du "
        "cercle. Paris, Lyon et Marseille comprennent leurs arrondissements.",
    ),
]
RadiusFilter = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_RADIUS_KM,
        description="Rayon en km autour du centre de `commune_insee` (obligatoire avec lui).",
    ),
]
ContractTypeFilter = Annotated[ContractType | None, Query(description="Type de contrat.")]


async def _filters(
    rome_code: RomeFilter = None,
    commune_insee: CommuneFilter = None,
    radius_km: RadiusFilter = None,
    contract_type: ContractTypeFilter = None,
) -> feed.Filters:
    if radius_km is not None and commune_insee is None:
        raise feed.radius_without_commune()
    return feed.Filters(
        rome_code=rome_code.upper() if rome_code else None,
        commune_insee=commune_insee.upper() if commune_insee else None,
        radius_km=radius_km,
        contract_type=contract_type,
    )


def _cached(if_none_match: IfNoneMatch, response: Response, body: ModelT) -> ModelT | Response:
    """Tag ``body``; 304 (with the same caching headers) when the client holds it."""
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    try:
        if_none_match.check(etag)
    except NotModified:
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return body


FiltersDep = Annotated[feed.Filters, Depends(_filters)]


@router.get(
    "",
    response_model=Page[PublicOffer],
    summary="Lister les offres publiques (JSON)",
    description="Les offres ouvertes marquées publiques (`is_public`), sans authentification et "
    "sans aucune donnée personnelle, les plus récentes d'abord. Le cadre de la clause est dit en "
    "mots de tous les jours (`clause.context`). ETag et `Cache-Control` ; limite de requêtes par "
    "adresse (MAILLON_PUBLIC_RATE_LIMIT_PER_MINUTE).",
)
async def list_public_offers(
    session: SessionDep,
    pagination: PaginationDep,
    filters: FiltersDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> Page[PublicOffer] | Response:
    rows, total = await feed.page(session, filters, pagination)
    page = Page[PublicOffer].build([PublicOffer.of(row) for row in rows], total, pagination)
    return _cached(if_none_match, response, page)


@router.get(
    "/json-ld",
    response_model=JobPostingList,
    response_class=JsonLdResponse,
    response_model_exclude_none=True,
    responses=_JSON_LD_PROBLEMS,
    summary="Lister les offres publiques (schema.org JobPosting, JSON-LD)",
    description="Les mêmes offres, filtres et pages que `GET /v1/public/offers`, en `ItemList` "
    "de `JobPosting` (`application/ld+json`) pour les sites d'emploi et moteurs de recherche. "
    "`numberOfItems` compte toute la liste ; `position` est le rang dans toute la liste.",
)
async def list_public_job_postings(
    session: SessionDep,
    pagination: PaginationDep,
    filters: FiltersDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> JobPostingList | Response:
    rows, total = await feed.page(session, filters, pagination)
    postings = JobPostingList(
        number_of_items=total,
        item_list_element=[
            ListItem(position=pagination.offset + index, item=JobPosting.of(row))
            for index, row in enumerate(rows, start=1)
        ],
    )
    return _cached(if_none_match, response, postings)


@router.get(
    "/france-travail",
    response_model=Page[OffreFranceTravail],
    summary="Exporter les offres publiques (vocabulaire France Travail)",
    description="Les mêmes offres, filtres et pages que `GET /v1/public/offers`, chacune avec "
    "les champs de l'API Offres d'emploi v2 de France Travail (`typeContrat`, `natureContrat`, "
    "`romeCode`, `appellationlibelle`, `lieuTravail`, `dureeTravailLibelle`…).",
)
async def export_france_travail(
    session: SessionDep,
    pagination: PaginationDep,
    filters: FiltersDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> Page[OffreFranceTravail] | Response:
    rows, total = await feed.page(session, filters, pagination)
    page = Page[OffreFranceTravail].build(
        [OffreFranceTravail.of(row) for row in rows], total, pagination
    )
    return _cached(if_none_match, response, page)
