"""``/v1/contracts``: clause contracts with their lots and holders (decision 0009)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.api.auth.dependencies import CurrentPrincipal
from services.api.conditional import IfMatchDep
from services.api.contracts import service
from services.api.contracts.policy import policy
from services.api.contracts.schemas import ContractCreate, ContractPublic, ContractUpdate
from services.api.deps import RequestIdDep, SessionDep
from services.api.pagination import Page, PaginationDep, paginate
from services.api.resources import Resource
from services.core.models.contract import ContractStatus

router = APIRouter(prefix="/contracts", tags=["marchés"])
contracts = Resource(router, policy, ContractPublic, ContractPublic.of, name="contract")


@router.get(
    "",
    summary="Lister les marchés clausés",
    description="Les marchés que l'appelant voit, du dernier enregistré au premier : tous pour "
    "l'administrateur ; pour un facilitateur, ceux dont l'acheteur ou un attributaire est dans "
    "son territoire ; pour les autres rôles, ceux dont leur organisation est l'acheteur ou un "
    "attributaire. Un agent d'accueil n'en lit aucun (403). Les marchés trouvés dans les données "
    "ouvertes et pas encore confirmés y figurent (`status=discovered`). Les filtres se cumulent.",
)
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


contracts.add_read(
    summary="Lire un marché, ses lots et ses attributaires",
    description="Un marché que l'appelant voit (mêmes règles que la liste ; sinon 404), ses "
    "lots par numéro croissant et ses attributaires. Rend un `ETag` ; avec `If-None-Match`, "
    "304 quand la copie du client est à jour.",
)
contracts.add_create(
    ContractCreate,
    service.create_contract,
    summary="Enregistrer un marché (en brouillon)",
    description="Un nouveau marché à l'état `draft`, avec ses lots et ses attributaires. Par "
    "l'administrateur, ou par un facilitateur pour un marché dont l'acheteur ou un attributaire "
    "est dans son territoire (403 sinon). L'acheteur et les attributaires doivent exister, la fin "
    "d'exécution ne pas précéder le début : toutes les erreurs sont rendues ensemble (422). Une "
    "référence que l'acheteur a déjà donnée à un autre marché est refusée (409 "
    "`contract-reference-taken`). Les heures et montants s'envoient en nombre ou en chaîne "
    "décimale et se lisent en chaîne à deux décimales. Répond 201 avec `Location` et `ETag`.",
)
contracts.add_update(
    ContractUpdate,
    service.update_contract,
    summary="Modifier un marché",
    description="Seuls les champs envoyés changent. `lots` et `holder_ids`, s'ils sont envoyés, "
    "remplacent la liste entière ; les lots sont reconnus par leur numéro. Exige `If-Match`.",
)


async def _transition(
    session: SessionDep,
    principal: CurrentPrincipal,
    contract_id: uuid.UUID,
    target: ContractStatus,
    response: Response,
) -> ContractPublic:
    contract = await contracts.locked(session, principal, contract_id)
    await service.transition(session, contract, target)
    return contracts.respond(response, contract)


@router.post(
    "/{contract_id}/activate",
    summary="Mettre un marché en cours (brouillon → en cours)",
    description="Un marché `draft` passe à `active` : ses offres peuvent alors être publiées. Il "
    "lui faut au moins un attributaire (`holder_ids`), sinon 409 `contract-incomplete` ; un "
    "marché dans un autre état : 409 `illegal-transition`. Par l'administrateur ou un "
    "facilitateur du territoire (403 pour les autres). Sans corps ni `If-Match` ; rend le marché "
    "et son nouvel `ETag`.",
)
async def activate_contract(
    contract_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, response: Response
) -> ContractPublic:
    return await _transition(session, principal, contract_id, ContractStatus.ACTIVE, response)


@router.post(
    "/{contract_id}/close",
    summary="Clore un marché (en cours → clos)",
    description="Un marché `active` passe à `closed`. Ses offres doivent être closes ou en "
    "brouillon : une offre encore ouverte ou pourvue donne 409 `contract-has-open-offers` ; un "
    "marché dans un autre état : 409 `illegal-transition`. Un marché clos ne se modifie plus et "
    "ne reçoit plus ni offre, ni obligation, ni attribution (409 `contract-closed`). Par "
    "l'administrateur ou un facilitateur du territoire (403 pour les autres). Sans corps ni "
    "`If-Match` ; rend le marché et son nouvel `ETag`.",
)
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
    contract = await contracts.locked(session, principal, contract_id, if_match)
    await service.confirm(session, contract, request_id=request_id)
    return contracts.respond(response, contract)
