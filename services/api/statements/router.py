"""Hours statements (product.md §8.4; decision 0077): lines declared through the API (one or a
batch), through the upload of the template Maillon generates, validated or rejected by the
facilitator. A set of lines with any refused line stores nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.status import HTTP_201_CREATED

from services.api.access import CREATE
from services.api.attributions.policy import policy as attributions_policy
from services.api.auth.dependencies import CurrentPrincipal
from services.api.body import Partly, body_schema, in_body, partly
from services.api.deps import RequestIdDep, SessionDep
from services.api.errors import BadRequest, ValidationFailed
from services.api.pagination import Page, PaginationDep, paginate
from services.api.placements.policy import placements_visible
from services.api.placements.policy import policy as placements_policy
from services.api.statements import files, service, store
from services.api.statements.examples import (
    STATEMENT_EXAMPLES,
    TEMPLATE_CSV_EXAMPLE,
    TEMPLATE_XLSX_EXAMPLES,
)
from services.api.statements.policy import DECIDE, policy
from services.api.statements.schemas import (
    MAX_BATCH_LINES,
    ImportSummary,
    StatementBatchIn,
    StatementBatchPublic,
    StatementLineIn,
    StatementLinePublic,
    StatementReject,
    parse_month,
)
from services.api.validation import FieldError, InvalidValue, today, validate_partly
from services.core.clock import now
from services.core.ledger.counted import last_of_month
from services.core.models.candidate import Candidate
from services.core.models.placement import (
    Placement,
    PlacementStatus,
    StatementLine,
    StatementSource,
    StatementStatus,
)
from services.core.security.principal import Principal
from services.core.storage.uploads import content_disposition

router = APIRouter(tags=["heures d'insertion"])

MAX_IMPORT_LINES = 50_000


class TemplateFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


def _month_query(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return parse_month(value)
    except InvalidValue as error:
        raise ValidationFailed(
            [FieldError(loc=["query", name], message=str(error), type="invalid")]
        ) from None


def _audit(
    session: AsyncSession, principal: Principal, lines: list[StatementLine], request_id: str
) -> None:
    policy.audit_list(session, principal, lines, request_id=request_id)


def _refused(
    refusals: Sequence[service.Refusal], loc: Callable[[service.Refusal], list[str | int]]
) -> ValidationFailed:
    return ValidationFailed(
        [FieldError(loc=loc(r), message=r.message, type=r.kind) for r in refusals],
        f"{len({r.index for r in refusals})} ligne(s) refusée(s) : rien n'a été enregistré.",
    )


async def _declare(
    session: AsyncSession,
    principal: Principal,
    request_id: str,
    lines: list[service.Declared],
    source: StatementSource,
    at: datetime,
    loc: Callable[[service.Refusal], list[str | int]],
    read_refusals: Sequence[service.Refusal] = (),
    order: Callable[[service.Refusal], Any] | None = None,
) -> list[uuid.UUID]:
    """Check ``lines`` as a whole, then write them all (decision 0084); any refused line (among
    ``read_refusals`` too, those of reading a file) refuses them all: 422 naming each one."""
    found = await store.find(session, principal, lines)
    refusals = [
        *read_refusals,
        *service.refusals(lines, found.placements, found.stored, today()),
    ]
    if refusals:
        raise _refused(sorted(refusals, key=order) if order else refusals, loc)
    written, refusals = await store.write(session, principal, lines, source, at)
    if refusals:
        raise _refused(refusals, loc)
    policy.audit_ids(session, principal, written, request_id=request_id)
    return written


async def _lines_of_body(request: Request) -> tuple[list[StatementLineIn], bool]:
    """The lines of a body: one line, or ``{"lines": [...]}``; whether it was a batch."""
    raw = await request.body()
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        document = None
    if isinstance(document, dict) and "lines" in document:
        batch, errors = validate_partly(StatementBatchIn, raw)
        if errors or batch is None:
            raise ValidationFailed(in_body(errors))
        return batch.lines, True
    line, errors = validate_partly(StatementLineIn, raw)
    if errors or line is None:
        raise ValidationFailed(in_body(errors))
    return [line], False


_STATEMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        body_schema(StatementLineIn)["requestBody"]["content"]["application/json"][
                            "schema"
                        ],
                        body_schema(StatementBatchIn)["requestBody"]["content"]["application/json"][
                            "schema"
                        ],
                    ]
                },
                "examples": STATEMENT_EXAMPLES,
            }
        },
    }
}


@router.post(
    "/hours-statements",
    status_code=HTTP_201_CREATED,
    openapi_extra=_STATEMENT_BODY,
    summary="Déclarer les heures d'un mois (une ligne, ou un lot de lignes)",
    description="Une ligne (`placement_id`, `month` AAAA-MM, `hours_worked`, `training_hours`) "
    f'ou `{{"lines": [...]}}` (au plus {MAX_BATCH_LINES}). Tout ou rien : une seule ligne '
    "refusée et rien n'est enregistré ; chaque ligne refusée est nommée avec sa raison. Un mois "
    "déjà déclaré est remplacé (s'il n'est pas validé). Par un facilitateur du territoire ou une "
    "entreprise, pour les mises en emploi qu'elle voit (ses attributions, les personnes qu'elle "
    "emploie), par exemple avec la clé d'API `hours_statements:write` de son logiciel RH.",
)
async def declare_hours(
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    request: Request,
) -> StatementBatchPublic:
    policy.authorize(principal, CREATE)
    sent, batch = await _lines_of_body(request)
    lines = [
        service.Declared(i, s.placement_id, s.month, s.hours_worked, s.training_hours)
        for i, s in enumerate(sent)
    ]
    source, at = service.source_for(principal), now()
    written = await _declare(
        session,
        principal,
        request_id,
        lines,
        source,
        at,
        lambda r: ["body", "lines", r.index, r.field] if batch else ["body", r.field],
    )
    return StatementBatchPublic(
        lines=[
            StatementLinePublic.of(line)
            for line in store.stored(lines, written, principal, source, at)
        ]
    )


@router.get(
    "/hours-statements",
    summary="Lister les lignes de relevés d'heures",
    description="Une ligne par mise en emploi et par mois, par mois puis par identifiant. Un "
    "facilitateur voit celles des mises en emploi de son territoire, une entreprise celles des "
    "mises en emploi qu'elle voit (ses attributions, les personnes qu'elle emploie) ; "
    "l'administrateur n'en voit aucune, l'acheteur, les prescripteurs et les accueils n'y ont "
    "pas accès (403). Filtres combinables (`month` au format AAAA-MM) ; chaque liste est "
    "auditée.",
)
async def list_statements(
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
    request_id: RequestIdDep,
    placement_id: Annotated[uuid.UUID | None, Query()] = None,
    attribution_id: Annotated[uuid.UUID | None, Query()] = None,
    contract_id: Annotated[uuid.UUID | None, Query()] = None,
    month: Annotated[str | None, Query(description="AAAA-MM")] = None,
    status: Annotated[StatementStatus | None, Query()] = None,
) -> Page[StatementLinePublic]:
    query = service.search(
        policy.query(principal),
        placement_id=placement_id,
        attribution_id=attribution_id,
        contract_id=contract_id,
        month=_month_query(month, "month"),
        status=status,
    )
    rows, total = await paginate(session, query, pagination)
    lines = list(rows)
    _audit(session, principal, lines, request_id)
    return Page[StatementLinePublic].build(
        [StatementLinePublic.of(line) for line in lines], total, pagination
    )


@router.post(
    "/hours-statements/import",
    status_code=HTTP_201_CREATED,
    summary="Importer un relevé d'heures rempli (XLSX ou CSV du modèle)",
    description="Le corps est le fichier lui-même : le modèle de `GET /v1/attributions/{id}/"
    "statement-template`, rempli (XLSX, ou CSV `;` ou `,`). Les lignes sans heures sont laissées "
    "de côté. Tout ou rien : si une ligne est refusée, rien n'est enregistré et chaque ligne "
    'refusée est nommée (`errors` : `["file", numéro de ligne, colonne]` et la raison). Par un '
    "facilitateur du territoire ou une entreprise, pour les mises en emploi qu'elle voit.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                files.XLSX_MEDIA_TYPE: {
                    "schema": {"type": "string", "format": "binary"},
                    "examples": TEMPLATE_XLSX_EXAMPLES,
                },
                "text/csv": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": TEMPLATE_CSV_EXAMPLE,
                },
            },
        }
    },
)
async def import_statements(
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    request: Request,
) -> ImportSummary:
    policy.authorize(principal, CREATE)
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        raise BadRequest(files.NOT_A_FORM)
    content = await request.body()
    if not content:
        raise BadRequest("Corps vide : envoyez le fichier du relevé d'heures (XLSX ou CSV).")
    try:
        read = files.read(content)
    except files.UnreadableFile as error:
        raise BadRequest(f"Relevé d'heures illisible : {error}.") from None
    if len(read.lines) + len(read.refusals) > MAX_IMPORT_LINES:
        raise BadRequest(f"Au plus {MAX_IMPORT_LINES} lignes par fichier.")
    columns = list(files.COLUMNS)
    written = await _declare(
        session,
        principal,
        request_id,
        read.lines,
        StatementSource.IMPORT,
        now(),
        lambda r: ["file", r.index, files.COLUMNS[r.field]],
        read.refusals,
        lambda r: (r.index, columns.index(r.field)),
    )
    return ImportSummary(stored=len(written), skipped=read.skipped)


async def _decide(
    session: AsyncSession,
    principal: Principal,
    line_id: uuid.UUID,
    to: StatementStatus,
    reason: str | None,
    request_id: str,
) -> StatementLinePublic:
    line = await policy.get(session, principal, line_id, action=DECIDE, for_update=True)
    await service.decide(session, principal, line, to, now(), reason)
    policy.audit(session, principal, to.value, line, request_id=request_id)
    return StatementLinePublic.of(line)


@router.post(
    "/hours-statements/{line_id}/validate",
    summary="Valider une ligne déclarée",
    description="Par un facilitateur du territoire : la ligne devient définitive et ses heures "
    "comptent (selon les règles de l'obligation). 409 si elle est déjà validée ou rejetée.",
)
async def validate_statement(
    line_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, request_id: RequestIdDep
) -> StatementLinePublic:
    return await _decide(session, principal, line_id, StatementStatus.VALIDATED, None, request_id)


@router.post(
    "/hours-statements/{line_id}/reject",
    openapi_extra=body_schema(StatementReject),
    summary="Rejeter une ligne déclarée, avec un motif",
    description="Par un facilitateur du territoire ; le motif est lu par l'entreprise, qui "
    "peut déclarer le mois de nouveau. 409 si la ligne est déjà validée ou rejetée.",
)
async def reject_statement(
    line_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: Annotated[Partly[StatementReject], Depends(partly(StatementReject))],
    session: SessionDep,
    request_id: RequestIdDep,
) -> StatementLinePublic:
    policy.require_scope(principal, DECIDE)
    data = body.readable()
    body.refuse()
    return await _decide(
        session, principal, line_id, StatementStatus.REJECTED, data.reason, request_id
    )


@router.get(
    "/attributions/{attribution_id}/statement-template",
    summary="Télécharger le modèle de relevé d'heures d'une attribution pour un mois",
    description="Prérempli avec les mises en emploi démarrées de l'attribution présentes ce "
    "mois-là : XLSX (par défaut) ou CSV (`;`, UTF-8 avec BOM). À remplir puis à envoyer à "
    "`POST /v1/hours-statements/import`.",
    response_class=Response,
    responses={
        200: {
            "content": {
                files.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string"}},
            }
        }
    },
)
async def statement_template(
    attribution_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    period: Annotated[str, Query(description="Le mois, AAAA-MM.")],
    format: Annotated[TemplateFormat, Query(description="xlsx ou csv.")] = TemplateFormat.XLSX,
) -> Response:
    # The template is for declaring: whoever may declare hours.
    policy.authorize(principal, CREATE)
    month = _month_query(period, "period")
    assert month is not None
    attribution = await attributions_policy.get(session, principal, attribution_id)
    rows = (
        await session.execute(
            select(Placement, Candidate)
            .join(Candidate, col(Candidate.id) == col(Placement.candidate_id))
            .where(
                col(Placement.attribution_id) == attribution.id,
                col(Placement.status) == PlacementStatus.ACTIVE,
                col(Placement.start_date) <= last_of_month(month),
                (col(Placement.end_date).is_(None)) | (col(Placement.end_date) >= month),
                placements_visible(principal),
            )
            .order_by(col(Candidate.last_name), col(Candidate.first_name), col(Placement.id))
        )
    ).all()
    placements = [(p, c) for p, c in rows]
    placements_policy.audit_list(
        session, principal, [p for p, _ in placements], request_id=request_id
    )
    if format is TemplateFormat.CSV:
        content, media_type = files.template_csv(placements, month), files.CSV_MEDIA_TYPE
    else:
        content, media_type = files.template_xlsx(placements, month), files.XLSX_MEDIA_TYPE
    name = f"releve-heures-{month:%Y-%m}.{format.value}"
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": content_disposition(name)}
    )
