"""``/v1/contracts``: clause contracts with their lots and holders (decision 0009)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.status import HTTP_201_CREATED

from services.api.access import CREATE, UPDATE
from services.api.auth.dependencies import CurrentPrincipal
from services.api.body import Partly, body_schema, partly
from services.api.conditional import IfMatchDep, IfNoneMatchDep, etag_of
from services.api.contracts import service
from services.api.contracts.policy import policy
from services.api.contracts.schemas import ContractCreate, ContractPublic, ContractUpdate
from services.api.deps import RequestIdDep, SessionDep
from services.api.locations import location
from services.api.pagination import Page, PaginationDep, paginate
from services.core.models.contract import Contract, ContractStatus

router = APIRouter(prefix="/contracts", tags=["marchés"])


def _respond(response: Response, contract: Contract) -> ContractPublic:
    public = ContractPublic.of(contract)
    response.headers["ETag"] = etag_of(public)
    return public


@router.get("", summary="Lister les marchés clausés")
async def list_contracts(
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
    status: Annotated[ContractStatus | None, Query(description="État du marché.")] = None,
    buyer_id: Annotated[uuid.UUID | None, Query(description="Organisation acheteuse.")] = None,
    is_npnru: Annotated[bool | None, Query(description="Marchés NPNRU (ANRU).")] = None,
) -> Page[ContractPublic]:
    query = service.search(
        policy.query(principal), status=status, buyer_id=buyer_id, is_npnru=is_npnru
    )
    rows, total = await paginate(session, query, pagination)
    return Page[ContractPublic].build([ContractPublic.of(row) for row in rows], total, pagination)


@router.get("/{contract_id}", summary="Lire un marché, ses lots et ses attributaires")
async def read_contract(
    contract_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> ContractPublic:
    contract = ContractPublic.of(await policy.get(session, principal, contract_id))
    return if_none_match.answer(response, contract)


@router.post(
    "",
    status_code=HTTP_201_CREATED,
    openapi_extra=body_schema(ContractCreate),
    summary="Enregistrer un marché (en brouillon)",
)
async def create_contract(
    principal: CurrentPrincipal,
    body: Annotated[Partly[ContractCreate], Depends(partly(ContractCreate))],
    session: SessionDep,
    request: Request,
    response: Response,
) -> ContractPublic:
    policy.authorize(principal, CREATE)
    contract = await service.create_contract(
        session, body.readable(), principal, refused=body.errors
    )
    response.headers["Location"] = location(request, "read_contract", contract_id=contract.id)
    return _respond(response, contract)


@router.patch(
    "/{contract_id}",
    summary="Modifier un marché",
    description="Seuls les champs envoyés changent. `lots` et `holder_ids`, s'ils sont envoyés, "
    "remplacent la liste entière ; les lots sont reconnus par leur numéro. Exige `If-Match`.",
    openapi_extra=body_schema(ContractUpdate),
)
async def update_contract(
    contract_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: Annotated[Partly[ContractUpdate], Depends(partly(ContractUpdate))],
    if_match: IfMatchDep,
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
) -> ContractPublic:
    contract = await policy.get(session, principal, contract_id, action=UPDATE, for_update=True)
    if_match.check(etag_of(ContractPublic.of(contract)))
    await service.update_contract(
        session, contract, body.readable(), principal, request_id=request_id, refused=body.errors
    )
    return _respond(response, contract)


async def _transition(
    session: SessionDep,
    principal: CurrentPrincipal,
    contract_id: uuid.UUID,
    target: ContractStatus,
    response: Response,
) -> ContractPublic:
    contract = await policy.get(session, principal, contract_id, action=UPDATE, for_update=True)
    await service.transition(session, contract, target)
    return _respond(response, contract)


@router.post("/{contract_id}/activate", summary="Mettre un marché en cours (brouillon → en cours)")
async def activate_contract(
    contract_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, response: Response
) -> ContractPublic:
    return await _transition(session, principal, contract_id, ContractStatus.ACTIVE, response)


@router.post("/{contract_id}/close", summary="Clore un marché (en cours → clos)")
async def close_contract(
    contract_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, response: Response
) -> ContractPublic:
    return await _transition(session, principal, contract_id, ContractStatus.CLOSED, response)


@router.post(
    "/{contract_id}/confirm",
    summary="Confirmer un marché découvert (découvert → brouillon)",
    description="Un marché trouvé dans les données essentielles de la commande publique "
    "(`maillon import decp`) devient un brouillon suivi par Maillon ; l'import ne le modifie "
    "plus. Exige `If-Match`.",
)
async def confirm_contract(
    contract_id: uuid.UUID,
    principal: CurrentPrincipal,
    if_match: IfMatchDep,
    session: SessionDep,
    request_id: RequestIdDep,
    response: Response,
) -> ContractPublic:
    contract = await policy.get(session, principal, contract_id, action=UPDATE, for_update=True)
    if_match.check(etag_of(ContractPublic.of(contract)))
    await service.confirm(session, contract, request_id=request_id)
    return _respond(response, contract)
