"""``/v1/callbacks``: the 30-day callback window (product.md §6, decision 0020).

The inbox lists the caller's open cases, overdue first then by days left. Names are personal
data: every list and read is audited.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.status import HTTP_201_CREATED

from services.api.access import UPDATE
from services.api.auth.dependencies import CurrentPrincipal
from services.api.callbacks import service
from services.api.callbacks.policy import policy
from services.api.callbacks.schemas import (
    AssignmentCreate,
    AttemptCreate,
    BulkAssignmentCreate,
    BulkAssignmentResult,
    CallbackPublic,
    CallbackSummary,
    OutcomeCreate,
)
from services.api.conditional import IfMatch, IfNoneMatchDep, etag_of
from services.api.deps import RequestIdDep, SessionDep, SettingsDep
from services.api.errors import NotFound, ValidationFailed
from services.api.pagination import Page, PaginationDep, paginate
from services.api.validation import FieldError
from services.core.clock import now
from services.core.models.callback import CallbackCase, CallbackOutcome, CallbackStatus
from services.core.models.candidate import Candidate
from services.core.security.principal import Principal

router = APIRouter(prefix="/callbacks", tags=["rappels"])

OptionalIfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="ETag du rappel lu : s'il est envoyé et que le rappel a changé, 412.",
    ),
]


async def _candidates(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Candidate]:
    if not ids:
        return {}
    rows = await session.scalars(select(Candidate).where(col(Candidate.id).in_(ids)))
    return {row.id: row for row in rows}


async def _public(session: AsyncSession, case: CallbackCase) -> CallbackPublic:
    candidate = await session.get(Candidate, case.candidate_id)
    attempts = await service.attempts_of(session, case.id)
    return CallbackPublic.build(case, candidate, attempts, now())


def _inbox(
    query: Select[CallbackCase],
    principal: Principal,
    *,
    status: CallbackStatus,
    mine: bool,
    unassigned: bool | None,
    organisation_id: uuid.UUID | None,
    overdue: bool | None,
) -> Select[CallbackCase]:
    query = query.where(col(CallbackCase.status) == status)
    if mine:
        query = query.where(col(CallbackCase.prescriber_id) == principal.id)
    if unassigned is not None:
        nobody = col(CallbackCase.prescriber_id).is_(None)
        query = query.where(nobody if unassigned else ~nobody)
    if organisation_id is not None:
        query = query.where(col(CallbackCase.organisation_id) == organisation_id)
    if overdue is not None:
        overdue_cases = col(CallbackCase.due_at) <= now()
        query = query.where(overdue_cases if overdue else ~overdue_cases)
    # The due date orders by days left, overdue cases (due earliest) first.
    return query.order_by(col(CallbackCase.due_at), col(CallbackCase.id))


@router.get(
    "",
    summary="Les rappels à faire",
    description="Les rappels de l'organisation de l'appelant (de son territoire pour un "
    "facilitateur) et ceux qui lui sont attribués : en retard d'abord, puis par jours restants. "
    "Chaque consultation est journalisée (le nom de la personne est une donnée personnelle).",
)
async def list_callbacks(
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    pagination: PaginationDep,
    status: Annotated[
        CallbackStatus, Query(description="`open` (défaut) ou `closed`.")
    ] = CallbackStatus.OPEN,
    mine: Annotated[
        bool, Query(description="Seulement les rappels attribués à l'appelant lui-même.")
    ] = False,
    unassigned: Annotated[
        bool | None,
        Query(
            description="`true` : la file de l'organisation, les rappels qu'aucun conseiller "
            "n'a encore (à attribuer) ; `false` : ceux qui en ont un."
        ),
    ] = None,
    organisation_id: Annotated[
        uuid.UUID | None, Query(description="Organisation chargée du rappel.")
    ] = None,
    overdue: Annotated[bool | None, Query(description="En retard (ou non).")] = None,
) -> Page[CallbackSummary]:
    query = _inbox(
        policy.query(principal),
        principal,
        status=status,
        mine=mine,
        unassigned=unassigned,
        organisation_id=organisation_id,
        overdue=overdue,
    )
    rows, total = await paginate(session, query, pagination)
    policy.audit_list(session, principal, rows, request_id=request_id)
    people = await _candidates(session, [row.candidate_id for row in rows])
    at = now()
    items = [CallbackSummary.of(row, people.get(row.candidate_id), at) for row in rows]
    return Page[CallbackSummary].build(items, total, pagination)


@router.get(
    "/{callback_id}",
    summary="Lire un rappel",
    description="Avec les jours restants, les tentatives et, si la personne est revenue déposer "
    "pendant que le rappel était ouvert, `came_back`.",
)
async def read_callback(
    callback_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> CallbackPublic:
    case = await policy.get(session, principal, callback_id, request_id=request_id)
    return if_none_match.answer(response, await _public(session, case))


async def _for_update(
    session: AsyncSession,
    principal: Principal,
    callback_id: uuid.UUID,
    if_match: str | None,
) -> CallbackCase:
    case = await policy.get(session, principal, callback_id, action=UPDATE, for_update=True)
    if if_match is not None:
        IfMatch(if_match).check(etag_of(await _public(session, case)))
    return case


async def _respond(session: AsyncSession, response: Response, case: CallbackCase) -> CallbackPublic:
    public = await _public(session, case)
    response.headers["ETag"] = etag_of(public)
    return public


@router.post(
    "/{callback_id}/attempts",
    status_code=HTTP_201_CREATED,
    summary="Enregistrer une tentative de rappel",
    description="L'appel initial puis deux relances au plus : une quatrième tentative, ou une "
    "tentative après que la personne a été jointe, est refusée (409). La troisième tentative "
    "sans succès clôt le rappel (`unreachable`). Répond avec le rappel.",
)
async def create_attempt(
    callback_id: uuid.UUID,
    body: AttemptCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    response: Response,
    if_match: OptionalIfMatch = None,
) -> CallbackPublic:
    case = await _for_update(session, principal, callback_id, if_match)
    await service.record_attempt(
        session,
        case,
        principal,
        settings,
        now(),
        channel=body.channel,
        result=body.result,
        attempted_at=body.attempted_at,
        comment=body.comment,
        request_id=request_id,
    )
    return await _respond(session, response, case)


@router.post(
    "/{callback_id}/outcome",
    summary="Enregistrer la suite donnée",
    description="Après une tentative où la personne a été jointe (409 sinon). Clôt le rappel et "
    "annule ses alertes en attente.",
)
async def create_outcome(
    callback_id: uuid.UUID,
    body: OutcomeCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
    if_match: OptionalIfMatch = None,
) -> CallbackPublic:
    case = await _for_update(session, principal, callback_id, if_match)
    await service.record_outcome(
        session, case, principal, now(), CallbackOutcome(body.outcome), request_id=request_id
    )
    return await _respond(session, response, case)


@router.post(
    "/{callback_id}/assign",
    summary="Attribuer un rappel",
    description="À une organisation de votre territoire et, au choix, à l'un de ses "
    "conseillers. La nouvelle organisation voit la personne ; l'alerte d'attribution part au "
    "prochain moment ouvré.",
)
async def assign_callback(
    callback_id: uuid.UUID,
    body: AssignmentCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    response: Response,
    if_match: OptionalIfMatch = None,
) -> CallbackPublic:
    case = await _for_update(session, principal, callback_id, if_match)
    await service.assign(
        session,
        case,
        principal,
        settings,
        now(),
        organisation_id=body.organisation_id,
        prescriber_id=body.prescriber_id,
        request_id=request_id,
    )
    return await _respond(session, response, case)


@router.post(
    "/assignments",
    summary="Attribuer plusieurs rappels",
    description="Les rappels listés vont tous à la même organisation de votre territoire et, au "
    "choix, au même conseiller — tous ou aucun : un rappel inconnu ou hors de votre champ (404), "
    "clos (409) ou une attribution refusée (422) n'en change aucun. Chaque attribution est "
    "journalisée et son alerte part comme pour un rappel seul.",
)
async def assign_callbacks(
    body: BulkAssignmentCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> BulkAssignmentResult:
    policy.authorize(principal, UPDATE)
    if len(set(body.callback_ids)) != len(body.callback_ids):
        raise ValidationFailed(
            [
                FieldError(
                    loc=["body", "callback_ids"],
                    message="un rappel figure deux fois dans la liste",
                    type="invalid",
                )
            ]
        )
    # Locked in id order, as every bulk writer does, so two requests never wait on each other.
    rows = await session.scalars(
        policy.query(principal)
        .where(col(CallbackCase.id).in_(body.callback_ids))
        .order_by(col(CallbackCase.id))
        .with_for_update()
    )
    found = {row.id: row for row in rows}
    missing = [index for index, id_ in enumerate(body.callback_ids) if id_ not in found]
    if missing:
        raise NotFound(
            "Rappels introuvables (positions "
            f"{', '.join(str(index) for index in missing)} de « callback_ids ») : rien n'a été "
            "attribué."
        )
    cases = [found[id_] for id_ in body.callback_ids]
    changed = await service.assign_many(
        session,
        cases,
        principal,
        settings,
        now(),
        organisation_id=body.organisation_id,
        prescriber_id=body.prescriber_id,
        request_id=request_id,
    )
    return BulkAssignmentResult(
        assigned=changed, unchanged=len(cases) - changed, callback_ids=body.callback_ids
    )
