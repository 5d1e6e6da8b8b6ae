"""Clause progress (product.md §8.6–8.7, decisions 0078 and 0079): a contract's progress and the
clause-progress report of a scope, as JSON, CSV, XLSX, and the bilan as HTML or PDF.

Who sees what: the admin everything; a facilitator the contracts, buyers and companies of its
territory, and its territory; the users of a buyer their contracts' progress and their buyer's
report; a company (any other user of an organisation attributed a lot) the figures of its own
attributions only. Counsellors and front desks never see the ledger. Aggregates only: nothing
is audited, no participant is named."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.responses import Response

from services.api.auth.dependencies import CurrentPrincipal
from services.api.contracts.policy import in_territory
from services.api.deps import SessionDep, SettingsDep
from services.api.errors import BadRequest, Forbidden, NotFound
from services.api.reports.progress_schemas import ProgressPublic, progress_json
from services.core.callbacks.report_files import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from services.core.clock import PARIS, now
from services.core.ledger import bilan, progress_files
from services.core.ledger.progress import Progress, progress, targets_of
from services.core.ledger.scope import Period, Scope, ScopeKind, resolve
from services.core.ledger.scope import quarter as parse_quarter
from services.core.models.attribution import Attribution
from services.core.models.contract import Contract, ContractLot
from services.core.models.organisation import Organisation
from services.core.models.user import Role
from services.core.security.principal import Access, Principal
from services.core.settings import Settings

router = APIRouter(tags=["avancement des clauses"])

OUTSIDE_THE_LEDGER = frozenset({Role.PRESCRIBER, Role.RECEPTION})


class ProgressFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    HTML = "html"
    PDF = "pdf"


_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "L'avancement, en JSON, CSV, XLSX, ou le bilan en HTML ou PDF selon "
        "`format`.",
        "content": {
            CSV_MEDIA_TYPE.split(";")[0]: {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            "text/html": {"schema": {"type": "string"}},
            bilan.PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}

QuarterQuery = Annotated[
    str | None,
    Query(pattern=r"^[1-9]\d{3}-Q[1-4]$", description="Trimestre, par exemple `2026-Q3`."),
]
StartQuery = Annotated[date | None, Query(description="Premier jour de la période.")]
EndQuery = Annotated[date | None, Query(description="Dernier jour de la période.")]
FormatQuery = Annotated[
    ProgressFormat,
    Query(description="`json` (défaut), `csv`, `xlsx`, ou le bilan : `html`, `pdf`."),
]


def period_of(quarter: str | None, start: date | None, end: date | None) -> Period:
    if quarter is not None:
        if start is not None or end is not None:
            raise BadRequest("Donnez un trimestre ou des dates de début et de fin, pas les deux.")
        return parse_quarter(quarter)
    if start is None or end is None:
        raise BadRequest("Donnez la période : un trimestre (quarter) ou un début et une fin.")
    if end < start:
        raise BadRequest("La fin de la période précède son début.")
    if (end - start).days > 366 * 20:
        raise BadRequest("La période ne peut dépasser vingt ans.")
    return Period(start, end)


def _require_ledger(principal: Principal) -> None:
    if not principal.may_use("contracts", Access.READ):
        raise Forbidden("Cette clé d'API n'a pas le droit « contracts:read ».")


def _full_view(principal: Principal, contract: Contract) -> bool:
    """The whole contract: the admin, its territory's facilitators, its buyer's users."""
    if principal.everywhere or principal.organisation_id == contract.buyer_id:
        return True
    return principal.role is Role.FACILITATOR and in_territory(principal, contract)


async def _attributed(
    session: AsyncSession, organisation_id: uuid.UUID, contract_id: uuid.UUID
) -> bool:
    found = await session.scalar(
        select(col(Attribution.id))
        .where(
            col(Attribution.contract_id) == contract_id,
            col(Attribution.organisation_id) == organisation_id,
        )
        .limit(1)
    )
    return found is not None


async def _contract_scope(
    session: AsyncSession, principal: Principal, contract: Contract, lot: ContractLot | None
) -> Scope:
    """The contract (or its lot) as the caller may see it; 404 when it may not."""
    kind, scope_id = (ScopeKind.LOT, lot.id) if lot else (ScopeKind.CONTRACT, contract.id)
    scope = await resolve(session, kind, scope_id)
    assert scope is not None
    if _full_view(principal, contract):
        return scope
    holder = any(h.organisation_id == principal.organisation_id for h in contract.holders)
    if holder or await _attributed(session, principal.organisation_id, contract.id):
        organisation = await session.get(Organisation, principal.organisation_id)
        assert organisation is not None
        return Scope(
            scope.kind,
            scope.id,
            f"{scope.name} — {organisation.name}",
            scope.contract_ids,
            scope.lot_id,
            company_id=principal.organisation_id,
        )
    raise NotFound()


async def _compute(
    session: AsyncSession, scope: Scope, period: Period, settings: Settings
) -> Progress:
    at = now()
    targets = targets_of(settings)
    return await progress(
        session, scope, period, as_of=at, today=at.astimezone(PARIS).date(), targets=targets
    )


def render(report: Progress, format: ProgressFormat) -> Any:
    if format is ProgressFormat.JSON:
        return Response(progress_json(report), media_type="application/json")
    writers = {
        ProgressFormat.CSV: (progress_files.to_csv, CSV_MEDIA_TYPE),
        ProgressFormat.XLSX: (progress_files.to_xlsx, XLSX_MEDIA_TYPE),
        ProgressFormat.HTML: (bilan.to_html, bilan.HTML_MEDIA_TYPE),
        ProgressFormat.PDF: (bilan.to_pdf, bilan.PDF_MEDIA_TYPE),
    }
    write, media_type = writers[format]
    name = progress_files.filename(report, format.value)
    if format in (ProgressFormat.HTML, ProgressFormat.PDF):
        name = "bilan-" + name.removeprefix("avancement-")
        disposition = f'inline; filename="{name}"'
    else:
        disposition = f'attachment; filename="{name}"'
    return Response(
        write(report), media_type=media_type, headers={"Content-Disposition": disposition}
    )


@router.get(
    "/contracts/{contract_id}/progress",
    summary="Avancement de la clause d'un marché",
    description="Les indicateurs de la clause sur une période (`quarter`, ou `start` et `end`) : "
    "heures dues, comptées, déclarées non validées, taux, restant, rythme attendu et retard ; "
    "heures par modalité, type d'employeur, taille d'entreprise, sous-traitance ; QPV ; ANRU ; "
    "participants et nouveaux entrants ; contrats ; pénalités ; relevés. Une entreprise ne voit "
    "que ses propres attributions. Sans période : du début du marché à aujourd'hui.",
    response_model=ProgressPublic,
    responses=_FILES,
)
async def read_contract_progress(
    contract_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    quarter: QuarterQuery = None,
    start: StartQuery = None,
    end: EndQuery = None,
    format: FormatQuery = ProgressFormat.JSON,
) -> Any:
    _require_ledger(principal)
    contract = (
        None if principal.role in OUTSIDE_THE_LEDGER else await session.get(Contract, contract_id)
    )
    if contract is None:
        raise NotFound()
    scope = await _contract_scope(session, principal, contract, None)
    if quarter is None and start is None and end is None:
        period = Period(
            contract.start_date, max(now().astimezone(PARIS).date(), contract.start_date)
        )
    else:
        period = period_of(quarter, start, end)
    return render(await _compute(session, scope, period, settings), format)


async def _report_scope(
    session: AsyncSession, principal: Principal, kind: ScopeKind, scope_id: uuid.UUID | None
) -> Scope:
    if principal.role in OUTSIDE_THE_LEDGER:
        raise Forbidden()
    if kind in (ScopeKind.CONTRACT, ScopeKind.LOT):
        if scope_id is None:
            raise BadRequest("Donnez l'identifiant du marché ou du lot (scope_id).")
        lot = await session.get(ContractLot, scope_id) if kind is ScopeKind.LOT else None
        contract = await session.get(Contract, lot.contract_id if lot else scope_id)
        if contract is None or (kind is ScopeKind.LOT and lot is None):
            raise NotFound()
        return await _contract_scope(session, principal, contract, lot)
    scope_id = scope_id or principal.organisation_id
    if kind is ScopeKind.TERRITORY:
        allowed = principal.everywhere or (
            principal.role is Role.FACILITATOR and scope_id in principal.territory
        )
        if not allowed:
            if principal.role is not Role.FACILITATOR and not principal.everywhere:
                raise Forbidden()
            raise NotFound()
    elif not (
        principal.everywhere
        or (principal.role is Role.FACILITATOR and principal.sees(scope_id))
        or scope_id == principal.organisation_id
    ):
        raise NotFound()
    scope = await resolve(session, kind, scope_id)
    if scope is None:
        raise NotFound()
    return scope


@router.get(
    "/reports/clause-progress",
    summary="Rapport d'avancement des clauses",
    description="Les indicateurs de la clause pour un territoire, un acheteur, un marché, un lot "
    "ou une entreprise (`scope`, `scope_id` : par défaut l'organisation de l'appelant) sur une "
    "période (`quarter`, ou `start` et `end`), avec une ligne par marché, lot et entreprise. "
    "`format=csv` ou `xlsx` : les mêmes chiffres en fichier ; `html` ou `pdf` : le bilan de "
    "l'acheteur, avec ses graphiques. Chiffres agrégés : aucun participant n'est nommé.",
    response_model=ProgressPublic,
    responses=_FILES,
)
async def read_clause_progress(
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    scope: Annotated[ScopeKind, Query(description="territory, buyer, contract, lot, company.")],
    scope_id: Annotated[uuid.UUID | None, Query(description="Le territoire, l'acheteur…")] = None,
    quarter: QuarterQuery = None,
    start: StartQuery = None,
    end: EndQuery = None,
    format: FormatQuery = ProgressFormat.JSON,
) -> Any:
    _require_ledger(principal)
    period = period_of(quarter, start, end)
    resolved = await _report_scope(session, principal, scope, scope_id)
    return render(await _compute(session, resolved, period, settings), format)
