"""``/v1/candidates``: people looking for work (decision 0011). Personal data: every read and
list is written to the audit log, every change by field name. Names, phone numbers and e-mail
addresses never travel in URLs: search is ``POST /v1/candidates/search``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, select
from sqlmodel import col
from starlette.status import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.api.access import CREATE, READ, UPDATE
from services.api.auth.dependencies import CurrentPrincipal
from services.api.body import Partly, body_schema, partly
from services.api.candidates import eligibility, rights, service
from services.api.candidates.export import CandidateExport
from services.api.candidates.policy import ERASE, EXPORT, MERGE, VALIDATE_ELIGIBILITY, policy
from services.api.candidates.schemas import (
    CandidateCreate,
    CandidatePublic,
    CandidateSaved,
    CandidateSearch,
    CandidateUpdate,
    CommuneInsee,
    DuplicateGroup,
    EligibilityCreate,
    EligibilityPublic,
    MergeRequest,
)
from services.api.conditional import IfMatchDep, IfNoneMatchDep, etag_of
from services.api.deps import RequestIdDep, SessionDep, StorageDep
from services.api.errors import NotFound
from services.api.locations import location
from services.api.pagination import Page, PaginationDep, paginate_by_key
from services.api.referentials.indexes import indexes_of
from services.core.models.candidate import Candidate, CandidateStatus, QpvStatus
from services.core.models.eligibility import EligibilityCriterion
from services.core.referentials.sectors import SectorCode

router = APIRouter(prefix="/candidates", tags=["candidats"])


def _respond(response: Response, candidate: Candidate) -> CandidatePublic:
    public = CandidatePublic.of(candidate)
    response.headers["ETag"] = etag_of(public)
    return public


@router.get(
    "",
    summary="Lister les candidats",
    description="Filtres non personnels seulement ; pour chercher une personne, "
    "`POST /v1/candidates/search`.",
)
async def list_candidates(
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    pagination: PaginationDep,
    status: Annotated[
        CandidateStatus | None,
        Query(description="Statut ; sans lui, les personnes anonymisées ne figurent pas."),
    ] = None,
    commune_insee: Annotated[CommuneInsee | None, Query()] = None,
    sector: Annotated[SectorCode | None, Query(description="Secteur exercé ou souhaité.")] = None,
    qpv_status: Annotated[QpvStatus | None, Query(description="Résidence en QPV.")] = None,
) -> Page[CandidatePublic]:
    query = service.filtered(
        policy.query(principal),
        status=status,
        commune_insee=commune_insee.strip().upper() if commune_insee else None,
        sector=sector,
        qpv_status=qpv_status,
    )
    rows, total = await paginate_by_key(session, query, col(Candidate.id), pagination)
    policy.audit_list(session, principal, rows, request_id=request_id)
    return Page[CandidatePublic].build([CandidatePublic.of(row) for row in rows], total, pagination)


@router.post(
    "/search",
    status_code=HTTP_200_OK,
    summary="Chercher des candidats",
    description="Par nom ou prénom (début de mot, accents et casse ignorés), téléphone ou "
    "e-mail (normalisés). La recherche est dans le corps : aucune donnée personnelle dans l'URL.",
)
async def search_candidates(
    body: CandidateSearch,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    pagination: PaginationDep,
) -> Page[CandidatePublic]:
    query = service.filtered(
        policy.query(principal).where(service.matching(body.q)), status=body.status
    )
    rows, total = await paginate_by_key(session, query, col(Candidate.id), pagination)
    policy.audit_list(session, principal, rows, request_id=request_id)
    return Page[CandidatePublic].build([CandidatePublic.of(row) for row in rows], total, pagination)


@router.get(
    "/duplicates",
    summary="Doublons probables",
    description="Candidats de même nom (accents et casse ignorés) dans la même commune, à "
    "fusionner par une personne (`POST /v1/candidates/{id}/merge`).",
)
async def list_duplicates(
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    pagination: PaginationDep,
) -> Page[DuplicateGroup]:
    policy.authorize(principal, READ)
    visible = policy.visible(principal)
    groups = rights.duplicate_groups(visible)
    total = (
        await session.execute(select(func.count()).select_from(groups.order_by(None).subquery()))
    ).scalar_one()
    # Past the last page, no query: an offset beyond PostgreSQL's bigint would be an error.
    page = (
        []
        if pagination.offset >= total
        else [
            (row[0], row[1])
            for row in await session.execute(
                groups.offset(pagination.offset).limit(pagination.limit)
            )
        ]
    )
    found = await rights.members(session, visible, page)
    shown = [candidate for members in found.values() for candidate in members]
    policy.audit_list(session, principal, shown, request_id=request_id)
    items = [
        DuplicateGroup(
            commune_insee=commune,
            candidates=[CandidatePublic.of(candidate) for candidate in found[(name, commune)]],
        )
        for name, commune in page
    ]
    return Page[DuplicateGroup].build(items, total, pagination)


@router.post(
    "",
    status_code=HTTP_201_CREATED,
    summary="Créer un candidat",
    description="Une personne que votre organisation connaît déjà (même téléphone ou même "
    "e-mail ; pour un animateur, son territoire) est retrouvée au lieu d'être créée deux fois : "
    "réponse 200 avec `matched_existing: true`, et le candidat est désormais partagé avec votre "
    "organisation. Les champs vides du candidat existant sont complétés, rien n'est écrasé. Une "
    "personne connue seulement d'une autre organisation n'est ni retrouvée ni révélée : vous "
    "obtenez votre propre fiche, avec la réponse donnée pour une personne nouvelle (201).",
    responses={200: {"description": "Personne déjà connue de votre organisation, retrouvée."}},
    openapi_extra=body_schema(CandidateCreate),
)
async def create_candidate(
    principal: CurrentPrincipal,
    body: Annotated[Partly[CandidateCreate], Depends(partly(CandidateCreate))],
    session: SessionDep,
    request_id: RequestIdDep,
    request: Request,
    response: Response,
) -> CandidateSaved:
    policy.authorize(principal, CREATE)
    qpv = await indexes_of(request.app).qpv_if_loaded(session)
    candidate, matched = await service.create_candidate(
        session, body.readable(), principal, qpv, request_id=request_id, refused=body.errors
    )
    if matched:
        response.status_code = HTTP_200_OK
    response.headers["Location"] = location(request, "read_candidate", candidate_id=candidate.id)
    public = _respond(response, candidate)
    return CandidateSaved(**public.model_dump(), matched_existing=matched)


@router.get(
    "/{candidate_id}",
    summary="Lire un candidat",
    description="Le profil, avec son `ETag` : à renvoyer dans `If-Match` pour le modifier ou "
    "l'effacer, ou dans `If-None-Match` pour obtenir 304 s'il n'a pas changé. Chaque lecture est "
    "écrite au journal d'audit. Un candidat que vous ne voyez pas (partages, rôle) répond "
    "404, comme un identifiant inconnu. Une personne anonymisée se lit encore : il ne "
    "reste que ses données statistiques.",
)
async def read_candidate(
    candidate_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> CandidatePublic:
    candidate = CandidatePublic.of(
        await policy.get(session, principal, candidate_id, request_id=request_id)
    )
    return if_none_match.answer(response, candidate)


@router.patch(
    "/{candidate_id}",
    summary="Modifier un candidat",
    description="Seuls les champs envoyés changent. Exige `If-Match`. Un changement de commune, "
    "d'adresse ou de coordonnées redécide la résidence QPV (coordonnées, sinon commune).",
    openapi_extra=body_schema(CandidateUpdate),
)
async def update_candidate(
    candidate_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: Annotated[Partly[CandidateUpdate], Depends(partly(CandidateUpdate))],
    if_match: IfMatchDep,
    session: SessionDep,
    request_id: RequestIdDep,
    request: Request,
    response: Response,
) -> CandidatePublic:
    candidate = await policy.get(session, principal, candidate_id, action=UPDATE, for_update=True)
    if_match.check(etag_of(CandidatePublic.of(candidate)))
    qpv = await indexes_of(request.app).qpv_if_loaded(session)
    await service.update_candidate(
        session,
        candidate,
        body.readable(),
        principal,
        qpv,
        request_id=request_id,
        refused=body.errors,
    )
    return _respond(response, candidate)


@router.delete(
    "/{candidate_id}",
    status_code=HTTP_204_NO_CONTENT,
    summary="Effacer un candidat (anonymisation)",
    description="Droit à l'effacement : identité, coordonnées, adresse, position, textes libres, "
    "réponses brutes des dépôts, critères d'éligibilité et fichiers sont supprimés ; restent les "
    "données statistiques (sexe, année de naissance, commune, statut QPV, secteurs, dates). "
    "Exige `If-Match`, comme une modification : on n'efface que la fiche qu'on a lue.",
)
async def erase_candidate(
    candidate_id: uuid.UUID,
    principal: CurrentPrincipal,
    if_match: IfMatchDep,
    session: SessionDep,
    request_id: RequestIdDep,
    storage: StorageDep,
) -> Response:
    candidate = await policy.get(session, principal, candidate_id, action=ERASE, for_update=True)
    if_match.check(etag_of(CandidatePublic.of(candidate)))
    keys = await rights.anonymise(session, candidate, principal, request_id=request_id)
    # Before the commit: should it fail, the erasure is asked again and finds fewer files, never
    # a committed erasure whose files survived.
    for key in keys:
        await storage.delete(key)
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.get(
    "/{candidate_id}/export",
    summary="Exporter tout ce qui concerne un candidat",
    description="Droit d'accès : profil, dépôts avec leurs réponses brutes et leurs fichiers, "
    "critères d'éligibilité, partages et journal d'audit le concernant.",
)
async def export_candidate(
    candidate_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> CandidateExport:
    candidate = await policy.get(session, principal, candidate_id, action=EXPORT)
    return await rights.export(session, candidate, principal, request_id=request_id)


@router.post(
    "/{candidate_id}/merge",
    summary="Fusionner un doublon dans ce candidat",
    description="Les dépôts, partages et critères du doublon passent sur ce candidat, ses champs "
    "vides sont complétés ; le doublon est anonymisé et pointe vers ce candidat "
    "(`merged_into_id`).",
)
async def merge_candidates(
    candidate_id: uuid.UUID,
    body: MergeRequest,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
) -> CandidatePublic:
    policy.authorize(principal, MERGE)
    first, second = sorted((candidate_id, body.duplicate_id))
    # Locked in id order: two merges of the same pair never wait on each other in a cycle.
    rows = {
        row.id: row
        for row in [
            await policy.get(session, principal, first, action=MERGE, for_update=True),
            await policy.get(session, principal, second, action=MERGE, for_update=True),
        ]
    }
    kept = await rights.merge(
        session, rows[candidate_id], rows[body.duplicate_id], principal, request_id=request_id
    )
    return _respond(response, kept)


@router.get(
    "/{candidate_id}/eligibility",
    summary="Critères d'éligibilité d'un candidat",
    description="Les critères sensibles (RQTH, situation judiciaire) n'apparaissent qu'avec la "
    "permission `sensitive_data`.",
)
async def list_criteria(
    candidate_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> list[EligibilityPublic]:
    await policy.get(session, principal, candidate_id, request_id=request_id)
    criteria = await session.scalars(eligibility.criteria_query(candidate_id, principal))
    return [EligibilityPublic.of(criterion) for criterion in criteria]


@router.post(
    "/{candidate_id}/eligibility",
    status_code=HTTP_201_CREATED,
    summary="Valider un critère d'éligibilité",
    description="Facilitateurs et administrateurs. Un critère sensible exige la permission "
    "`sensitive_data` ; le critère « habitant d'un QPV » suit la résidence enregistrée.",
)
async def add_criterion(
    candidate_id: uuid.UUID,
    body: EligibilityCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> EligibilityPublic:
    candidate = await policy.get(
        session, principal, candidate_id, action=VALIDATE_ELIGIBILITY, for_update=True
    )
    criterion = await eligibility.add_criterion(
        session, candidate, body, principal, request_id=request_id
    )
    return EligibilityPublic.of(criterion)


@router.delete(
    "/{candidate_id}/eligibility/{criterion_id}",
    status_code=HTTP_204_NO_CONTENT,
    summary="Retirer un critère d'éligibilité",
    description="Facilitateurs et administrateurs. Le critère est supprimé, le retrait écrit au "
    "journal d'audit, et le classement du candidat dans les offres recalculé. Un critère "
    "sensible répond 404 sans la permission `sensitive_data`, comme un critère inconnu.",
)
async def remove_criterion(
    candidate_id: uuid.UUID,
    criterion_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> Response:
    candidate = await policy.get(
        session, principal, candidate_id, action=VALIDATE_ELIGIBILITY, for_update=True
    )
    criterion = await session.scalar(
        eligibility.criteria_query(candidate_id, principal).where(
            col(EligibilityCriterion.id) == criterion_id
        )
    )
    if criterion is None:
        raise NotFound()
    await eligibility.remove_criterion(
        session, candidate, criterion, principal, request_id=request_id
    )
    return Response(status_code=HTTP_204_NO_CONTENT)
